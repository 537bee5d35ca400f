"""Agent memories in SQL: what the writer forms from a tick's rows, the recalls it records, the
batched read of agents' memories, and forgetting (agent_models.memory holds the rules).

`memories` and `memory_recalls` are written by the tick's single writer, in its transaction, so
a memory is formed and a recall counted exactly once whatever kills and retries happen. At the
end of each simulated day the writer deletes the memories forgotten by then (their strength
below `memory.forget_below`, computed from the rows) with their recalls: what an agent keeps
stays bounded. A fork at a tick before such a deletion cannot copy the rows it removed, so the
tick records how many it deleted (`ticks.last_ids["memories_forgotten"]`) and db.snapshot forks
by replay instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from agent_models import HOURS_PER_DAY
from agent_models.intents import RecallIntent
from agent_models.memory import (
    Memory, MemorySettings, NewMemory, forgotten, on_comment, on_follow, on_intervention, on_mention, on_opinion,
    on_post, on_reaction,
)
from db.models import (
    AgentRow, FollowRow, InterestRow, InterventionRow, MemoryRecallRow, MemoryRow, MentionRow, OpinionRow, PostRow,
    PostTopicRow, ReactionRow,
)
from db.queries import add_rows



def write_memories(session: Session, run_id: int, tick: int, intents: Iterable[object],
                   settings: MemorySettings) -> dict[str, int]:
    """The writer's memory step for a tick whose other rows are written: the recalls its prompts
    made (`RecallIntent`s), the memories its rows form for agents whose class has memory on, and at
    the end of a simulated day the forgotten ones deleted. Counts by kind of row."""
    recalled = add_recalls(session, run_id, tick, [(i.agent_id, m) for i in intents if isinstance(i, RecallIntent)
                                                    for m in i.memory_ids])
    formed = formed_at(session, run_id, tick)
    classes = _classes(session, {m.agent_id for m in formed})
    added = add_memories(session, run_id, tick, [m for m in formed if settings.for_class(classes[m.agent_id]).enabled])
    gone = 0
    if tick % HOURS_PER_DAY == HOURS_PER_DAY - 1:
        gone = forget(session, run_id, tick, settings)
    return {"memories": added, "memory_recalls": recalled, "memories_forgotten": gone}


def add_memories(session: Session, run_id: int, tick: int, formed: Sequence[NewMemory]) -> int:
    """Store the memories formed at `tick`, in the given order; how many."""
    add_rows(session, MemoryRow, [
        dict(run_id=run_id, agent_id=m.agent_id, tick=tick, kind=m.kind, text=m.text, importance=m.importance,
             topics=list(m.topics), other_agent_id=m.other_agent_id, post_id=m.post_id) for m in formed])
    return len(formed)


def add_recalls(session: Session, run_id: int, tick: int, recalled: Iterable[tuple[int, int]]) -> int:
    """Record that each (agent, memory) was recalled at `tick` (once per pair and tick); how many.
    A memory forgotten meanwhile (deleted) is skipped."""
    pairs = sorted(set(recalled))
    if not pairs:
        return 0
    present = set(session.scalars(select(MemoryRow.id).where(MemoryRow.id.in_({m for _, m in pairs}))))
    rows = [dict(run_id=run_id, agent_id=agent, memory_id=memory, tick=tick) for agent, memory in pairs
            if memory in present]
    add_rows(session, MemoryRecallRow, rows)
    return len(rows)


def memories_of(session: Session, run_id: int, agent_ids: Iterable[int]) -> dict[int, list[Memory]]:
    """Each agent's stored memories with their recall ticks (two queries for the whole batch)."""
    ids = sorted(set(agent_ids))
    if not ids:
        return {}
    recalls: dict[int, list[int]] = defaultdict(list)
    for memory_id, tick in session.execute(
            select(MemoryRecallRow.memory_id, MemoryRecallRow.tick).where(
                MemoryRecallRow.run_id == run_id, MemoryRecallRow.agent_id.in_(ids)).order_by(MemoryRecallRow.tick)):
        recalls[memory_id].append(tick)
    found: dict[int, list[Memory]] = defaultdict(list)
    for row in session.execute(select(
            MemoryRow.id, MemoryRow.agent_id, MemoryRow.tick, MemoryRow.kind, MemoryRow.text, MemoryRow.importance,
            MemoryRow.topics, MemoryRow.other_agent_id).where(
            MemoryRow.run_id == run_id, MemoryRow.agent_id.in_(ids)).order_by(MemoryRow.id)):
        found[row.agent_id].append(Memory(row.id, row.agent_id, row.tick, row.kind, row.text, row.importance,
                                          tuple(row.topics or ()), row.other_agent_id, tuple(recalls[row.id])))
    return dict(found)


