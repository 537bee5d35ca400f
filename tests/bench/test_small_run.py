"""bench/small_run.py's arithmetic: the longest LLM chain of a tick, and a run's timeline from its lines.

The script itself runs in tests/bench/test_bench_smoke.py; here the two computations its figures
rest on are checked on inputs whose answer is known: a real SQLite `llm_calls` table and the CLI's
`-v` lines with chosen timestamps.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from bench.small_run import (
    YSOCIAL_CONFIG, ZEROED_ACTIONS, agent_chain, longest_llm_chains, small_run_config, timeline,
)


def test_a_ticks_chain_is_its_longest_path_of_dependent_calls(tmp_path):
    db = tmp_path / "ysim.db"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE llm_calls (id INTEGER PRIMARY KEY, tick INTEGER, agent_id INTEGER, "
                           "round_index INTEGER, function TEXT, latency_ms REAL, wait_ms REAL)")
        connection.executemany("INSERT INTO llm_calls (tick, agent_id, round_index, function, latency_ms, wait_ms) "
                               "VALUES (?, ?, ?, ?, ?, ?)", [
            # Agent 1: a choice and its post, then the next round's choice and comment, which may
            # start once the first choice is answered (the post writes on meanwhile).
            (0, 1, 0, "select_action_llm", 200.0, 900.0),  # waiting for a slot is not the chain
            (0, 1, 0, "post_content", 250.0, 0.0),
            (0, 1, 1, "select_action_llm", 200.0, 0.0),
            (0, 1, 1, "comment_on_post", 300.0, 0.0),
            (0, 2, 0, "select_action_llm", 300.0, 0.0),  # one call, the longest, but a shorter chain
            # Agent 3: a reply (released at once), a READ (whole: its reaction decides what follows),
            # then the next round's choice.
            (1, 3, 0, "comment_on_post", 205.0, 0.0),
            (1, 3, 0, "select_action_llm", 210.0, 0.0),
            (1, 3, 0, "reaction_to_post", 200.0, 0.0),
            (1, 3, 1, "select_action_llm", 205.0, 0.0),
            # Agent 4 has opinion dynamics: its steps stay in order (overlapped it would be 0.6 s).
            (1, 4, 0, "select_action_llm", 200.0, 0.0),
            (1, 4, 0, "post_content", 200.0, 0.0),
            (1, 4, 0, "update_opinions", 200.0, 0.0),
            (1, 4, 1, "select_action_llm", 100.0, 0.0),
        ])
    chains = longest_llm_chains(db)
    assert chains[0] == {"chain_s": pytest.approx(0.7), "chain_calls": 3, "sequential_s": pytest.approx(0.95),
                         "llm_calls": 5}
    assert chains[1] == {"chain_s": pytest.approx(0.7), "chain_calls": 4, "sequential_s": pytest.approx(0.7),
                         "llm_calls": 8}
    # Agent 3 alone: the reply releases at once, so its READ runs from 0 to 0.41 and the next
    # choice to 0.615, beside the reply (0.205) rather than after it.
    assert agent_chain([(0, "comment_on_post", 0.205), (0, "select_action_llm", 0.21),
                        (0, "reaction_to_post", 0.2), (1, "select_action_llm", 0.205)]) == (pytest.approx(0.615), 3)


LINES = [
    (3.0, "warning: ignoring Y Social settings ysim does not carry out: servers.llm_v"),
    (9.0, "Prefect API: started a local server at http://127.0.0.1:4200/api for this run"),
    (15.0, "run 1: ticks 0 to 1"),
    (15.5, "tick 0 (day 0 hour 00): select"),
    (18.0, "tick 0 (day 0 hour 00): apply"),
    (20.5, "tick 0 (day 0 hour 00) committed: 4 active, 6 actions, 2 writes, 7 LLM calls, 375 tokens, 4.90 s"),
    (21.0, "tick 1 (day 0 hour 01): select"),
    (22.5, "tick 1 (day 0 hour 01) committed: 3 active, 6 actions, 2 writes, 8 LLM calls, 435 tokens, 1.40 s"),
    (24.0, "Simulation summary"),
]


def test_a_runs_time_splits_into_start_up_ticks_between_and_shutdown():
    chains = {0: {"chain_s": 0.5, "chain_calls": 2, "llm_calls": 7}, 1: {"chain_s": 1.0, "chain_calls": 4, "llm_calls": 8}}
    run = timeline(LINES, 26.0, chains)
    assert (run["first_output_s"], run["prefect_started_s"], run["run_started_s"]) == (3.0, 9.0, 15.0)
    assert run["startup_s"] == 15.5
    assert [(t["tick"], t["wall_s"], t["flow_wall_s"], t["overhead_s"]) for t in run["ticks"]] == [
        (0, 5.0, 4.9, 4.5), (1, 1.5, 1.4, 0.5)]
    assert (run["ticks_s"], run["chains_s"], run["between_ticks_s"], run["shutdown_s"]) == (6.5, 1.5, 0.5, 3.5)
    assert run["outside_ticks_s"] == pytest.approx(run["startup_s"] + run["between_ticks_s"] + run["shutdown_s"])
    assert run["overhead_share"] == pytest.approx(1 - 1.5 / 6.5, abs=1e-4)
    assert (run["llm_calls"], run["longest_chain_calls"]) == (15, 4)


def test_a_run_with_no_committed_tick_is_refused_with_its_output():
    with pytest.raises(SystemExit, match="(?s)no tick committed.*run 1: ticks 0 to 1"):
        timeline(LINES[:4], 20.0, {})


def test_the_configuration_is_y_socials_default_with_one_day_and_four_actions_off():
    source = json.loads(YSOCIAL_CONFIG.read_text())
    config = small_run_config(source, "http://127.0.0.1:1/v1")
    assert config["simulation"]["days"] == 1 and config["simulation"]["starting_agents"] == 180
    assert config["servers"]["llm"] == "http://127.0.0.1:1/v1"
    likelihoods = config["simulation"]["actions_likelihood"]
    assert {a: likelihoods[a] for a in ZEROED_ACTIONS} == dict.fromkeys(ZEROED_ACTIONS, 0.0)
    # Everything else is Y Social's, and the source is left as it was.
    assert {k: v for k, v in likelihoods.items() if k not in ZEROED_ACTIONS} == {
        k: v for k, v in source["simulation"]["actions_likelihood"].items() if k not in ZEROED_ACTIONS}
    assert source["simulation"]["days"] == 30 and config["agents"] == source["agents"]
