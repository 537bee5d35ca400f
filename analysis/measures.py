"""Standard outcome measures of a run, per tick: what researchers compare between runs.

Each is computed from the run's rows as they stood at the end of each committed tick, and each
follows a published definition (docs/reports.md#outcome-measures gives the sources):

- `engagement`: reactions and comments written in the tick per agent that acted in it;
- `reactions_gini`, `followers_gini`: attention inequality, the Gini coefficient of the reactions
  each present agent has received so far, and of its followers now;
- `follow_ei`, `exposure_ei`: echo chambers, Krackhardt and Stern's E-I index of leaning
  (external - internal) / (external + internal) over the follow graph's edges now, and over the
  posts recommenders served in the tick (reader and author); -1 is a closed chamber, 0 as many
  ties across leanings as within, pages and agents of unknown leaning left out;
- `modularity`, `clustering`: the follow graph (undirected, present agents) split by networkx's
  greedy modularity communities, and its average clustering coefficient;
- per topic (`polarization`): the holders' latest opinions, their variance, and Sarle's
  bimodality coefficient (above 5/9 suggests two camps).

`measures(db_url, run_id)` reads the inputs (SQL in `db.report_queries`) and returns both frames;
the pure functions below do the arithmetic and are what the tests check by hand.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd

from analysis.data import reading
from db import report_queries

# networkx's greedy modularity takes minutes beyond this many agents, at every tick: a larger
# run's report leaves `modularity` and `clustering` NaN (its follow_graph.graphml is exported for
# igraph, graph-tool or Gephi).
MAX_GRAPH_NODES = 20_000
MEASURES = ("engagement", "reactions_gini", "followers_gini", "follow_ei", "exposure_ei", "modularity",
            "clustering")
BIMODAL = 5 / 9  # Sarle's coefficient of a uniform distribution: above it, a sign of two modes


@dataclass(frozen=True, slots=True)
class RunMeasures:
    ticks: pd.DataFrame  # tick, then one column per name in MEASURES
    polarization: pd.DataFrame  # tick, topic, holders, mean, variance, bimodality


def gini(values: Sequence[float]) -> float:
    """The Gini coefficient of non-negative values: 0 when all are equal, (n-1)/n when one holds all;
    NaN for no values or a zero total."""
    data = np.sort(np.asarray(values, dtype=float))
    total = data.sum()
    if not len(data) or total == 0:
        return math.nan
    ranks = np.arange(1, len(data) + 1)
    return float((2 * (ranks * data).sum()) / (len(data) * total) - (len(data) + 1) / len(data))


def ei_index(pairs: Iterable[tuple[str, str]]) -> float:
    """Krackhardt and Stern's E-I index of (group, group) ties: (external - internal) / all; NaN
    when there is no tie. Ties with an unknown ("") group are left out."""
    internal = external = 0
    for first, second in pairs:
        if first and second:
            internal += first == second
            external += first != second
    return (external - internal) / (external + internal) if internal + external else math.nan


def bimodality(values: Sequence[float]) -> float:
    """Sarle's bimodality coefficient (skewness^2 + 1) / (excess kurtosis + 3 (n-1)^2 / ((n-2)(n-3))),
    with the sample (bias-corrected) skewness and kurtosis; NaN below 4 values or with no spread."""
    data = np.asarray(values, dtype=float)
    n = len(data)
    if n < 4 or np.ptp(data) == 0:
        return math.nan
    series = pd.Series(data)
    skew, kurt = float(series.skew()), float(series.kurt())
    return (skew ** 2 + 1) / (kurt + 3 * (n - 1) ** 2 / ((n - 2) * (n - 3)))


def graph_measures(edges: Iterable[tuple[int, int]], nodes: Iterable[int]) -> tuple[float, float]:
    """Modularity of the greedy modularity communities and average clustering of the undirected
    follow graph on `nodes`; NaN for a graph with no edge."""
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from((a, b) for a, b in edges if a in graph and b in graph and a != b)
    if not graph.number_of_edges():
        return math.nan, math.nan
    communities = nx.community.greedy_modularity_communities(graph)
    return float(nx.community.modularity(graph, communities)), float(nx.average_clustering(graph))


def opinion_polarization(events: pd.DataFrame, ticks: Sequence[int]) -> pd.DataFrame:
    """Per tick and topic, the holders' latest opinions: holders, mean, variance, bimodality."""
    rows = []
    latest: dict[tuple[int, str], float] = {}
    events = events.sort_values("tick", kind="stable")
    position = 0
    records = list(events.itertuples(index=False))
    for tick in ticks:
        while position < len(records) and records[position].tick <= tick:
            record = records[position]
            latest[(record.agent_id, record.topic)] = record.opinion
            position += 1
        by_topic: dict[str, list[float]] = {}
        for (_, topic), opinion in latest.items():
            by_topic.setdefault(topic, []).append(opinion)
        for topic, opinions in sorted(by_topic.items()):
            rows.append((tick, topic, len(opinions), float(np.mean(opinions)), float(np.var(opinions)),
                         bimodality(opinions)))
    return pd.DataFrame(rows, columns=["tick", "topic", "holders", "mean", "variance", "bimodality"])


