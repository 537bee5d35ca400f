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
from agent_models.opinion_dynamics import opinion_model_for
from db import CONTENT_RECOMMENDERS, FOLLOW_RECOMMENDERS, FeedContext, ServedFeed, session_factory
from db import platform_queries, queries
from tasks.context import AgentReads, BatchReads, PostView, Sealed, TickContext, sealed_result, unsealed
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
    likelihood = sim.drawable_actions
    turns = [plan_turn(agent, likelihood, rng_for(ctx.seed, ctx.tick, agent.agent_id, "plan"))
             for agent in agents if not agent.is_page]
    return sorted(turns + page_turns([a for a in agents if a.is_page], hour, profiles), key=lambda t: t.agent.agent_id)


@task(name="read", tags=["cpu"], cache_policy=NO_CACHE)
def read_for_turns(ctx: TickContext, turns: list[AgentTurn] | Sealed) -> Sealed:
    """Phase 2 as a task: `read_batch`, its result sealed for Prefect (see `Sealed`)."""
    return sealed_result(read_batch(ctx, unsealed(turns)))


def read_batch(ctx: TickContext, turns: list[AgentTurn]) -> BatchReads:
    """Phase 2: what each agent of a batch may need this tick, plus the feeds to log."""
    reads = BatchReads(by_agent={t.agent.agent_id: AgentReads() for t in turns})
    wanted = {action: [t.agent for t in turns if _may(t, action)]
              for action in ("FEED", "SEARCH", "FOLLOW", "POST", "NEWS", "READ", "SHARE", "OPINIONS")}
    with session_factory(ctx.db_url).begin() as session:
        post_lists = _post_lists(session, ctx, turns, wanted, reads)
        wanted_posts = {pid for lists in post_lists.values() for key, ids in lists.items() if key != "mentions"
                        for pid in ids}
        wanted_posts.update(pid for lists in post_lists.values() for _, pid in lists.get("mentions", ()))
        views = post_views(session, wanted_posts)
        for agent_id, lists in post_lists.items():
            mine = reads.by_agent[agent_id]
            mine.feed = [views[p] for p in lists.get("feed", ()) if p in views]
            mine.search_results = [views[p] for p in lists.get("search", ()) if p in views]
            mine.shareable = [views[p] for p in lists.get("shareable", ()) if p in views]
            mine.mentions = [(m, views[p]) for m, p in lists.get("mentions", ()) if p in views]
        threads = queries.threads(session, views, ctx.config.agents.max_length_thread_reading)
        for mine in reads.by_agent.values():
            seen = [*mine.feed, *mine.search_results, *(post for _, post in mine.mentions)]
            mine.threads = {post.post_id: threads.get(post.post_id, []) for post in seen}
        _agent_state(session, ctx, wanted, reads, views)
    for page in wanted["NEWS"]:
        mine = reads.by_agent[page.agent_id]
        try:
            mine.article = pick_article(page, rng_for(ctx.seed, ctx.tick, page.agent_id, "news"))
        except FeedUnavailableError as error:  # the page posts nothing this hour, and says why
            mine.article_problem = str(error)
    return reads


def _may(turn: AgentTurn, action: str) -> bool:
    """Whether any round of `turn` may take `action` (FEED: any feed action; OPINIONS: a comment)."""
    candidates = {a for c in turn.rounds for a in c}
    if action == "FEED":
        return bool(candidates & FEED_ACTIONS)
    if action == "OPINIONS":  # comments, replies included, move opinions
        return not turn.agent.is_page
    return action in candidates


def _post_lists(session: Session, ctx: TickContext, turns: list[AgentTurn], wanted: dict[str, list[AgentData]],
                reads: BatchReads) -> dict[int, dict[str, list]]:
    """Per agent, the post ids of its feed, search results, shareable posts and mentions."""
    feeds = ctx.config.feeds
    feed_ctx = FeedContext(ctx.run_id, ctx.tick, feeds, ctx.seed, ctx.same_tick_visible)
    lists: dict[int, dict[str, list]] = defaultdict(dict)
    for name, agents in _group(wanted["FEED"], "content_rec_sys_name").items():
        for agent_id, post_ids in CONTENT_RECOMMENDERS[name](session, agents, feed_ctx).items():
            lists[agent_id]["feed"] = post_ids
            reads.served.append(ServedFeed(agent_id, name, tuple(post_ids)))
    last_visible = ctx.tick + (1 if ctx.same_tick_visible else 0)  # the queries see ticks before this one
    if wanted["SEARCH"]:
        found = platform_queries.posts_with_recent_hashtags(
            session, ctx.run_id, [a.agent_id for a in wanted["SEARCH"]], last_visible, feeds.visibility_rounds)
        for agent in wanted["SEARCH"]:
            posts = found.get(agent.agent_id, [])
            rng_for(ctx.seed, ctx.tick, agent.agent_id, "search").shuffle(posts)  # Y Social: random order
            lists[agent.agent_id]["search"] = posts[:SEARCH_RESULTS]
    if wanted["SHARE"]:
        news = platform_queries.recent_news_posts(session, ctx.run_id, last_visible, feeds.visibility_rounds,
                                                  feeds.feed_size)
        for agent in wanted["SHARE"]:
            lists[agent.agent_id]["shareable"] = news
    people = [t.agent.agent_id for t in turns if not t.agent.is_page and t.rounds]
    for agent_id, mentions in platform_queries.unanswered_mentions(
            session, ctx.run_id, people, last_visible, feeds.visibility_rounds).items():
        lists[agent_id]["mentions"] = mentions
    return lists


def post_views(session: Session, post_ids: set[int]) -> dict[int, PostView]:
    """The posts as agents read them: author, text, topics and article."""
    texts = queries.post_authors_and_texts(session, post_ids)
    topics = platform_queries.post_topic_names(session, post_ids)
    articles = platform_queries.articles_of_posts(session, post_ids)
    return {pid: PostView(pid, author, text, author_id, tuple(topics.get(pid, ())), articles.get(pid))
            for pid, (author_id, author, text) in texts.items()}


def _agent_state(session: Session, ctx: TickContext, wanted: dict[str, list[AgentData]], reads: BatchReads,
                 views: dict[int, PostView]) -> None:
    """Follow suggestions, current interests, followees and opinions, for the agents that need them."""
    feed_ctx = FeedContext(ctx.run_id, ctx.tick, ctx.config.feeds, ctx.seed, ctx.same_tick_visible)
    for name, agents in _group(wanted["FOLLOW"], "follow_rec_sys_name").items():
        for agent_id, scores in FOLLOW_RECOMMENDERS[name](session, agents, feed_ctx).items():
            reads.by_agent[agent_id].follow_suggestions = scores
    for agent_id, interests in platform_queries.current_interests(session, ctx.run_id, wanted["POST"],
                                                                  ctx.tick).items():
        reads.by_agent[agent_id].current_interests = interests
    secondary = [a.agent_id for a in wanted["READ"] if a.probability_of_secondary_follow > 0]
    for agent_id, followees in queries.current_followees(session, secondary).items():
        reads.by_agent[agent_id].followees = followees
    holders = [a for a in wanted["OPINIONS"] if opinion_model_for(a.opinions, a.opinion_dynamics) is not None]
    if holders:
        opinions = platform_queries.latest_opinions(session, ctx.run_id, _opinion_holders(holders, reads, views))
        for agent in holders:
            reads.by_agent[agent.agent_id].opinions = opinions  # one shared mapping: pickled once per batch


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
