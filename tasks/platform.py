"""CPU agent functions of a tick: select who acts (phase 1) and read what they see (phase 2).

`plan_turns` applies Y Social's activity rule to the agents present (pages post news every
hour their profile covers); `read_for_turns` runs the platform's reads for a whole batch at
once (`read_batch`), fetching only what the batch's candidate actions may need: a feed (COMMENT, READ, CAST,
SHARE), search results (SEARCH), follow suggestions (FOLLOW), current interests (POST), an
article (NEWS), plus every agent's unanswered mentions and, where they matter, its followees
and the opinions involved. The Prefect tasks (`select_turns`, `read_for_turns`) return their
results sealed; the plain functions are for callers outside a tick.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.orm import Session

from agent_models import HOURS_PER_DAY, AgentData, AgentTurn, plan_turn, rng_for, select_active
from agent_models.activity import page_turns
from agent_models.interventions import group_overrides
from agent_models.opinion_dynamics import opinion_model_for
from db import CONTENT_RECOMMENDERS, FOLLOW_RECOMMENDERS, FeedContext, ServedFeed, session_factory
from db import platform_queries, queries
from db.memory_store import memories_of
from tasks.context import AgentReads, BatchReads, PostView, Sealed, TickContext, sealed_result, unsealed
from tasks.function_runs import StepRuns
from tasks.news import FeedUnavailableError, pick_article

FEED_ACTIONS = {"COMMENT", "READ", "CAST", "SHARE"}
SEARCH_RESULTS = 10  # Y Social's `/search` limit


@task(name="select", tags=["cpu"], cache_policy=NO_CACHE)
def select_turns(ctx: TickContext) -> Sealed:
    """Phase 1 as a task: `plan_turns`, its result sealed for Prefect (see `Sealed`)."""
    return sealed_result(plan_turns(ctx))


def plan_turns(ctx: TickContext) -> list[AgentTurn]:
    """Phase 1: the active agents of this hour and the candidate actions of each of their rounds."""
    sim = ctx.config.simulation
    hour, profiles = ctx.tick % HOURS_PER_DAY, sim.profile_hours()
    with session_factory(ctx.db_url).begin() as session:
        present = queries.presence(session, ctx.run_id, ctx.tick)
        people = [p for p in present if not p.is_page]
        drawn = select_active(people, hour, sim.hourly_activity, profiles, rng_for(ctx.seed, ctx.tick, None, "select"))
        # Whole agents only for those who act: the drawn people and the pages.
        agents = queries.agents_by_id(session, [p.agent_id for p in drawn] + [p.agent_id for p in present if p.is_page])
    agents = group_overrides(agents, ctx.config.interventions, ctx.tick, ctx.seed)  # a group's settings from its tick
    likelihood = sim.drawable_actions
    turns = [plan_turn(agent, likelihood, rng_for(ctx.seed, ctx.tick, agent.agent_id, "plan"), sim.client)
             for agent in agents if not agent.is_page]
    return sorted(turns + page_turns([a for a in agents if a.is_page], hour, profiles), key=lambda t: t.agent.agent_id)


def most_turns(ctx: TickContext) -> int:
    """At most how many turns `plan_turns` gives this tick, from counts alone (no agent loaded):
    Y Social's rule draws at most max(int(people x hourly rate), 1) people, and every page may post."""
    with session_factory(ctx.db_url).begin() as session:
        people, pages = queries.present_counts(session, ctx.run_id, ctx.tick)
    rate = ctx.config.simulation.hourly_activity.get(ctx.tick % HOURS_PER_DAY, 0.0)
    return (max(int(people * rate), 1) if people else 0) + pages


@task(name="read", tags=["cpu"], cache_policy=NO_CACHE)
def read_for_turns(ctx: TickContext, turns: list[AgentTurn] | Sealed, batch: int = 0) -> Sealed:
    """Phase 2 as a task: `read_batch`, each of its reads a task run of its function (`read_posts[b3]`,
    `read_mentions[b3]`, ...: tasks.function_runs.StepRuns), its result sealed for Prefect (see `Sealed`)."""
    return sealed_result(read_batch(ctx, unsealed(turns), StepRuns(batch)))


