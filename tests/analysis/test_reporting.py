"""`ysim report` and `ysim compare` behind the command line: what the plots, the page and the
exports hold, checked against the database, on SQLite and PostgreSQL.

One real run per backend (population with opinions, an initial follow graph, three ticks through
the tick's real phase functions against the LLM stub), then unfollow events and a second run
in the same database, so the current-follow rule and `--run` filtering have something to get wrong.
"""

from __future__ import annotations

import base64
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.text
import networkx as nx
import pandas as pd
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, inspect, select

from agent_models import BatchResult, PostIntent, generate_population
from db import get_engine, session_factory, write_results
from db.models import (
    ActionRow, AgentRow, EmotionRow, FollowRow, HashtagRow, InterestRow, LLMCallRow, OpinionRow, PostHashtagRow, PostRow,
    TickRow,
)
from db.queries import add_rows, create_run
from analysis import plots
from analysis.data import gather
from analysis.exports import GRAPH_FILE, arrow_schema, write_tables
from analysis.measures import measures
from analysis.report import RunChoice, write_comparison, write_report
from db.table_export import export_tables
from tests.conftest import fresh_database, make_config
from tests.llm_stub import LLMStub
from tests.analysis.reporting_runs import make_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass
class Reported:
    url: str
    run_id: int
    other_run: int  # a second run in the same database: no ticks, no opinions, one post
    out: Path


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def reported(request, tmp_path_factory) -> Reported:
    folder = tmp_path_factory.mktemp(f"report-{request.param}")
    url = fresh_database(request, folder)
    with LLMStub() as stub:
        run_id = make_run(url, stub.url, folder / "inputs")
        other = _second_run(url, stub.url)
    _unfollow_some(url, run_id)
    out = folder / "out"
    write_report(url, run_id, out, export_run=run_id)
    return Reported(url, run_id, other, out)


def _unfollow_some(url: str, run_id: int) -> None:
    """Unfollow two followed pairs; follow one of them again (its latest event is a follow)."""
    with session_factory(url).begin() as session:
        pairs = session.execute(select(FollowRow.follower_id, FollowRow.followee_id).where(FollowRow.run_id == run_id)
                                .order_by(FollowRow.id).limit(2)).all()
        events = [(*pairs[0], "unfollow"), (*pairs[1], "unfollow"), (*pairs[1], "follow")]
        add_rows(session, FollowRow, [dict(run_id=run_id, tick=2, follower_id=follower, followee_id=followee,
                                           action=action) for follower, followee, action in events])


def _second_run(url: str, llm_url: str) -> int:
    config = make_config(url, llm_url)
    with session_factory(url).begin() as session:
        run_id = create_run(session, name="second", seed=1, total_ticks=2, config={"simulation": {"seed": 1}},
                            agents=generate_population(config, 3, 1))
    with session_factory(url).begin() as session:
        author = session.scalar(select(AgentRow.agent_id).where(AgentRow.run_id == run_id).limit(1))
        write_results(session, run_id=run_id, tick=0, visible_through=0, result=BatchResult(intents=[
            PostIntent(author, 0, "only post of run two #elsewhere", ("elsewhere",), ("#elsewhere",), ())]))
    return run_id


def rows(url: str, *columns, where=(), order_by=()):
    with session_factory(url).begin() as session:
        return session.execute(select(*columns).where(*where).order_by(*order_by)).all()


def current_follows(url: str, run_id: int) -> set[tuple[int, int]]:
    """The follow graph now, computed here: replay the events in id order, the last one per pair wins."""
    state: dict[tuple[int, int], str] = {}
    for follower, followee, action in rows(url, FollowRow.follower_id, FollowRow.followee_id, FollowRow.action,
                                           where=[FollowRow.run_id == run_id], order_by=[FollowRow.id]):
        state[(follower, followee)] = action
    return {pair for pair, action in state.items() if action == "follow"}


# -- exports ------------------------------------------------------------------------------------------------


