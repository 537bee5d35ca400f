"""What an intervention writes at the tick it starts at: injected posts, opinion shocks, agents
removed (banned) or added (agent_models.interventions).

`intervention_effects(ctx, begun)` turns the interventions starting at `ctx.tick` into intents, read
from the state before the tick, so that the tick's single transaction writes them with its
ledger row: once, whatever kills and retries happen, and the same on every attempt.
"""

from __future__ import annotations

from agent_models import BatchResult
from agent_models.intents import JoinIntent, LeaveIntent, OpinionIntent, PostIntent
from agent_models.interventions import Intervention
from agent_models.parsing import post_hashtags, post_mentions
from db import platform_queries, queries, session_factory
from tasks.context import TickContext
from tasks.end_of_day import new_agents


def intervention_effects(ctx: TickContext, begun: list[tuple[int, Intervention]]) -> BatchResult:
    """The intents of the interventions `begun` at this tick (position, intervention): none write
    anything, an empty result without a query. Whole agents are loaded only for a group."""
    writing = [(n, i) for n, i in begun if i.writes]
    if not writing:
        return BatchResult()
    intents: list = []
    with session_factory(ctx.db_url).begin() as session:
        people: list = []
        if any(i.opinions or i.remove for _, i in writing):
            present = queries.presence(session, ctx.run_id, ctx.tick)
            people = queries.agents_by_id(session, [p.agent_id for p in present if not p.is_page])
        authors = {post.author for _, i in writing for post in i.posts}
        names = {a.agent_id: a.name for a in queries.agents_by_id(session, authors)} if authors else {}
        for position, intervention in writing:
            group = [a for a in people if intervention.agents is None or intervention.agents.picks(a, ctx.seed, position)]
            intents.extend(PostIntent(post.author, -1, post.text, tuple(post.topics), post_hashtags(post.text),
                                      post_mentions(post.text, names.get(post.author, "")))
                           for post in intervention.posts)
            if intervention.opinions:
                held = platform_queries.latest_opinions(session, ctx.run_id, [a.agent_id for a in group])
                for topic, shock in sorted(intervention.opinions.items()):
                    for agent in group:
                        value = shock.applied(held.get(agent.agent_id, {}).get(topic))
                        if value is not None:
                            intents.append(OpinionIntent(agent.agent_id, -1, topic, value))
            if intervention.remove:
                intents.extend(LeaveIntent(agent.agent_id) for agent in group)
            if intervention.add_agents:
                joining = new_agents(session, ctx, intervention.add_agents, f"intervention-{position}")
                intents.extend(JoinIntent(agent) for agent in joining)
    return BatchResult(intents=intents)
