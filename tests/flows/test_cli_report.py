"""`ysim report` and `ysim compare` as a user types them: what lands in --out, and one-line errors
that name the option and its value and leave nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from db import get_engine
from flows.cli import main
from analysis.plots import PLOTS
from tests.llm_stub import LLMStub
from tests.analysis.reporting_runs import make_run


@pytest.fixture(scope="module")
def run_db(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("cli-report")
    url = f"sqlite:///{folder / 'run.db'}"
    with LLMStub() as stub:
        make_run(url, stub.url, folder, ticks=2)
    return url


def ysim(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_report_writes_page_plots_tables_and_graph(run_db, tmp_path, capsys):
    out = tmp_path / "report"
    code, stdout, err = ysim(capsys, "report", "--db", run_db, "--out", out)
    assert code == 0, err
    assert stdout.startswith(f"Report of run 1 in {out}: index.html, {len(PLOTS)} plots") and len(stdout.splitlines()) == 1
    assert sorted(p.name for p in (out / "plots").iterdir()) == sorted(f"{p.name}.png" for p in PLOTS)
    tables = inspect(get_engine(run_db)).get_table_names()
    assert sorted(p.name for p in (out / "tables").iterdir()) == sorted(
        f"{t}.{suffix}" for t in tables for suffix in ("csv", "parquet"))
    assert (out / "follow_graph.graphml").stat().st_size > 0
    page = (out / "index.html").read_text(encoding="utf-8")
    assert 'id="summary"' in page
    # No --run: every table is exported whole, and the page says so for each.
    assert page.count("<td>every run&#39;s</td>") == len(tables)


def test_compare_with_run_ids_and_labels(run_db, tmp_path, capsys):
    out = tmp_path / "compare"
    code, stdout, err = ysim(capsys, "compare", run_db, run_db, "--run-a", "1", "--run-b", "1",
                             "--label-a", "left <side>", "--label-b", "right $\\x$", "--out", out)
    assert code == 0, err
    assert stdout.startswith(f"Comparison of run 1 and run 1 in {out}: index.html")
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "<th>left &lt;side&gt;</th>" in page and "<th>right $\\x$</th>" in page  # escaped, not markup or TeX
    assert 'id="config-diff"' in page and "The two runs have the same configuration." in page
    assert len(list((out / "plots").glob("*.png"))) == len(PLOTS)


@pytest.mark.parametrize("args, message", [
    (["report", "--db", "{db}", "--run", "99"], "error: --run 99: {db} holds no run 99 (its runs: 1)"),
    (["report", "--db", "sqlite:///{tmp}/none.db"], "error: --db: sqlite:///{tmp}/none.db holds no ysim run"),
    (["report", "--db", "mysql://u@h/db"], "error: --db: database URL 'mysql://u@h/db': backend 'mysql' is not "
                                           "supported"),
    (["report", "--db", "{db}", "--out", "{db_file}/inside"], "error: --out: {db_file}/inside cannot be written: "
                                                               "Not a directory"),
    (["compare", "{db}", "sqlite:///{tmp}/none.db"], "error: RUN_B: sqlite:///{tmp}/none.db holds no ysim run"),
    (["compare", "not a url", "{db}"], "error: RUN_A: database URL 'not a url' is not a valid URL"),
    (["compare", "{db}", "{db}", "--run-b", "7"], "error: --run-b 7: {db} holds no run 7 (its runs: 1)"),
])
def test_user_errors_are_one_line_and_write_nothing(run_db, tmp_path, capsys, args, message):
    values = {"db": run_db, "tmp": tmp_path, "db_file": run_db.removeprefix("sqlite:///")}
    refused_in_one_line(capsys, tmp_path, [a.format(**values) for a in args], message.format(**values))


def refused_in_one_line(capsys, tmp_path: Path, argv: list[str], message: str) -> None:
    """`ysim argv` (with --out tmp_path/out unless given) fails with one line starting `message`,
    and writes neither the output folder nor a database."""
    if "--out" not in argv:
        argv = [*argv, "--out", str(tmp_path / "out")]
    code, stdout, err = ysim(capsys, *argv)
    assert code == 1 and stdout == ""
    assert len(err.splitlines()) == 1 and err.startswith(message), err
    assert not (tmp_path / "out").exists() and not Path(tmp_path / "none.db").exists()


def test_a_file_that_is_not_a_database_is_refused_in_one_line(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n" * 200)
    url, out = f"sqlite:///{notes}", tmp_path / "out"
    for argv in (["report", "--db", url, "--out", out], ["compare", url, url, "--out", out], ["status", "--db", url]):
        code, stdout, err = ysim(capsys, *argv)
        assert code == 1 and stdout == "", argv
        assert len(err.splitlines()) == 1 and "cannot open database" in err and "file is not a database" in err, err
    assert notes.read_text() == "not a database\n" * 200 and not out.exists()
