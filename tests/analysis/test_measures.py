"""The outcome measures: each against a value worked out by hand, then a run's measures against
its database."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis.measures import BIMODAL, MEASURES, bimodality, ei_index, gini, graph_measures, measures, \
    opinion_polarization, tick_measures
from analysis.data import reading
from db import report_queries
from tests.analysis.reporting_runs import make_run


def test_gini_by_hand():
    assert gini([3, 3, 3, 3]) == 0
    assert gini([0, 0, 0, 4]) == pytest.approx(3 / 4)  # one holds all: (n - 1) / n
    # Mean absolute difference / (2 x mean): pairs 1-2, 1-3, 2-3 -> 8 / (2 x 9 x 2).
    assert gini([3, 1, 2]) == pytest.approx(8 / 36)
    assert math.isnan(gini([])) and math.isnan(gini([0, 0]))


def test_ei_index_by_hand():
    ties = [("D", "D"), ("D", "R"), ("R", "R"), ("", "D")]  # 2 internal, 1 external, 1 unknown
    assert ei_index(ties) == pytest.approx(-1 / 3)
    assert ei_index([("D", "R")]) == 1 and ei_index([("D", "D")]) == -1
    assert math.isnan(ei_index([("", "R")]))


def test_bimodality_tells_two_camps_from_one():
    two_camps = [0.05 + 0.005 * i for i in range(20)] + [0.85 + 0.005 * i for i in range(20)]
    one_camp = [0.5 + 0.02 * (i % 7 - 3) + 0.01 * (i % 3 - 1) for i in range(40)]
    assert bimodality(two_camps) > BIMODAL > bimodality(one_camp)
    # Two points of equal weight: skewness 0, and the coefficient tends to 1 as n grows.
    assert bimodality([0.0] * 500 + [1.0] * 500) == pytest.approx(1.0, abs=0.01)
    assert math.isnan(bimodality([0.5, 0.5, 0.5, 0.5])) and math.isnan(bimodality([0.1, 0.9, 0.5]))


def test_graph_measures_of_two_triangles():
    # Two separate triangles: each its own community, Q = 2 x (3/6 - (6/12)^2) = 0.5; every node
    # closes a triangle, clustering 1. Edges to an absent node are left out.
    edges = [(1, 2), (2, 3), (3, 1), (4, 5), (5, 6), (6, 4), (1, 99)]
    modularity, clustering = graph_measures(edges, range(1, 7))
    assert modularity == pytest.approx(0.5) and clustering == pytest.approx(1.0)
    assert all(math.isnan(v) for v in graph_measures([], [1, 2]))


def test_polarization_reads_each_holders_latest_opinion():
    events = pd.DataFrame([(0, 1, "tax", 0.1), (0, 2, "tax", 0.9), (1, 1, "tax", 0.5), (2, 3, "rent", 0.4)],
                          columns=["tick", "agent_id", "topic", "opinion"])
    frame = opinion_polarization(events, [0, 1, 2])
    rows = {(r.tick, r.topic): (r.holders, r.mean, r.variance) for r in frame.itertuples()}
    assert rows[(0, "tax")] == (2, pytest.approx(0.5), pytest.approx(0.16))
    assert rows[(1, "tax")] == (2, pytest.approx(0.7), pytest.approx(0.04))  # agent 1 moved to 0.5
    assert rows[(2, "rent")][0] == 1 and (2, "tax") in rows


def test_tick_measures_follow_the_rows_tick_by_tick():
    agents = pd.DataFrame([(1, "D", 0, 0, -1), (2, "D", 0, 0, -1), (3, "R", 0, 0, 2), (4, "", 1, 0, -1)],
                          columns=["agent_id", "leaning", "is_page", "joined_on", "left_on"])
    follows = pd.DataFrame([(-1, 1, 2, True), (-1, 2, 3, True), (0, 1, 3, True), (1, 2, 3, False)],
                           columns=["tick", "follower", "followee", "follows"])
    reactions = pd.DataFrame([(0, 2, 1), (0, 3, 1), (1, 1, 2)], columns=["tick", "agent_id", "author_id"])
    comments = pd.DataFrame([(1, 2)], columns=["tick", "comments"])
    served = pd.DataFrame([(0, 1, 2), (0, 1, 3), (0, 2, 4)], columns=["tick", "reader", "author"])
    acting = pd.DataFrame([(0, 2), (1, 4)], columns=["tick", "acting"])
    frame = tick_measures([0, 1, 2], follows, agents, reactions, comments, served, acting).set_index("tick")
    assert list(frame.columns) == list(MEASURES)
    assert frame.loc[0, "engagement"] == 1.0 and frame.loc[1, "engagement"] == pytest.approx(3 / 4)
    # Tick 0: followers 1->2, 2->3, 1->3 among D, D, R: one internal tie, two external.
    assert frame.loc[0, "follow_ei"] == pytest.approx(1 / 3)
    assert frame.loc[1, "follow_ei"] == 0  # 2 unfollowed 3
    assert frame.loc[0, "followers_gini"] == pytest.approx(gini([0, 1, 2, 0]))
    assert frame.loc[0, "reactions_gini"] == pytest.approx(gini([2, 0, 0, 0]))
    assert frame.loc[1, "reactions_gini"] == pytest.approx(gini([2, 1, 0, 0]))
    assert frame.loc[2, "reactions_gini"] == pytest.approx(gini([2, 1, 0]))  # agent 3 left at tick 2
    assert frame.loc[0, "exposure_ei"] == pytest.approx(0.0)  # D read D and R; the page is left out
    assert math.isnan(frame.loc[1, "exposure_ei"])
    assert frame.loc[0, "modularity"] == pytest.approx(graph_measures([(1, 2), (2, 3), (1, 3)], [1, 2, 3, 4])[0])
    too_large = tick_measures([0], follows, agents, reactions, comments, served, acting, max_graph_nodes=3)
    assert too_large[["modularity", "clustering"]].isna().all().all()  # 4 present: past the bound
    assert too_large["follow_ei"].tolist() == [pytest.approx(1 / 3)]


def test_a_runs_measures_match_its_database(sqlite_url, llm_stub, tmp_path):
    run_id = make_run(sqlite_url, llm_stub.url, tmp_path, agents=10, ticks=4)
    result = measures(sqlite_url, run_id)
    assert result.ticks["tick"].tolist() == [0, 1, 2, 3]
    with reading(sqlite_url) as session:
        edges = [(a, b) for a, b, _ in report_queries.current_follow_edges(session, run_id)]
        present = report_queries.agent_groups(session, run_id)
    followers = {a: 0 for a in present["agent_id"]}
    for _, followee in edges:
        followers[followee] += 1
    last = result.ticks.set_index("tick").loc[3]
    assert last["followers_gini"] == pytest.approx(gini(list(followers.values())))
    assert (last["modularity"], last["clustering"]) == pytest.approx(graph_measures(edges, followers))
    assert set(result.polarization["tick"]) == {0, 1, 2, 3} and (result.polarization["holders"] > 0).all()
    # Inequality is undefined (NaN) until somebody has received a reaction (a follower), then in [0, 1).
    for name in ("reactions_gini", "followers_gini"):
        defined = result.ticks[name].dropna()
        assert len(defined) and defined.between(0, 1).all(), name
