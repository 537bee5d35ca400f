"""The platform's read queries behind the agent functions (Y Social's server endpoints), batched.

Each takes the caller's session and the agents (or posts) of a whole batch, and returns plain
values keyed by agent or post id. Visibility follows the tick rule: what an agent sees at tick
`t` was written before `t` and no earlier than `t - visibility_rounds`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agent_models import AgentData
from agent_models.intents import ArticleRef
from db.models import (
    AgentInterestRow, AgentRow, ArticleRow, FollowRow, HashtagRow, InterestRow, MentionRow, OpinionRow,
    PostHashtagRow, PostRow, PostTopicRow, WebsiteRow,
)
from db.queries import insert_rows


def current_interests(session: Session, run_id: int, agents: Sequence[AgentData], tick: int) -> dict[int, list[str]]:
    """Y Social's `/get_user_interests`: each agent's top topics by count within its attention window
    (`tick - attention_window` .. `tick`), as many as the interests it started with; ties by topic id."""
    out: dict[int, list[str]] = {a.agent_id: [] for a in agents}
    by_window: dict[int, list[AgentData]] = defaultdict(list)
    for agent in agents:
        by_window[agent.attention_window].append(agent)
    wanted = {a.agent_id: max(len(a.interests), 1) for a in agents}
    for window, group in by_window.items():
        count = func.count(AgentInterestRow.id)
        rows = session.execute(
            select(AgentInterestRow.agent_id, InterestRow.interest, count)
            .join(InterestRow, InterestRow.id == AgentInterestRow.interest_id)
            .where(AgentInterestRow.run_id == run_id, AgentInterestRow.agent_id.in_([a.agent_id for a in group]),
                   AgentInterestRow.tick.between(tick - window, tick))
            .group_by(AgentInterestRow.agent_id, InterestRow.id, InterestRow.interest)
            .order_by(AgentInterestRow.agent_id, count.desc(), InterestRow.id))
        for agent_id, interest, _ in rows:
            if len(out[agent_id]) < wanted[agent_id]:
                out[agent_id].append(interest)
    return out


def unanswered_mentions(session: Session, run_id: int, agent_ids: Iterable[int], tick: int,
                        visibility: int) -> dict[int, list[tuple[int, int]]]:
    """Y Social's `/read_mentions`: each agent's unanswered mentions in visible posts, as
    (mention id, post id) in id order."""
    out: dict[int, list[tuple[int, int]]] = defaultdict(list)
    ids = list(agent_ids)
    if not ids:
        return out
    rows = session.execute(
        select(MentionRow.agent_id, MentionRow.id, MentionRow.post_id)
        .where(MentionRow.run_id == run_id, MentionRow.agent_id.in_(ids), MentionRow.answered.is_(False),
               MentionRow.tick.between(tick - visibility, tick - 1))
        .order_by(MentionRow.id))
    for agent_id, mention_id, post_id in rows:
        out[agent_id].append((mention_id, post_id))
    return out


def posts_with_recent_hashtags(session: Session, run_id: int, agent_ids: Iterable[int], tick: int,
                               visibility: int) -> dict[int, list[int]]:
    """Y Social's `/search`: visible posts of others carrying a hashtag the agent used in its own
    visible posts, in id order (the caller samples). Y Social's query matches only one hashtag of
    one recent post; ysim matches all of them."""
    ids = list(agent_ids)
    out: dict[int, list[int]] = defaultdict(list)
    if not ids:
        return out
    window = (tick - visibility, tick - 1)
    tagged = (select(PostRow.author_id, PostRow.id, PostHashtagRow.hashtag_id)
              .join(PostHashtagRow, PostHashtagRow.post_id == PostRow.id)
              .where(PostRow.run_id == run_id, PostRow.tick.between(*window)))
    # Two plain queries joined here: SQLite plans the one-statement join as a nested loop over
    # every (agent, hashtag) pair, minutes for 10,000 agents.
    own_tags: dict[int, set[int]] = defaultdict(set)
    for author, _, tag in session.execute(tagged.where(PostRow.author_id.in_(ids))):
        own_tags[author].add(tag)
    wanted = {t for tags in own_tags.values() for t in tags}
    if not wanted:
        return out
    by_tag: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for author, post_id, tag in session.execute(tagged.where(PostHashtagRow.hashtag_id.in_(wanted))):
        by_tag[tag].append((post_id, author))
    for agent_id, tags in own_tags.items():
        out[agent_id] = sorted({post_id for t in tags for post_id, author in by_tag[t] if author != agent_id})
    return out


def posts_on_interests(session: Session, run_id: int, interests: dict[int, Sequence[str]], tick: int,
                       visibility: int) -> dict[int, list[int]]:
    """SEARCH for an agent that has used no hashtag yet: visible posts (and comments) of others
    about one of its interests (their topics), in id order (the caller samples)."""
    wanted = {topic for topics in interests.values() for topic in topics}
    out: dict[int, list[int]] = defaultdict(list)
    if not wanted:
        return out
    rows = session.execute(
        select(PostRow.id, PostRow.author_id, InterestRow.interest)
        .join(PostTopicRow, PostTopicRow.post_id == PostRow.id)
        .join(InterestRow, InterestRow.id == PostTopicRow.topic_id)
        .where(PostRow.run_id == run_id, PostRow.tick.between(tick - visibility, tick - 1),
               InterestRow.interest.in_(wanted)))
    by_topic: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for post_id, author, topic in rows:
        by_topic[topic].append((post_id, author))
    for agent_id, topics in interests.items():
        out[agent_id] = sorted({post_id for t in topics for post_id, author in by_topic[t] if author != agent_id})
    return out


def recent_news_posts(session: Session, run_id: int, tick: int, visibility: int, limit: int) -> list[int]:
    """The newest visible posts that carry a news article (what SHARE may pick), newest first."""
    return list(session.scalars(
        select(PostRow.id).where(PostRow.run_id == run_id, PostRow.news_id.is_not(None),
                                 PostRow.tick.between(tick - visibility, tick - 1))
        .order_by(PostRow.id.desc()).limit(limit)))


def articles_of_posts(session: Session, post_ids: Iterable[int]) -> dict[int, ArticleRef]:
    """Y Social's `/get_article`: the news article each post carries (posts without one are absent)."""
    ids = set(post_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(PostRow.id, ArticleRow.title, ArticleRow.summary, ArticleRow.link, WebsiteRow.name, WebsiteRow.rss,
               WebsiteRow.leaning, WebsiteRow.category, WebsiteRow.language, WebsiteRow.country)
        .join(ArticleRow, ArticleRow.id == PostRow.news_id).join(WebsiteRow, WebsiteRow.id == ArticleRow.website_id)
        .where(PostRow.id.in_(ids)))
    return {row[0]: ArticleRef(*row[1:]) for row in rows}


