"""One run's report data: which run a database URL (and an optional run id) names, and its
aggregates gathered into a `RunReport` that the plots and pages of `ysim report` and
`ysim compare` share.

Everything here reads; the SQL is in `db.report_queries`. A `RunReport` holds per-tick series and
distributions, never the run's rows, so it stays small for a million-agent run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from db import display_url, normalize_url, session_factory
from db import queries, report_queries
from analysis.surveys import answer_distribution, survey_options
from db.models import RunRow
from tasks.run_state import DatabaseUnavailableError, find_run

TOP_HASHTAGS = 20  # bars in the hashtag chart
OPINION_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)  # the bands of the opinion plot: 5-95 %, 25-75 %, median


class NoRunError(LookupError):
    """The database holds no ysim run."""


class UnknownRunError(LookupError):
    """The database holds runs, but not the one asked for."""


@dataclass(frozen=True, slots=True)
class RunReport:
    """What the report shows of one run. Per-tick frames have one row per committed tick."""

    label: str
    url: str  # password masked
    run_id: int
    summary: dict[str, Any]  # `ysim status` numbers plus tokens and failed actions
    config: dict[str, Any]
    ticks: pd.DataFrame  # tick, day, hour, selected (agents drawn to act), acting (did something)
    actions: pd.DataFrame  # index tick, one column per action kind: how many rounds chose it
    in_degree: pd.DataFrame  # degree, agents
    hashtags: pd.DataFrame  # hashtag, posts (the top TOP_HASHTAGS)
    llm: pd.DataFrame  # tick, calls, errors, prompt_tokens, completion_tokens, latency_p50_ms, latency_p95_ms
    opinions: dict[str, pd.DataFrame]  # topic -> tick, holders, q05 ... q95
    surveys: pd.DataFrame  # survey, tick, answer, agents, share (analysis.surveys.answer_distribution)


def resolve_run(db_url: str, run_id: int | None = None) -> int:
    """The id of the run to report: `run_id`, or the database's latest run.

    Read-only. Raises DatabaseURLError (bad URL), DatabaseUnavailableError, NoRunError or
    UnknownRunError, each naming the URL and what it holds.
    """
    normalize_url(db_url)
    stored = find_run(db_url)  # never creates the file or the tables
    if stored is None:
        raise NoRunError(f"{display_url(db_url)} holds no ysim run")
    if run_id is None:
        return stored.run_id
    with reading(db_url) as session:
        known = report_queries.run_ids(session)
    if run_id not in known:
        raise UnknownRunError(f"{display_url(db_url)} holds no run {run_id} (its runs: "
                              f"{', '.join(map(str, known))})")
    return run_id


def default_label(db_url: str) -> str:
    """A short name for a run's database: the SQLite file's name, else the database's name."""
    url = make_url(normalize_url(db_url))
    if url.get_backend_name() == "sqlite":
        return Path(url.database or "").name
    return f"{url.host or 'localhost'}/{url.database}"


def gather(db_url: str, run_id: int, label: str | None = None) -> RunReport:
    """Everything the report shows of run `run_id` (resolved with `resolve_run` first)."""
    with reading(db_url) as session:
        run = session.get(RunRow, run_id)
        summary = queries.run_status(session, run)
        statuses = report_queries.action_statuses(session, run_id)
        ticks = report_queries.committed_ticks(session, run_id)
        acting = report_queries.acting_agents(session, run_id)
        actions = report_queries.action_counts(session, run_id)
        in_degree = report_queries.in_degree_distribution(session, run_id)
        hashtags = report_queries.top_hashtags(session, run_id, TOP_HASHTAGS)
        usage = report_queries.llm_usage(session, run_id)
        latencies = report_queries.llm_latencies(session, run_id)
        opinions = report_queries.opinion_events(session, run_id)
        answers = report_queries.survey_answers(session, run_id)
        config = dict(run.config)
    summary["tokens"] = summary["prompt_tokens"] + summary["completion_tokens"]
    summary["actions_failed"] = sum(statuses.get(s, 0) for s in report_queries.FAILED_STATUSES)
    ticks = ticks.merge(acting, on="tick", how="left").fillna({"acting": 0}).astype({"acting": int})
    return RunReport(label or default_label(db_url), display_url(db_url), run_id, summary, config, ticks,
                     actions_by_tick(actions, ticks["tick"]), in_degree, hashtags,
                     llm_by_tick(usage, latencies, ticks["tick"]),
                     opinion_bands(opinions, sorted(set(ticks["tick"]) | set(opinions["tick"]))),
                     answer_distribution(answers, survey_options(config)))


