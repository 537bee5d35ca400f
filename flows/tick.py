"""The tick flow: one simulated hour as a Prefect flow whose tasks run on Ray.

Phases (DESIGN.md section 3): select (cpu) -> [the day's last tick: end of day (cpu)] -> read,
per batch (cpu) -> decide and generate, per batch (gpu) -> apply (cpu, the one writer). Inside a
batch's read and decide task runs, each agent function the batch uses is a task run of its own
(`read_posts[b3]`, `select_action_llm[b3]`, `post_content[b3]`, ...: tasks.function_runs), so the
UI shows, filters and retries the functions; the tick's artifact counts them. Batches go to Ray as soon as their inputs
are ready; nothing is visible before apply commits the tick with its ledger row, so a
retried or repeated tick either finds itself committed and does nothing, or starts from the
state before it.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.futures import wait
from prefect.runtime import flow_run
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from agent_models import HOURS_PER_DAY, RunConfig
from agent_models.surveys import surveys_at
from flows.progress import event_line, notify, tick_line
from flows.ray_runner import TaggedRayTaskRunner
from tasks.context import Sealed, unsealed
from tasks.function_runs import per_function
from tasks.one_batch_tick import run_one_batch
from tasks.platform import most_turns
from tasks.surveys import run_surveys
from tasks import (
    TickContext, act_for_turns, apply_tick, is_end_of_day, plan_end_of_day, read_for_turns, select_turns,
    tick_committed,
)


def tick_run_name() -> str:
    params = flow_run.parameters
    tick = params["tick"]
    return f"run{params['run_id']}-day{tick // HOURS_PER_DAY}-hour{tick % HOURS_PER_DAY:02d}"


# Parameters are a validated RunConfig and two ints: re-validating them (a pydantic model built per
# call) cost every tick several milliseconds on its critical path.
@flow(name="ysim-tick", flow_run_name=tick_run_name, task_runner=TaggedRayTaskRunner(), log_prints=False,
      validate_parameters=False)
def tick_flow(config: RunConfig, run_id: int, tick: int) -> dict[str, Any]:
    started = time.perf_counter()
    join_background_artifacts()  # the previous tick's artifact, created while this run was being created
    ctx = TickContext(run_id=run_id, tick=tick, config=config)
    if tick_committed(config.database.url, run_id, tick):
        outcome = {"tick": tick, "already_committed": True}
        get_run_logger().info(tick_line(outcome))
        return outcome
    retries = config.ray.task_retries
    # A tick with surveys asks them beside its batches (a gpu task of its own), as the state was before it.
    surveys = run_surveys.with_options(retries=retries).submit(ctx) if surveys_at(config.surveys, tick) else None
    report_phase(tick, "select")
    if not is_end_of_day(tick) and most_turns(ctx) <= config.ray.batch_size:
        # The tick's agents fit one batch: select, read and decide in one Ray task
        # (tasks.one_batch_tick), two Ray round trips fewer on its critical path.
        report_phase(tick, "read: 1 batch")
        whole = run_one_batch.with_options(retries=retries).submit(ctx).result()
        turns, reads, result = unsealed(whole)
        report_phase(tick, "decide: 0/1 batches done")
        report_phase(tick, "apply")
        answered = [surveys.result()] if surveys is not None else []
        summary = apply_tick.with_options(retries=retries).submit(
            ctx, Sealed(turns), Sealed([result, *answered]), [Sealed(reads)]).result()
        return _finish(run_id, started, summary, 1, {"one-batch": {whole.node: 1}}, per_function([result], [reads]))
    selected = select_turns.with_options(retries=retries).submit(ctx).result()
    done = [("select", selected)]  # (phase, sealed task result), for the count of task runs per node
    turns = unsealed(selected)
    changes = []
    if is_end_of_day(tick):  # daily follow rounds join the turns; churn and new agents are applied below
        report_phase(tick, "end of day")
        planned = plan_end_of_day.with_options(retries=retries).submit(ctx, Sealed(turns)).result()
        done.append(("end_of_day", planned))
        turns, population = unsealed(planned)
        changes.append(population)
    size = config.ray.batch_size
    batches = [turns[i:i + size] for i in range(0, len(turns), size)]
    reads, results = [], []
    for number, batch in enumerate(batches):
        # The batch's reads and its LLM functions run as task runs nested in these two (tasks.function_runs).
        read = read_for_turns.with_options(task_run_name=f"read-batch{number}", retries=retries).submit(
            ctx, Sealed(batch), number)
        reads.append(read)
        results.append(act_for_turns.with_options(task_run_name=f"decide-batch{number}", retries=retries)
                       .submit(ctx, Sealed(batch), read, number))
    # Each batch's decide starts when its read is done.
    report_phase(tick, f"read: {len(batches)} batch{'es' if len(batches) != 1 else ''}")
    # Resolve every batch before the writer starts: a batch that failed for good raises its own
    # error here (an LLM outage, say) and the tick fails with nothing written. Every batch ends
    # first, so that what each spent is recorded (and its answers there for the retry to reuse)
    # before the tick fails, and no batch of this attempt still runs when the retry starts.
    wait(reads + results)
    read_results = [future.result() for future in reads]  # a failed read raises its own error, not "not run"
    done += [("read", sealed) for sealed in read_results]
    decided = []
    for future in results:
        report_phase(tick, f"decide: {len(decided)}/{len(results)} batches done")
        decided.append(future.result())
    done += [("decide", sealed) for sealed in decided]
    batch_results = [unsealed(sealed) for sealed in decided] + changes
    if surveys is not None:
        batch_results.append(surveys.result())
    report_phase(tick, "apply")
    summary = apply_tick.with_options(retries=retries).submit(ctx, Sealed(turns), Sealed(batch_results), reads).result()
    return _finish(run_id, started, summary, len(batches), _task_runs_by_node(done),
                   per_function([unsealed(sealed) for sealed in decided], [unsealed(sealed) for sealed in read_results]))


def _finish(run_id: int, started: float, summary: dict[str, Any], batches: int, nodes: dict[str, dict[str, int]],
            functions: dict[str, dict[str, float]]) -> dict[str, Any]:
    """The tick's summary, completed, published as its artifact and logged."""
    summary["wall_s"] = round(time.perf_counter() - started, 3)
    summary["batches"] = batches
    summary["nodes"] = nodes
    summary["functions"] = functions
    _publish(run_id, summary)
    get_run_logger().info(tick_line(summary))  # the line the CLI prints, on the tick's own run page
    return summary


