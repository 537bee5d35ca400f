"""Exactly-once ticks under hard kills: `ysim run` killed with SIGKILL at 20 random moments
(during a tick's read, generate and apply phases, and between ticks), then resumed, ends with
the database of a run that was never interrupted, compared table by table, ids included.

Ten kills on SQLite and ten on PostgreSQL: each run is killed, run again (which resumes it) and
killed again, ten times, and an eleventh `ysim run` finishes it. The uninterrupted run is made
first, on the same database URL, and its database is dumped after each tick it commits. After
every kill the database equals that dump at the number of ticks committed so far: every table
of the schema, every column but the wall-clock ones (tests/table_dumps.py), so the kill left
nothing of its tick and the resume before it redid nothing; at the end it equals the whole
uninterrupted run's. A person of ysim web has joined and sent a post, a follow and a
comment (refused: its post is not visible yet) before the first tick: the tick that commits
applies them once, with the same ids, in both runs. Moments are drawn from a seeded generator; the phase a kill
landed in is read from `ysim run --verbose`, which prints each phase as it starts, and from the
LLM stub's requests in flight. Half the kills hit only the `ysim` process (Ray's processes then
exit by themselves, and a writer may still finish), half its whole process tree, as a crash
would; every process of the killed run that could write must be gone before the resume.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import yaml
from prefect.settings import PREFECT_API_URL
from sqlalchemy import select

from db import dispose_engines, session_factory
from db.models import Base, LLMPendingRow, TickRow
from db.people import create_account, submit
from flows import config_loader
from flows.simulation import listen, simulation_flow
from tasks import prepare_run
from tests.conftest import reset_postgres
from tests.table_dumps import compared_columns, dump_all

pytestmark = pytest.mark.slow

# Eight ticks leave room for ten kills: a kill aimed at generate goes past ticks whose answers a
# killed attempt kept (see `ticks_with_answers_kept`). A run's restart (Python, a fresh Ray, its
# workers' imports: about 15 s here) costs far more than a tick; one batch per tick (5 of 10
# agents act each hour) keeps a fresh Ray from starting workers for parallel batches.
TICKS = 8
KILLS = 10  # per backend
PHASES = ("read", "generate", "apply", "between")
LLM_LATENCY_S = 0.05
# How long after a phase's start a kill may come, per phase: within the phase as it runs here
# (apply, one Ray task run and a write, takes 50-100 ms since issue 22; a later kill could land
# after the last tick's commit, when no tick is left to aim the next kill at).
DELAY_S = {"read": 0.1, "generate": LLM_LATENCY_S, "apply": 0.04, "between": 0.05}
CONFIG = {"simulation": {"seed": 5, "hourly_activity": {h: 0.5 for h in range(24)},
                         "actions_likelihood": {"post": 0.3, "comment": 0.3, "read": 0.2, "search": 0.1,
                                                "cast": 0.1}},
          "agents": {"count": 10, "emotions": ["joy", "anger"], "annotate_emotions": True},
          "llm": {"max_retries": 0, "timeout_s": 5}, "ray": {"batch_size": 5, "tick_retries": 0}}
# Tables that hold a tick's work before it commits (answers an attempt received, kept for its
# retry): a kill may leave rows of the killed tick there, never of a committed one.
IN_PROGRESS = frozenset({"llm_pending"})


@dataclass
class Kill:
    phase: str  # aimed at
    tick: int
    delay_s: float
    whole_tree: bool  # every process of the run, or the `ysim` process alone


class VerboseRun:
    """`ysim run --verbose` in its own session, its stderr lines read as they come."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen([str(Path(sys.executable).parent / "ysim"), *args, "--verbose"], env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                        start_new_session=True)
        self.lines: list[str] = []
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stderr:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.lines.append("<exit>")
            self.changed.notify_all()

    def seen(self, pattern: str) -> bool:
        with self.changed:
            return any(re.search(pattern, line) for line in self.lines)

    def wait_for(self, pattern: str, timeout_s: float = 120) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: any(re.search(pattern, ln) for ln in self.lines) or
                                         self.lines[-1:] == ["<exit>"], timeout=timeout_s):
                raise TimeoutError(f"no line matching {pattern!r} in {timeout_s} s: {self.lines[-5:]}")
            if self.lines[-1] == "<exit>" and not any(re.search(pattern, ln) for ln in self.lines):
                raise AssertionError(f"the run ended before {pattern!r}:\n" + "\n".join(self.lines[-20:]))

    def kill(self, whole_tree: bool) -> None:
        if whole_tree:
            for process in self.session():
                process.kill()
        else:
            self.process.kill()
        self.process.wait(timeout=30)

    def session(self) -> list[psutil.Process]:
        """Every process started for this run (Ray's included: they share its session)."""
        mine = []
        for process in psutil.process_iter():
            try:
                if os.getsid(process.pid) == self.process.pid and process.status() != psutil.STATUS_ZOMBIE:
                    mine.append(process)
            except (ProcessLookupError, psutil.Error):
                pass  # gone meanwhile
        return mine


