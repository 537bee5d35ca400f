"""What the writer adds around a new post or comment: hashtags, mentions, emotions, and news articles.

Follows Y Social's `/post`, `/comment` and `/news` endpoints: hashtags shorter than four
characters are not stored, nor those longer than their column (ysim's bound,
agent_models.text_limits); a mention of a user the run does not have is removed from the text;
emotions are the labels the client annotated. A page's news item brings its website and article
rows (one per feed and per article link) and the article's topics.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from agent_models import CommentIntent, PostIntent
from agent_models.intents import ArticleRef
from agent_models.parsing import storable_hashtag
from db.models import (
    ArticleRow, ArticleTopicRow, EmotionRow, MentionRow, PostEmotionRow, PostHashtagRow, PostRow, WebsiteRow,
)
from db.platform_queries import agent_ids_by_name, hashtag_ids_for
from db.queries import add_rows, insert_rows, topic_ids_for


def write_annotations(session: Session, run_id: int, tick: int,
                      written: Sequence[tuple[int, PostIntent | CommentIntent]]) -> None:
    """Hashtag, mention and emotion rows of posts and comments just inserted (`(post id, intent)`)."""
    # The rule again here: intents may come from callers other than the LLM functions.
    tags = {(pid, tag) for pid, i in written for tag in (h.lower() for h in i.hashtags) if storable_hashtag(tag)}
    tag_ids = hashtag_ids_for(session, run_id, {h for _, h in tags})
    add_rows(session, PostHashtagRow, [dict(post_id=pid, hashtag_id=tag_ids[h]) for pid, h in sorted(tags)])

    known = agent_ids_by_name(session, run_id, {m for _, i in written for m in i.mentions})
    add_rows(session, MentionRow, [dict(run_id=run_id, agent_id=known[m], post_id=pid, tick=tick, answered=False)
                                   for pid, i in written for m in dict.fromkeys(i.mentions) if m in known])
    for pid, intent in written:
        unknown = [m for m in intent.mentions if m not in known]
        if unknown:
            session.execute(update(PostRow).where(PostRow.id == pid).values(text=_without_mentions(intent.text, unknown)))

    emotion_ids = _emotion_ids(session, {e for _, i in written for e in i.emotions})
    add_rows(session, PostEmotionRow, [dict(post_id=pid, emotion_id=emotion_ids[e])
                                       for pid, i in written for e in dict.fromkeys(i.emotions)])


def _without_mentions(text: str, names: Sequence[str]) -> str:
    for name in names:
        text = re.sub(rf"@{re.escape(name)}\b\s?", "", text)
    return text.strip()


def _emotion_ids(session: Session, labels: set[str]) -> dict[str, int]:
    """Emotion labels are shared by all runs (Y Social's `emotions` table)."""
    if not labels:
        return {}
    known = dict(session.execute(select(EmotionRow.emotion, EmotionRow.id).where(EmotionRow.emotion.in_(labels))).all())
    missing = sorted(labels - set(known))
    known.update(zip(missing, insert_rows(session, EmotionRow, [dict(emotion=e) for e in missing]), strict=True))
    return known


def write_article_posts(session: Session, run_id: int, tick: int,
                        articles: Sequence[ArticleRef | None]) -> dict[tuple[str, str], int]:
    """Website and article rows for news items; (rss, link) -> article id."""
    wanted = [a for a in articles if a is not None]
    if not wanted:
        return {}
    sites = dict(session.execute(select(WebsiteRow.rss, WebsiteRow.id).where(
        WebsiteRow.run_id == run_id, WebsiteRow.rss.in_({a.rss for a in wanted}))).all())
    new_sites = {a.rss: a for a in wanted if a.rss not in sites}
    sites.update(zip(new_sites, insert_rows(session, WebsiteRow, [
        dict(run_id=run_id, name=a.website, rss=a.rss, leaning=a.leaning, category=a.category, last_fetched=tick,
             language=a.language, country=a.country) for a in new_sites.values()]), strict=True))
    session.execute(update(WebsiteRow).where(WebsiteRow.id.in_(set(sites.values()))).values(last_fetched=tick))
    found = {(rss, link): aid for rss, link, aid in session.execute(
        select(WebsiteRow.rss, ArticleRow.link, ArticleRow.id).join(WebsiteRow, WebsiteRow.id == ArticleRow.website_id)
        .where(ArticleRow.run_id == run_id, ArticleRow.link.in_({a.link for a in wanted})))}
    new_articles = {(a.rss, a.link): a for a in wanted if (a.rss, a.link) not in found}
    found.update(zip(new_articles, insert_rows(session, ArticleRow, [
        dict(run_id=run_id, website_id=sites[a.rss], title=a.title, summary=a.summary, link=a.link, fetched_on=tick)
        for a in new_articles.values()]), strict=True))
    return found


def write_article_topics(session: Session, run_id: int, article_topics: dict[int, Sequence[str]]) -> None:
    """Y Social's `article_topics`: the topics extracted when a page posted the article."""
    ids = topic_ids_for(session, run_id, {t for topics in article_topics.values() for t in topics})
    existing = set(session.execute(select(ArticleTopicRow.article_id, ArticleTopicRow.topic_id).where(
        ArticleTopicRow.article_id.in_(set(article_topics)))).all()) if article_topics else set()
    add_rows(session, ArticleTopicRow, [
        dict(article_id=aid, topic_id=ids[t]) for aid, topics in sorted(article_topics.items())
        for t in dict.fromkeys(topics) if (aid, ids[t]) not in existing])
