"""Every benchmark script in bench/ runs at its tiniest size and writes a result naming the commit.

Each script runs as `make bench` runs it, a process of its own, with `--results-dir` a temporary
folder (bench/results/ is left alone); the test reads back `<key>.json` and `latest.json`, checks
that both carry the commit measured and the machine, and that the figures the script exists to
measure are there. The scripts report to the session's Prefect server (PREFECT_API_URL) rather
than each starting one, and start a Ray of their own. Most of a run is fixed cost (imports, Ray
and its workers importing Prefect and ysim), so the selected scripts run two at a time, the
longest first, in one module fixture; each test then checks one script's output. PostgreSQL: apply_rows gets no URL and so
starts the embedded server (bench/postgres.py), recsys gets the session's database through
$YSIM_BENCH_PG_URL, so both ways of finding one are run. No figure is held to a goal here: the
sizes are too small to mean anything; `make bench` measures.
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
SCRIPT_TIMEOUT_S = 420  # seconds a tiny run gets on a loaded 2-core machine (tens of seconds on a quiet one)
AT_ONCE = 2  # scripts in flight: the machine's cores
TEST = "test_a_benchmark_runs_tiny_and_records_the_commit_and_its_figures"
PG_ENV = ("YSIM_BENCH_PG_URL", "YSIM_TEST_PG_URL")


def number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class Smoke:
    """How to run a script tiny, the key it records under, and what its figures must look like."""

    key: str
    args: list[str]
    check: Callable[[dict, dict], None]  # (latest.json's entry, <key>.json)
    postgres: str | None = None  # "embedded": no URL given; "configured": the session's, as YSIM_BENCH_PG_URL
    # The session's Prefect API (the test harness's SQLite server), or none: the script's `ysim` then
    # starts its own, as for a user who has none. Six sweep members at once against the harness's
    # server, on a loaded machine, met 503s past the client's retries; ysim's own server has the
    # retry-after a concurrent sweep needs (flows/prefect_server.py).
    session_prefect: bool = True


def check_memory(summary: dict, full: dict) -> None:
    assert full["agents"] == 20
    assert all(number(summary[k]) and summary[k] > 0 for k in ("dataclass", "plain_object", "generated_dataclass"))


def check_apply_rows(summary: dict, full: dict) -> None:
    assert set(full["databases"]) == {"sqlite", "postgresql"}
    assert full["postgresql_server"]["source"] == "embedded"
    assert full["postgresql_server"]["server_version"].startswith("18.")  # the wheel's PostgreSQL
    assert full["postgresql_server"]["fsync"] == "on"  # a benchmark's server keeps PostgreSQL's defaults
    for name in ("sqlite", "postgresql"):
        assert number(summary[name]) and summary[name] > 0
        assert full["databases"][name]["ticks"][0]["rows"] > 0


def check_recsys(summary: dict, full: dict) -> None:
    assert set(full["databases"]) == {"sqlite", "postgresql"}
    assert full["postgresql_server"]["source"] == "YSIM_BENCH_PG_URL"
    assert full["databases"]["sqlite"].keys() == full["databases"]["postgresql"].keys()
    figures = {k: v for k, v in summary.items() if k.endswith("_ms_per_agent") and k != "goal_ms_per_agent"}
    assert len(figures) == len(full["databases"]["sqlite"]) >= 2
    assert all(number(v) and v >= 0 for v in figures.values())


def check_phases(summary: dict, full: dict) -> None:
    for name in ("post_content", "comment_on_post"):
        phases = summary[name]
        assert all(number(phases[k]) and phases[k] > 0 for k in ("prepare_ms", "ray_task_ms", "write_ms", "total_ms"))


def check_seed_table(summary: dict, full: dict) -> None:
    assert all(number(summary[k]) and summary[k] > 0 for k in ("speedup_stub", "speedup_tick"))
    rows = [r["row"] for r in full["results"][0]["rows"]]
    assert rows == ["read posts", "generate posts", "generate comments", "react to posts", "total"]


def check_overhead(summary: dict, full: dict) -> None:
    assert summary["all_same_database"] is True  # orchestrated and inline wrote the same rows
    assert number(summary["p50_10"]) and number(summary["p99_10"])
    assert summary["percentiles_over"] == "agent-actions"
    result = full["results"][0]
    assert result["agent_actions"] == sum(result["agent_actions_per_tick"]) > 0
    # p50 and p99 are figures of measured ticks (nearest rank over their agent-actions).
    assert {summary["p50_10"], summary["p99_10"]} <= set(result["overhead_ms_per_tick_action"])


def check_saturation(summary: dict, full: dict) -> None:
    assert number(summary["ratio_stub"]) and summary["ratio_stub"] > 0
    assert full["results"]["stub"]["tick_llm_calls"] > 0


def check_small_run(summary: dict, full: dict) -> None:
    assert summary["ticks_per_run"] == 1 and full["prefect_api"] == "$PREFECT_API_URL"
    assert full["project"] == str(ROOT) and all(f.startswith(str(ROOT)) for f in full["modules"].values())
    run = full["runs"][0]
    assert run["ray_workers"] and all(w["pythonpath"].startswith(str(ROOT)) for w in run["ray_workers"])
    [tick] = run["ticks"]
    assert tick["tick"] == 0 and tick["llm_calls"] > 0
    # The tick cannot end before its slowest agent has had its answers, one after another.
    assert 0 < tick["chain_s"] < tick["wall_s"]
    assert 0 < run["startup_s"] < run["whole_s"]
    assert abs(run["outside_ticks_s"] + run["ticks_s"] - run["whole_s"]) < 0.01
    assert 0 < summary["overhead_share"] < 1


def check_tick_floor(summary: dict, full: dict) -> None:
    assert summary["ticks_measured"] == 3 and full["prefect_api"] == "$PREFECT_API_URL"
    assert all(len(full["walls_s"][kind]) == 3 and all(w > 0 for w in full["walls_s"][kind]) for kind in ("empty", "shape"))
    # The medians are of the measured ticks (3 each: the middle one).
    assert summary["empty_s_p50"] == round(sorted(full["walls_s"]["empty"])[1], 4)
    assert summary["shape_s_p50"] == round(sorted(full["walls_s"]["shape"])[1], 4)


def check_fidelity(summary: dict, full: dict) -> None:
    [run] = full["runs"]
    assert [h["tick"] for h in run["per_hour"]] == [0, 1, 2, 3]
    # ysim draws who acts by Y Social's rule: each hour's count is the rule's, from the agents present.
    assert all(h["measured"] == h["predicted"] and h["present"] == 180 for h in run["per_hour"])
    assert summary["rounds"] == sum(run["mix"].values()) > 0
    assert summary["rounds_per_active_agent"] == round(summary["rounds"] / summary["activations_measured"], 3)
    assert set(run["mix"]) <= set(full["pooled"]["action_mix"]["predicted"])
    assert full["pooled"]["llm_calls_per_round"].get("NONE", {"measured": 1.0})["measured"] == 1.0  # the choice


def check_memory_cost(summary: dict, full: dict) -> None:
    assert full["agents"] == 30 and full["actions"] > 0 and [p["day"] for p in full["curve"]] == [1]
    per_action = (full["median_on_s"] - full["median_off_s"]) / full["actions"] * 1000  # medians rounded to 10 ms
    assert abs(summary["overhead_ms"] - per_action) <= 0.01 / full["actions"] * 1000 + 0.001
    assert all(p["rows"] > 0 and p["bytes"] > 0 for p in full["curve"])
    assert summary["bytes_per_agent_day"] == full["curve"][0]["bytes_per_agent"] == round(
        full["curve"][0]["bytes"] / full["curve_agents"], 1)


def check_survey(summary: dict, full: dict) -> None:
    assert summary["agents"] == 12 and full["answers"] == {"ok": 12}  # every agent answered, on the scale
    assert len(full["survey_seconds_each"]) == len(full["raw_seconds_each"]) == full["repeats"] == 1
    ratio = summary["raw_seconds"] / summary["survey_seconds"]  # both rounded to 1 ms
    assert abs(summary["saturation"] - ratio) <= 0.01 * ratio + 0.002
    assert summary["meets_goal"] == (summary["saturation"] >= summary["goal"])


def check_web(summary: dict, full: dict) -> None:
    assert summary["agents"] == 200 and summary["ticks_committed_meanwhile"] >= 1
    assert summary["errors"] == 0 and summary["requests"] == sum(q["n"] for q in full["by_kind"].values()) > 0
    assert summary["p95_ms"] == max(q["p95_ms"] for q in full["by_kind"].values() if q["n"])
    assert full["rows"]["posts"] > 0 and full["rows"]["recommendations"] > 0
    assert full["seconds_read"] >= full["seconds"] and full["requests_per_s"] == round(
        summary["requests"] / full["seconds_read"], 1)
    assert summary["quiet_errors"] == 0 and summary["quiet_p95_ms"] == max(
        q["p95_ms"] for q in full["quiet_by_kind"].values() if q["n"])


def check_fork(summary: dict, full: dict) -> None:
    assert full["at"] == 2 and summary["rows"] > 0 and full["source_rows"] >= summary["rows"]
    assert summary["llm_calls_not_cached"] == 0 and set(full["fork_llm_calls"]["after"]) <= {"cached"}
    assert len(full["fork_copy_s"]) == len(full["backup_s"]) == full["repeats"] and summary["fork_command_s"] > 0
    per_million = full["fork_copy_median_s"] / summary["rows"] * 1e6  # the median is rounded to 0.1 ms
    assert abs(summary["seconds_per_million_rows"] - per_million) <= 0.02 * per_million + 0.001
    copy_per_million = full["backup_median_s"] / full["source_rows"] * 1e6
    assert abs(summary["ratio_to_copy"] - per_million / copy_per_million) <= 0.05 * summary["ratio_to_copy"] + 0.01


def check_sweep(summary: dict, full: dict) -> None:
    assert full["variants"] == 6 and full["agents"] == 5 and full["ticks"] == 2
    assert summary["every_member_whole"] is True and summary["same_databases"] is True
    ratio = summary["one_after_another_s"] / summary["sweep_s"]  # both rounded to 0.1 s
    assert abs(summary["speedup"] - ratio) <= 0.02 * ratio + 0.01
    assert full["llm_calls_per_sweep"] > 0 and summary["cpu_bound_speedup"] > 0
    assert full["cpu_s"]["sweep"]["ysim"] > 0 and full["cpu_s"]["sweep"]["ray_workers"] > 0


def check_llm_concurrency(summary: dict, full: dict) -> None:
    assert set(full["results"]) == {"fixed_8", "adaptive"}
    assert all(r["llm_calls"] > 0 and number(r["mean_wait_ms"]) for r in full["results"].values())
    assert number(summary["requests_per_s_adaptive"]) and number(summary["requests_per_s_fixed_8"])


def check_scale(summary: dict, full: dict) -> None:
    assert summary["max_agents_day"] == 20, full["results"]
    assert full["ticks_per_day"] == 1 and full["results"][0]["ticks"] == 1
    assert full["results"][0]["rows"]["actions"] > 0


SMOKES: dict[str, Smoke] = {
    "agent_memory.py": Smoke("bytes_per_agent", ["--agents", "20"], check_memory),
    "apply_rows.py": Smoke("apply_rows_per_s", ["--agents", "20", "--warmup", "1", "--ticks", "1", "--batch", "10"],
                           check_apply_rows, postgres="embedded"),
    "recsys.py": Smoke("recsys", ["--agents", "30", "--posts", "60", "--batch", "10"], check_recsys,
                       postgres="configured"),
    "parallel_call_phases.py": Smoke("parallel_call_phases", ["--agents", "2", "--repeats", "1", "--latency", "0"],
                                     check_phases),
    "seed_table.py": Smoke("seed_table", ["--quick", "--no-warmup", "--agents", "2", "--latency", "0"],
                           check_seed_table),
    "tick_overhead.py": Smoke("overhead_ms", ["--agents", "10", "--ticks", "1", "--batch", "10"], check_overhead),
    "saturation.py": Smoke("saturation", ["--no-embedded", "--agents", "10", "--ticks", "1", "--batch", "10"],
                           check_saturation),
    "scale.py": Smoke("scale", ["--agents", "20", "--batch", "20", "--ticks", "1"], check_scale),
    "llm_concurrency.py": Smoke("llm_concurrency", ["--agents", "200", "--ticks", "1", "--latency", "0.05"],
                                check_llm_concurrency),
    "small_run.py": Smoke("small_run", ["--ticks", "1", "--repeats", "1", "--latency", "0.05", "--keep-prefect-api"],
                          check_small_run),
    "tick_floor.py": Smoke("tick_floor", ["--ticks", "3", "--repeats", "1"], check_tick_floor),
    "fidelity.py": Smoke("fidelity", ["--quick"], check_fidelity),
    "memory.py": Smoke("memory", ["--agents", "30", "--repeats", "1", "--curve-agents", "20", "--days", "1"],
                       check_memory_cost),
    "survey.py": Smoke("survey", ["--agents", "12", "--repeats", "1", "--latency", "0.02", "--slots", "4"],
                       check_survey),
    "web.py": Smoke("web", ["--agents", "200", "--ticks", "3", "--advance", "8", "--readers", "4", "--seconds", "2",
                            "--think", "0.2"], check_web),
    "fork.py": Smoke("fork", ["--agents", "20", "--ticks", "4", "--at", "2", "--repeats", "2"], check_fork),
    "sweep.py": Smoke("sweep", ["--agents", "5", "--ticks", "2", "--latency", "0.05"], check_sweep,
                      session_prefect=False),
}


# Longest first, so that the two lanes end together.
LONGEST_FIRST = ["seed_table.py", "tick_overhead.py", "saturation.py", "scale.py", "llm_concurrency.py",
                 "parallel_call_phases.py", "small_run.py", "tick_floor.py", "fidelity.py", "survey.py", "web.py",
                 "fork.py", "sweep.py", "memory.py", "apply_rows.py", "recsys.py", "agent_memory.py"]


def head_commit() -> str:
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10)
    assert done.returncode == 0, f"git rev-parse HEAD in {ROOT}: {done.stderr}"
    return done.stdout.strip()


def bench_scripts() -> set[str]:
    """The runnable scripts of bench/ (a `__main__` block), but run_all.py, which runs them."""
    return {path.name for path in BENCH.glob("*.py")
            if 'if __name__ == "__main__":' in path.read_text() and path.name != "run_all.py"}


def cpu_seconds_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def commits_since(before: str) -> set[str]:
    """`before` and every commit made on top of it since (a shared working tree moves on meanwhile)."""
    done = subprocess.run(["git", "rev-list", f"{before}..HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10)
    assert done.returncode == 0, f"git rev-list {before}..HEAD: {done.stderr}"
    return {before, *done.stdout.split()}


@dataclass
class Finished:
    returncode: int | None  # None: killed at SCRIPT_TIMEOUT_S
    output: str
    results: Path
    seconds: float


def run_scripts(scripts: list[str], env_for: Callable[[Smoke], dict], folder: Path) -> dict[str, Finished]:
    """Run `scripts` AT_ONCE at a time; a script past SCRIPT_TIMEOUT_S is killed with its process group
    (its Ray)."""
    waiting, running, finished = list(scripts), {}, {}
    while waiting or running:
        while waiting and len(running) < AT_ONCE:
            script = waiting.pop(0)
            smoke, log = SMOKES[script], (folder / f"{script}.log").open("w+")
            results = folder / script.removesuffix(".py")
            command = [sys.executable, str(BENCH / script), *smoke.args, "--results-dir", str(results)]
            process = subprocess.Popen(command, cwd=ROOT, env=env_for(smoke), stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
            running[script] = (process, log, results, time.monotonic())
        time.sleep(0.2)
        for script, (process, log, results, started) in list(running.items()):
            late = time.monotonic() - started > SCRIPT_TIMEOUT_S
            if process.poll() is None and not late:
                continue
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            log.seek(0)
            finished[script] = Finished(None if late else process.returncode, log.read(), results,
                                        time.monotonic() - started)
            log.close()
            del running[script]
    return finished


@dataclass
class BenchRuns:
    head_before: str  # the commit checked out when the scripts started
    finished: dict[str, Finished]


@pytest.fixture(scope="module")
def bench_runs(request, tmp_path_factory) -> BenchRuns:
    """The scripts this session's tests ask for, run."""
    from prefect.settings import PREFECT_API_URL

    selected = {item.callspec.params["script"] for item in request.session.items if item.originalname == TEST}
    base = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "RAY_ADDRESS": "",
            "RAY_USAGE_STATS_ENABLED": "0", "DO_NOT_TRACK": "1"}
    for name in PG_ENV:
        base.pop(name, None)
    configured = request.getfixturevalue("postgres_url") if any(
        SMOKES[s].postgres == "configured" for s in selected) else None

    def env_for(smoke: Smoke) -> dict:
        env = {**base, "YSIM_BENCH_PG_URL": configured} if smoke.postgres == "configured" else dict(base)
        if not smoke.session_prefect:
            env.pop("PREFECT_API_URL")
        return env

    head_before, started, cpu = head_commit(), time.monotonic(), cpu_seconds_of_children()
    finished = run_scripts([s for s in LONGEST_FIRST if s in selected], env_for, tmp_path_factory.mktemp("bench"))
    # Wall time depends on what else the machine runs; the CPU seconds (of the scripts and the
    # processes they waited for) much less.
    print(f"\nbench smoke: {len(finished)} scripts in {time.monotonic() - started:.1f} s, "
          f"{cpu_seconds_of_children() - cpu:.1f} CPU s; " + ", ".join(f"{s} {f.seconds:.1f} s" for s, f in finished.items()))
    return BenchRuns(head_before, finished)


