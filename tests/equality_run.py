"""The fixed run whose whole database must not change when the way a tick runs changes (issue 22).

It owns the run (tests/fixtures/equality_run.yaml, the stub's script), the database as a JSON
value with the run-specific strings (database URL, stub URL, input directory) replaced by
placeholders, the fixture file's format, and a readable diff of two such databases.
tests/flows/test_same_database.py runs it with the current code and compares it with the fixture
tests/fixtures/make_equality_fixture.py made at an earlier commit.

Only the wall-clock columns of `tests.table_dumps` are left out; every other column of every
table is compared, ids included.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import yaml

from agent_models import RunConfig

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "fixtures" / "equality_run.yaml"
INPUTS = HERE / "fixtures" / "equality"  # feeds, population (with opinions), follow graph
FIXTURE = HERE / "fixtures" / "equality_before_64b04d1.json.gz"

# No scripted answers: the stub's hashed answers (a pure function of each request) already give
# both sides of every decision over a day (LIKE and DISLIKE, follow YES and NO, each vote and
# verdict, several emotions), and a run made with a script would compare only against that script.
SCRIPT: list[tuple[str, str]] = []


def config(db_url: str, llm_url: str) -> RunConfig:
    data = yaml.safe_load(CONFIG.read_text())
    data["database"] = {"url": db_url}
    data["llm"] = {**data["llm"], "url": llm_url}
    data["agents"] = {**data["agents"], "news_feeds": str(INPUTS / "rss_feeds.json"),
                      "population": str(INPUTS / "population.json"), "follow_graph": str(INPUTS / "follow_graph.csv")}
    return RunConfig.model_validate(data)


def run(db_url: str, llm_url: str) -> dict[str, Any]:
    """The fixed run through the real simulation flow (Prefect, Ray: the caller's), its summary."""
    from flows.simulation import simulation_flow

    return simulation_flow(config(db_url, llm_url))


def normalized_dump(db_url: str, llm_url: str) -> dict[str, Any]:
    """{"columns": {table: names}, "tables": {table: rows as lists}} of the database, as JSON
    values, with the strings that name this run's database, stub and input directory replaced by
    `<db>`, `<llm>` and `<inputs>` (they differ between two runs of the same simulation)."""
    from tests.table_dumps import compared_columns, dump_all
    from db.models import Base

    places = {db_url: "<db>", llm_url: "<llm>", str(INPUTS): "<inputs>"}
    tables = {name: [_placeholders(list(row), places) for row in rows] for name, rows in dump_all(db_url).items()}
    for row in tables["runs"]:  # the stored URL is the absolute / driver-qualified form of db_url
        config_index = [c.name for c in compared_columns(Base.metadata.tables["runs"])].index("config")
        row[config_index]["database"]["url"] = "<db>"
    columns = {t.name: [c.name for c in compared_columns(t)] for t in Base.metadata.sorted_tables}
    return json.loads(json.dumps({"columns": columns, "tables": tables}))  # tuples -> lists, as a file holds


def _placeholders(value: Any, places: dict[str, str]) -> Any:
    if isinstance(value, str):
        for real, placeholder in sorted(places.items(), key=lambda item: -len(item[0])):
            value = value.replace(real, placeholder)
        return value
    if isinstance(value, list | tuple):
        return [_placeholders(v, places) for v in value]
    if isinstance(value, dict):
        return {k: _placeholders(v, places) for k, v in value.items()}
    return value


def save(path: Path, dump: dict[str, Any], **about: Any) -> None:
    """The dump with what made it (`about`), gzip'd without a timestamp: the same run gives the same bytes."""
    raw = json.dumps({**about, **dump}, indent=0, separators=(",", ":")).encode()
    path.write_bytes(gzip.compress(raw, mtime=0) if path.suffix == ".gz" else raw)


def load(path: Path) -> dict[str, Any]:
    raw = path.read_bytes()
    return json.loads(gzip.decompress(raw) if path.suffix == ".gz" else raw)


def differences(expected: dict[str, Any], actual: dict[str, Any], rows_shown: int = 3) -> list[str]:
    """One paragraph per table that differs: row counts, then its first differing rows, column by column.

    Compared: every table and column the fixture (`expected`) has, ids included. A table or column
    that only the current run has is new schema, which an older commit cannot have written: it is
    named by `additions`, not counted as a difference; and in `runs.config` (the stored
    configuration) only the fixture's keys are compared, so a new configuration field, stored at
    its default, is no difference, while a changed default is.
    """
    found = []
    for name in sorted(expected["tables"]):
        if name not in actual["tables"]:
            found.append(f"{name}: the fixture's table is missing now")
            continue
        missing = [c for c in expected["columns"][name] if c not in actual["columns"][name]]
        if missing:
            found.append(f"{name}: the fixture's columns {missing} are missing now")
            continue
        want, got = expected["tables"][name], _project(actual, name, expected["columns"][name])
        if name == "runs" and "config" in expected["columns"][name]:
            at = expected["columns"][name].index("config")
            # `got` is a fresh projection (changing it changes no dump); rows past the fixture's stay whole.
            for row, old in zip(got, want, strict=False):
                row[at] = _keys_of(row[at], old[at])
        if want == got:
            continue
        lines = [f"{name}: {len(want)} rows in the fixture, {len(got)} now"]
        shown = 0
        for index in range(max(len(want), len(got))):
            a = want[index] if index < len(want) else None
            b = got[index] if index < len(got) else None
            if a == b:
                continue
            if a is None or b is None:
                lines.append(f"  row {index}: {'only now' if a is None else 'only in the fixture'}: {_short(a or b)}")
            else:
                changed = {c: (x, y) for c, x, y in zip(expected["columns"][name], a, b, strict=True) if x != y}
                lines.append(f"  row {index} (key {a[0]}): " + "; ".join(
                    f"{c}: fixture {_short(x)} != now {_short(y)}" for c, (x, y) in changed.items()))
            shown += 1
            if shown == rows_shown:
                break
        found.append("\n".join(lines))
    return found


def additions(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Tables and columns the current run has and the fixture lacks (not compared)."""
    new = [f"table {t}" for t in sorted(set(actual["columns"]) - set(expected["columns"]))]
    return new + [f"column {t}.{c}" for t in sorted(expected["columns"]) if t in actual["columns"]
                  for c in actual["columns"][t] if c not in expected["columns"][t]]


def _project(dump: dict[str, Any], table: str, columns: list[str]) -> list[list[Any]]:
    at = [dump["columns"][table].index(c) for c in columns]
    return [[row[i] for i in at] for row in dump["tables"][table]]


def _keys_of(value: Any, like: Any) -> Any:
    """`value` with only the mapping keys that `like` has, recursively."""
    if isinstance(value, dict) and isinstance(like, dict):
        return {k: _keys_of(v, like[k]) for k, v in value.items() if k in like}
    return value


def _short(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def row_counts(dump: dict[str, Any]) -> dict[str, int]:
    return {name: len(rows) for name, rows in dump["tables"].items()}