def test_every_table_is_exported_with_exactly_the_runs_rows(reported):
    url, run_id = reported.url, reported.run_id
    tables = sorted(inspect(get_engine(url)).get_table_names())
    folder = reported.out / "tables"
    assert sorted(p.stem for p in folder.glob("*.csv")) == tables
    assert sorted(p.stem for p in folder.glob("*.parquet")) == tables

    posts = pq.read_table(folder / "posts.parquet").to_pandas()
    expected = rows(url, PostRow.id, PostRow.text, where=[PostRow.run_id == run_id], order_by=[PostRow.id])
    assert len(expected) > 3 and list(zip(posts["id"], posts["text"], strict=True)) == [tuple(r) for r in expected]
    assert list(posts["run_id"].unique()) == [run_id]  # run two's post is not there

    def exported(name: str) -> int:
        return pq.read_metadata(folder / f"{name}.parquet").num_rows

    for model in (AgentRow, ActionRow, FollowRow, LLMCallRow, OpinionRow, HashtagRow):
        count = rows(url, func.count(), where=[model.run_id == run_id])[0][0]
        assert count > 0 and exported(model.__tablename__) == count, model.__tablename__
    # A table without run_id follows its foreign key; one without either is shared and kept whole.
    linked = rows(url, func.count(PostHashtagRow.id), where=[PostHashtagRow.hashtag_id == HashtagRow.id,
                                                              HashtagRow.run_id == run_id])[0][0]
    assert exported("post_hashtags") == linked < rows(url, func.count(PostHashtagRow.id))[0][0]
    assert exported("runs") == 1 and exported("emotions") == rows(url, func.count(EmotionRow.id))[0][0]


def test_parquet_files_read_back_equal_to_the_csv_files(reported):
    folder = reported.out / "tables"
    with session_factory(reported.url).begin() as session:
        tables = export_tables(session)
    for table in tables:
        schema = arrow_schema(table)
        parquet = pq.read_table(folder / f"{table.name}.parquet")
        csv = pa_csv.read_csv(folder / f"{table.name}.csv",
                              parse_options=pa_csv.ParseOptions(newlines_in_values=True),
                              convert_options=pa_csv.ConvertOptions(column_types=schema, null_values=[""],
                                                                    strings_can_be_null=True,
                                                                    quoted_strings_can_be_null=False))
        assert parquet.schema.equals(schema) and csv.schema.equals(schema), table.name
        assert parquet.equals(csv), table.name


def test_small_chunks_write_the_same_files(reported, tmp_path):
    """Chunk boundaries (7 rows) fall inside most tables; the files do not change."""
    write_tables(reported.url, reported.run_id, tmp_path, chunk_rows=7)
    for path in (reported.out / "tables").glob("*.csv"):
        assert (tmp_path / "tables" / path.name).read_bytes() == path.read_bytes(), path.name
        assert pq.read_table(tmp_path / "tables" / path.with_suffix(".parquet").name).equals(
            pq.read_table(path.with_suffix(".parquet"))), path.name


def test_graphml_holds_the_agents_and_exactly_the_current_follows(reported):
    graph = nx.read_graphml(reported.out / GRAPH_FILE)
    agents = rows(reported.url, AgentRow.agent_id, AgentRow.name, AgentRow.leaning,
                  where=[AgentRow.run_id == reported.run_id])
    assert {node: (data["label"], data["leaning"], data["rule_based"], data["is_page"])
            for node, data in graph.nodes(data=True)} == {str(i): (name, leaning, False, False)
                                                          for i, name, leaning in agents}
    follows = current_follows(reported.url, reported.run_id)
    assert {(int(a), int(b)) for a, b in graph.edges()} == follows
    assert graph.is_directed() and len(follows) > 10
    everything = {(f, t) for f, t in rows(reported.url, FollowRow.follower_id, FollowRow.followee_id,
                                          where=[FollowRow.run_id == reported.run_id])}
    assert len(everything - follows) == 1  # the unfollowed pair that was not followed again


# -- the numbers behind the plots -----------------------------------------------------------------------------


def test_plotted_series_equal_the_tables(reported):
    url, run_id = reported.url, reported.run_id
    report = gather(url, run_id)
    actions = rows(url, ActionRow.tick, ActionRow.agent_id, ActionRow.action, where=[ActionRow.run_id == run_id])
    assert report.actions.sum().to_dict() == dict(Counter(a for _, _, a in actions))
    assert report.actions.sum(axis=1).to_dict() == dict(Counter(t for t, _, _ in actions))
    assert list(report.ticks["tick"]) == [0, 1, 2]
    acting = {t: len({agent for tick, agent, a in actions if tick == t and a != "NONE"}) for t in (0, 1, 2)}
    assert dict(zip(report.ticks["tick"], report.ticks["acting"], strict=True)) == acting

    calls = rows(url, LLMCallRow.tick, LLMCallRow.prompt_tokens, LLMCallRow.completion_tokens, LLMCallRow.latency_ms,
                 LLMCallRow.wait_ms, where=[LLMCallRow.run_id == run_id])
    llm = report.llm.set_index("tick")
    for tick in (0, 1, 2):
        mine = [c for c in calls if c[0] == tick]
        assert llm.loc[tick, "prompt_tokens"] == sum(c[1] for c in mine)
        assert llm.loc[tick, "completion_tokens"] == sum(c[2] for c in mine)
        assert llm.loc[tick, "latency_p50_ms"] == pytest.approx(statistics.median(c[3] for c in mine))
        assert llm.loc[tick, "wait_p50_ms"] == pytest.approx(statistics.median(c[4] for c in mine))
    assert report.summary["tokens"] == sum(c[1] + c[2] for c in calls)

    followers = Counter(followee for _, followee in current_follows(url, run_id))
    agents = [a for (a,) in rows(url, AgentRow.agent_id, where=[AgentRow.run_id == run_id])]
    degrees = Counter(followers[agent] for agent in agents)
    assert dict(zip(report.in_degree["degree"], report.in_degree["agents"], strict=True)) == dict(degrees)

    tags = Counter(tag for (tag,) in rows(url, HashtagRow.hashtag, where=[
        HashtagRow.run_id == run_id, PostHashtagRow.hashtag_id == HashtagRow.id]))
    assert dict(zip(report.hashtags["hashtag"], report.hashtags["posts"], strict=True)) == dict(tags)


