"""What an intervention writes at the tick it starts at: injected posts, opinion shocks, agents
removed (banned) or added (agent_models.interventions).

`intervention_effects(ctx)` turns the interventions starting at `ctx.tick` into intents, read
from the state before the tick, so that the tick's single transaction writes them with its
ledger row: once, whatever kills and retries happen, and the same on every attempt.
"""

from __future__ import annotations

from agent_models import BatchResult
from agent_models.intents import JoinIntent, LeaveIntent, OpinionIntent, PostIntent
from agent_models.parsing import post_hashtags, post_mentions
from db import platform_queries, queries, session_factory
from tasks.context import TickContext
from tasks.end_of_day import new_agents


def intervention_effects(ctx: TickContext) -> BatchResult:
    """The intents of the interventions that start at this tick (none: an empty result)."""
    starting = [(n, i) for n, i in enumerate(ctx.config.interventions) if i.tick == ctx.tick and i.writes]
    if not starting:
        return BatchResult()
    intents: list = []
    with session_factory(ctx.db_url).begin() as session:
        present = queries.agents_by_id(session, [p.agent_id for p in queries.presence(session, ctx.run_id, ctx.tick)])
        by_id = {agent.agent_id: agent for agent in present}
        for position, intervention in starting:
            group = [a for a in present if not a.is_page
                     and (intervention.agents is None or intervention.agents.picks(a, ctx.seed, position))]
            for post in intervention.posts:
                author = by_id.get(post.author)
                name = author.name if author is not None else ""
                intents.append(PostIntent(post.author, -1, post.text, tuple(post.topics), post_hashtags(post.text),
                                          post_mentions(post.text, name)))
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
                intents.extend(JoinIntent(agent) for agent in new_agents(session, ctx, intervention.add_agents,
                                                                       f"intervention-{position}"))
    return BatchResult(intents=intents)
