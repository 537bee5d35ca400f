"""`ysim compare` over several runs: runs grouped into variants by their configuration, every run's
measures as analysis.measures computes them, their means over seeds with Student-t intervals,
the files and page, and one-line errors that leave nothing behind.

Six real runs: two content recommenders x seeds 1, 2, 3 (three ticks each against the LLM stub,
a Likert survey at tick 1), each run in its own SQLite file.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sqlalchemy import select

from analysis.comparison import ComparedRun, write_statistics_comparison
from analysis.measures import MEASURES, measures
from db import session_factory
from db.models import InterviewRow
from flows.cli import main
from tests.analysis.reporting_runs import RECOMMENDERS, make_seed_runs
from tests.flows.test_cli_report import refused_in_one_line
from tests.llm_stub import LLMStub

SEEDS = (1, 2, 3)
TABLES = ("measures", "over_seeds", "final_values", "differences", "surveys")
SURVEYS = [{"at": 1, "question": "How much do you trust the news you read here?", "scale": 5, "name": "trust"}]


@pytest.fixture(scope="module")
def seed_runs(tmp_path_factory) -> list[tuple[str, int, str]]:
    """(variant label, seed, database URL) of the six runs."""
    root = tmp_path_factory.mktemp("compare-runs")
    with LLMStub() as stub:
        made = make_seed_runs(root, stub.url, seeds=SEEDS, surveys=SURVEYS)
    return [(f"content_rec_sys={recommender}", seed, url) for recommender, seed, url in made]


@pytest.fixture(scope="module")
def direct(seed_runs) -> pd.DataFrame:
    """Every run's measures from analysis.measures, long: variant, seed, tick, measure, value."""
    rows = []
    for variant, seed, url in seed_runs:
        outcome = measures(url, 1)
        for record in outcome.ticks.itertuples(index=False):
            rows += [(variant, seed, record.tick, name, float(getattr(record, name))) for name in MEASURES]
        for record in outcome.polarization.itertuples(index=False):
            rows += [(variant, seed, record.tick, f"opinion_variance:{record.topic}", record.variance),
                     (variant, seed, record.tick, f"opinion_bimodality:{record.topic}", record.bimodality)]
    return pd.DataFrame(rows, columns=["variant", "seed", "tick", "measure", "value"])


