"""The single writer: validates a tick's intents and writes them with the tick's ledger row.

`write_tick` runs inside the caller's transaction. The ledger row goes in first, under a unique
(run, tick) constraint, so a tick that is already committed (or being committed by a racing
retry) writes nothing. Intents are applied in (agent, round) order so that the same intents
always give the same rows. An intent the platform rules refuse (a comment on a post that does
not exist, following oneself or someone already followed) is not written; its action is
recorded as `rejected` with the reason.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from agent_models import (
    BatchResult, LLMCallRecord, CommentIntent, FollowIntent, HOURS_PER_DAY, Intent, PostIntent, ReactionIntent,
)
from agent_models.intents import (
    ArticleRef, InterestIntent, JoinIntent, LeaveIntent, OpinionIntent, RecallIntent, SurveyAnswerIntent, VoteIntent,
)
from agent_models.memory import MemorySettings
from db.llm_spend import settle_pending
from db.content_writer import write_annotations, write_article_posts, write_article_topics
from db.models import (
    ActionRow, AgentInterestRow, AgentRow, FollowRow, InterventionRow, LLMCacheRow, LLMCallRow, MentionRow, OpinionRow,
    PostRow, PostTopicRow, ReactionRow, RecommendationRow, TickRow, VoteRow,
)
from db.platform_queries import post_topic_names
from db.inbox import record_outcomes, take_inbox
from db.interview_queries import add_interviews
from db.memory_store import write_memories
from db.row_ids import new_id
from db.snapshot import FORGOTTEN_MARK, row_marks
from db.queries import add_rows, current_followees, insert_rows, is_tick_committed, register_agents, topic_ids_for

_INTENT_ORDER = {PostIntent: 0, CommentIntent: 1, ReactionIntent: 2, VoteIntent: 3, FollowIntent: 4,
                 InterestIntent: 5, OpinionIntent: 6, LeaveIntent: 7, JoinIntent: 8, RecallIntent: 9,
                 SurveyAnswerIntent: 10}


@dataclass(slots=True, frozen=True)
class ServedFeed:
    agent_id: int
    recommender: str
    post_ids: tuple[int, ...]


@dataclass(slots=True)
class TickWrite:
    """What a committed tick wrote."""

    tick: int
    already_committed: bool = False
    written: Counter[str] = field(default_factory=Counter)
    rejected: int = 0
    new_post_ids: list[int] = field(default_factory=list)  # posts and comments, in write order


def write_tick(session: Session, *, run_id: int, tick: int, active_agents: int, result: BatchResult,
               feeds: Sequence[ServedFeed] = (), interventions: Sequence[tuple[int, dict, str]] = (),
               memory: MemorySettings | None = None) -> TickWrite:
    """The tick's writes with its ledger row, and the interventions that take effect at it
    (position in the configuration's list, settings, note): all or nothing, once. With `memory`
    on, the memories the tick's rows form and the recalls its prompts made go in too
    (db.memory_store), and at a day's end the forgotten ones go."""
    if is_tick_committed(session, run_id, tick):
        return TickWrite(tick, already_committed=True)
    ledger_row = TickRow(id=new_id(session, TickRow), run_id=run_id, tick=tick, day=tick // HOURS_PER_DAY,
                         hour=tick % HOURS_PER_DAY, active_agents=active_agents)
    session.add(ledger_row)
    session.flush()  # a concurrent commit of the same tick fails here, before any data is written
    discarded = settle_pending(session, run_id, tick, result.llm_calls)
    ledger_row.discarded_calls = discarded.calls
    ledger_row.discarded_prompt_tokens = discarded.prompt_tokens
    ledger_row.discarded_completion_tokens = discarded.completion_tokens
    add_rows(session, InterventionRow, [dict(run_id=run_id, tick=tick, position=position, settings=settings, note=note)
                                        for position, settings, note in interventions])
    people = take_inbox(session, run_id, tick)  # what people submitted from ysim web, written with the tick
    if people.result.intents or people.result.actions:
        combined = BatchResult()  # the caller's result stays as it was (a retried tick passes it again)
        combined.extend(result)
        combined.extend(people.result)
        result = combined
    written = write_results(session, run_id=run_id, tick=tick, result=result, feeds=feeds)
    record_outcomes(session, run_id, tick, people)
    if people.joined:
        written.written["people_joined"] += people.joined
    marks: dict[str, int] = {}
    if memory is not None and memory.in_use:
        counts = write_memories(session, run_id, tick, result.intents, memory)
        written.written.update({key: n for key, n in counts.items() if n})
        marks[FORGOTTEN_MARK] = counts["memories_forgotten"]
    ledger_row.last_ids = {**row_marks(session), **marks}  # after every write of the tick: the run as of its commit
    return written


def write_results(session: Session, *, run_id: int, tick: int, result: BatchResult,
                  feeds: Sequence[ServedFeed] = (), visible_through: int | None = None) -> TickWrite:
    """Validate and write `result` as made at `tick`, without a ledger row.

    Comments and reactions may target posts made up to `visible_through` (default: before
    `tick`, the tick rule; single actions outside a tick see their own tick's posts too).
    Rows whose ids are needed go in as multi-row INSERTs (SQLAlchemy's "insertmanyvalues"), the
    others with `add_rows`: one COPY (PostgreSQL) or executemany (SQLite) per table.
    """
    outcome = TickWrite(tick)
    rejected: dict[tuple[int, int], str] = {}
    intents = sorted(result.intents, key=lambda i: (i.agent_id, i.round_index, _INTENT_ORDER[type(i)]))
    visible = tick - 1 if visible_through is None else visible_through
    posts = _write_posts(session, run_id, tick, [i for i in intents if isinstance(i, PostIntent)], outcome,
                         rejected, visible)
    comments = _write_comments_and_reactions(session, run_id, tick, intents, outcome, rejected, visible)
    write_annotations(session, run_id, tick, posts + comments)
    _mark_answered(session, tick, [c for _, c in comments if c.answers_mention is not None])
    _write_votes(session, run_id, tick, [i for i in intents if isinstance(i, VoteIntent)], outcome, rejected, visible)
    _write_follows(session, run_id, tick, [i for i in intents if isinstance(i, FollowIntent)], outcome, rejected)
    _write_interests(session, run_id, tick, [i for i in intents if isinstance(i, InterestIntent)], outcome)
    _write_opinions(session, run_id, tick, [i for i in intents if isinstance(i, OpinionIntent)], outcome)
    _write_population_changes(session, run_id, tick, intents, outcome)
    _write_survey_answers(session, run_id, tick, [i for i in intents if isinstance(i, SurveyAnswerIntent)], outcome)

    add_rows(session, ActionRow, [
        dict(run_id=run_id, tick=tick, agent_id=a.agent_id, round_index=a.round_index, action=a.action,
             status="rejected" if (a.agent_id, a.round_index) in rejected else a.status,
             detail=rejected.get((a.agent_id, a.round_index), a.detail))
        for a in sorted(result.actions, key=lambda a: (a.agent_id, a.round_index))])
    add_rows(session, LLMCallRow, [
        dict(run_id=run_id, tick=tick, agent_id=c.agent_id, round_index=c.round_index, function=c.function,
             model=c.model, prompt_tokens=c.prompt_tokens, completion_tokens=c.completion_tokens,
             latency_ms=c.latency_ms, wait_ms=c.wait_ms, outcome=c.outcome, error=c.error)
        for c in sorted(result.llm_calls, key=lambda c: (c.agent_id, c.round_index, c.function))])
    store_answers(session, result.llm_calls)
    add_rows(session, RecommendationRow, [
        dict(run_id=run_id, tick=tick, agent_id=f.agent_id, recommender=f.recommender, post_ids=list(f.post_ids))
        for f in sorted(feeds, key=lambda f: f.agent_id)])
    outcome.rejected = len(rejected)
    return outcome


def store_answers(session: Session, calls: Sequence[LLMCallRecord]) -> None:
    """New answers go into the response cache (once per request key)."""
    # Answers that did not parse are kept too: a replay must meet the same answer and do nothing.
    fresh = {c.cache_key: c for c in calls if c.cache_key and c.response is not None and c.outcome != "cached"}
    if not fresh:
        return
    known = set(session.scalars(select(LLMCacheRow.key).where(LLMCacheRow.key.in_(list(fresh)))))
    add_rows(session, LLMCacheRow, [
        dict(key=key, model=c.model, response=c.response, prompt_tokens=c.prompt_tokens,
             completion_tokens=c.completion_tokens) for key, c in sorted(fresh.items()) if key not in known])


def _write_posts(session: Session, run_id: int, tick: int, posts: list[PostIntent], outcome: TickWrite,
                 rejected: dict[tuple[int, int], str], visible_through: int) -> list[tuple[int, PostIntent]]:
    """Root posts, shares and news items; returns (new post id, intent) pairs."""
    shared = {p.shared_from for p in posts if p.shared_from is not None}
    news_of = dict(session.execute(
        select(PostRow.id, PostRow.news_id).where(PostRow.run_id == run_id, PostRow.id.in_(shared),
                                                  PostRow.tick <= visible_through)).all()) if shared else {}
    accepted: list[PostIntent] = []
    for post in posts:
        if post.shared_from is not None and post.shared_from not in news_of:
            rejected[(post.agent_id, post.round_index)] = f"post {post.shared_from} is not visible"
        else:
            accepted.append(post)
    news_ids = write_article_posts(session, run_id, tick, [p.article for p in accepted])
    ids = insert_rows(session, PostRow, [
        dict(run_id=run_id, author_id=p.agent_id, tick=tick, text=p.text, reaction_count=0, shared_from=p.shared_from,
             news_id=news_of[p.shared_from] if p.shared_from is not None else news_ids.get(_article_key(p.article)))
        for p in accepted])
    if not ids:
        return []
    # A root post starts its own thread: the posts just written are this tick's only ones without one
    # (a condition, not an IN list of thousands of ids).
    session.execute(update(PostRow).where(PostRow.run_id == run_id, PostRow.tick == tick, PostRow.thread_id.is_(None),
                                          PostRow.id >= ids[0]).values(thread_id=PostRow.id))
    write_article_topics(session, run_id, {news_ids[_article_key(p.article)]: p.topics for p in accepted if p.article})
    # A share is about what the shared post is about.
    shared_topics = post_topic_names(session, shared)
    topics_of = [tuple(dict.fromkeys((*p.topics, *shared_topics.get(p.shared_from, ())))) for p in accepted]
    topic_ids = topic_ids_for(session, run_id, {t for topics in topics_of for t in topics})
    add_rows(session, PostTopicRow, [dict(post_id=post_id, topic_id=topic_ids[t])
                                     for post_id, topics in zip(ids, topics_of, strict=True) for t in topics])
    outcome.new_post_ids.extend(ids)
    for p in accepted:
        outcome.written["shares" if p.shared_from is not None else "news" if p.article else "posts"] += 1
    return list(zip(ids, accepted, strict=True))


def _article_key(article: ArticleRef | None) -> tuple[str, str] | None:
    return None if article is None else (article.rss, article.link)


def _write_comments_and_reactions(session: Session, run_id: int, tick: int, intents: list[Intent],
                                  outcome: TickWrite, rejected: dict[tuple[int, int], str],
                                  visible_through: int) -> list[tuple[int, CommentIntent]]:
    targets = {i.post_id for i in intents if isinstance(i, (CommentIntent, ReactionIntent))}
    threads = dict(session.execute(
        select(PostRow.id, PostRow.thread_id).where(PostRow.run_id == run_id, PostRow.id.in_(targets),
                                                    PostRow.tick <= visible_through)).all()) if targets else {}
    reaction_counts: Counter[int] = Counter()
    comments: list[CommentIntent] = []
    reactions: list[dict] = []
    for intent in intents:
        if not isinstance(intent, (CommentIntent, ReactionIntent)):
            continue
        if intent.post_id not in threads:
            rejected[(intent.agent_id, intent.round_index)] = f"post {intent.post_id} is not visible"
        elif isinstance(intent, CommentIntent):
            comments.append(intent)
        else:
            reactions.append(dict(run_id=run_id, tick=tick, agent_id=intent.agent_id, post_id=intent.post_id,
                                  kind=intent.kind))
            reaction_counts[intent.post_id] += 1
    ids = insert_rows(session, PostRow, [dict(run_id=run_id, author_id=c.agent_id, tick=tick, text=c.text,
                                          comment_to=c.post_id, thread_id=threads[c.post_id], reaction_count=0)
                                     for c in comments])
    # A comment is about what its parent is about (Y Social copies the parent's topics).
    parent_topics = defaultdict(list)
    for post_id, topic_id in session.execute(select(PostTopicRow.post_id, PostTopicRow.topic_id).where(
            PostTopicRow.post_id.in_({c.post_id for c in comments})).order_by(PostTopicRow.id)) if comments else ():
        parent_topics[post_id].append(topic_id)
    add_rows(session, PostTopicRow, [dict(post_id=comment_id, topic_id=t)
                                 for comment_id, c in zip(ids, comments, strict=True) for t in parent_topics[c.post_id]])
    outcome.new_post_ids.extend(ids)
    add_rows(session, ReactionRow, reactions)
    outcome.written.update({k: n for k, n in (("comments", len(ids)), ("reactions", len(reactions))) if n})
    if reaction_counts:  # one executemany (pipelined by psycopg), not a statement per post
        posts = PostRow.__table__
        session.execute(update(posts).where(posts.c.id == bindparam("post")).values(
            reaction_count=posts.c.reaction_count + bindparam("n")),
            [dict(post=post_id, n=n) for post_id, n in sorted(reaction_counts.items())])
    return list(zip(ids, comments, strict=True))


def _mark_answered(session: Session, tick: int, replies: list[CommentIntent]) -> None:
    """A reply answers its mention (Y Social marks it answered when `/read_mentions` returns it);
    the tick it did is kept, so that a fork before it sees the mention unanswered (db.snapshot)."""
    ids = {c.answers_mention for c in replies}
    if ids:
        session.execute(update(MentionRow).where(MentionRow.id.in_(ids), MentionRow.answered.is_(False))
                        .values(answered=True, answered_tick=tick))


def _write_votes(session: Session, run_id: int, tick: int, votes: list[VoteIntent], outcome: TickWrite,
                 rejected: dict[tuple[int, int], str], visible_through: int) -> None:
    targets = {v.post_id for v in votes}
    visible = set(session.scalars(select(PostRow.id).where(PostRow.run_id == run_id, PostRow.id.in_(targets),
                                                            PostRow.tick <= visible_through))) if targets else set()
    rows = []
    for vote in votes:
        if vote.post_id not in visible:
            rejected[(vote.agent_id, vote.round_index)] = f"post {vote.post_id} is not visible"
        else:
            rows.append(dict(run_id=run_id, agent_id=vote.agent_id, preference=vote.preference, content_type="Post",
                             content_id=vote.post_id, tick=tick))
    add_rows(session, VoteRow, rows)
    if rows:
        outcome.written["votes"] += len(rows)


def _write_interests(session: Session, run_id: int, tick: int, intents: list[InterestIntent],
                     outcome: TickWrite) -> None:
    """Y Social's `/set_user_interests`: one row per (agent, topic) each time it posts, comments or reacts."""
    of_posts = post_topic_names(session, {i.post_id for i in intents if i.post_id is not None})
    topics_of = [i.topics or tuple(of_posts.get(i.post_id, ())) for i in intents]
    ids = topic_ids_for(session, run_id, {t for topics in topics_of for t in topics})
    rows = [dict(run_id=run_id, agent_id=i.agent_id, interest_id=ids[t], tick=tick)
            for i, topics in zip(intents, topics_of, strict=True) for t in dict.fromkeys(topics)]
    add_rows(session, AgentInterestRow, rows)
    if rows:
        outcome.written["interests"] += len(rows)


def _write_opinions(session: Session, run_id: int, tick: int, intents: list[OpinionIntent],
                    outcome: TickWrite) -> None:
    ids = topic_ids_for(session, run_id, {i.topic for i in intents})
    add_rows(session, OpinionRow, [
        dict(run_id=run_id, agent_id=i.agent_id, tick=tick, topic_id=ids[i.topic], interacted_with_id=i.interacted_with,
             post_id=i.post_id, opinion=i.opinion) for i in intents])
    if intents:
        outcome.written["opinions"] += len(intents)


def _write_population_changes(session: Session, run_id: int, tick: int, intents: list[Intent],
                              outcome: TickWrite) -> None:
    """End of day: churned agents leave after this tick; new agents join from the next one."""
    leaving = sorted({i.agent_id for i in intents if isinstance(i, LeaveIntent)})
    if leaving:
        session.execute(update(AgentRow).where(AgentRow.agent_id.in_(leaving), AgentRow.left_on.is_(None))
                        .values(left_on=tick + 1))
        outcome.written["left"] += len(leaving)
    joining = [i.agent for i in intents if isinstance(i, JoinIntent)]
    if joining:
        register_agents(session, run_id, joining)
        outcome.written["joined"] += len(joining)


def _write_survey_answers(session: Session, run_id: int, tick: int, answers: list[SurveyAnswerIntent],
                          outcome: TickWrite) -> None:
    add_interviews(session, run_id, tick, "survey", answers)
    if answers:
        outcome.written["survey_answers"] += len(answers)


def _write_follows(session: Session, run_id: int, tick: int, follows: list[FollowIntent], outcome: TickWrite,
                   rejected: dict[tuple[int, int], str]) -> None:
    state = current_followees(session, {f.agent_id for f in follows})
    rows = []
    for intent in follows:
        mine = state.setdefault(intent.agent_id, set())
        key = (intent.agent_id, intent.round_index)
        if intent.target_id == intent.agent_id:
            rejected[key] = "an agent cannot follow itself"
        elif intent.action == "follow" and intent.target_id in mine:
            rejected[key] = f"already follows {intent.target_id}"
        elif intent.action == "unfollow" and intent.target_id not in mine:
            rejected[key] = f"does not follow {intent.target_id}"
        else:
            rows.append(dict(run_id=run_id, tick=tick, follower_id=intent.agent_id, followee_id=intent.target_id,
                             action=intent.action))
            (mine.add if intent.action == "follow" else mine.discard)(intent.target_id)
            outcome.written["follows" if intent.action == "follow" else "unfollows"] += 1
    add_rows(session, FollowRow, rows)