def read_batch(ctx: TickContext, turns: list[AgentTurn], steps: StepRuns | None = None) -> BatchReads:
    """Phase 2: what each agent of a batch may need this tick, plus the feeds to log.

    Each read is one agent function over the batch, run by `steps` (as a nested task run inside a
    tick, inline otherwise); all of them read one snapshot: one session, one transaction.
    """
    step = steps or StepRuns(None)
    reads = BatchReads(by_agent={t.agent.agent_id: AgentReads() for t in turns})
    wanted = {action: [t.agent for t in turns if _may(t, action)]
              for action in ("FEED", "SEARCH", "FOLLOW", "POST", "NEWS", "READ", "SHARE", "OPINIONS")}
    people = [t.agent.agent_id for t in turns if not t.agent.is_page and t.rounds]
    with session_factory(ctx.db_url).begin() as session:
        lists: dict[int, dict[str, list]] = defaultdict(dict)
        if wanted["FEED"] or wanted["SHARE"]:
            step("read_posts", lambda: _feeds(session, ctx, wanted, reads, lists))
        if wanted["SEARCH"]:
            step("search_posts", lambda: _search(session, ctx, wanted["SEARCH"], lists))
        if people:
            step("read_mentions", lambda: _mentions(session, ctx, people, lists))
        wanted_posts = {pid for mine in lists.values() for key, ids in mine.items() if key != "mentions"
                        for pid in ids}
        wanted_posts.update(pid for mine in lists.values() for _, pid in mine.get("mentions", ()))
        views = step("get_post", lambda: post_views(session, wanted_posts)) if wanted_posts else {}
        for agent_id, mine_lists in lists.items():
            mine = reads.by_agent[agent_id]
            mine.feed = [views[p] for p in mine_lists.get("feed", ()) if p in views]
            mine.search_results = [views[p] for p in mine_lists.get("search", ()) if p in views]
            mine.shareable = [views[p] for p in mine_lists.get("shareable", ()) if p in views]
            mine.mentions = [(m, views[p]) for m, p in mine_lists.get("mentions", ()) if p in views]
        if views:
            threads = step("get_thread", lambda: queries.threads(session, views,
                                                                 ctx.config.agents.max_length_thread_reading))
        else:
            threads = {}
        for mine in reads.by_agent.values():
            seen = [*mine.feed, *mine.search_results, *(post for _, post in mine.mentions)]
            mine.threads = {post.post_id: threads.get(post.post_id, []) for post in seen}
        _agent_state(session, ctx, wanted, reads, views, step)
        remembering = [t.agent.agent_id for t in turns if t.rounds and t.agent.uses_llm
                       and ctx.config.memory.for_class(t.agent.agent_class).enabled]
        if remembering:  # what an LLM agent remembers goes into its prompts (agent_models.memory)
            for agent_id, held in step("read_memories", lambda: memories_of(session, ctx.run_id, remembering)).items():
                reads.by_agent[agent_id].memories = held
    if wanted["NEWS"]:
        step("news_feed", lambda: _articles(ctx, wanted["NEWS"], reads))
    reads.steps = step.ran
    return reads


def _articles(ctx: TickContext, pages: list[AgentData], reads: BatchReads) -> None:
    """The article each page posts this hour, from its RSS feed."""
    for page in pages:
        mine = reads.by_agent[page.agent_id]
        try:
            mine.article = pick_article(page, rng_for(ctx.seed, ctx.tick, page.agent_id, "news"))
        except FeedUnavailableError as error:  # the page posts nothing this hour, and says why
            mine.article_problem = str(error)


def _may(turn: AgentTurn, action: str) -> bool:
    """Whether any round of `turn` may take `action` (FEED: any feed action; OPINIONS: a comment)."""
    candidates = {a for c in turn.rounds for a in c}
    if action == "FEED":
        return bool(candidates & FEED_ACTIONS)
    if action == "OPINIONS":  # comments, replies included, move opinions
        return not turn.agent.is_page
    return action in candidates


def _feeds(session: Session, ctx: TickContext, wanted: dict[str, list[AgentData]], reads: BatchReads,
           lists: dict[int, dict[str, list]]) -> None:
    """Per agent, the post ids of its feed (by its content recommender) and the shareable news posts."""
    feeds = ctx.config.feeds
    feed_ctx = FeedContext(ctx.run_id, ctx.tick, feeds, ctx.seed, ctx.same_tick_visible)
    for name, agents in _group(wanted["FEED"], "content_rec_sys_name").items():
        for agent_id, post_ids in CONTENT_RECOMMENDERS[name](session, agents, feed_ctx).items():
            lists[agent_id]["feed"] = post_ids
            reads.served.append(ServedFeed(agent_id, name, tuple(post_ids)))
    if wanted["SHARE"]:
        news = platform_queries.recent_news_posts(session, ctx.run_id, _last_visible(ctx), feeds.visibility_rounds,
                                                  feeds.feed_size)
        for agent in wanted["SHARE"]:
            lists[agent.agent_id]["shareable"] = news


