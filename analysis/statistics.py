"""Statistics over seeds: per-tick means of a measure over a variant's runs, each run's final
value, and the difference of two variants' final values, each with a 95 % confidence interval.

Pure functions of a long frame (one row per run, tick and measure: `variant`, `seed`, `tick`,
`measure`, `value`, and optionally `database` and `run_id`, which tell apart two runs of a
variant with the same seed). A NaN value is a run that has no value there (no agent acted, no
opinion held): it is left out of the count `n` and of every number computed from it.

- mean of n values: Student's t interval, mean +- t(0.975, n-1) * sd / sqrt(n), sd the sample
  standard deviation (ddof 1); NaN below 2 values.
- difference of two variants' mean final values: Welch's interval (Welch 1947), the standard
  error sqrt(sd1^2/n1 + sd2^2/n2) and Welch-Satterthwaite's degrees of freedom; NaN where a side
  has fewer than 2 values. Where both sides have no spread the interval is the difference itself.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

LEVEL = 0.95  # the confidence level of every interval (docs/reports.md#comparing-variants-over-seeds)
RUN_KEYS = ("variant", "seed", "database", "run_id")  # those present name one run
LONG_COLUMNS = ("variant", "seed", "tick", "measure", "value")
_INTERVAL = {"mean": float, "sd": float, "ci_low": float, "ci_high": float}


def t_quantile(df: float) -> float:
    """The two-sided LEVEL quantile of Student's t with `df` degrees of freedom; NaN for df <= 0."""
    if not df > 0:
        return math.nan
    return float(stats.t.ppf(0.5 + LEVEL / 2, df))


def mean_interval(values: np.ndarray) -> tuple[int, float, float, float, float]:
    """(n, mean, sd, ci_low, ci_high) of the non-NaN values; NaN interval below 2 values."""
    data = np.asarray(values, dtype=float)
    data = data[~np.isnan(data)]
    n = len(data)
    if n == 0:
        return 0, math.nan, math.nan, math.nan, math.nan
    mean = float(data.mean())
    if n < 2:
        return n, mean, math.nan, math.nan, math.nan
    sd = float(data.std(ddof=1))
    half = t_quantile(n - 1) * sd / math.sqrt(n)
    return n, mean, sd, mean - half, mean + half


def welch_interval(first: np.ndarray, second: np.ndarray) -> tuple[float, float, float, float]:
    """(mean(first) - mean(second), df, ci_low, ci_high) of the non-NaN values: Welch's interval;
    NaN interval where a side has fewer than 2 values (NaN difference where a side has none)."""
    a, b = (np.asarray(v, dtype=float) for v in (first, second))
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if not len(a) or not len(b):
        return math.nan, math.nan, math.nan, math.nan
    difference = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return difference, math.nan, math.nan, math.nan
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return difference, math.nan, difference, difference
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = t_quantile(df) * se
    return difference, float(df), difference - half, difference + half


def over_seeds(long: pd.DataFrame) -> pd.DataFrame:
    """Per variant, measure and tick: runs (values there), mean, sd, ci_low, ci_high; variants
    and measures in the order they first appear, ticks ascending."""
    _check(long)
    rows = []
    for (variant, measure), group in _grouped(long):
        for tick, at_tick in group.groupby("tick", sort=True):
            rows.append((variant, measure, tick, *mean_interval(at_tick["value"].to_numpy())))
    return _frame(rows, {"variant": str, "measure": str, "tick": "int64", "runs": "int64", **_INTERVAL})


def last_values(long: pd.DataFrame) -> pd.DataFrame:
    """Each run's value at its last tick, per measure: the run's columns, measure, tick, value
    (NaN where the run has no value at that tick)."""
    _check(long)
    keys = [key for key in RUN_KEYS if key in long.columns]
    ordered = long.sort_values("tick", kind="stable")
    last = ordered.groupby([*keys, "measure"], sort=False, dropna=False).tail(1)
    return last.loc[:, [*keys, "measure", "tick", "value"]].sort_index().reset_index(drop=True)


def final_values(long: pd.DataFrame) -> pd.DataFrame:
    """Per variant and measure: n (runs with a final value), mean, sd, ci_low, ci_high of the
    runs' values at their last tick."""
    rows = [(variant, measure, *mean_interval(group["value"].to_numpy()))
            for (variant, measure), group in _grouped(last_values(long))]
    return _frame(rows, {"variant": str, "measure": str, "n": "int64", **_INTERVAL})


def differences(long: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Per variant other than `reference` and measure: the difference of the mean final values
    (variant - reference), Welch's degrees of freedom and interval, and both sides' n (a measure
    the reference has no value of, or a reference with no rows: n_reference 0, NaN difference)."""
    last = last_values(long)
    base = {measure: group["value"].to_numpy()
            for measure, group in last[last["variant"] == reference].groupby("measure", sort=False)}
    rows = []
    for (variant, measure), group in _grouped(last):
        if variant == reference:
            continue
        values, against = group["value"].to_numpy(), base.get(measure, np.array([]))
        difference, df, low, high = welch_interval(values, against)
        rows.append((variant, reference, measure, _count(values), _count(against), difference, df, low, high))
    return _frame(rows, {"variant": str, "reference": str, "measure": str, "n": "int64",
                         "n_reference": "int64", "difference": float, "df": float, "ci_low": float, "ci_high": float})


def _frame(rows: list[tuple], columns: dict[str, object]) -> pd.DataFrame:
    """The rows with these columns and types, also when there is no row (the files keep their schema)."""
    return pd.DataFrame(rows, columns=list(columns)).astype(columns)


def _grouped(frame: pd.DataFrame):
    return frame.groupby(["variant", "measure"], sort=False, dropna=False)


def _count(values: np.ndarray) -> int:
    return int((~np.isnan(np.asarray(values, dtype=float))).sum())


def _check(long: pd.DataFrame) -> None:
    missing = [column for column in LONG_COLUMNS if column not in long.columns]
    if missing:
        raise ValueError(f"expected a long frame with columns {list(LONG_COLUMNS)}; missing {missing} "
                         f"(it has {list(long.columns)})")