def post_authors(session: Session, post_ids: Iterable[int]) -> dict[int, int]:
    """Y Social's `/get_user_from_post`: post id -> author id."""
    ids = set(post_ids)
    if not ids:
        return {}
    return dict(session.execute(select(PostRow.id, PostRow.author_id).where(PostRow.id.in_(ids))).all())


def post_topic_names(session: Session, post_ids: Iterable[int]) -> dict[int, list[str]]:
    """Y Social's `/get_post_topics_name`: post id -> its topics, in the order they were attached."""
    ids = set(post_ids)
    out: dict[int, list[str]] = defaultdict(list)
    if not ids:
        return out
    rows = session.execute(select(PostTopicRow.post_id, InterestRow.interest)
                           .join(InterestRow, InterestRow.id == PostTopicRow.topic_id)
                           .where(PostTopicRow.post_id.in_(ids)).order_by(PostTopicRow.id))
    for post_id, topic in rows:
        out[post_id].append(topic)
    return out


def latest_opinions(session: Session, run_id: int, agent_ids: Iterable[int]) -> dict[int, dict[str, float]]:
    """Y Social's `/get_user_opinions`: each agent's latest opinion per topic."""
    ids = set(agent_ids)
    out: dict[int, dict[str, float]] = defaultdict(dict)
    if not ids:
        return out
    rows = session.execute(select(OpinionRow.agent_id, InterestRow.interest, OpinionRow.opinion)
                           .join(InterestRow, InterestRow.id == OpinionRow.topic_id)
                           .where(OpinionRow.run_id == run_id, OpinionRow.agent_id.in_(ids))
                           .order_by(OpinionRow.id))
    for agent_id, topic, opinion in rows:
        out[agent_id][topic] = opinion  # later rows win
    return out