def forget(session: Session, run_id: int, tick: int, settings: MemorySettings) -> int:
    """Delete the memories forgotten by the end of `tick` (strength at `tick` + 1 below the
    threshold of their agent class's settings) with their recalls; how many."""
    by_agent = memories_of(session, run_id, session.scalars(
        select(MemoryRow.agent_id).where(MemoryRow.run_id == run_id).distinct()))
    classes = _classes(session, set(by_agent))
    gone = [m.memory_id for agent, held in by_agent.items() for m in held
            if forgotten(m, tick + 1, settings.for_class(classes[agent]))]
    for start in range(0, len(gone), 10_000):  # bounded IN lists
        chunk = gone[start:start + 10_000]
        session.execute(delete(MemoryRecallRow).where(MemoryRecallRow.memory_id.in_(chunk)))
        session.execute(delete(MemoryRow).where(MemoryRow.id.in_(chunk)))
    return len(gone)


def formed_at(session: Session, run_id: int, tick: int) -> list[NewMemory]:
    """The memories the rows written at `tick` form (agent_models.memory's `on_*` rules): posts and
    comments written, reactions given and received, mentions, follows gained or lost, opinions
    that moved (an intervention's shock in its note's words). Read back from the tick's rows, so
    the writer's paths need not carry them."""
    posts = {row.id: row for row in session.execute(select(
        PostRow.id, PostRow.author_id, PostRow.text, PostRow.comment_to).where(
        PostRow.run_id == run_id, PostRow.tick == tick))}
    reactions = session.execute(select(ReactionRow.agent_id, ReactionRow.post_id, ReactionRow.kind).where(
        ReactionRow.run_id == run_id, ReactionRow.tick == tick).order_by(ReactionRow.id)).all()
    mentions = session.execute(select(MentionRow.agent_id, MentionRow.post_id).where(
        MentionRow.run_id == run_id, MentionRow.tick == tick).order_by(MentionRow.id)).all()
    follows = session.execute(select(FollowRow.follower_id, FollowRow.followee_id, FollowRow.action).where(
        FollowRow.run_id == run_id, FollowRow.tick == tick).order_by(FollowRow.id)).all()
    opinions = session.execute(select(OpinionRow.id, OpinionRow.agent_id, OpinionRow.topic_id, OpinionRow.opinion,
                                      OpinionRow.interacted_with_id, OpinionRow.post_id).where(
        OpinionRow.run_id == run_id, OpinionRow.tick == tick).order_by(OpinionRow.id)).all()
    # The posts these rows point at, written earlier: parents of comments, posts reacted to.
    referred = {p.comment_to for p in posts.values() if p.comment_to is not None} | {r.post_id for r in reactions}
    older = {row.id: row for row in session.execute(select(
        PostRow.id, PostRow.author_id, PostRow.text, PostRow.comment_to).where(PostRow.id.in_(referred - set(posts))))}
    every_post = {**older, **posts}
    topics = _topics_of(session, set(every_post))
    names = _names(session, ({p.author_id for p in every_post.values()} | {r.agent_id for r in reactions}
                             | {f.follower_id for f in follows} | {o.interacted_with_id for o in opinions}) - {None})
    formed: list[NewMemory] = []
    for post_id, post in sorted(posts.items()):
        me = (post.author_id, names[post.author_id])
        if post.comment_to is None:
            formed += on_post(post.author_id, post_id, post.text, topics[post_id])
        else:
            parent = every_post[post.comment_to]
            formed += on_comment(me, (parent.author_id, names[parent.author_id]), post_id, post.text, topics[post_id])
    for reaction in reactions:
        post = every_post[reaction.post_id]
        formed += on_reaction((reaction.agent_id, names[reaction.agent_id]), (post.author_id, names[post.author_id]),
                              reaction.post_id, reaction.kind, post.text, topics[reaction.post_id])
    for mention in mentions:
        post = posts[mention.post_id]
        formed += on_mention(mention.agent_id, (post.author_id, names[post.author_id]), mention.post_id, post.text,
                             topics[mention.post_id])
    for follow in follows:
        formed += on_follow((follow.follower_id, names[follow.follower_id]), follow.followee_id, follow.action)
    formed += _opinion_memories(session, run_id, tick, opinions, names)
    return formed