def test_opinion_bands_follow_each_agents_latest_opinion(reported):
    report = gather(reported.url, reported.run_id)
    events = rows(reported.url, OpinionRow.tick, OpinionRow.agent_id, InterestRow.interest, OpinionRow.opinion,
                  where=[OpinionRow.run_id == reported.run_id, InterestRow.id == OpinionRow.topic_id],
                  order_by=[OpinionRow.id])
    assert report.opinions and any(tick > 0 for tick, *_ in events)  # updates happened during the run
    for tick in (0, 1, 2):
        held: dict[str, dict[int, float]] = defaultdict(dict)
        for event_tick, agent, topic, value in sorted(events, key=lambda e: e[0]):  # stable: id order per tick
            if event_tick <= tick:
                held[topic][agent] = value
        for topic, values in held.items():
            band = report.opinions[topic].set_index("tick").loc[tick]
            assert band["holders"] == len(values), (topic, tick)
            assert band["q50"] == pytest.approx(statistics.median(values.values())), (topic, tick)


def test_a_run_with_no_ticks_and_no_opinions_still_reports(reported, tmp_path):
    report = gather(reported.url, reported.other_run)
    assert report.ticks.empty and report.opinions == {} and report.summary["posts"] == 1
    texts = {plot.name: _texts(plot.draw([report])) for plot in plots.PLOTS}
    assert "no opinions recorded" in texts["opinions"]
    assert "no ticks committed" in texts["actions-per-tick"] and "no LLM calls" in texts["llm-usage"]
    write_report(reported.url, reported.other_run, tmp_path, export_run=reported.other_run)
    posts = pq.read_table(tmp_path / "tables" / "posts.parquet").to_pylist()
    assert [p["text"] for p in posts] == ["only post of run two #elsewhere"]


def _texts(figure) -> set[str]:
    return {t.get_text() for t in figure.findobj(matplotlib.text.Text)}


# -- the page ---------------------------------------------------------------------------------------------------


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: dict[str, str] = {}
        self.ids: set[str] = set()
        self.external: list[str] = []
        self.exports: dict[str, list[str]] = {}  # the exports table: {what: [rows, kept, files]}
        self._table: str | None = None
        self._cells: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "table":
            self._table = attributes.get("id")
        if self._table == "tables" and tag in ("td", "th") and self._cells is not None:
            self._cells.append("")
        if self._table == "tables" and tag == "tr":
            self._cells = []
        if "id" in attributes:
            self.ids.add(attributes["id"])
        if tag == "img":
            self.images[attributes["id"]] = attributes["src"]
        if tag in ("script", "link", "iframe") or any(
                (attributes.get(key) or "").startswith(("http:", "https:", "//")) for key in ("src", "href")):
            self.external.append(f"<{tag} {attrs}>")

    def handle_data(self, data):
        if self._cells:
            self._cells[-1] += data

    def handle_endtag(self, tag):
        if tag == "tr" and self._cells:
            self.exports[self._cells[0]] = [cell.strip() for cell in self._cells[1:]]
            self._cells = None
        if tag == "table":
            self._table = None


