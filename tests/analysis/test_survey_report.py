"""Issue 25, item 3: `ysim report` shows each survey's answer distribution over time, and its
exports hold them: checked against the answers the run stored, on SQLite and PostgreSQL.

One real run (six LLM agents, three ticks through the tick's real phase functions, its surveys
asked by their ticks against the LLM stub): a Likert survey asked at ticks 0 and 2 under one name,
a choice survey whose every answer names no choice (scripted), and a free-text survey.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from matplotlib.container import BarContainer
from sqlalchemy import select

from analysis import plots
from analysis.data import gather
from analysis.report import write_report
from analysis.surveys import FREE_TEXT, NO_ANSWER
from db import session_factory
from db.models import InterviewRow
from tests.analysis.reporting_runs import make_run
from tests.analysis.test_reporting import read_page
from tests.conftest import fresh_database
from tests.llm_stub import LLMStub

TRUST = "How much do you trust the news you read here?"
ELECTION = "Who will win the election?"
SURVEYS = [{"at": 0, "question": TRUST, "scale": 5, "name": "trust"},
           {"at": 1, "question": ELECTION, "choices": ["Left", "Right", "Neither"], "name": "election"},
           {"at": 2, "question": TRUST, "scale": 5, "name": "trust"},
           {"at": 2, "question": "What do you make of this platform?"}]  # free text, labelled survey3
AGENTS = 6
# (survey, tick) in the report's order (the configuration's, then by tick) -> the answers it lists.
LISTED = {("trust", 0): ["1", "2", "3", "4", "5", NO_ANSWER], ("trust", 2): ["1", "2", "3", "4", "5", NO_ANSWER],
          ("election", 1): ["Left", "Right", "Neither", NO_ANSWER], ("survey3", 2): [FREE_TEXT, NO_ANSWER]}


@dataclass
class Surveyed:
    url: str
    run_id: int
    out: Path


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def surveyed(request, tmp_path_factory) -> Surveyed:
    folder = tmp_path_factory.mktemp(f"surveys-{request.param}")
    url = fresh_database(request, folder)
    with LLMStub() as stub:
        stub.state.script = [(ELECTION, "Nobody")]  # names none of the choices
        run_id = make_run(url, stub.url, folder / "inputs", agents=AGENTS, surveys=SURVEYS)
    out = folder / "out"
    write_report(url, run_id, out, export_run=run_id)
    return Surveyed(url, run_id, out)


def stored_answers(surveyed: Surveyed) -> list[tuple[str, int, str | None]]:
    with session_factory(surveyed.url).begin() as session:
        return session.execute(select(InterviewRow.survey, InterviewRow.tick, InterviewRow.answer).where(
            InterviewRow.run_id == surveyed.run_id, InterviewRow.kind == "survey").order_by(InterviewRow.id)).all()


def expected_distribution(surveyed: Surveyed) -> pd.DataFrame:
    """The distribution counted here from every stored answer, each answer its survey allows listed."""
    stored = stored_answers(surveyed)
    free = {survey for survey, _ in LISTED if FREE_TEXT in LISTED[(survey, _)]}
    counts = Counter((survey, tick, NO_ANSWER if answer is None else FREE_TEXT if survey in free else answer)
                     for survey, tick, answer in stored)
    rows = []
    for (survey, tick), listed in LISTED.items():
        asked = sum(1 for s, t, _ in stored if (s, t) == (survey, tick))
        rows += [(survey, tick, answer, counts[(survey, tick, answer)], counts[(survey, tick, answer)] / asked)
                 for answer in listed]
    return pd.DataFrame(rows, columns=["survey", "tick", "answer", "agents", "share"])


def test_every_agent_answered_every_survey_at_its_tick(surveyed):
    stored = stored_answers(surveyed)
    assert Counter((s, t) for s, t, _ in stored) == {key: AGENTS for key in LISTED}
    assert {a for s, _, a in stored if s == "election"} == {None}  # "Nobody" is not a choice
    assert {a for s, _, a in stored if s == "trust"} <= {"1", "2", "3", "4", "5"}
    assert all(a for s, _, a in stored if s == "survey3")


def test_the_report_exports_each_surveys_distribution_per_tick(surveyed):
    expected = expected_distribution(surveyed)
    written = pq.read_table(surveyed.out / "measures" / "surveys.parquet").to_pandas()
    pd.testing.assert_frame_equal(written, expected, check_dtype=False)
    from_csv = pd.read_csv(surveyed.out / "measures" / "surveys.csv", keep_default_na=False)
    assert from_csv["answer"].astype(str).tolist() == expected["answer"].tolist()
    assert from_csv["agents"].tolist() == expected["agents"].tolist()
    # The raw answers are exported with every other table.
    interviews = pd.read_csv(surveyed.out / "tables" / "interviews.csv")
    assert (interviews["kind"] == "survey").sum() == len(stored_answers(surveyed))
    listed = read_page(surveyed.out / "index.html").exports
    assert listed["survey answers"][:2] == [f"{len(expected):,}",
                                            f"run {surveyed.run_id}, one row per survey, tick asked and answer"]


def test_the_page_lists_each_survey_at_each_tick_with_its_answers(surveyed):
    text = (surveyed.out / "index.html").read_text(encoding="utf-8")
    assert 'id="surveys"' in text
    expected = expected_distribution(surveyed)
    for (survey, tick), group in expected.groupby(["survey", "tick"], sort=False):
        start = text.index(f'<tr data-survey="{survey}" data-tick="{tick}">')
        row = text[start:text.index("</tr>", start)]
        assert f'<td class="number">{AGENTS}</td>' in row
        for answer, agents, share in zip(group["answer"], group["agents"], group["share"], strict=True):
            assert f"{answer}: {agents} ({share * 100:.0f} %)" in row


def test_the_survey_plot_stacks_each_ticks_shares_by_answer(surveyed):
    run = gather(surveyed.url, surveyed.run_id)
    figure = plots.survey_answers([run])
    expected = expected_distribution(surveyed)
    rows = [ax for ax in figure.axes if ax.get_ylabel()]
    assert [ax.get_ylabel().split("\n")[0] for ax in rows] == ["trust", "election", "survey3"]
    for ax in rows:
        survey = ax.get_ylabel().split("\n")[0]
        drawn = {(round(bar.get_x() + bar.get_width() / 2), container.get_label()): bar.get_height()
                 for container in ax.containers if isinstance(container, BarContainer) for bar in container}
        wanted = expected[expected["survey"] == survey]
        assert drawn == pytest.approx({(t, a): s for t, a, s in zip(wanted["tick"], wanted["answer"], wanted["share"],
                                                                     strict=True)})


def test_a_run_without_surveys_says_so_in_the_plot_and_lists_none(surveyed, tmp_path):
    url = f"sqlite:///{tmp_path / 'plain.db'}"
    with LLMStub() as stub:
        run_id = make_run(url, stub.url, tmp_path / "inputs", agents=4, ticks=1)
    written = write_report(url, run_id, tmp_path / "out", export_run=run_id)
    assert 'id="surveys"' not in written.page.read_text(encoding="utf-8")
    assert len(pd.read_csv(tmp_path / "out" / "measures" / "surveys.csv")) == 0
    figure = plots.survey_answers([gather(url, run_id)])
    assert [t.get_text() for ax in figure.axes for t in ax.texts] == ["no survey asked"]
