"""A run against an LLM server that fails often: 10% 429, 10% 500, 5% timeouts and 5% malformed
answers, served in a seeded order. The run completes with every tick committed; transient
failures are retried within `llm.max_retries`; malformed answers are recorded per call and per
action; `ysim status` counts both. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import random

import yaml
from sqlalchemy import select

from db import session_factory
from db.models import ActionRow, LLMCallRow
from flows.cli import main

FAULTS = {429: 0.10, 500: 0.10, "timeout": 0.05, "malformed": 0.05}


def fault_plan(n: int, seed: int) -> list:
    rng = random.Random(seed)
    kinds, weights = [*FAULTS, 200], [*FAULTS.values(), 1 - sum(FAULTS.values())]
    return rng.choices(kinds, weights=weights, k=n)


def test_a_run_against_a_faulty_server_completes_and_counts_what_went_wrong(ray_session, llm_stub, db_url, tmp_path,
                                                                          capsys):
    plan = fault_plan(5000, seed=13)
    llm_stub.state.fail_plan = list(plan)
    llm_stub.state.timeout_sleep_s = 1.5
    config = tmp_path / "faulty.yaml"
    # Six retries: a call fails for good only after seven faults in a row (0.3 ** 7, about 2e-4); should
    # one do so, its tick fails and the tick retry runs it again from the state before it.
    config.write_text(yaml.safe_dump({"llm": {"max_retries": 6, "timeout_s": 0.5}, "ray": {"tick_retries": 3},
                                      "simulation": {"hourly_activity": {h: 1.0 for h in range(24)}}}))
    code = main(["run", "--config", str(config), "--db", db_url, "--llm-url", llm_stub.url, "--agents", "8",
                 "--ticks", "2", "--seed", "2", "--batch-size", "4"])
    output = "".join(capsys.readouterr())
    assert code == 0, output

    served = plan[:len(plan) - len(llm_stub.state.fail_plan)]
    assert all(served.count(kind) > 0 for kind in FAULTS)  # every kind of fault was really served
    assert main(["status", "--db", db_url, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["ticks_committed"] == status["ticks_total"] == 2  # no tick lost
    assert status["llm_retried"] > 0 and status["llm_errors"] > 0
    with session_factory(db_url).begin() as session:
        calls = session.execute(select(LLMCallRow.tick, LLMCallRow.agent_id, LLMCallRow.round_index,
                                       LLMCallRow.outcome, LLMCallRow.error)).all()
        actions = {(t, a, r): status for t, a, r, status in session.execute(
            select(ActionRow.tick, ActionRow.agent_id, ActionRow.round_index, ActionRow.status))}
    assert {outcome for *_, outcome, _ in calls} >= {"ok", "retried", "unparseable"}
    assert status["llm_errors"] == sum(outcome in ("failed", "unparseable") for *_, outcome, _ in calls)
    for tick, agent, round_index, outcome, error in calls:  # each error is recorded with its round's action
        if outcome in ("failed", "unparseable"):
            assert (tick, agent, round_index) in actions and error
    # Transient faults never reach the record as failures: within the retries, the call went through.
    assert not [c for c in calls if c.outcome == "failed"]