def _opinion_memories(session: Session, run_id: int, tick: int, opinions: Sequence, names: dict[int, str]
                      ) -> list[NewMemory]:
    if not opinions:
        return []
    topic_names = dict(session.execute(select(InterestRow.id, InterestRow.interest).where(
        InterestRow.id.in_({o.topic_id for o in opinions}))).all())
    notes = [note for (note,) in session.execute(select(InterventionRow.note).where(
        InterventionRow.run_id == run_id, InterventionRow.tick == tick).order_by(InterventionRow.position)) if note]
    # Each (agent, topic)'s opinion before this tick: its latest earlier row (one grouped query).
    agents = {o.agent_id for o in opinions}
    latest_ids = select(func.max(OpinionRow.id)).where(
        OpinionRow.run_id == run_id, OpinionRow.tick < tick, OpinionRow.agent_id.in_(agents),
        OpinionRow.topic_id.in_(set(topic_names))).group_by(OpinionRow.agent_id, OpinionRow.topic_id)
    held = {(a, t): v for a, t, v in session.execute(select(OpinionRow.agent_id, OpinionRow.topic_id,
                                                             OpinionRow.opinion).where(OpinionRow.id.in_(latest_ids)))}
    formed: list[NewMemory] = []
    for opinion in opinions:
        before = held.get((opinion.agent_id, opinion.topic_id))
        held[(opinion.agent_id, opinion.topic_id)] = opinion.opinion  # a later round of the tick starts here
        topic = topic_names[opinion.topic_id]
        if opinion.interacted_with_id is None and opinion.post_id is None:  # set by an intervention (a shock)
            what = f"{'; '.join(notes) or 'Something happened'}: your opinion on {topic} is now {opinion.opinion:.2f}"
            formed += on_intervention(opinion.agent_id, what)
            continue
        source = (opinion.interacted_with_id, names[opinion.interacted_with_id]) \
            if opinion.interacted_with_id is not None else None
        formed += on_opinion(opinion.agent_id, topic, before, opinion.opinion, source, opinion.post_id)
    return formed


def _topics_of(session: Session, post_ids: set[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    if post_ids:
        for post_id, topic in session.execute(
                select(PostTopicRow.post_id, InterestRow.interest).join(InterestRow, InterestRow.id == PostTopicRow.topic_id)
                .where(PostTopicRow.post_id.in_(post_ids)).order_by(PostTopicRow.id)):
            found[post_id].append(topic)
    return found


def _classes(session: Session, agent_ids: set[int]) -> dict[int, str]:
    return dict(session.execute(select(AgentRow.agent_id, AgentRow.agent_class).where(
        AgentRow.agent_id.in_(agent_ids))).all()) if agent_ids else {}


def _names(session: Session, agent_ids: set[int]) -> dict[int, str]:
    return dict(session.execute(select(AgentRow.agent_id, AgentRow.name).where(AgentRow.agent_id.in_(agent_ids))).all()) \
        if agent_ids else {}
