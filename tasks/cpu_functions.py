"""The CPU functions of Y Social's `agent_functions`, as Prefect tasks tagged `cpu`.

Each takes a batch (agents, or post ids) and returns plain values keyed by agent or post id,
or intents for the apply phase (`update_user_interests`, `follow_action`, `churn_system`).
Reads go through the tick's own read phase (`tasks.platform`), so a function sees exactly what
an agent of the tick would. The text helpers (`extract_components`, `clean_text`,
`clean_emotion`, `render_prompt`) are the pure functions of `agent_models`, as tasks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agent_models import AgentData, AgentTurn, FollowIntent, rng_for
from agent_models import parsing, prompts
from agent_models.interests import choose_post_topics
from agent_models.intents import ArticleRef, InterestIntent
from db import platform_queries, queries, session_factory
from tasks.agent_function import agent_function
from tasks.context import PostView, TickContext
from tasks.end_of_day import churn_system
from tasks.platform import post_views, read_batch


_task = agent_function("cpu")


def _reads_for(ctx: TickContext, agents: Sequence[AgentData], action: str):
    return read_batch(ctx, [AgentTurn(a, ((action,),)) for a in agents]).by_agent


# --- pure text functions ---------------------------------------------------------------------------
extract_components = _task(parsing.extract_components)
clean_text = _task(parsing.clean_text)
clean_emotion = _task(parsing.clean_emotion)
render_prompt = _task(prompts.render_prompt)


# --- posts and threads ---------------------------------------------------------------------------
@_task
def get_user_from_post(ctx: TickContext, post_ids: list[int]) -> dict[int, int]:
    """post id -> its author's agent id."""
    with session_factory(ctx.db_url).begin() as session:
        return platform_queries.post_authors(session, post_ids)


@_task
def get_post(ctx: TickContext, post_ids: list[int]) -> dict[int, PostView]:
    """post id -> the post as an agent reads it (author, text, topics, article)."""
    with session_factory(ctx.db_url).begin() as session:
        return post_views(session, set(post_ids))


@_task
def get_article(ctx: TickContext, post_ids: list[int]) -> dict[int, ArticleRef | None]:
    """post id -> the news article it carries, None when it carries none (Y Social's 404)."""
    with session_factory(ctx.db_url).begin() as session:
        found = platform_queries.articles_of_posts(session, post_ids)
    return {pid: found.get(pid) for pid in post_ids}


@_task
def get_thread(ctx: TickContext, post_ids: list[int], max_tweets: int) -> dict[int, list[str]]:
    """post id -> the last `max_tweets` messages of its thread up to it, as "@user - text\\n"."""
    with session_factory(ctx.db_url).begin() as session:
        threads = queries.threads(session, post_ids, max_tweets)
    return {pid: [f"@{author} - {text}\n" for author, text in threads.get(pid, [])] for pid in post_ids}


# --- agents' state ---------------------------------------------------------------------------------
@_task
def get_interests(ctx: TickContext, agents: list[AgentData]) -> dict[int, tuple[str, ...]]:
    """Y Social's `get_interests`: one or two of each agent's current interests, drawn at random."""
    current = _reads_for(ctx, agents, "POST")
    return {a.agent_id: choose_post_topics(current[a.agent_id].current_interests or a.interests,
                                           rng_for(ctx.seed, ctx.tick, a.agent_id, "get_interests")) for a in agents}


@_task
def get_opinions(ctx: TickContext, agents: list[AgentData]) -> dict[int, dict[str, float]]:
    """Each agent's latest opinion per topic."""
    with session_factory(ctx.db_url).begin() as session:
        found = platform_queries.latest_opinions(session, ctx.run_id, [a.agent_id for a in agents])
    return {a.agent_id: dict(found.get(a.agent_id, {})) for a in agents}


@_task
def update_user_interests(ctx: TickContext, requests: list[tuple[AgentData, int]]) -> list[InterestIntent]:
    """Intents adding the topics of each (agent, post) pair to the agent's interests."""
    return [InterestIntent(agent.agent_id, 0, post_id=post_id) for agent, post_id in requests]


@_task
def follow_action(ctx: TickContext, requests: list[tuple[AgentData, int | None, int | None, str]]) -> list[FollowIntent]:
    """Follow intents for (agent, target, post id, "follow" | "unfollow"); a missing target is the
    post's author (Y Social's `follow_action`). Requests whose post does not exist are dropped."""
    with session_factory(ctx.db_url).begin() as session:
        authors = platform_queries.post_authors(session, [p for _, t, p, _ in requests if t is None and p is not None])
    intents = []
    for agent, target, post_id, action in requests:
        if action not in ("follow", "unfollow"):
            raise ValueError(f"action: {action!r} is not one of follow, unfollow")
        target = target if target is not None else authors.get(post_id)
        if target is not None:
            intents.append(FollowIntent(agent.agent_id, 0, target, action))
    return intents


@_task
def get_followers(ctx: TickContext, agents: list[AgentData]) -> dict[int, set[int]]:
    """Who follows each agent now."""
    with session_factory(ctx.db_url).begin() as session:
        return platform_queries.followers(session, [a.agent_id for a in agents])


@_task
def get_timeline(ctx: TickContext, agents: list[AgentData], limit: int = 10) -> dict[int, list[int]]:
    """Each agent's own latest posts and comments, newest first."""
    with session_factory(ctx.db_url).begin() as session:
        return platform_queries.timelines(session, [a.agent_id for a in agents], limit)


# --- recommenders and search -----------------------------------------------------------------------
@_task
def read_posts(ctx: TickContext, agents: list[AgentData]) -> dict[int, list[int]]:
    """The feed each agent's content recommender serves it (post ids)."""
    reads = _reads_for(ctx, agents, "READ")
    return {a.agent_id: [p.post_id for p in reads[a.agent_id].feed] for a in agents}


@_task
def read_mentions(ctx: TickContext, agents: list[AgentData]) -> dict[int, list[tuple[int, int]]]:
    """Each agent's unanswered mentions in visible posts: (mention id, post id)."""
    reads = _reads_for(ctx, agents, "NONE")
    return {a.agent_id: [(m, p.post_id) for m, p in reads[a.agent_id].mentions] for a in agents}


@_task
def search_posts(ctx: TickContext, agents: list[AgentData]) -> dict[int, list[int]]:
    """Up to 10 visible posts carrying the hashtags of each agent's recent posts, in seeded random order."""
    reads = _reads_for(ctx, agents, "SEARCH")
    return {a.agent_id: [p.post_id for p in reads[a.agent_id].search_results] for a in agents}


@_task
def search_follow_suggestions(ctx: TickContext, agents: list[AgentData]) -> dict[int, dict[int, float]]:
    """Each agent's follow recommender's candidates and their probabilities."""
    reads = _reads_for(ctx, agents, "FOLLOW")
    return {a.agent_id: dict(reads[a.agent_id].follow_suggestions) for a in agents}


CPU_FUNCTIONS: dict[str, Any] = {t.name: t for t in (
    extract_components, get_user_from_post, get_article, get_post, get_thread, get_interests, get_opinions,
    update_user_interests, follow_action, read_posts, read_mentions, search_posts, search_follow_suggestions,
    get_followers, get_timeline, churn_system, clean_text, clean_emotion, render_prompt)}