def tick_line(tick: int, what: str) -> str:
    return rf"^tick {tick} \(day \d+ hour \d+\)(: | ){what}"


def kill_at(run: VerboseRun, kill: Kill, stub) -> str:
    """Kill `run` at `kill`'s moment; returns the phase the run was in when the signal went."""
    trigger = {"read": "read: ", "generate": "read: ", "apply": "apply", "between": "committed"}[kill.phase]
    run.wait_for(tick_line(kill.tick, trigger))
    requests = len(stub.state.requests)
    if kill.phase == "generate":  # the first of the tick's LLM requests in flight, or apply if none came
        deadline = time.monotonic() + 60
        while stub.state.in_flight == 0 and not run.seen(tick_line(kill.tick, "apply")):
            assert time.monotonic() < deadline and run.process.poll() is None
            time.sleep(0.002)
    time.sleep(kill.delay_s)
    in_flight, sent = stub.state.in_flight, len(stub.state.requests)
    if run.seen(tick_line(kill.tick + 1, "select")) or run.seen(r"^<exit>"):
        landed = "later"
    elif run.seen(tick_line(kill.tick, "committed")):
        landed = "between"
    elif run.seen(tick_line(kill.tick, "apply")):
        landed = "apply"
    elif in_flight or sent > requests:
        landed = "generate"
    else:
        landed = "read"
    run.kill(kill.whole_tree)
    return landed


def plan(rng: random.Random) -> list[str]:
    """The phases to aim the kills at: each twice, two more at random, shuffled."""
    phases = [*PHASES, *PHASES, *rng.choices(PHASES, k=KILLS - 2 * len(PHASES))]
    rng.shuffle(phases)
    return phases


def ticks_with_answers_kept(url: str) -> set[int]:
    """Ticks that a killed attempt left answers of (`llm_pending`: its batch had ended): their
    resume reuses them and asks the LLM nothing, so a kill aimed at generate goes to a later tick."""
    with session_factory(url).begin() as session:
        return set(session.scalars(select(LLMPendingRow.tick).distinct()))


def committed_ticks(url: str) -> list[int]:
    with session_factory(url).begin() as session:
        return list(session.scalars(select(TickRow.tick).order_by(TickRow.tick)))


def run_config(config: Path, url: str, llm_url: str):
    """The configuration `ysim run --config config --db url --llm-url llm_url --ticks TICKS` builds."""
    return config_loader.build(config_loader.load_file(config),
                               {"simulation.ticks": TICKS, "database.url": url, "llm.url": llm_url})


def prepared_with_a_person(cfg) -> None:
    """The run prepared, and a person's join and actions waiting in the inbox for its first tick."""
    run_id = prepare_run.fn(cfg).run_id
    with session_factory(cfg.database.url).begin() as session:
        account = create_account(session, run_id, "ada_person", "argon2-hash-stand-in", {"interests": ["rent"]})
        for kind, payload in (("post", {"text": "a person's post #rent"}), ("follow", {"agent_id": 2}),
                              ("comment", {"post_id": 1, "text": "too early"})):
            submit(session, run_id, account.account_id, kind, payload)


def reference_run(config: Path, url: str, llm_url: str) -> list[dict[str, list[tuple]]]:
    """Run the simulation uninterrupted, as `ysim run` builds its configuration; the database
    after each committed tick: [n] holds ticks 0 to n - 1 ([0]: the run prepared, no tick yet)."""
    cfg = run_config(config, url, llm_url)
    prepared_with_a_person(cfg)
    dumps = []

    def after(event: dict) -> None:  # sent before the next tick starts: the database holds n ticks
        if event["event"] in ("start", "tick"):
            dumps.append(dump_all(url))

    with listen(after):
        simulation_flow(cfg)
    assert [len(d["ticks"]) for d in dumps] == list(range(TICKS + 1))
    names = [column.name for column in compared_columns(Base.metadata.tables["inbox"])]
    applied = [(row[names.index("applied_tick")], row[names.index("outcome")]) for row in dumps[1]["inbox"]]
    assert applied == [(0, "written"), (0, "written"), (0, "written"), (0, "refused: post 1 is not visible")]
    return dumps


def committed_part(tables: dict[str, list[tuple]], committed: int) -> dict[str, list[tuple]]:
    """`tables` without the in-progress rows of uncommitted ticks, after checking that is all they hold."""
    kept = dict(tables)
    for name in IN_PROGRESS & kept.keys():
        tick = [column.name for column in compared_columns(Base.metadata.tables[name])].index("tick")
        assert all(row[tick] >= committed for row in kept[name]), f"{name} keeps work of a committed tick"
        kept[name] = []
    return kept


def differing(got: dict[str, list[tuple]], expected: dict[str, list[tuple]]) -> dict[str, tuple[int, int]]:
    """{table: (rows here, rows expected)} for each table whose rows differ: the failure's message."""
    return {name: (len(got[name]), len(rows)) for name, rows in expected.items() if got.get(name) != rows}


