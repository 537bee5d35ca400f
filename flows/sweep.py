"""The sweep flow: every member of a sweep (flows.sweep_plan) as a child simulation flow run,
several at once, on one Ray and one LLM server.

Why a parent flow over child flows, not deployment runs: the members share this process's Ray
connection and LLM endpoint (an embedded model starts once for all of them), and a sweep needs
no work pool or worker; in the Prefect UI the sweep's run holds one task run per member, and
each holds its simulation flow run with its ticks. The members run in a thread pool of
`concurrency` threads: a member's driver mostly waits (on Ray tasks and on the LLM server), so
threads overlap their waits, and the work itself runs on Ray.

Each member is resumable exactly as a single run (its own database, exactly-once ticks): a sweep
started again skips the members its database says are finished, resumes the others at their
first uncommitted tick, and starts the rest. A member that fails does not stop the others; the
sweep fails at the end naming it, and running it again resumes that member.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import wait
from prefect.task_runners import ThreadPoolTaskRunner

from agent_models import RunConfig
from db import DatabaseURLError, normalize_url
from agent_models.run_config import RaySettings
from flows.config_loader import with_absolute_database
from flows.progress import notify, tagged
from flows.ray_runner import ensure_ray
from flows.services import llm_endpoint
from flows.simulation import simulation_flow
from flows.resume import ResumeError, fields, resume
from flows.sweep_plan import Member, SweepError, SweepPlan, SweepSpec, load_sweep, make_folders, plan
from tasks.run_state import (
    EmptyGroupError, UnknownRecommenderError, check_intervention_groups, check_recommenders, find_run, status,
)

__all__ = ["SweepFailedError", "checked_sweep", "member_states", "sweep_flow", "sweep_ray_settings"]


class SweepFailedError(RuntimeError):
    """Some members of a sweep failed; the others finished. Running the sweep again resumes them."""


@dataclass(frozen=True, slots=True)
class MemberState:
    """Where a member stands before the sweep runs: `new`, `resume` (at `next_tick`) or `finished`."""

    member: Member
    state: str
    next_tick: int = 0


def member_states(sweep: SweepPlan) -> list[MemberState]:
    """Each member's state, read from its database."""
    states = []
    for member in sweep.members:
        stored = find_run(member.config.database.url)
        if stored is None:
            states.append(MemberState(member, "new"))
        elif stored.next_tick >= member.config.simulation.ticks:
            states.append(MemberState(member, "finished", stored.next_tick))
        else:
            states.append(MemberState(member, "resume", stored.next_tick))
    return states


def checked_sweep(path: Path) -> tuple[SweepPlan, list[MemberState]]:
    """The sweep file at `path` planned, each member checked as `ysim run` checks a run before it
    touches a database (its URL, recommenders, intervention groups; one to resume, by the resume
    rule), and where each stands. Raises SweepError naming the member, or ConfigError."""
    sweep = plan(load_sweep(path))
    for member in sweep.members:
        try:
            normalize_url(member.config.database.url)
            check_recommenders(member.config)
            check_intervention_groups(member.config)
        except (DatabaseURLError, UnknownRecommenderError, EmptyGroupError) as exc:
            raise SweepError(f"variant {member.variant!r} seed {member.seed}: {exc}") from None
    states = member_states(sweep)
    for state in states:
        if state.state != "new":  # another seed or population is refused, as `ysim run` refuses it
            stored = find_run(state.member.config.database.url)
            try:
                resume(stored.config, fields(state.member.config), stored.next_tick)
            except ResumeError as exc:
                raise SweepError(f"variant {state.member.variant!r} seed {state.member.seed}: {exc}") from None
    return sweep, states


def sweep_ray_settings(sweep: SweepPlan) -> RaySettings:
    """The Ray a sweep starts when it joins none: the first member's settings, with as many CPUs and
    gpu_slots as members run at once (at least the machine's CPUs), so that each member's tick gets
    the Ray resources it would get alone. Each holds one CPU while it mostly waits on the LLM."""
    settings = sweep.members[0].config.ray
    if settings.address or os.environ.get("RAY_ADDRESS"):
        return settings
    return settings.model_copy(update={
        "num_cpus": settings.num_cpus or max(os.cpu_count() or 1, sweep.concurrency),
        "gpu_slots": max(settings.gpu_slots, sweep.concurrency)})


@task(name="sweep-member", task_run_name="{member.variant}-seed{member.seed}", cache_policy=NO_CACHE)
def run_member(member: Member) -> dict[str, Any]:
    """One member's simulation flow run (a child of this task run); a finished one is not run again."""
    stored = find_run(member.config.database.url)
    tags = {"variant": member.variant, "seed": member.seed}
    if stored is not None and stored.next_tick >= member.config.simulation.ticks:
        notify({"event": "member", "state": "already finished", **tags})
        return {**(status(member.config.database.url) or {}), "already_finished": True, **tags}
    with tagged(tags):
        summary = simulation_flow(member.config)
    notify({"event": "member", "state": "finished", **tags})
    return {**summary, **tags}


@flow(name="ysim-sweep", flow_run_name="sweep-{spec.name}", log_prints=False)
def sweep_flow(spec: SweepSpec) -> dict[str, Any]:
    """Run every member of the sweep `spec`, `spec.concurrency` at a time (default: all at once).

    Members without an LLM URL share one embedded model started here. Returns {"sweep", "members":
    [summary per member]}; raises SweepFailedError after the others finish if any member failed.
    """
    sweep = plan(spec)
    make_folders(sweep)
    ensure_ray(sweep_ray_settings(sweep))
    logger = get_run_logger()
    logger.info("sweep %s: %d members (%d variants x %d seeds), %d at once", sweep.name, len(sweep.members),
                len(sweep.variants), len(spec.seeds), sweep.concurrency)
    first = with_absolute_database(sweep.members[0].config)
    with llm_endpoint(first) as served:
        members = [_served_by(member, served) for member in sweep.members]
        with ThreadPoolTaskRunner(max_workers=sweep.concurrency) as runner:
            futures = [runner.submit(run_member, {"member": member}) for member in members]
            wait(futures)
    summaries, failed = [], []
    for member, future in zip(members, futures, strict=True):
        state = future.state
        if state.is_completed():
            summaries.append(future.result())
        else:
            failed.append(f"{member.label} ({state.message or state.name})")
    if failed:
        raise SweepFailedError(f"{len(failed)} of {len(members)} members failed: {'; '.join(failed)}; the others "
                               "finished. Run the sweep again to resume the failed ones.")
    return {"sweep": sweep.name, "members": summaries}


def _served_by(member: Member, served: RunConfig) -> Member:
    """`member` with the sweep's resolved LLM endpoint where it names no server of its own (the
    embedded model started once for all of them); a member naming one resolves it in its own run."""
    config = with_absolute_database(member.config)
    if config.llm.url or config.llm.cache_only or not served.llm.url:
        return Member(member.variant, member.seed, config)
    llm = config.llm.model_copy(update={"url": served.llm.url, "model": config.llm.model or served.llm.model,
                                        "embedded": served.llm.embedded})
    return Member(member.variant, member.seed, config.model_copy(update={"llm": llm}))
