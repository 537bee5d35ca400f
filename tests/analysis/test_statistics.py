"""analysis.statistics and analysis.variants by hand: Student-t intervals over seeds, Welch intervals
of differences, final values, the NaN cases, and the grouping of runs into labelled variants.

Quantiles are a t table's: t(0.975, 2) = 4.302653, t(0.975, 4) = 2.776445.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.statistics import differences, final_values, last_values, over_seeds, welch_interval
from analysis.variants import assign_variants

T_2 = 4.302653  # t(0.975, df=2): three seeds
T_4 = 2.776445  # t(0.975, df=4)


def long(rows: list[tuple[str, int, int, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["variant", "seed", "tick", "measure", "value"])


def test_over_seeds_is_the_mean_with_a_student_t_interval():
    frame = long([("a", seed, tick, "m", value) for seed, values in ((1, (0.0, 1.0)), (2, (2.0, 2.0)),
                                                                        (3, (4.0, 3.0)))
                  for tick, value in enumerate(values)])
    result = over_seeds(frame).set_index("tick")
    # tick 0: 0, 2, 4: mean 2, sd 2; tick 1: 1, 2, 3: mean 2, sd 1
    assert list(result["runs"]) == [3, 3] and list(result["mean"]) == [2.0, 2.0]
    assert result.loc[0, "sd"] == pytest.approx(2.0)
    assert result.loc[0, "ci_low"] == pytest.approx(2 - T_2 * 2 / math.sqrt(3), abs=1e-6)
    assert result.loc[0, "ci_high"] == pytest.approx(2 + 4.968276, abs=1e-6)  # 4.302653 * 2 / 1.732051
    assert (result.loc[1, "ci_low"], result.loc[1, "ci_high"]) == pytest.approx((2 - 2.484138, 2 + 2.484138),
                                                                                abs=1e-6)


def test_over_seeds_leaves_nan_out_and_has_no_interval_below_two_values():
    frame = long([("a", 1, 0, "m", 5.0), ("a", 2, 0, "m", math.nan), ("a", 1, 1, "m", math.nan),
                  ("a", 2, 1, "m", math.nan), ("b", 1, 0, "m", 1.0), ("b", 2, 0, "m", 1.0)])
    result = over_seeds(frame)
    one = result[(result["variant"] == "a") & (result["tick"] == 0)].iloc[0]
    assert one["runs"] == 1 and one["mean"] == 5.0 and math.isnan(one["ci_low"]) and math.isnan(one["ci_high"])
    none = result[(result["variant"] == "a") & (result["tick"] == 1)].iloc[0]
    assert none["runs"] == 0 and math.isnan(none["mean"]) and math.isnan(none["ci_high"])
    # No spread: the interval is the mean itself.
    same = result[result["variant"] == "b"].iloc[0]
    assert (same["runs"], same["mean"], same["ci_low"], same["ci_high"]) == (2, 1.0, 1.0, 1.0)


def test_final_values_take_each_runs_last_tick():
    frame = long([
        ("a", 1, 0, "m", 100.0), ("a", 1, 1, "m", 1.0),
        ("a", 2, 0, "m", 100.0), ("a", 2, 1, "m", 2.0),
        ("a", 3, 0, "m", 100.0), ("a", 3, 1, "m", 3.0), ("a", 3, 2, "m", 6.0),  # a longer run: its tick 2
        ("a", 1, 1, "n", math.nan),  # no value at its last tick: left out
    ])
    last = last_values(frame)
    assert sorted(zip(last["seed"], last["measure"], last["tick"], last["value"].fillna(-1), strict=True)) == [
        (1, "m", 1, 1.0), (1, "n", 1, -1), (2, "m", 1, 2.0), (3, "m", 2, 6.0)]
    result = final_values(frame).set_index("measure")
    # 1, 2, 6: mean 3, sd sqrt(7) = 2.645751; half-width 4.302653 * 2.645751 / 1.732051 = 6.572411
    assert result.loc["m", "n"] == 3 and result.loc["m", "mean"] == pytest.approx(3.0)
    assert result.loc["m", "sd"] == pytest.approx(2.645751, abs=1e-6)
    assert (result.loc["m", "ci_low"], result.loc["m", "ci_high"]) == pytest.approx((3 - 6.572411, 3 + 6.572411),
                                                                                    abs=1e-5)
    assert result.loc["n", "n"] == 0 and math.isnan(result.loc["n", "mean"])


def test_two_runs_with_one_seed_are_two_runs():
    """Runs are told apart by their database and run id where the frame has them."""
    frame = long([("a", 7, 0, "m", 1.0), ("a", 7, 0, "m", 3.0)])
    frame["database"], frame["run_id"] = ["x.db", "y.db"], [1, 1]
    result = final_values(frame).iloc[0]
    assert result["n"] == 2 and result["mean"] == 2.0


def test_differences_with_equal_variances_have_the_t_interval_of_2n_minus_2_df():
    # a: 1, 2, 3 (mean 2, variance 1); b: 4, 5, 6 (mean 5, variance 1). se = sqrt(1/3 + 1/3) = 0.816497,
    # Welch df = (2/3)^2 / (2 (1/3)^2 / 2) = 4, half-width 2.776445 * 0.816497 = 2.266958.
    frame = long([(variant, seed, 0, "m", value) for variant, values in (("b", (4.0, 5.0, 6.0)), ("a", (1.0, 2.0, 3.0)))
                  for seed, value in enumerate(values, 1)])
    row = differences(frame, "b").iloc[0]
    assert (row["variant"], row["reference"], row["measure"], row["n"], row["n_reference"]) == ("a", "b", "m", 3, 3)
    assert row["difference"] == pytest.approx(-3.0) and row["df"] == pytest.approx(4.0)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((-3 - 2.266958, -3 + 2.266958), abs=1e-6)
    assert math.sqrt(2 / 3) * T_4 == pytest.approx(2.266958, abs=1e-6)  # the table quantile agrees


def test_differences_with_unequal_variances_use_welch_satterthwaite():
    # a: 4, 6, 8, 10 (mean 7, variance 20/3, n 4); b: 1, 2, 3 (mean 2, variance 1, n 3).
    # se^2 = 5/3 + 1/3 = 2; df = 4 / ((5/3)^2 / 3 + (1/3)^2 / 2) = 4 / (25/27 + 1/18) = 216 / 53 = 4.075472.
    a, b = [4.0, 6.0, 8.0, 10.0], [1.0, 2.0, 3.0]
    difference, df, low, high = welch_interval(np.array(a), np.array(b))
    assert difference == 5.0 and df == pytest.approx(216 / 53)
    assert (high - low) / 2 / math.sqrt(2) == pytest.approx(stats.t.ppf(0.975, 216 / 53))
    expected = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert (low, high) == pytest.approx((expected.low, expected.high))
    assert (low, high) == pytest.approx((1.102025, 8.897975), abs=1e-6)


def test_differences_have_no_interval_below_two_values_on_a_side():
    frame = long([("ref", 1, 0, "m", 1.0), ("ref", 2, 0, "m", 2.0), ("one", 1, 0, "m", 5.0),
                  ("ref", 1, 0, "only-ref", 1.0), ("ref", 2, 0, "only-ref", 1.5),
                  ("one", 1, 0, "only-one", 3.0), ("one", 2, 0, "only-one", 4.0)])
    result = differences(frame, "ref").set_index("measure")
    assert list(result.index) == ["m", "only-one"]  # a measure the variant lacks has no row
    assert result.loc["m", "difference"] == pytest.approx(3.5) and result.loc["m", "n"] == 1
    assert math.isnan(result.loc["m", "ci_low"]) and math.isnan(result.loc["m", "ci_high"])
    assert result.loc["only-one", "n_reference"] == 0 and math.isnan(result.loc["only-one", "difference"])
    # A reference with no rows (its runs committed no tick): every difference is NaN.
    empty = differences(frame, "none")
    assert set(empty["variant"]) == {"ref", "one"} and (empty["n_reference"] == 0).all()
    assert empty["difference"].isna().all() and empty["ci_low"].isna().all()


def test_a_frame_without_the_long_columns_is_refused():
    with pytest.raises(ValueError, match=r"missing \['seed'\]"):
        over_seeds(pd.DataFrame({"variant": [], "tick": [], "measure": [], "value": []}))


# -- variants ------------------------------------------------------------------------------------------------------


def config(recommender: str, seed: int, **extra) -> dict:
    return {"simulation": {"name": f"run-{seed}", "seed": seed, "ticks": 3},
            "agents": {"content_rec_sys": recommender, "count": 8, **extra},
            "database": {"url": f"sqlite:///{recommender}-{seed}.db"},
            "llm": {"url": f"http://127.0.0.1:{8000 + seed}/v1", "timeout_s": seed, "model": "m"},
            "ray": {"batch_size": seed}}


def test_runs_differing_in_seed_and_places_are_one_variant_labelled_by_the_telling_setting():
    configs = [config("Random", 1), config("Random", 2), config("Popular", 1), config("Popular", 2)]
    assert assign_variants(configs, [None] * 4) == ["content_rec_sys=Random"] * 2 + ["content_rec_sys=Popular"] * 2


def test_variants_need_as_many_settings_as_tell_them_apart():
    configs = [config("R", 1, count=8), config("R", 1, count=9), config("P", 1, count=8), config("P", 2, count=8)]
    assert assign_variants(configs, [None] * 4) == [
        "content_rec_sys=R, count=8", "content_rec_sys=R, count=9", "content_rec_sys=P, count=8",
        "content_rec_sys=P, count=8"]


def test_variants_no_setting_tells_apart_are_numbered_and_given_names_win():
    assert assign_variants([config("R", 1), config("R", 2)], [None, None]) == ["variant 1", "variant 1"]
    assert assign_variants([config("R", 1), config("P", 2), config("P", 3)], ["mine", None, "mine"]) == \
        ["mine", "variant 1", "mine"]
    # A derived label that is also a given name is told apart.
    assert assign_variants([config("R", 1), config("P", 2)], ["variant 1", None]) == ["variant 1", "variant 1 (2)"]
