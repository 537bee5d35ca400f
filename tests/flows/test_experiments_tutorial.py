"""docs/experiments.md's tutorial, run as written: its files written as the page shows them, its
`ysim` commands run one by one in an empty folder, with the page's LLM URL pointed at the stub
server. Then what each step says it made is checked.

Each command runs as a user runs it: a `ysim` process with no Prefect API configured (so it
starts its own local server, with a Prefect home in the test's folder) and a local Ray of its
own. Not against the session's Prefect test server: that is Prefect's stock SQLite server, which
answers a busy database with 503 and Prefect's client then waits 2, 4, 8 s; six runs at once
stalled there for minutes (docs/experiments.md, "Sweeps", says so for users).
"""

from __future__ import annotations

import csv
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from db import session_factory
from db.models import InterventionRow, PostRow, TickRow
from tests.dumps import dump
from tests.flows.test_replay import without_outcomes

PAGE = Path(__file__).parents[2] / "docs" / "experiments.md"
PAGE_LLM_URL = "http://127.0.0.1:8000/v1"
COMMAND_TIMEOUT_S = 300


def tutorial() -> str:
    text = PAGE.read_text()
    return text[text.index("## Tutorial"):]


def files(section: str) -> dict[str, str]:
    """The ```yaml blocks whose first line is `# <file name>`: {name: text}."""
    found = {}
    for block in re.findall(r"^```yaml\n(.*?)^```", section, re.S | re.M):
        first, _, _ = block.partition("\n")
        assert first.startswith("# "), f"a tutorial YAML block names no file: {first!r}"
        found[first[2:].strip()] = block
    return found


def commands(section: str) -> list[list[str]]:
    lines = [line for block in re.findall(r"^```bash\n(.*?)^```", section, re.S | re.M)
             for line in block.splitlines() if line.strip()]
    assert all(line.startswith("ysim ") for line in lines), lines
    return [shlex.split(line)[1:] for line in lines]


def ticks(url: str) -> list[int]:
    with session_factory(url).begin() as session:
        return sorted(session.scalars(select(TickRow.tick)))


def test_the_tutorial_runs_as_written(llm_stub, tmp_path, monkeypatch):
    section = tutorial()
    for name, text in files(section).items():
        (tmp_path / name).write_text(text.replace(PAGE_LLM_URL, llm_stub.url))
    monkeypatch.chdir(tmp_path)  # the checks below open the page's relative database URLs
    steps = commands(section)
    assert [step[0] for step in steps] == ["run", "report", "fork", "compare", "sweep", "compare"]
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_API")}
    env.update(RAY_ADDRESS="", PREFECT_HOME=str(tmp_path / "prefect-home"))
    for step in steps:
        done = subprocess.run([str(Path(sys.executable).parent / "ysim"),
                               *[arg.replace(PAGE_LLM_URL, llm_stub.url) for arg in step]],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
        assert done.returncode == 0, f"ysim {shlex.join(step)}:\n{done.stderr[-3000:]}"

    # 1. The treated run: 30 ticks, its treatment recorded at day 0 hour 6, its report's measures.
    treated, shocked = "sqlite:///treated.db", "sqlite:///shocked.db"
    assert ticks(treated) == list(range(30))
    with session_factory(treated).begin() as session:
        assert session.execute(select(InterventionRow.tick, InterventionRow.note)).all() == [
            (6, "treatment: popularity-ranked feeds")]
    with open(tmp_path / "report-treated" / "measures" / "measures.csv", newline="") as handle:
        assert [int(row["tick"]) for row in csv.DictReader(handle)] == list(range(30))
    # 2. The fork: the source's ticks through 23 exactly, the news at tick 24, on to tick 29.
    assert ticks(shocked) == list(range(30))
    assert without_outcomes(through(dump(shocked), 23)) == without_outcomes(through(dump(treated), 23))
    with session_factory(shocked).begin() as session:
        assert session.scalars(select(PostRow.tick).where(PostRow.text.like("Breaking: the river%"))).all() == [24]
    assert (tmp_path / "fork-vs-source" / "index.html").exists()
    # 3. The sweep: six runs of 12 ticks, named as the page says.
    made = sorted(p.name for p in (tmp_path / "sweeps" / "popular-feeds").iterdir() if p.suffix == ".db")
    assert made == [f"{v}-seed{s}.db" for v in ("control", "treatment") for s in (1, 2, 3)]
    for name in made:
        assert ticks(f"sqlite:///sweeps/popular-feeds/{name}") == list(range(12)), name
    # 4. The comparison: both variants, three seeds each, in the page and the CSV files.
    page = (tmp_path / "comparison" / "index.html").read_text()
    assert "control" in page and "treatment" in page
    with open(tmp_path / "comparison" / "measures" / "measures.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    seeds = {(row["variant"], row["seed"]) for row in rows}
    assert seeds == {(v, str(s)) for v in ("control", "treatment") for s in (1, 2, 3)}


# Where tests.dumps.dump puts the tick in the tables that have one.
TICK_COLUMN = {"posts": 2, "reactions": 1, "follows": 1, "actions": 1, "llm_calls": 1, "recommendations": 1,
               "ticks": 1}


REACTION_COUNT = 6  # posts.reaction_count: a later tick's reactions count on an earlier post


def through(tables: dict[str, list[tuple]], tick: int) -> dict[str, list[tuple]]:
    """The rows of the tables with a tick column written at or before `tick` (posts without their
    reaction count, which later reactions change)."""
    kept = {name: [row for row in tables[name] if row[column] <= tick] for name, column in TICK_COLUMN.items()}
    kept["posts"] = [row[:REACTION_COUNT] + row[REACTION_COUNT + 1:] for row in kept["posts"]]
    return kept