def measures(db_url: str, run_id: int) -> RunMeasures:
    """The run's measures at the end of each committed tick."""
    with reading(db_url) as session:
        ticks = report_queries.committed_ticks(session, run_id)["tick"].tolist()
        follows = report_queries.follow_events(session, run_id)
        agents = report_queries.agent_groups(session, run_id)
        reactions = report_queries.reactions_received(session, run_id)
        comments = report_queries.comments_per_tick(session, run_id)
        served = report_queries.exposures(session, run_id)
        acting = report_queries.acting_agents(session, run_id)
        opinions = report_queries.opinion_events(session, run_id)
    return RunMeasures(tick_measures(ticks, follows, agents, reactions, comments, served, acting),
                       opinion_polarization(opinions, ticks))


def tick_measures(ticks: Sequence[int], follows: pd.DataFrame, agents: pd.DataFrame, reactions: pd.DataFrame,
                  comments: pd.DataFrame, served: pd.DataFrame, acting: pd.DataFrame,
                  max_graph_nodes: int = MAX_GRAPH_NODES) -> pd.DataFrame:
    """MEASURES per tick from the run's rows (the frames of `db.report_queries`); the graph's
    modularity and clustering only while at most `max_graph_nodes` agents are present."""
    leaning = {a.agent_id: ("" if a.is_page else a.leaning) for a in agents.itertuples(index=False)}
    ids, joined, left = (agents[c].to_numpy() for c in ("agent_id", "joined_on", "left_on"))
    comments_at = dict(zip(comments["tick"], comments["comments"], strict=True))
    acting_at = dict(zip(acting["tick"], acting["acting"], strict=True))
    reactions_at = reactions.groupby("tick").size().to_dict()
    served_at = {tick: list(zip(rows["reader"], rows["author"], strict=True)) for tick, rows in served.groupby("tick")}
    follow_records = list(follows.itertuples(index=False))
    reaction_records = list(reactions.sort_values("tick", kind="stable").itertuples(index=False))
    edges: set[tuple[int, int]] = set()
    received: dict[int, int] = {}
    f_pos = r_pos = 0
    rows = []
    for tick in ticks:
        while f_pos < len(follow_records) and follow_records[f_pos].tick <= tick:
            event = follow_records[f_pos]
            (edges.add if event.follows else edges.discard)((event.follower, event.followee))
            f_pos += 1
        while r_pos < len(reaction_records) and reaction_records[r_pos].tick <= tick:
            author = reaction_records[r_pos].author_id
            received[author] = received.get(author, 0) + 1
            r_pos += 1
        present = ids[(joined <= tick) & ((left < 0) | (left > tick))].tolist()
        followers = dict.fromkeys(present, 0)
        for _, followee in edges:
            if followee in followers:
                followers[followee] += 1
        modularity, clustering = (graph_measures(edges, present) if len(present) <= max_graph_nodes
                                  else (math.nan, math.nan))
        active = acting_at.get(tick, 0)
        rows.append((tick,
                     (reactions_at.get(tick, 0) + comments_at.get(tick, 0)) / active if active else math.nan,
                     gini([received.get(a, 0) for a in present]), gini(list(followers.values())),
                     ei_index((leaning.get(a, ""), leaning.get(b, "")) for a, b in edges),
                     ei_index((leaning.get(r, ""), leaning.get(w, "")) for r, w in served_at.get(tick, ())),
                     modularity, clustering))
    return pd.DataFrame(rows, columns=["tick", *MEASURES])