def report_phase(tick: int, name: str) -> None:
    """Tell the CLI (a progress event) and the run's Prefect logs (DEBUG: shown with
    PREFECT_LOGGING_LEVEL=DEBUG) which phase the tick is in."""
    event = {"event": "phase", "tick": tick, "phase": name}
    notify(event)
    get_run_logger().debug(event_line(event))


def _task_runs_by_node(done: list[tuple[str, Sealed]]) -> dict[str, dict[str, int]]:
    """{phase: {Ray node IP: task runs}}: where the tick's work ran."""
    by_node: dict[str, Counter] = {}
    for phase, sealed in done:
        by_node.setdefault(phase, Counter())[sealed.node] += 1
    return {phase: dict(counts) for phase, counts in by_node.items()}


@contextmanager
def without_tick_heartbeats() -> Iterator[None]:
    """Run tick flows without Prefect's flow-run heartbeat thread.

    A sync flow run joins its heartbeat thread on exit, and that thread sleeps in 1 s steps, so
    every tick would end with a wait of up to a second. Ticks last seconds and run inside the
    simulation flow (or a deployment's flow), whose own heartbeat is unaffected: the setting is
    read when a flow run starts.
    """
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


class _Publisher:
    """Artifacts being created in background threads; `join` waits for them and raises the first error."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []

    def start(self, create: Any) -> None:
        context = contextvars.copy_context()  # the tick's flow run context: the artifact belongs to its run

        def run() -> None:
            try:
                context.run(create)
            except BaseException as error:  # handed to join(), which raises it in the flow
                self.errors.append(error)

        thread = threading.Thread(target=run, name="ysim-tick-artifact", daemon=True)
        thread.start()
        self.threads.append(thread)

    def join(self) -> None:
        while self.threads:
            self.threads.pop(0).join()
        if self.errors:
            error, self.errors = self.errors[0], []
            raise error


_background_artifacts: ContextVar[_Publisher | None] = ContextVar("ysim_tick_artifacts", default=None)


@contextmanager
def artifacts_in_background() -> Iterator[_Publisher]:
    """Let the ticks run in this block create their artifacts without waiting for the API.

    Creating a tick's artifact is an API call (about 60 ms here) that was the tick's last step on
    the critical path. Inside this block it runs in a thread while the tick flow run ends and the
    next one is created; the next tick waits for it before it starts its own work, and the block
    waits for the last one, so every artifact exists before the ticks' caller (the simulation
    flow) goes on, and an artifact that failed fails the run as before. A tick flow called
    outside such a block creates its artifact before it ends.
    """
    publisher = _Publisher()
    token = _background_artifacts.set(publisher)
    try:
        yield publisher
    except BaseException:
        _background_artifacts.reset(token)
        try:
            publisher.join()
        except Exception:  # the block's own error is the one to see; an artifact lost with it is secondary
            pass
        raise
    _background_artifacts.reset(token)
    publisher.join()


def join_background_artifacts() -> None:
    """Wait for the artifacts of earlier ticks still being created (see `artifacts_in_background`)."""
    publisher = _background_artifacts.get()
    if publisher is not None:
        publisher.join()


def _publish(run_id: int, summary: dict[str, Any]) -> None:
    """A per-tick artifact so the Prefect UI tells how the simulation evolves."""
    tick = summary["tick"]
    lines = [f"### Run {run_id}, day {tick // HOURS_PER_DAY}, hour {tick % HOURS_PER_DAY:02d} (tick {tick})", "",
             "| measure | value |", "|---|---|"]
    for key in ("active_agents", "batches", "llm_calls", "llm_errors", "llm_retried", "llm_cached", "prompt_tokens",
                "completion_tokens", "rejected", "wall_s"):
        lines.append(f"| {key} | {summary.get(key, 0)} |")
    for group in ("actions", "statuses", "written"):
        for name, count in sorted(summary.get(group, {}).items()):
            lines.append(f"| {group}: {name} | {count} |")
    for started in summary.get("interventions", []):
        lines.append(f"| intervention [{started['position']}] starts | {started['summary']} |")
    for phase, nodes in summary.get("nodes", {}).items():
        for node, count in sorted(nodes.items()):
            lines.append(f"| {phase} task runs on {node} | {count} |")
    lines += ["", "#### Agent functions", "", "| function | tag | task runs | retries | LLM calls | LLM errors | "
              "prompt tokens | completion tokens | LLM seconds |", "|---|---|---|---|---|---|---|---|---|"]
    for name, row in sorted(summary.get("functions", {}).items()):
        lines.append(f"| {name} | {row['tag']} | {row['runs']} | {row['retries']} | {row['llm_calls']} | "
                     f"{row['llm_errors']} | {row['prompt_tokens']} | {row['completion_tokens']} | {row['llm_s']} |")
    def create() -> None:
        create_markdown_artifact(key=f"ysim-run{run_id}-tick", markdown="\n".join(lines),
                                 description=f"tick {tick} of run {run_id}")

    publisher = _background_artifacts.get()
    if publisher is None:
        create()
    else:
        publisher.start(create)