def ysim(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def by_key(frame: pd.DataFrame, keys: list[str]) -> dict[tuple, float]:
    return {tuple(row[:-1]): row[-1] for row in frame[[*keys, "value"]].itertuples(index=False)}


def test_six_runs_are_two_variants_over_three_seeds_with_their_measures_and_intervals(seed_runs, direct, tmp_path,
                                                                                      capsys):
    out = tmp_path / "compare"
    code, stdout, err = ysim(capsys, "compare", *[url for _, _, url in seed_runs], "--out", out)
    assert code == 0, err
    assert stdout.startswith(f"Statistics of 6 runs (2 variants x 3 seeds) in {out}: index.html, ")
    assert len(stdout.splitlines()) == 1

    written = pd.read_csv(out / "measures" / "measures.csv")
    assert list(written.columns) == ["variant", "seed", "database", "run_id", "tick", "measure", "value"]
    groups = written.groupby("variant", sort=False)["seed"].unique()
    assert list(groups.index) == [f"content_rec_sys={r}" for r in RECOMMENDERS]
    assert all(sorted(seeds) == list(SEEDS) for seeds in groups)
    assert set(zip(written["variant"], written["seed"], written["database"], strict=True)) == {
        (variant, seed, url) for variant, seed, url in seed_runs}
    # The same values as analysis.measures per run (NaN where it has none), no more, no less.
    keys = ["variant", "seed", "tick", "measure"]
    got, expected = by_key(written, keys), by_key(direct, keys)
    assert got.keys() == expected.keys()
    assert all(got[k] == pytest.approx(v, nan_ok=True) for k, v in expected.items())
    assert {m.split(":")[0] for m in written["measure"]} == {*MEASURES, "opinion_variance", "opinion_bimodality"}

    # Over seeds: the mean of the runs' values at each tick, +- t(0.975, n-1) sd / sqrt(n).
    over = pd.read_csv(out / "measures" / "over_seeds.csv")
    assert len(over) == len(direct.groupby(["variant", "measure", "tick"]))
    with_interval = 0
    for row in over.itertuples(index=False):
        values = direct[(direct["variant"] == row.variant) & (direct["measure"] == row.measure)
                        & (direct["tick"] == row.tick)]["value"].dropna().to_numpy()
        assert row.runs == len(values)
        if len(values):
            assert row.mean == pytest.approx(values.mean())
        if len(values) >= 2:
            half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
            assert (row.ci_low, row.ci_high) == pytest.approx((values.mean() - half, values.mean() + half))
            with_interval += len(values) == 3 and half > 0
        else:
            assert math.isnan(row.ci_low) and math.isnan(row.ci_high)
    assert with_interval > 0  # some intervals have width, over three seeds

    # Final values: each run's value at its last tick (tick 2).
    final = pd.read_csv(out / "measures" / "final_values.csv")
    last = direct[direct["tick"] == 2]
    for row in final.itertuples(index=False):
        values = last[(last["variant"] == row.variant) & (last["measure"] == row.measure)]["value"].dropna()
        assert row.n == len(values)
        if len(values):
            assert row.mean == pytest.approx(values.mean())

    differences = pd.read_csv(out / "measures" / "differences.csv")
    assert set(differences["variant"]) == {f"content_rec_sys={RECOMMENDERS[1]}"}
    assert set(differences["reference"]) == {f"content_rec_sys={RECOMMENDERS[0]}"}

    # Every run's survey answers, as counted from its own interviews table.
    surveys = pd.read_csv(out / "measures" / "surveys.csv", keep_default_na=False)
    assert list(surveys.columns) == ["variant", "seed", "database", "run_id", "survey", "tick", "answer", "agents",
                                     "share"]
    for variant, seed, url in seed_runs:
        with session_factory(url).begin() as session:
            stored = Counter(session.scalars(select(InterviewRow.answer).where(InterviewRow.kind == "survey",
                                                                                InterviewRow.tick == 1)))
        mine = surveys[(surveys["variant"] == variant) & (surveys["seed"] == seed)]
        assert mine["answer"].astype(str).tolist() == ["1", "2", "3", "4", "5", "(no answer)"]
        assert dict(zip(mine["answer"].astype(str), mine["agents"], strict=True)) == {
            answer: stored.get(None if answer == "(no answer)" else answer, 0) for answer in mine["answer"].astype(str)}
        assert sum(stored.values()) == 8 and set(mine["tick"]) == {1} and set(mine["survey"]) == {"trust"}

    page = (out / "index.html").read_text(encoding="utf-8")
    links = set(re.findall(r'href="([^"#][^"]*)"', page))
    files = {f"measures/{name}.{suffix}" for name in TABLES for suffix in ("csv", "parquet")}
    plots = {f"plots/measure-{name}.png" for name in MEASURES}
    assert files | plots <= links
    assert all((out / link).stat().st_size > 0 for link in links)
    assert 'id="final-values"' in page and 'id="differences"' in page and 'id="runs"' in page
    assert page.count("data:image/png;base64,") == len(list((out / "plots").glob("measure-*.png")))
    assert all(f"<code>{url}</code>" in page for _, _, url in seed_runs)


def test_two_runs_are_side_by_side_with_the_statistics_beside_them(seed_runs, tmp_path, capsys):
    out = tmp_path / "two"
    first, second = seed_runs[0][2], seed_runs[3][2]
    code, stdout, err = ysim(capsys, "compare", first, second, "--out", out)
    assert code == 0, err
    assert stdout.startswith(f"Comparison of run 1 and run 1 in {out}: index.html, ")
    assert "statistics of 2 runs (2 variants x 1 seed) in statistics/: index.html" in stdout
    side_by_side = (out / "index.html").read_text(encoding="utf-8")
    statistics = (out / "statistics" / "index.html").read_text(encoding="utf-8")
    assert 'id="summary"' in side_by_side and 'href="statistics/index.html"' in side_by_side
    assert 'id="final-values"' in statistics and 'href="../index.html"' in statistics
    assert all((out / "statistics" / "measures" / f"{name}.csv").exists() for name in TABLES)
    assert len(list((out / "statistics" / "plots").glob("measure-*.png"))) >= len(MEASURES)
    assert not list((out / "plots").glob("measure-*.png"))  # the side-by-side page's plots stay apart


def test_one_run_is_one_variant(seed_runs, tmp_path, capsys):
    out = tmp_path / "one"
    code, stdout, err = ysim(capsys, "compare", seed_runs[0][2], "--out", out)
    assert code == 0, err
    assert stdout.startswith(f"Statistics of 1 run (1 variant x 1 seed) in {out}: index.html")
    assert "One variant: nothing to compare it with." in (out / "index.html").read_text(encoding="utf-8")


def test_given_variants_and_seeds_are_kept(seed_runs, tmp_path):
    """What `ysim sweep`'s comparison passes: its own variant names and seeds."""
    runs = [ComparedRun(url, 1, "arm <b>" if index % 2 else "arm a", 100 + index)
            for index, (_, _, url) in enumerate(seed_runs)]
    written = write_statistics_comparison(runs, tmp_path)
    assert [(v.name, v.seeds) for v in written.variants] == [("arm a", (100, 102, 104)), ("arm <b>", (101, 103, 105))]
    frame = pd.read_parquet(tmp_path / "measures" / "measures.parquet")
    assert sorted(set(zip(frame["variant"], frame["seed"], strict=True))) == sorted(
        (run.variant, run.seed) for run in runs)
    assert np.issubdtype(frame["seed"].dtype, np.integer)
    page = written.page.read_text(encoding="utf-8")
    assert "arm &lt;b&gt;" in page and "arm <b>" not in page


@pytest.mark.parametrize("args, message", [
    (["compare", "{a}", "sqlite:///{tmp}/none.db", "{b}"], "error: RUN 2: sqlite:///{tmp}/none.db holds no ysim run"),
    (["compare", "{a}", "{b}", "not a url"], "error: RUN 3: database URL 'not a url' is not a valid URL"),
    (["compare"], "error: RUN: give the database URL of at least one run"),
    (["compare", "{a}", "{b}", "{c}", "--run-a", "1"], "error: --run-a 1: only with exactly two runs (RUN_A RUN_B); "
                                                       "3 given"),
    (["compare", "{a}", "--label-b", "x"], "error: --label-b x: only with exactly two runs (RUN_A RUN_B); 1 given"),
    (["compare", "{a}", "{b}", "{a}"], "error: RUN 3: {a} run 1 is RUN 1 already"),
    (["compare", "{a}", "{b}", "{c}", "--out", "{a_file}/inside"], "error: --out: {a_file}/inside cannot be written: "
                                                                   "Not a directory"),
])
def test_user_errors_are_one_line_and_write_nothing(seed_runs, tmp_path, capsys, args, message):
    a, b, c = (url for _, _, url in seed_runs[:3])
    values = {"a": a, "b": b, "c": c, "tmp": tmp_path, "a_file": a.removeprefix("sqlite:///")}
    refused_in_one_line(capsys, tmp_path, [arg.format(**values) for arg in args], message.format(**values))


def test_two_runs_given_with_variants_keep_them_on_both_pages(seed_runs, tmp_path, capsys):
    """The hook `ysim sweep`'s comparison calls: its variant names label the side-by-side runs too."""
    from flows.cli import _compare_runs

    runs = [ComparedRun(seed_runs[0][2], 1, "arm a", 11), ComparedRun(seed_runs[3][2], 1, "arm b", 12)]
    _compare_runs(runs, tmp_path, started=0.0)
    assert "statistics of 2 runs (2 variants x 1 seed)" in capsys.readouterr().out
    assert "<th>arm a</th>" in (tmp_path / "index.html").read_text(encoding="utf-8")
    frame = pd.read_csv(tmp_path / "statistics" / "measures" / "measures.csv")
    assert sorted(set(zip(frame["variant"], frame["seed"], strict=True))) == [("arm a", 11), ("arm b", 12)]