def followers(session: Session, agent_ids: Iterable[int]) -> dict[int, set[int]]:
    """Who follows each agent now (the last follow/unfollow event per pair wins).

    Y Social's `/followers` returns the users an agent *follows* (its follow table names the two
    columns the other way round); `db.queries.current_followees` gives that.
    """
    ids = set(agent_ids)
    out: dict[int, set[int]] = {i: set() for i in ids}
    if not ids:
        return out
    state: dict[tuple[int, int], str] = {}
    for follower, followee, action in session.execute(
            select(FollowRow.follower_id, FollowRow.followee_id, FollowRow.action)
            .where(FollowRow.followee_id.in_(ids)).order_by(FollowRow.id)):
        state[(followee, follower)] = action
    for (followee, follower), action in state.items():
        if action == "follow":
            out[followee].add(follower)
    return out


def timelines(session: Session, agent_ids: Iterable[int], limit: int) -> dict[int, list[int]]:
    """Y Social's `/timeline`: each agent's own latest posts and comments, newest first."""
    ids = set(agent_ids)
    out: dict[int, list[int]] = {i: [] for i in ids}
    if not ids:
        return out
    for author, post_id in session.execute(select(PostRow.author_id, PostRow.id).where(PostRow.author_id.in_(ids))
                                           .order_by(PostRow.id.desc())):
        if len(out[author]) < limit:
            out[author].append(post_id)
    return out


def churn_candidates(session: Session, run_id: int, tick: int, n: int) -> list[int]:
    """Y Social's `/churn`: the `n` present non-page agents whose last post is oldest (agents that
    never posted first), ties by id."""
    last_post = (select(PostRow.author_id, func.max(PostRow.tick).label("last")).where(PostRow.run_id == run_id)
                 .group_by(PostRow.author_id).subquery())
    return list(session.scalars(
        select(AgentRow.agent_id).outerjoin(last_post, last_post.c.author_id == AgentRow.agent_id)
        .where(AgentRow.run_id == run_id, AgentRow.is_page == 0, AgentRow.joined_on <= tick,
               (AgentRow.left_on.is_(None)) | (AgentRow.left_on > tick))
        .order_by(func.coalesce(last_post.c.last, -1 << 30), AgentRow.agent_id).limit(n)))


def agent_ids_by_name(session: Session, run_id: int, names: Iterable[str]) -> dict[str, int]:
    wanted = set(names)
    if not wanted:
        return {}
    return dict(session.execute(select(AgentRow.name, AgentRow.agent_id)
                                .where(AgentRow.run_id == run_id, AgentRow.name.in_(wanted))).all())


def hashtag_ids_for(session: Session, run_id: int, hashtags: set[str]) -> dict[str, int]:
    """The run's ids of `hashtags`, registering new ones."""
    if not hashtags:
        return {}
    known = dict(session.execute(select(HashtagRow.hashtag, HashtagRow.id)
                                 .where(HashtagRow.run_id == run_id, HashtagRow.hashtag.in_(hashtags))).all())
    missing = sorted(hashtags - set(known))
    known.update(zip(missing, insert_rows(session, HashtagRow, [dict(run_id=run_id, hashtag=h) for h in missing]),
                     strict=True))
    return known