def test_every_benchmark_script_has_a_smoke_run_under_the_key_make_bench_reads():
    from bench.run_all import SUITE

    assert bench_scripts() == set(SMOKES) == set(LONGEST_FIRST)
    for key, (script, _, _) in SUITE.items():
        assert SMOKES[script].key == key, f"bench/run_all.py runs {script} as {key!r}; it records {SMOKES[script].key!r}"


@pytest.mark.parametrize("script", sorted(SMOKES))
def test_a_benchmark_runs_tiny_and_records_the_commit_and_its_figures(script, bench_runs):
    smoke, done = SMOKES[script], bench_runs.finished[script]
    assert done.returncode == 0, f"{script} exited {done.returncode} after {done.seconds:.0f} s:\n{done.output[-4000:]}"
    full = json.loads((done.results / f"{smoke.key}.json").read_text())
    latest = json.loads((done.results / "latest.json").read_text())
    assert set(latest) == {smoke.key, "machine"}
    assert re.fullmatch(r"[0-9a-f]{40}", full["commit"])
    assert full["benchmark"] == smoke.key
    assert full["commit"] == latest[smoke.key]["commit"]
    assert full["commit"] in commits_since(bench_runs.head_before)
    assert full["dirty"] in (True, False) and latest[smoke.key]["dirty"] == full["dirty"]
    assert full["machine"]["cores"] >= 1 and latest["machine"]["cores"] >= 1
    smoke.check(latest[smoke.key], full)