def survey_distribution(db_url: str, run_id: int) -> pd.DataFrame:
    """Run `run_id`'s survey answers alone (`RunReport.surveys`), for `ysim compare`'s exports."""
    with reading(db_url) as session:
        answers = report_queries.survey_answers(session, run_id)
        config = dict(session.get(RunRow, run_id).config)
    return answer_distribution(answers, survey_options(config))


def actions_by_tick(counts: pd.DataFrame, ticks: pd.Series) -> pd.DataFrame:
    """(tick, action, count) rows as a tick x action table, zero where a kind was not chosen."""
    table = counts.pivot_table(index="tick", columns="action", values="count", aggfunc="sum", fill_value=0)
    table = table.reindex(index=pd.Index(ticks, name="tick"), fill_value=0)
    return table.astype(int).rename_axis(columns=None)


def llm_by_tick(usage: pd.DataFrame, latencies: pd.DataFrame, ticks: pd.Series) -> pd.DataFrame:
    """Per committed tick: calls, errors, tokens (zero with no call), and the median and p95 (NaN with
    no call) of the server's round trip (`latency_*`) and of the wait for a concurrency slot (`wait_*`)."""
    frame = pd.DataFrame({"tick": ticks}).merge(usage, on="tick", how="left")
    sums = ["calls", "errors", "prompt_tokens", "completion_tokens"]
    frame[sums] = frame[sums].fillna(0).astype(int)
    grouped = latencies.groupby("tick")
    quantiles = pd.DataFrame({f"{name}_{label}_ms": grouped[f"{name}_ms"].quantile(q)
                              for name in ("latency", "wait") for label, q in (("p50", 0.5), ("p95", 0.95))})
    return frame.merge(quantiles, left_on="tick", right_index=True, how="left")


def opinion_bands(events: pd.DataFrame, ticks: list[int]) -> dict[str, pd.DataFrame]:
    """Per topic and tick, the quantiles of the opinions agents hold at the end of that tick.

    An agent holds its latest value (events come in the order they took effect). The state is an
    array per topic updated tick by tick, so the cost is the events plus ticks x holders.
    """
    bands: dict[str, pd.DataFrame] = {}
    for topic, topic_events in events.groupby("topic", sort=True):
        agents, position = np.unique(topic_events["agent_id"].to_numpy(), return_inverse=True)
        values = topic_events["opinion"].to_numpy(dtype=float)
        ends = np.searchsorted(topic_events["tick"].to_numpy(), ticks, side="right")
        state = np.full(len(agents), np.nan)
        rows, start = [], 0
        for tick, end in zip(ticks, ends, strict=True):
            _apply_in_order(state, position[start:end], values[start:end])
            start = end
            held = state[~np.isnan(state)]
            quantiles = np.quantile(held, OPINION_QUANTILES) if len(held) else [np.nan] * len(OPINION_QUANTILES)
            rows.append([tick, len(held), *quantiles])
        bands[str(topic)] = pd.DataFrame(rows, columns=["tick", "holders", *_quantile_names()])
    return bands


def _quantile_names() -> list[str]:
    return [f"q{round(q * 100):02d}" for q in OPINION_QUANTILES]


def _apply_in_order(state: np.ndarray, positions: np.ndarray, values: np.ndarray) -> None:
    """state[positions] = values, the last value winning where a position repeats (numpy's fancy
    assignment does not promise an order)."""
    if len(positions) == 0:
        return
    _, last_from_end = np.unique(positions[::-1], return_index=True)
    last = len(positions) - 1 - last_from_end
    state[positions[last]] = values[last]


@contextmanager
def reading(db_url: str) -> Iterator[Session]:
    """A session on `db_url` for reading, whose database errors become one-line DatabaseUnavailableError."""
    try:
        with session_factory(db_url).begin() as session:
            yield session
    except SQLAlchemyError as exc:
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split())
        raise DatabaseUnavailableError(f"cannot read database {display_url(db_url)}: {reason}") from None
