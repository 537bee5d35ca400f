"""fidelity: a day of Y Social's default configuration, beside what Y Social's rules predict.

Issue 23, item 6. The unmodified Y Social client configuration (tests/fixtures/ysocial/config.json,
YClient's `config.json`: client `YClientWithPages`) with `days` 1, `starting_agents` 180 and the
image, news, share and cast likelihoods 0 (as bench/small_run.py), run as a user runs it,

    ysim run --config <that file> --db sqlite:///<tmp>/ysim.db --seed <n> -q

against the stub LLM (tests/llm_stub.py, its own process, answering at once) in its `pick_listed`
mode: a one-of choice is drawn uniformly among the items the prompt lists, a candidate listed
twice with twice the chance (a model with no preference). From the run's database:

- activations per hour: agents that played a round in each tick, against Y Social's
  `min(max(int(N x hourly_activity[h]), 1), eligible)` with N the agents present;
- rounds per active agent: against the rule of the configuration's client (classic:
  `round_actions` exactly; the web runner: `randint(max(round_actions - 2, 1), round_actions)`),
  for the active agents' own `round_actions`;
- the action mix of the rounds (the daily follow round and replies apart), against 1/3 NONE and
  2/3 x p(action) (tests/agent_models/test_action_mix.py derives it);
- LLM calls per round by the action chosen (rounds without a reply), against Y Social's rules
  for this configuration (no emotion annotation, no opinion dynamics, no secondary follow): the
  choice, plus POST 1, COMMENT 2 (comment and reaction; 0 when the feed is empty), READ 1 (the
  reaction), SEARCH 2 on a hit and 0 on a miss, FOLLOW and NONE 0.

    python bench/fidelity.py [--seed 1] [--repeats 3] [--quick] [--results-dir DIR]

The figures are pooled over `--repeats` runs (seeds `--seed`, `--seed` + 1, ...); `--quick` is one
run of 4 ticks (the smoke test). Results: bench/results/fidelity.json and the `fidelity`
entry of latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent_models.activity import CLASSIC_CLIENTS  # noqa: E402
from bench.results_store import add_results_dir, record  # noqa: E402
from bench.small_run import YSIM, YSOCIAL_CONFIG, small_run_config  # noqa: E402
from bench.stub_process import stub_server  # noqa: E402

# Beyond the choice, the LLM calls each action makes under Y Social's rules for this configuration.
CALLS_AFTER_CHOICE = {"NONE": (0,), "POST": (1,), "COMMENT": (2, 0), "READ": (1, 0), "SEARCH": (2, 0),
                      "FOLLOW": (0,)}


def predicted_mix(likelihood: dict[str, float]) -> dict[str, float]:
    drawn = {name.upper(): weight for name, weight in likelihood.items() if weight > 0}
    total = sum(drawn.values())
    return {**{name: 2 / 3 * weight / total for name, weight in drawn.items()}, "NONE": 1 / 3}


def expected_rounds(round_actions: int, client: str) -> float:
    if client in CLASSIC_CLIENTS:
        return float(round_actions)
    low = max(round_actions - 2, 1)
    return (low + round_actions) / 2


def measure(db_path: Path, ysocial: dict[str, Any]) -> dict[str, Any]:
    simulation = ysocial["simulation"]
    offered = predicted_mix(simulation["actions_likelihood"])
    with sqlite3.connect(f"file:{db_path}?immutable=1", uri=True) as db:
        people = db.execute("SELECT joined_on, left_on FROM agents WHERE is_page = 0").fetchall()
        round_actions = dict(db.execute("SELECT id, round_actions FROM agents"))
        # The rounds of the hour: not replies, and not the end of day's FOLLOW-or-NONE round.
        rounds = [row for row in db.execute("SELECT tick, agent_id, round_index, action, status FROM actions "
                                            "WHERE detail NOT LIKE '%daily%'") if row[3] in offered]
        replied = {tuple(row) for row in db.execute(
            "SELECT tick, agent_id, round_index FROM actions WHERE action = 'REPLY'")}
        calls = Counter(tuple(row) for row in db.execute("SELECT tick, agent_id, round_index FROM llm_calls"))
    active: dict[int, set[int]] = defaultdict(set)
    for tick, agent, *_ in rounds:
        active[tick].add(agent)

    def present(tick: int) -> int:
        return sum(joined <= tick and (left is None or left > tick) for joined, left in people)

    client = simulation.get("client", "YClientWeb")
    calls_after: dict[str, list[int]] = defaultdict(list)
    for tick, agent, index, action, _status in rounds:
        if (tick, agent, index) not in replied:
            calls_after[action].append(calls[(tick, agent, index)])
    return {
        "client": client,
        "per_hour": [{"tick": t, "present": present(t), "measured": len(active[t]),
                      "predicted": max(int(present(t) * simulation["hourly_activity"][str(t % 24)]), 1)}
                     for t in sorted(active)],
        "active_agent_hours": sum(len(agents) for agents in active.values()),
        "rounds": len(rounds),
        "expected_rounds": sum(expected_rounds(round_actions[a], client) for agents in active.values() for a in agents),
        "mix": dict(Counter(action for *_, action, _ in rounds)),
        "calls_per_round": dict(calls_after),
        "offered": offered,
    }


# Pearson's chi-square at 1% for 1 to 6 degrees of freedom: a mix that follows the prediction
# exceeds it in one pooled sample out of a hundred.
CHI2_CRITICAL_1PCT = {1: 6.63, 2: 9.21, 3: 11.34, 4: 13.28, 5: 15.09, 6: 16.81}


def chi_square(counts: Counter, expected_shares: dict[str, float]) -> dict[str, float]:
    """Pearson's statistic of the rounds' actions against the predicted shares, with its 1% bound."""
    total = sum(counts.values())
    statistic = sum((counts.get(a, 0) - p * total) ** 2 / (p * total) for a, p in expected_shares.items())
    return {"chi_square": round(statistic, 2), "chi_square_1pct": CHI2_CRITICAL_1PCT[len(expected_shares) - 1]}


def pooled(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The runs' figures together: counts summed, means over every round of every run."""
    rounds = sum(r["rounds"] for r in runs)
    active = sum(r["active_agent_hours"] for r in runs)
    mix: Counter = sum((Counter(r["mix"]) for r in runs), Counter())
    calls: dict[str, list[int]] = defaultdict(list)
    for run in runs:
        for action, counts in run["calls_per_round"].items():
            calls[action].extend(counts)
    return {
        "client": runs[0]["client"],
        "activations": {"measured": sum(h["measured"] for r in runs for h in r["per_hour"]),
                        "predicted": sum(h["predicted"] for r in runs for h in r["per_hour"]),
                        "hours_differing": sum(h["measured"] != h["predicted"] for r in runs for h in r["per_hour"])},
        "rounds_per_active_agent": {"measured": rounds / active,
                                    "predicted": sum(r["expected_rounds"] for r in runs) / active},
        "action_mix": {"rounds": rounds, "measured": {a: n / rounds for a, n in sorted(mix.items())},
                       "predicted": runs[0]["offered"], **chi_square(mix, runs[0]["offered"])},
        "llm_calls_per_round": {a: {"rounds": len(n), "measured": statistics.fmean(n),
                                    "predicted": [1 + extra for extra in CALLS_AFTER_CHOICE.get(a, ())]}
                                for a, n in sorted(calls.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3, help="runs, with seeds seed, seed + 1, ...")
    parser.add_argument("--quick", action="store_true", help="one run of 4 ticks (the smoke test)")
    add_results_dir(parser)
    args = parser.parse_args()
    ysocial = json.loads(YSOCIAL_CONFIG.read_text())
    runs = []
    with tempfile.TemporaryDirectory() as tmp, stub_server(0.0, pick_listed=True) as url:
        config = small_run_config(ysocial, url)
        config_path = Path(tmp) / "config.json"
        config_path.write_text(json.dumps(config))
        for seed in range(args.seed, args.seed + (1 if args.quick else args.repeats)):
            db_path = Path(tmp) / f"ysim-{seed}.db"
            command = [sys.executable, "-c", YSIM, "run", "--config", str(config_path), "--db",
                       f"sqlite:///{db_path}", "--seed", str(seed), "-q", *(["--ticks", "4"] if args.quick else [])]
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            subprocess.run(command, cwd=tmp, env=env, check=True, stdout=subprocess.DEVNULL)
            runs.append(measure(db_path, config))
    result = pooled(runs)
    summary = {
        "activations_measured": result["activations"]["measured"],
        "activations_predicted": result["activations"]["predicted"],
        "rounds_per_active_agent": round(result["rounds_per_active_agent"]["measured"], 3),
        "rounds_per_active_agent_predicted": round(result["rounds_per_active_agent"]["predicted"], 3),
        "none_share": round(result["action_mix"]["measured"].get("NONE", 0.0), 3),
        "none_share_predicted": round(1 / 3, 3), "rounds": result["action_mix"]["rounds"],
        "mix_chi_square": result["action_mix"]["chi_square"], "mix_chi_square_1pct": result["action_mix"]["chi_square_1pct"]}
    details = {"seeds": [args.seed + i for i in range(len(runs))], "quick": args.quick,
               "ysocial_config": "tests/fixtures/ysocial/config.json", "stub": "tests/llm_stub.py, latency 0, pick_listed",
               "pooled": result, "runs": runs}
    out = record("fidelity", summary, details, args.results_dir)
    print(json.dumps(summary), flush=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
