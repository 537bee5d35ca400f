"""A run tells itself the same way in the terminal and in Prefect: the tick flow's run logs hold
its one tick line, the simulation run's logs hold the start and every tick's line, in order, and
the numbers in a line are the database's."""

from __future__ import annotations

import logging
import re
from uuid import UUID

import anyio
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId, LogFilter, LogFilterFlowRunId
from prefect.client.schemas.sorting import LogSort
from prefect.logging.handlers import APILogWorker
from sqlalchemy import func, select

from db import session_factory
from db.models import ActionRow, LLMCallRow
from flows.progress import event_line
from flows.simulation import listen, simulation_flow
from tests.conftest import make_config

TICK_LINE = re.compile(r"^tick (\d+) \(day 0 hour \d\d\) committed: (\d+) active, (\d+) actions, (\d+) writes, "
                       r"(\d+) LLM calls, (\d+) tokens, [\d.]+ s$")


async def _read(simulation_run: UUID) -> dict[str, list[tuple[int, str]]]:
    """{flow run name: [(level, message)]} of the simulation run and its tick runs."""
    async with get_client() as client:
        runs = [await client.read_flow_run(simulation_run)] + await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[simulation_run])))
        logs = {}
        for run in runs:
            found = await client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])),
                                           sort=LogSort.TIMESTAMP_ASC)
            logs[run.name] = [(log.level, log.message) for log in found]
    return logs


def run_logs(simulation_run: UUID) -> dict[str, list[tuple[int, str]]]:
    APILogWorker.drain_all(timeout=10)  # the handler ships logs in the background; send what is queued now
    return anyio.run(_read, simulation_run)


def test_each_tick_logs_its_line_to_its_run_and_to_the_simulations(ray_session, llm_stub, sqlite_url):
    events = []
    config = make_config(sqlite_url, llm_stub.url, simulation={"ticks": 2, "name": "logged-run"})
    run_logger = logging.getLogger("prefect.flow_runs")  # what PREFECT_LOGGING_LEVEL=DEBUG sets
    level = run_logger.level
    run_logger.setLevel(logging.DEBUG)
    try:
        with listen(events.append):
            state = simulation_flow(config, return_state=True)
    finally:
        run_logger.setLevel(level)
    ticks = [event for event in events if event["event"] == "tick"]
    assert [event["tick"] for event in ticks] == [0, 1]
    logs = run_logs(state.state_details.flow_run_id)
    assert sorted(logs) == ["logged-run", "run1-day0-hour00", "run1-day0-hour01"]

    simulation_lines = [message for _, message in logs["logged-run"]]
    expected = [event_line(event) for event in events if event["event"] != "phase"]
    assert [line for line in simulation_lines if line in expected] == expected  # start, tick 0, tick 1, in order

    for event in ticks:
        tick = event["tick"]
        logged = logs[f"run1-day0-hour{tick:02d}"]
        info = [message for level, message in logged if level == 20 and TICK_LINE.match(message)]
        assert info == [event_line(event)]
        _, active, actions, _, calls, tokens = map(int, TICK_LINE.match(info[0]).groups())
        with session_factory(sqlite_url).begin() as session:  # the line tells the database's numbers
            assert actions == session.scalar(select(func.count()).where(ActionRow.tick == tick)) > 0
            assert active == session.scalar(select(func.count(ActionRow.agent_id.distinct()))
                                            .where(ActionRow.tick == tick))
            assert calls == session.scalar(select(func.count()).where(LLMCallRow.tick == tick)) > 0
            assert tokens == session.scalar(select(func.sum(LLMCallRow.prompt_tokens + LLMCallRow.completion_tokens))
                                            .where(LLMCallRow.tick == tick))
        # The phases are there too, in order, at DEBUG only (the default level, INFO, drops them).
        phases = [event_line(e) for e in events if e["event"] == "phase" and e["tick"] == tick]
        assert [message for level, message in logged if message in phases] == phases
        assert {level for level, message in logged if message in phases} == {logging.DEBUG}