def read_page(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_the_page_embeds_every_plot_and_needs_nothing_else(reported):
    page = read_page(reported.out / "index.html")
    assert set(page.images) == {f"plot-{plot.name}" for plot in plots.PLOTS}
    for plot in plots.PLOTS:
        header, _, data = page.images[f"plot-{plot.name}"].partition(",")
        assert header == "data:image/png;base64"
        png = base64.b64decode(data, validate=True)
        assert png.startswith(PNG_MAGIC) and png == (reported.out / "plots" / f"{plot.name}.png").read_bytes()
    assert {"summary", "config", "tables"} <= page.ids
    assert page.external == []
    text = (reported.out / "index.html").read_text(encoding="utf-8")
    posts = rows(reported.url, func.count(), where=[PostRow.run_id == reported.run_id, PostRow.comment_to.is_(None)])
    assert f'<tr data-key="posts"><th>posts</th><td class="number">{posts[0][0]}</td>' in text


def test_the_exports_list_says_which_rows_each_table_kept(reported):
    exports = read_page(reported.out / "index.html").exports
    tables = sorted(inspect(get_engine(reported.url)).get_table_names())
    assert sorted(what.removeprefix("table ") for what in exports if what.startswith("table ")) == tables
    run = reported.run_id
    emotions = rows(reported.url, func.count(EmotionRow.id))[0][0]
    assert exports["table emotions"][:2] == [f"{emotions:,}", "all: shared by the runs"]
    assert exports["table post_hashtags"][1] == f"run {run}'s, via hashtag_id -> hashtags"
    assert exports["table posts"][1] == exports["table runs"][1] == f"run {run}'s"
    graph = next(what for what in exports if what.startswith("follow graph"))
    assert exports[graph][1:] == [f"run {run}'s current follows", "follow_graph.graphml"]


def test_the_report_writes_the_outcome_measures_per_tick(reported):
    """`ysim report` writes analysis.measures' frames as they are, and lists them on the page."""
    expected = measures(reported.url, reported.run_id)
    for name, frame in (("measures", expected.ticks), ("polarization", expected.polarization)):
        written = pq.read_table(reported.out / "measures" / f"{name}.parquet").to_pandas()
        pd.testing.assert_frame_equal(written, frame.reset_index(drop=True), check_dtype=False)
        from_csv = pd.read_csv(reported.out / "measures" / f"{name}.csv")
        assert len(from_csv) == len(frame) and list(from_csv.columns) == list(frame.columns)
    committed = rows(reported.url, TickRow.tick, where=[TickRow.run_id == reported.run_id])
    assert expected.ticks["tick"].tolist() == sorted(t for (t,) in committed)
    listed = read_page(reported.out / "index.html").exports
    assert listed["outcome measures"][:2] == [f"{len(expected.ticks):,}", f"run {reported.run_id}, one row per "
                                                                           "committed tick"]


# -- compare ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_recommenders(tmp_path_factory) -> tuple[RunChoice, RunChoice]:
    """One seed under two recommenders, each in a database file named run.db."""
    folder = tmp_path_factory.mktemp("compare")
    choices = []
    with LLMStub() as stub:
        for name, recommender in (("a", "ReverseChronoFollowersPopularity"), ("b", "ReverseChrono")):
            url = f"sqlite:///{folder / name / 'run.db'}"
            choices.append(RunChoice(url, make_run(url, stub.url, folder / name, content_rec_sys=recommender)))
    return choices[0], choices[1]


def test_compare_puts_the_runs_side_by_side_with_their_config_differences(two_recommenders, tmp_path):
    first, second = two_recommenders
    written = write_comparison(first, second, tmp_path)
    text = written.page.read_text(encoding="utf-8")
    page = read_page(written.page)
    assert {"summary", "config-diff"} <= page.ids and page.external == []
    assert set(page.images) == {f"plot-{plot.name}" for plot in plots.PLOTS}
    assert ('<tr data-key="agents.content_rec_sys"><th><code>agents.content_rec_sys</code></th>'
            '<td><code>ReverseChronoFollowersPopularity</code></td><td><code>ReverseChrono</code></td></tr>') in text
    # Both files are run.db: the labels name the setting that differs.
    labels = ("content_rec_sys=ReverseChronoFollowersPopularity", "content_rec_sys=ReverseChrono")
    assert all(f"<th>{label}</th>" in text for label in labels)

    runs = [gather(first.db_url, first.run_id, labels[0]), gather(second.db_url, second.run_id, labels[1])]
    for plot in plots.PLOTS:
        figure = plot.draw(runs)
        top = [ax for ax in figure.axes if ax.get_title()]
        assert [ax.get_title() for ax in top] == [f"{label} (run 1)" for label in labels], plot.name
        if plot.name != "top-hashtags":  # hashtags differ by run: only their counts share an axis
            assert top[0].get_shared_y_axes().joined(top[0], top[1]), plot.name
        assert _png_width(written.plots[plots.PLOTS.index(plot)]) > 1000, plot.name


def _png_width(path: Path) -> int:
    return int.from_bytes(path.read_bytes()[16:20], "big")  # IHDR: width right after the chunk header
