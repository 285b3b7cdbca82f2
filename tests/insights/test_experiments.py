"""The experiment statistics engine, checked against scipy and statsmodels on the same numbers."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import integrate, stats
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW
from typer.testing import CliRunner

from medreach.cli import app
from medreach.core.errors import AppError
from medreach.core.i18n import MESSAGES, message
from medreach.insights import experiments as ex
from medreach.insights.experiments import Moments

KEYS = {
    "group",
    "n",
    "rate",
    "control_rate",
    "abs_lift",
    "rel_lift",
    "ci_low",
    "ci_high",
    "p_value",
    "revenue_per_customer",
    "revenue_lift",
    "revenue_ci_low",
    "revenue_ci_high",
    "srm_p_value",
}


def scipy_welch(t, c):
    r = stats.ttest_ind(t, c, equal_var=False)
    ci = r.confidence_interval(0.95)
    return r.statistic, r.pvalue, r.df, ci.low, ci.high


def assert_matches_scipy(estimate, t, c):
    statistic, p, df, low, high = scipy_welch(t, c)
    assert estimate.estimate == pytest.approx(np.mean(t) - np.mean(c), rel=1e-12, abs=1e-15)
    assert estimate.statistic == pytest.approx(statistic, rel=1e-9)
    assert estimate.p_value == pytest.approx(p, rel=1e-9, abs=1e-300)
    assert estimate.df == pytest.approx(df, rel=1e-9)
    assert (estimate.ci_low, estimate.ci_high) == (pytest.approx(low, rel=1e-9), pytest.approx(high, rel=1e-9))


def experiment_frame(rng, spec, covariate=False):
    """One row per customer; spec = [(group, n, conversion rate, revenue per converter)]."""
    parts = []
    for group, n, rate, mean in spec:
        pre = rng.gamma(2.0, 15.0, n)
        converted = rng.binomial(1, rate, n)
        revenue = converted * np.maximum(0, mean + 0.8 * pre + rng.normal(0, 10, n))
        part = pd.DataFrame({"group": group, "converted": converted, "revenue": revenue})
        if covariate:
            part["pre_revenue"] = pre
        parts.append(part)
    return pd.concat(parts).sample(frac=1, random_state=1).reset_index(drop=True)


# --- Welch: conversion and revenue ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_t", "n_c", "p_t", "p_c"), [(3000, 2000, 0.12, 0.10), (500, 5000, 0.03, 0.05), (40, 60, 0.5, 0.3)]
)
def test_conversion_difference_is_scipys_welch_test(n_t, n_c, p_t, p_c):
    rng = np.random.default_rng(n_t)
    t, c = rng.binomial(1, p_t, n_t), rng.binomial(1, p_c, n_c)
    from_arrays = ex.welch(Moments.of(t), Moments.of(c))
    from_counts = ex.compare_conversions(int(t.sum()), n_t, int(c.sum()), n_c).absolute
    assert_matches_scipy(from_arrays, t, c)
    assert_matches_scipy(from_counts, t, c)


def test_revenue_difference_is_scipys_and_statsmodels_welch_test():
    rng = np.random.default_rng(7)
    t, c = rng.lognormal(3.0, 1.2, 1800), rng.lognormal(2.9, 1.0, 2500)
    estimate = ex.welch(Moments.of(t), Moments.of(c))
    assert_matches_scipy(estimate, t, c)
    compared = CompareMeans(DescrStatsW(t), DescrStatsW(c))
    statistic, p, df = compared.ttest_ind(usevar="unequal")
    low, high = compared.tconfint_diff(alpha=0.05, usevar="unequal")
    assert (estimate.statistic, estimate.p_value, estimate.df) == (
        pytest.approx(statistic, rel=1e-9),
        pytest.approx(p, rel=1e-9),
        pytest.approx(df, rel=1e-9),
    )
    assert (estimate.ci_low, estimate.ci_high) == (pytest.approx(low, rel=1e-9), pytest.approx(high, rel=1e-9))


def test_other_alpha_gives_scipys_interval_at_that_level():
    rng = np.random.default_rng(3)
    t, c = rng.normal(1.1, 2, 300), rng.normal(1.0, 3, 200)
    estimate = ex.welch(Moments.of(t), Moments.of(c), alpha=0.1)
    ci = stats.ttest_ind(t, c, equal_var=False).confidence_interval(0.9)
    assert (estimate.ci_low, estimate.ci_high) == (pytest.approx(ci.low, rel=1e-9), pytest.approx(ci.high, rel=1e-9))


def test_moments_of_conversions_equal_moments_of_the_zero_one_values():
    values = np.array([1, 0, 0, 1, 1, 0, 0, 0])
    a, b = Moments.of(values), Moments.of_conversions(3, 8)
    assert (a.n, a.mean) == (b.n, b.mean) and a.variance == pytest.approx(b.variance, rel=1e-12)


# --- relative lift (delta method) -----------------------------------------------------------------------------


def test_relative_lift_variance_is_the_delta_method_linearisation():
    rng = np.random.default_rng(11)
    t, c = rng.binomial(1, 0.22, 4000), rng.binomial(1, 0.2, 3000)
    mt, mc = Moments.of(t), Moments.of(c)
    relative = ex.delta_relative(mt, mc)
    # Independent: numerical gradient of g(a, b) = a / b - 1 at the means, Var = grad' diag(var/n) grad.
    h = 1e-7
    grad = np.array(
        [
            ((mt.mean + h) / mc.mean - (mt.mean - h) / mc.mean) / (2 * h),
            (mt.mean / (mc.mean + h) - mt.mean / (mc.mean - h)) / (2 * h),
        ]
    )
    variance = grad @ np.diag([mt.variance / mt.n, mc.variance / mc.n]) @ grad
    assert relative.estimate == pytest.approx(t.mean() / c.mean() - 1, rel=1e-12)
    assert relative.std_error == pytest.approx(math.sqrt(variance), rel=1e-6)
    df = stats.ttest_ind(t, c, equal_var=False).df
    assert relative.df == pytest.approx(df, rel=1e-9)
    half = stats.t.ppf(0.975, df) * relative.std_error
    assert (relative.ci_low, relative.ci_high) == (
        pytest.approx(relative.estimate - half, rel=1e-9),
        pytest.approx(relative.estimate + half, rel=1e-9),
    )


def test_relative_lift_interval_covers_the_true_lift_about_95_percent_of_the_time():
    rng = np.random.default_rng(5)
    n, p_c, p_t = 5000, 0.10, 0.12
    trials = 2000
    conversions_t, conversions_c = rng.binomial(n, p_t, trials), rng.binomial(n, p_c, trials)
    covered = 0
    for x_t, x_c in zip(conversions_t, conversions_c, strict=True):
        r = ex.delta_relative(Moments.of_conversions(int(x_t), n), Moments.of_conversions(int(x_c), n))
        covered += r.ci_low <= p_t / p_c - 1 <= r.ci_high
    assert 0.93 <= covered / trials <= 0.97


# --- sequential intervals -------------------------------------------------------------------------------------


def test_sequential_interval_is_wider_than_the_fixed_one_and_its_p_value_agrees_with_it():
    rng = np.random.default_rng(2)
    t, c = rng.normal(0.3, 1, 3000), rng.normal(0.2, 1, 3000) - 0.05
    fixed = ex.welch(Moments.of(t), Moments.of(c))
    seq = ex.sequential_interval(fixed.estimate, fixed.std_error, 6000)
    assert seq.ci_low < fixed.ci_low and seq.ci_high > fixed.ci_high
    assert seq.p_value > fixed.p_value
    # The p-value is below alpha exactly when the interval leaves out 0: at an estimate of one half-width, it is alpha.
    half = (seq.ci_high - seq.ci_low) / 2
    assert ex.sequential_interval(half, fixed.std_error, 6000).p_value == pytest.approx(0.05, rel=1e-9)
    assert ex.sequential_interval(half * 1.01, fixed.std_error, 6000).p_value < 0.05


def test_sequential_interval_keeps_its_error_rate_when_peeking_every_day():
    """A/A tests looked at 40 times: the fixed test 'finds' an effect far more often than 5%, the
    sequential interval no more than 5%."""
    rng = np.random.default_rng(42)
    experiments, looks, per_look = 400, 40, 100
    a = rng.normal(0, 1, (experiments, looks * per_look))
    b = rng.normal(0, 1, (experiments, looks * per_look))
    fixed_hits = seq_hits = 0
    for i in range(experiments):
        fixed_found = seq_found = False
        for k in range(1, looks + 1):
            m = k * per_look
            estimate = ex.welch(Moments.of(b[i, :m]), Moments.of(a[i, :m]))
            fixed_found |= estimate.p_value < 0.05
            seq_found |= ex.sequential_interval(estimate.estimate, estimate.std_error, 2 * m).p_value < 0.05
        fixed_hits += fixed_found
        seq_hits += seq_found
    assert fixed_hits / experiments > 0.12
    assert seq_hits / experiments <= 0.05


# --- Bayesian chance to win -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x_t", "n_t", "x_c", "n_c"), [(3, 10, 1, 10), (12, 100, 15, 100), (0, 20, 0, 20), (40, 300, 9, 50)]
)
def test_beta_chance_to_win_is_the_integral_of_the_posteriors(x_t, n_t, x_c, n_c):
    post_t, post_c = stats.beta(1 + x_t, 1 + n_t - x_t), stats.beta(1 + x_c, 1 + n_c - x_c)
    expected, _ = integrate.quad(lambda p: post_t.pdf(p) * post_c.cdf(p), 0, 1, limit=200)
    assert ex.chance_to_win_beta(x_t, n_t, x_c, n_c) == pytest.approx(expected, abs=1e-7)


def test_beta_chance_to_win_matches_sampling_and_its_complement():
    x_t, n_t, x_c, n_c = 530, 5000, 480, 5000
    rng = np.random.default_rng(9)
    draws = 400_000
    sampled = np.mean(rng.beta(1 + x_t, 1 + n_t - x_t, draws) > rng.beta(1 + x_c, 1 + n_c - x_c, draws))
    chance = ex.chance_to_win_beta(x_t, n_t, x_c, n_c)
    assert chance == pytest.approx(sampled, abs=0.004)
    assert chance + ex.chance_to_win_beta(x_c, n_c, x_t, n_t) == pytest.approx(1, abs=1e-12)
    assert ex.chance_to_win_beta(500, 5000, 500, 5000) == pytest.approx(0.5, abs=1e-9)


def test_beta_chance_to_win_normal_approximation_for_huge_counts_is_close_to_exact(monkeypatch):
    exact = ex.chance_to_win_beta(2600, 50_000, 2500, 50_000)
    monkeypatch.setattr(ex, "_EXACT_BETA_TERMS", 100)
    assert ex.chance_to_win_beta(2600, 50_000, 2500, 50_000) == pytest.approx(exact, abs=2e-3)


def test_normal_chance_to_win_is_one_minus_the_one_sided_p_value():
    rng = np.random.default_rng(4)
    t, c = rng.normal(10.3, 5, 20_000), rng.normal(10.2, 5, 20_000)
    estimate = ex.welch(Moments.of(t), Moments.of(c))
    one_sided = stats.ttest_ind(t, c, equal_var=False, alternative="greater").pvalue
    assert ex.chance_to_win_normal(estimate) == pytest.approx(1 - one_sided, abs=1e-4)


# --- CUPED ----------------------------------------------------------------------------------------------------


def test_cuped_theta_is_the_pooled_regression_slope_and_its_test_is_welch_on_the_adjusted_revenue():
    rng = np.random.default_rng(21)
    x_t, x_c = rng.gamma(2, 20, 3000), rng.gamma(2, 20, 3000)
    y_t = 5 + 0.9 * x_t + rng.normal(0, 15, 3000) + 2.0
    y_c = 5 + 0.9 * x_c + rng.normal(0, 15, 3000)
    adjustment = ex.cuped(y_t, x_t, y_c, x_c)
    x, y = np.concatenate([x_t, x_c]), np.concatenate([y_t, y_c])
    slope = sm.OLS(y, sm.add_constant(x)).fit().params[1]
    assert adjustment.theta == pytest.approx(slope, rel=1e-9)
    adj_t, adj_c = y_t - slope * (x_t - x.mean()), y_c - slope * (x_c - x.mean())
    assert_matches_scipy(ex.welch(adjustment.treatment, adjustment.control), adj_t, adj_c)
    raw_se2 = ((y_t.mean() - y_c.mean()) / stats.ttest_ind(y_t, y_c, equal_var=False).statistic) ** 2
    adj_se2 = ((adj_t.mean() - adj_c.mean()) / stats.ttest_ind(adj_t, adj_c, equal_var=False).statistic) ** 2
    assert adjustment.variance_reduction == pytest.approx(1 - adj_se2 / raw_se2, rel=1e-9)


def test_cuped_reduces_the_variance_by_about_the_squared_correlation():
    rng = np.random.default_rng(8)
    n = 20_000
    x_t, x_c = rng.normal(100, 20, n), rng.normal(100, 20, n)
    y_t = 0.8 * x_t + rng.normal(0, 12, n) + 1.0  # corr(x, y) = 16 / 20 = 0.8
    y_c = 0.8 * x_c + rng.normal(0, 12, n)
    adjustment = ex.cuped(y_t, x_t, y_c, x_c)
    raw = ex.welch(Moments.of(y_t), Moments.of(y_c))
    adjusted = ex.welch(adjustment.treatment, adjustment.control)
    assert adjustment.variance_reduction == pytest.approx(0.64, abs=0.02)
    assert adjusted.ci_high - adjusted.ci_low < 0.65 * (raw.ci_high - raw.ci_low)
    assert adjusted.ci_low < 1.0 < adjusted.ci_high  # still centred on the true lift


def test_cuped_with_an_unrelated_or_constant_covariate_changes_little_or_nothing():
    rng = np.random.default_rng(12)
    y_t, y_c = rng.normal(10, 3, 5000), rng.normal(10, 3, 5000)
    unrelated = ex.cuped(y_t, rng.normal(0, 1, 5000), y_c, rng.normal(0, 1, 5000))
    assert abs(unrelated.variance_reduction) < 0.01
    constant = ex.cuped(y_t, np.full(5000, 7.0), y_c, np.full(5000, 7.0))
    assert constant.theta == 0 and constant.variance_reduction == 0
    assert constant.treatment == Moments.of(y_t)


# --- SRM ------------------------------------------------------------------------------------------------------


def test_srm_is_scipys_chisquare_against_equal_groups_and_flags_a_skewed_split():
    balanced = ex.sample_ratio({"control": 5020, "a": 4980})
    assert balanced.p_value == pytest.approx(stats.chisquare([5020, 4980]).pvalue, rel=1e-12)
    assert not balanced.mismatch
    skewed = ex.sample_ratio({"control": 5200, "a": 4800})
    assert skewed.p_value == pytest.approx(stats.chisquare([5200, 4800], [5000, 5000]).pvalue, rel=1e-12)
    assert skewed.p_value < 1e-3 and skewed.mismatch


def test_srm_against_a_planned_split():
    counts = {"control": 1030, "a": 4470, "b": 4500}
    planned = ex.sample_ratio(counts, {"control": 0.1, "a": 0.45, "b": 0.45})
    assert planned.p_value == pytest.approx(stats.chisquare([1030, 4470, 4500], [1000, 4500, 4500]).pvalue, rel=1e-12)
    assert not planned.mismatch
    assert ex.sample_ratio(counts).mismatch  # the same counts are far from equal groups
    weights = ex.sample_ratio(counts, {"control": 2, "a": 9, "b": 9})  # weights are normalised
    assert weights.p_value == pytest.approx(planned.p_value, rel=1e-12)
    absent = ex.sample_ratio({"control": 500, "a": 500}, {"control": 1, "a": 1, "b": 1})
    assert absent.observed == {"control": 500, "a": 500, "b": 0} and absent.mismatch
    with pytest.raises(AppError, match="EXPERIMENT_SPLIT_MISSING_GROUPS") as e:
        ex.sample_ratio(counts, {"control": 0.5, "a": 0.5})
    assert e.value.params["groups"] == "b"


def test_parse_split():
    assert ex.parse_split(" control = 0.1, a=0.45 ,b=0.45") == {"control": 0.1, "a": 0.45, "b": 0.45}
    for bad in ("control", "control=0.5,control=0.5", "a=0", "a=-1", "a=x", "=1", "a=nan", "a=1,"):
        with pytest.raises(AppError, match="EXPERIMENT_SPLIT_INVALID"):
            ex.parse_split(bad)


# --- a whole experiment ---------------------------------------------------------------------------------------


def test_evaluate_every_number_against_scipy():
    rng = np.random.default_rng(13)
    frame = experiment_frame(rng, [("b", 3000, 0.11, 30), ("control", 3000, 0.10, 30), ("a", 3000, 0.13, 34)])
    result = ex.evaluate(frame)
    assert result.control == "control" and result.control_choice == "named control"
    rows = result.summaries()
    assert [r["group"] for r in rows] == ["b", "a"]  # file order of first appearance, control left out
    control = frame[frame.group == "control"]
    srm = stats.chisquare(frame.group.value_counts().to_numpy()).pvalue
    for row in rows:
        assert set(row) == KEYS
        treated = frame[frame.group == row["group"]]
        assert row["n"] == len(treated)
        assert row["rate"] == pytest.approx(treated.converted.mean(), rel=1e-12)
        assert row["control_rate"] == pytest.approx(control.converted.mean(), rel=1e-12)
        assert row["abs_lift"] == pytest.approx(row["rate"] - row["control_rate"], rel=1e-12)
        assert row["rel_lift"] == pytest.approx(row["rate"] / row["control_rate"] - 1, rel=1e-12)
        _, p, _, low, high = scipy_welch(treated.converted, control.converted)
        assert (row["p_value"], row["ci_low"], row["ci_high"]) == (
            pytest.approx(p, rel=1e-9),
            pytest.approx(low, rel=1e-9),
            pytest.approx(high, rel=1e-9),
        )
        assert row["revenue_per_customer"] == pytest.approx(treated.revenue.mean(), rel=1e-12)
        assert row["revenue_lift"] == pytest.approx(treated.revenue.mean() - control.revenue.mean(), rel=1e-9)
        _, _, _, low, high = scipy_welch(treated.revenue, control.revenue)
        assert (row["revenue_ci_low"], row["revenue_ci_high"]) == (
            pytest.approx(low, rel=1e-9),
            pytest.approx(high, rel=1e-9),
        )
        assert row["srm_p_value"] == pytest.approx(srm, rel=1e-9)


def test_evaluate_with_a_pre_period_covariate_uses_cuped_for_revenue_only():
    rng = np.random.default_rng(14)
    frame = experiment_frame(rng, [("control", 4000, 0.9, 40), ("a", 4000, 0.92, 44)], covariate=True)
    plain = ex.evaluate(frame.drop(columns="pre_revenue")).variants[0]
    adjusted = ex.evaluate(frame).variants[0]
    assert adjusted.conversion == plain.conversion
    assert adjusted.revenue_per_customer == plain.revenue_per_customer
    assert adjusted.cuped is not None and adjusted.cuped.variance_reduction > 0.3
    t, c = frame[frame.group == "a"], frame[frame.group == "control"]
    x_mean = frame.pre_revenue.mean()
    theta = np.cov(frame.revenue, frame.pre_revenue)[0, 1] / frame.pre_revenue.var()
    adj_t = t.revenue - theta * (t.pre_revenue - x_mean)
    adj_c = c.revenue - theta * (c.pre_revenue - x_mean)
    assert_matches_scipy(adjusted.revenue.absolute, adj_t, adj_c)
    width = adjusted.revenue.absolute.ci_high - adjusted.revenue.absolute.ci_low
    assert width < plain.revenue.absolute.ci_high - plain.revenue.absolute.ci_low


def test_evaluate_library_extras_are_consistent():
    rng = np.random.default_rng(15)
    frame = experiment_frame(rng, [("control", 5000, 0.1, 30), ("a", 5000, 0.12, 30)])
    v = ex.evaluate(frame).variants[0]
    assert v.conversion.chance_to_win > 0.99  # a clear win
    assert v.conversion.sequential.ci_low < v.conversion.absolute.ci_low
    assert v.incremental_conversions[0] == pytest.approx(v.conversion.absolute.estimate * 5000)
    assert v.incremental_revenue[1] == pytest.approx(v.revenue.absolute.ci_low * 5000)
    assert 0 < v.revenue.chance_to_win < 1


def test_control_choice():
    frame = pd.DataFrame({"group": ["x", "Control", "y"] * 4, "converted": [0, 1] * 6, "revenue": [1.0] * 12})
    assert (ex.evaluate(frame).control, ex.evaluate(frame).control_choice) == ("Control", "named control")
    assert ex.evaluate(frame, control="y").control_choice == "given"
    no_control = frame[frame.group != "Control"]
    first = ex.evaluate(no_control)
    assert (first.control, first.control_choice, [v.group for v in first.variants]) == ("x", "first group", ["y"])
    with pytest.raises(AppError, match="EXPERIMENT_UNKNOWN_CONTROL"):
        ex.evaluate(frame, control="z")
    with pytest.raises(AppError, match="EXPERIMENT_TOO_FEW_GROUPS"):
        ex.evaluate(frame[frame.group == "x"])
    with pytest.raises(AppError, match="EXPERIMENT_BAD_CONVERTED"):
        ex.evaluate(frame.assign(converted=2))  # counts are not conversions
    with pytest.raises(AppError, match="EXPERIMENT_MISSING_COLUMNS"):
        ex.evaluate(frame.drop(columns="revenue"))


# --- degenerate inputs ----------------------------------------------------------------------------------------


def test_a_group_with_no_conversions():
    frame = pd.DataFrame(
        {"group": ["control"] * 50 + ["a"] * 50, "converted": [1, 0, 0, 0, 0] * 10 + [0] * 50, "revenue": 0.0}
    )
    row = ex.evaluate(frame).summaries()[0]
    assert row["rate"] == 0 and row["rel_lift"] == pytest.approx(-1)
    _, p, _, low, high = scipy_welch(np.zeros(50), frame.converted[:50])
    assert (row["p_value"], row["ci_low"], row["ci_high"]) == (
        pytest.approx(p, rel=1e-9),
        pytest.approx(low, rel=1e-9),
        pytest.approx(high, rel=1e-9),
    )
    assert row["revenue_lift"] == 0 and row["revenue_ci_low"] == row["revenue_ci_high"] == 0


def test_no_conversions_anywhere_and_a_zero_control_rate():
    frame = pd.DataFrame({"group": ["control", "a"] * 20, "converted": 0, "revenue": 0.0})
    row = ex.evaluate(frame).summaries()[0]
    assert row["abs_lift"] == 0 and row["rel_lift"] is None  # undefined relative lift over 0
    assert row["p_value"] is None and row["ci_low"] == row["ci_high"] == 0  # as scipy: no variance, no test
    assert ex.evaluate(frame).variants[0].conversion.chance_to_win == pytest.approx(0.5)
    converting = frame.assign(converted=(frame.group == "a").astype(int))
    row = ex.evaluate(converting).summaries()[0]
    assert row["rel_lift"] is None and row["abs_lift"] == 1
    assert row["p_value"] == stats.ttest_ind(np.ones(20), np.zeros(20), equal_var=False).pvalue == 0


def test_a_group_of_one_row():
    frame = pd.DataFrame({"group": ["control"] * 30 + ["a"], "converted": [0, 1, 0] * 10 + [1], "revenue": 5.0})
    row = ex.evaluate(frame).summaries()[0]
    assert row["n"] == 1 and row["rate"] == 1 and row["abs_lift"] == pytest.approx(1 - 10 / 30)
    assert row["p_value"] is None and row["ci_low"] is None and row["ci_high"] is None
    assert row["revenue_ci_low"] is None and row["srm_p_value"] is not None
    json.dumps(row, allow_nan=False)  # nothing NaN leaks into the JSON
    v = ex.evaluate(frame).variants[0]
    assert math.isnan(v.conversion.sequential.ci_low) and math.isnan(v.revenue.chance_to_win)


def test_all_identical_revenue():
    frame = pd.DataFrame({"group": ["control", "a"] * 100, "converted": [1, 0, 0, 1] * 50, "revenue": 9.9})
    row = ex.evaluate(frame).summaries()[0]
    assert row["revenue_lift"] == 0 and row["revenue_ci_low"] == row["revenue_ci_high"] == 0
    assert row["p_value"] is not None  # conversion still tested
    with_pre = ex.evaluate(frame.assign(pre_revenue=3.0)).variants[0]
    assert with_pre.cuped is not None and with_pre.cuped.theta == 0


# --- the file -------------------------------------------------------------------------------------------------


def write(tmp_path, text, name="results.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def test_read_results_accepts_true_false_any_header_case_extra_columns_and_blank_lines(tmp_path):
    path = write(
        tmp_path,
        "\ufeffGroup, Converted ,Revenue,note\ncontrol,true,12.5,x\n\na,FALSE,0,y\n a ,1, 3 ,\ncontrol,0.0,1e1,\n",
    )
    frame = ex.read_results(path)
    assert list(frame.columns) == ["group", "converted", "revenue"]
    assert frame.group.tolist() == ["control", "a", "a", "control"]
    assert frame.converted.tolist() == [1, 0, 1, 0]
    assert frame.revenue.tolist() == [12.5, 0.0, 3.0, 10.0]


@pytest.mark.parametrize(
    ("text", "code", "row", "field"),
    [
        ("group,converted,revenue\na,1,2\n\nb,yes,3\n", "EXPERIMENT_BAD_CONVERTED", 4, "converted"),
        ("group,converted,revenue\na,1,2\nb,,3\n", "EXPERIMENT_BAD_CONVERTED", 3, "converted"),
        ("group,converted,revenue\na,1,abc\nb,0,3\n", "EXPERIMENT_BAD_NUMBER", 2, "revenue"),
        ("group,converted,revenue\na,1,2\nb,0,\n", "EXPERIMENT_BAD_NUMBER", 3, "revenue"),
        ("group,converted,revenue\na,1,inf\n", "EXPERIMENT_BAD_NUMBER", 2, "revenue"),
        ("group,converted,revenue,pre_revenue\na,1,2,1\nb,0,3,nan\n", "EXPERIMENT_BAD_NUMBER", 3, "pre_revenue"),
        ("group,converted,revenue\na,1,2\n,0,3\n", "EXPERIMENT_EMPTY_GROUP", 3, "group"),
    ],
)
def test_read_results_names_the_first_bad_row(tmp_path, text, code, row, field):
    with pytest.raises(AppError, match=code) as e:
        ex.read_results(write(tmp_path, text))
    assert e.value.params["row"] == row and e.value.field == field
    assert f"Row {row}" in message(e.value.code, "en", field=e.value.field, **e.value.params)


def test_read_results_rejects_missing_columns_empty_and_unreadable_files(tmp_path):
    with pytest.raises(AppError, match="EXPERIMENT_MISSING_COLUMNS") as e:
        ex.read_results(write(tmp_path, "group,revenue\na,1\n"))
    assert e.value.params["columns"] == "converted"
    for empty in ("", "group,converted,revenue\n", "group,converted,revenue\n\n\n"):
        with pytest.raises(AppError, match="EMPTY_FILE"):
            ex.read_results(write(tmp_path, empty))
    with pytest.raises(AppError, match="EXPERIMENT_FILE_UNREADABLE"):
        ex.read_results(write(tmp_path, "group,converted,revenue\na,1,2,3,4\n"))
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("group,converted,revenue\n对照组,1,2\n".encode("gbk"))
    with pytest.raises(AppError, match="EXPERIMENT_FILE_UNREADABLE"):
        ex.read_results(gbk)


def test_every_experiment_code_has_both_messages_with_their_parameters():
    params = {"row": 3, "value": "v", "field": "revenue", "columns": "c", "control": "z", "groups": "a, b"}
    codes = [c for c in MESSAGES if c.startswith("EXPERIMENT_")]
    assert len(codes) == 9
    for code in codes:
        for lang in ("zh-CN", "en"):
            text = message(code, lang, reason="r", item="i", **params)
            assert "{" not in text, (code, lang)


# --- the command ----------------------------------------------------------------------------------------------


def invoke(*args):
    return CliRunner().invoke(app, ["insights", "experiment", *map(str, args)])


def test_command_prints_one_json_line_per_group_matching_scipy(tmp_path):
    rng = np.random.default_rng(31)
    frame = experiment_frame(rng, [("base", 1000, 0.1, 30), ("a", 4500, 0.12, 30), ("b", 4400, 0.1, 35)])
    path = tmp_path / "results.csv"
    frame.to_csv(path, index=False)
    result = invoke(path, "--control", "base", "--split", "base=0.1,a=0.45,b=0.45")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["group"] for r in rows] == list(dict.fromkeys(g for g in frame.group if g != "base"))
    control = frame[frame.group == "base"]
    counts = frame.group.value_counts()
    srm = stats.chisquare([counts["base"], counts["a"], counts["b"]], len(frame) * np.array([0.1, 0.45, 0.45])).pvalue
    for row in rows:
        assert set(row) == KEYS
        treated = frame[frame.group == row["group"]]
        _, p, _, low, high = scipy_welch(treated.converted, control.converted)
        assert row["p_value"] == pytest.approx(p, rel=1e-9) and row["ci_low"] == pytest.approx(low, rel=1e-9)
        _, _, _, low, high = scipy_welch(treated.revenue, control.revenue)
        assert row["revenue_ci_high"] == pytest.approx(high, rel=1e-9)
        assert row["srm_p_value"] == pytest.approx(srm, rel=1e-9)
    assert "sample ratio mismatch" not in result.stderr
    equal = invoke(path, "--control", "base")  # against equal groups the 10/45/45 split is a mismatch
    assert equal.exit_code == 0 and "sample ratio mismatch" in equal.stderr
    assert json.loads(equal.stdout.splitlines()[0])["srm_p_value"] < 1e-3


def test_command_with_a_covariate_and_without_a_control_group(tmp_path):
    rng = np.random.default_rng(32)
    frame = experiment_frame(rng, [("old", 2000, 0.2, 30), ("new", 2000, 0.22, 30)], covariate=True)
    frame.loc[0, "group"] = "old"  # the first group in file order is the control
    path = tmp_path / "results.csv"
    frame.to_csv(path, index=False)
    result = invoke(path)
    assert result.exit_code == 0, result.output
    assert "'old', the first group in the file, is the control" in result.stderr
    (row,) = [json.loads(line) for line in result.stdout.splitlines()]
    expected = ex.evaluate(frame, control="old").summaries()[0]
    assert row == pytest.approx(expected) and row["group"] == "new"


def test_command_errors_exit_2_naming_the_row(tmp_path):
    bad = write(tmp_path, "group,converted,revenue\ncontrol,1,2\na,2,3\n")
    result = invoke(bad)
    assert result.exit_code == 2 and "Row 3: converted must be 0/1 or true/false, not '2'" in result.stderr
    good = write(tmp_path, "group,converted,revenue\ncontrol,1,2\na,0,3\ncontrol,0,1\na,1,1\n", "good.csv")
    for args, text in [
        (["--control", "z"], "No group named z"),
        (["--split", "control=1"], "leaves out groups in the file: a"),
        (["--split", "control=1,a"], "name=weight pairs"),
    ]:
        result = invoke(good, *args)
        assert result.exit_code == 2 and text in result.stderr, result.output
    assert invoke(tmp_path / "missing.csv").exit_code == 2