def remove_database(backend: str, url: str, path: Path) -> None:
    """Empty the database for the next run at the same URL (same URL: `runs.config` names it)."""
    dispose_engines()
    if backend == "postgresql":
        reset_postgres(url)
    else:
        for file in path.parent.glob(path.name + "*"):  # the database, its WAL and shared memory
            file.unlink()


# Ray's node agents outlive a crash by a minute: they try to report the raylet's death to the
# dead GCS and give up after Ray's 60 s timeout. They hold no database connection.
RAY_AGENTS = ("ray::DashboardAgent", "ray::RuntimeEnvAgent")


def wait_until_gone(run: VerboseRun, lingering: list[psutil.Process]) -> None:
    """Wait until every process of the killed run that could write is gone; Ray's agents are
    collected in `lingering`, to be stopped at the end."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        left = [p for p in run.session() if not _command(p).startswith(RAY_AGENTS)]
        if not left:
            lingering += run.session()
            return
        time.sleep(0.2)
    raise AssertionError(f"processes of the killed run still alive: {[_command(p)[:80] for p in left]}")


def _command(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""  # exited since it was listed


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_run_killed_at_10_random_moments_resumes_to_the_same_database(backend, ray_session, llm_stub, tmp_path,
                                                                        request):
    started = time.perf_counter()
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    llm_stub.state.latency_s = LLM_LATENCY_S  # ticks long enough to be killed inside a phase
    path = tmp_path / "ysim.db"
    url = f"sqlite:///{path}" if backend == "sqlite" else request.getfixturevalue("postgres_url")

    def args(url: str) -> list[str]:
        return ["run", "--config", str(config), "--db", url, "--llm-url", llm_stub.url, "--ticks", str(TICKS)]

    if backend == "postgresql":
        reset_postgres(url)
    expected = reference_run(config, url, llm_stub.url)  # the uninterrupted run, tick by tick
    assert set(expected[0]) == set(Base.metadata.tables) >= IN_PROGRESS  # every table is compared
    remove_database(backend, url, path)
    prepared_with_a_person(run_config(config, url, llm_stub.url))
    timings = {"reference": time.perf_counter() - started}
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "RAY_ADDRESS": ""}  # a local Ray of its own

    rng = random.Random(f"kills on {backend}")
    landed, lingering, next_tick = [], [], 0
    for phase in plan(rng):
        # No tick left to start after the last one; and a kill in the last tick's apply can land
        # after its commit, which ends the run with kills still planned: both aim before it.
        if phase in ("between", "apply") and next_tick > TICKS - 2:
            phase = "generate"
        last = TICKS - 2 if phase in ("between", "apply") else TICKS - 1
        tick = min(next_tick + (rng.random() < 0.25), last)
        if phase == "generate":
            answered = ticks_with_answers_kept(url)
            while tick in answered and tick < last:
                tick += 1
        kill = Kill(phase, tick, rng.uniform(0, DELAY_S[phase]), whole_tree=len(landed) % 2 == 1)
        begun = time.perf_counter()
        run = VerboseRun(args(url), env)
        where = kill_at(run, kill, llm_stub)
        assert run.process.returncode == -signal.SIGKILL, run.lines[-10:]
        killed = time.perf_counter()
        wait_until_gone(run, lingering)
        timings.setdefault("runs until killed", []).append(round(killed - begun, 1))
        timings.setdefault("waits until gone", []).append(round(time.perf_counter() - killed, 1))
        ticks = committed_ticks(url)
        assert ticks == list(range(len(ticks))), ticks  # a prefix: no gap
        next_tick = len(ticks)
        # The database is the uninterrupted run's after as many ticks: nothing of the killed tick,
        # nothing redone or lost by the resumes before, in any table.
        got = committed_part(dump_all(url), next_tick)
        assert got == expected[next_tick], differing(got, expected[next_tick])
        landed.append((kill, where, next_tick))

    begun = time.perf_counter()
    resumed = VerboseRun(args(url), env)
    assert resumed.process.wait(timeout=300) == 0, resumed.lines[-20:]
    resumed.wait_for(r"^<exit>")
    timings["last run"] = round(time.perf_counter() - begun, 1)
    for process in lingering:
        with contextlib.suppress(psutil.Error):
            process.kill()
    # The last kill may land after the last tick's commit: then there is nothing left to resume.
    expected_line = (f"Resuming run 1 at tick {next_tick} of {TICKS}." if next_tick < TICKS else
                     f"Run 1 is finished: {TICKS} of {TICKS} ticks committed.")
    assert any(expected_line in line for line in resumed.lines), (next_tick, resumed.lines[:12])
    final = dump_all(url)
    assert final == expected[TICKS], differing(final, expected[TICKS])  # no duplicate, no missing row, same ids

    where = [w for _, w, _ in landed]
    print(f"kills on {backend} (aimed at, tick, landed in, ticks committed after):",
          [(k.phase, k.tick, w, n) for k, w, n in landed])
    print(f"seconds on {backend}:", {k: round(v, 1) if isinstance(v, float) else v for k, v in timings.items()})
    assert len(landed) == KILLS
    assert all(where.count(phase) >= 2 for phase in PHASES), where  # every phase was really hit
