"""Survey saturation: how fast a run's survey of 1,000 agents gets its answers out of an LLM server,
against the same number of requests from a raw load generator (issue 25, `survey.saturation`).

Two measurements side by side in one run, against the same stub server (tests/llm_stub.py in a
process of its own: `--slots` requests at once, each answered in `--latency` seconds):

- survey: a ysim tick (`tick_flow`, Prefect on Ray) whose only work is a Likert survey of every
  agent (`surveys:`; the agents are rule-based and no hour is active, so nobody acts and the
  tick's LLM calls are the survey's). Its wall time covers the whole tick: select, the survey's
  reads of persona, opinions, memories and recent posts, the in-character prompts, the calls
  through the tick's LLM pool at `llm.concurrency` = the stub's slots, and the apply phase
  writing every answer into `interviews`, `llm_calls` and the cache;
- raw: an async `openai` load generator (bench/saturation.py's) sending as many requests,
  `--slots` in flight.

saturation = raw seconds / survey tick seconds (goal: at least 0.9). The same run's next tick,
with no survey and nobody acting, is timed too: what a tick costs around the survey.

    python bench/survey.py [--agents 1000] [--latency 0.2] [--slots 32] [--repeats 3]

Results: bench/results/survey.json and the `survey` entry of latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from agent_models import RunConfig  # noqa: E402
from agent_models.run_config import RaySettings  # noqa: E402
from bench.results_store import add_results_dir, record  # noqa: E402
from bench.saturation import raw_rate  # noqa: E402
from bench.stub_process import stub_server  # noqa: E402
from flows.prefect_api import prefect_api  # noqa: E402
from flows.ray_runner import ensure_ray  # noqa: E402
from tasks import prepare_run  # noqa: E402

GOAL = 0.9
SURVEY_TICK = 1
QUESTION = "How much do you trust the news you read on this platform?"


def survey_config(agents: int, slots: int, url: str, db_path: Path) -> RunConfig:
    return RunConfig.model_validate({
        "simulation": {"seed": 5, "ticks": SURVEY_TICK + 2, "hourly_activity": {h: 0.0 for h in range(24)}},
        "agents": {"count": agents, "rule_based_share": 1.0},
        "database": {"url": f"sqlite:///{db_path}"},
        "llm": {"url": url, "model": "stub-model", "concurrency": slots},
        "ray": {"tick_retries": 0, "task_retries": 0},
        "surveys": [{"at": SURVEY_TICK, "question": QUESTION, "scale": 5, "name": "trust"}]})


def survey_tick(agents: int, slots: int, url: str, db_path: Path) -> dict:
    """The wall time of the survey's tick and of the next one (no survey), and what was stored."""
    from flows.tick import tick_flow, without_tick_heartbeats

    config = survey_config(agents, slots, url, db_path)
    run = prepare_run.fn(config)
    with without_tick_heartbeats():
        tick_flow(config, run.run_id, 0)  # warms Ray's workers and the imports up
        started = time.perf_counter()
        summary = tick_flow(config, run.run_id, SURVEY_TICK)
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        tick_flow(config, run.run_id, SURVEY_TICK + 1)
        plain = time.perf_counter() - started
    with create_engine(f"sqlite:///{db_path}").connect() as connection:
        answers = dict(connection.execute(text(
            "SELECT outcome, COUNT(*) FROM interviews WHERE kind = 'survey' GROUP BY outcome")).all())
    asked = sum(answers.values())
    if asked != agents or summary["llm_calls"] != agents:
        raise SystemExit(f"the survey stored {asked} answers from {summary['llm_calls']} calls, not {agents}")
    return {"seconds": seconds, "plain_tick_seconds": plain, "answers": answers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.2, help="the stub's seconds per answer")
    parser.add_argument("--slots", type=int, default=32, help="requests the stub serves at once")
    parser.add_argument("--repeats", type=int, default=3, help="survey and raw measured this many times each")
    add_results_dir(parser)
    args = parser.parse_args()
    surveys, raws = [], []
    with prefect_api(), tempfile.TemporaryDirectory() as tmp, stub_server(args.latency, args.slots) as url:
        ensure_ray(RaySettings())
        for repeat in range(args.repeats):  # interleaved, so a slow spell of the machine hits both
            surveys.append(survey_tick(args.agents, args.slots, url, Path(tmp) / f"survey-{repeat}.db"))
            requests_per_s, _, _ = raw_rate(url, "stub-model", args.slots, args.agents)
            raws.append(args.agents / requests_per_s)
            print(json.dumps({"repeat": repeat, "survey_s": round(surveys[-1]["seconds"], 3),
                              "raw_s": round(raws[-1], 3)}), flush=True)
    survey_s = statistics.median(s["seconds"] for s in surveys)
    raw_s = statistics.median(raws)
    summary = {"saturation": round(raw_s / survey_s, 3), "goal": GOAL, "meets_goal": raw_s / survey_s >= GOAL,
               "survey_seconds": round(survey_s, 3), "raw_seconds": round(raw_s, 3), "agents": args.agents}
    details = {**summary, "stub_latency_s": args.latency, "stub_slots": args.slots, "repeats": args.repeats,
               "floor_seconds": round(args.agents / args.slots * args.latency, 3),
               "survey_seconds_each": [round(s["seconds"], 3) for s in surveys],
               "raw_seconds_each": [round(r, 3) for r in raws],
               "plain_tick_seconds_each": [round(s["plain_tick_seconds"], 3) for s in surveys],
               "answers": surveys[-1]["answers"]}
    out = record("survey", summary, details, args.results_dir)
    print(json.dumps(summary), flush=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