def _search(session: Session, ctx: TickContext, agents: list[AgentData], lists: dict[int, dict[str, list]]) -> None:
    """Per agent, up to SEARCH_RESULTS posts with the hashtags it used recently, in random order;
    for an agent that has used none, posts about its interests (`feeds.search_without_hashtags`)."""
    feeds = ctx.config.feeds
    found = platform_queries.posts_with_recent_hashtags(
        session, ctx.run_id, [a.agent_id for a in agents], _last_visible(ctx), feeds.visibility_rounds)
    untagged = {a.agent_id: a.interests for a in agents if a.agent_id not in found}
    if untagged and feeds.search_without_hashtags == "interests":
        found.update(platform_queries.posts_on_interests(session, ctx.run_id, untagged, _last_visible(ctx),
                                                         feeds.visibility_rounds))
    for agent in agents:
        posts = found.get(agent.agent_id, [])
        rng_for(ctx.seed, ctx.tick, agent.agent_id, "search").shuffle(posts)  # Y Social: random order
        lists[agent.agent_id]["search"] = posts[:SEARCH_RESULTS]


def _mentions(session: Session, ctx: TickContext, people: list[int], lists: dict[int, dict[str, list]]) -> None:
    """Per agent, its unanswered mentions (mention id, post id)."""
    for agent_id, mentions in platform_queries.unanswered_mentions(
            session, ctx.run_id, people, _last_visible(ctx), ctx.config.feeds.visibility_rounds).items():
        lists[agent_id]["mentions"] = mentions


def _last_visible(ctx: TickContext) -> int:
    return ctx.tick + (1 if ctx.same_tick_visible else 0)  # the queries see ticks before this one


def post_views(session: Session, post_ids: set[int]) -> dict[int, PostView]:
    """The posts as agents read them: author, text, topics and article."""
    texts = queries.post_authors_and_texts(session, post_ids)
    topics = platform_queries.post_topic_names(session, post_ids)
    articles = platform_queries.articles_of_posts(session, post_ids)
    return {pid: PostView(pid, author, text, author_id, tuple(topics.get(pid, ())), articles.get(pid))
            for pid, (author_id, author, text) in texts.items()}


def _agent_state(session: Session, ctx: TickContext, wanted: dict[str, list[AgentData]], reads: BatchReads,
                 views: dict[int, PostView], step: StepRuns) -> None:
    """Follow suggestions, current interests, followees and opinions, for the agents that need them."""
    if wanted["FOLLOW"]:
        step("search_follow_suggestions", lambda: _follow_suggestions(session, ctx, wanted["FOLLOW"], reads))
    if wanted["POST"]:
        for agent_id, interests in step("get_interests", lambda: platform_queries.current_interests(
                session, ctx.run_id, wanted["POST"], ctx.tick)).items():
            reads.by_agent[agent_id].current_interests = interests
    secondary = [a.agent_id for a in wanted["READ"] if a.probability_of_secondary_follow > 0]
    if secondary:
        for agent_id, followees in step("get_followees", lambda: queries.current_followees(session, secondary)).items():
            reads.by_agent[agent_id].followees = followees
    holders = [a for a in wanted["OPINIONS"] if opinion_model_for(a.opinions, a.opinion_dynamics) is not None]
    if holders:
        opinions = step("get_opinions", lambda: platform_queries.latest_opinions(
            session, ctx.run_id, _opinion_holders(holders, reads, views)))
        for agent in holders:
            reads.by_agent[agent.agent_id].opinions = opinions  # one shared mapping: pickled once per batch


def _follow_suggestions(session: Session, ctx: TickContext, agents: list[AgentData], reads: BatchReads) -> None:
    feed_ctx = FeedContext(ctx.run_id, ctx.tick, ctx.config.feeds, ctx.seed, ctx.same_tick_visible)
    for name, group in _group(agents, "follow_rec_sys_name").items():
        for agent_id, scores in FOLLOW_RECOMMENDERS[name](session, group, feed_ctx).items():
            reads.by_agent[agent_id].follow_suggestions = scores


def _opinion_holders(agents: list[AgentData], reads: BatchReads, views: dict[int, PostView]) -> Iterable[int]:
    ids = {a.agent_id for a in agents}
    for agent in agents:
        mine = reads.by_agent[agent.agent_id]
        ids.update(p.author_id for p in (*mine.feed, *mine.search_results, *(post for _, post in mine.mentions)))
    return ids


def _group(agents: list[AgentData], attribute: str) -> dict[str, list[AgentData]]:
    groups: dict[str, list[AgentData]] = defaultdict(list)
    for agent in agents:
        groups[getattr(agent, attribute)].append(agent)
    return groups
