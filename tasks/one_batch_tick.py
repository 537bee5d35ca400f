"""A tick whose active agents fit one batch: select, reads and LLM functions as one Ray task.

Most ticks of a Y Social-sized study (180 agents, 3 to 7 active an hour) are one batch. Run as
the general tick runs them (flows/tick.py), such a tick is four Ray task runs one after another
(select, read, decide, apply), each a Ray round trip and a Prefect engine start on the tick's
critical path. Here the first three are one Ray task that holds both tags' resources (one CPU and
the gpu share: `tasks.resources.ray_options` for the tags `cpu` and `gpu`), and the steps run
inside it as task runs of their own, each tagged as in the general tick: `select` (cpu), the
reads (`read_posts[b0]`, ...: cpu) and the LLM functions (`select_action_llm[b0]`, ...: gpu).
The flow then runs `apply` as it does for any tick (the one writer, in a task run of its own,
which the CLI announces: a run killed there resumes as from any apply). The same functions
compute the same values, so the database is the same as the general tick's.

The flow takes this way when `tasks.platform.most_turns` (counts, not agents) says the tick's
turns fit one batch, so its progress lines are those of a one-batch tick from the start.
"""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from agent_models import AgentTurn
from tasks.agent_actions import act_batch
from tasks.context import BatchReads, Sealed, TickContext, sealed_result
from tasks.function_runs import FunctionRuns, StepRuns
from tasks.platform import read_batch, select_turns


@task(name="one-batch", tags=["cpu", "gpu"], cache_policy=NO_CACHE)
async def run_one_batch(ctx: TickContext) -> Sealed:
    """Sealed (turns, reads, result) of the tick's one batch."""
    turns: list[AgentTurn] = select_turns(ctx).value  # a nested task run, `select`
    reads: BatchReads = read_batch(ctx, turns, StepRuns(0))
    result = await act_batch(ctx, turns, reads,
                             FunctionRuns(0, ctx.config.ray.task_retries, ctx.config.ray.task_retry_delay_s))
    return sealed_result((turns, reads, result))
