"""The experiment statistics engine: lift with intervals, CUPED, SRM, chance to win, sequential intervals.

Pure functions over arrays and data frames (no database); the formulas are in docs/insights.md. The model
is GrowthBook's frequentist engine: every difference between a treatment and the control is tested with
Welch's unequal-variance t-test and its Welch–Satterthwaite degrees of freedom, the relative lift with the
delta method. The comparisons take `Moments` (n, mean, sample variance), so the console can feed them from
aggregates as well as from one row per customer.

Undefined numbers are NaN, never an exception: a group of one row has no variance, so its test, intervals
and chance to win are NaN; a relative lift over a control mean of 0 is NaN. When both groups have zero
variance (e.g. nobody converted in either) the interval collapses to the difference and the p-value is 0
if the means differ, NaN if they agree, exactly as `scipy.stats.ttest_ind(equal_var=False)` answers.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import special, stats

from medreach.core.errors import AppError

ALPHA = 0.05
# GrowthBook's default tuning: the sequential interval is tightest near this many customers (both groups).
SEQUENTIAL_TUNING = 5000.0
SRM_THRESHOLD = 0.001  # a sample-ratio p-value below this is a mismatch worth a warning
COLUMNS = ("group", "converted", "revenue")
COVARIATE = "pre_revenue"
_TRUE, _FALSE = {"1", "1.0", "true"}, {"0", "0.0", "false"}
# Beyond this many terms the exact Beta-Binomial sum is replaced by a normal approximation of the posteriors.
_EXACT_BETA_TERMS = 2_000_000


@dataclass(frozen=True)
class Moments:
    """One group's metric: size, mean and sample variance (ddof=1; NaN below two values)."""

    n: int
    mean: float
    variance: float

    @classmethod
    def of(cls, values: ArrayLike) -> Moments:
        a = np.asarray(values, dtype=float)
        n = int(a.size)
        return cls(n, float(a.mean()) if n else math.nan, float(a.var(ddof=1)) if n > 1 else math.nan)

    @classmethod
    def of_conversions(cls, conversions: int, n: int) -> Moments:
        """A 0/1 metric from its count of ones: mean p, variance n p (1 - p) / (n - 1)."""
        p = conversions / n if n else math.nan
        return cls(n, p, n * p * (1 - p) / (n - 1) if n > 1 else math.nan)


@dataclass(frozen=True)
class Estimate:
    """A treatment-minus-control quantity with its standard error, two-sided test and 1 - alpha interval."""

    estimate: float
    std_error: float
    df: float  # Welch–Satterthwaite degrees of freedom (NaN when both variances are 0)
    statistic: float
    p_value: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class SequentialInterval:
    """An always-valid confidence sequence for the difference and its always-valid p-value."""

    ci_low: float
    ci_high: float
    p_value: float


@dataclass(frozen=True)
class Comparison:
    """One metric of one treatment against the control."""

    treatment: Moments
    control: Moments
    absolute: Estimate  # treatment mean - control mean (Welch)
    relative: Estimate  # treatment mean / control mean - 1 (delta method)
    sequential: SequentialInterval  # for the absolute difference
    chance_to_win: float  # posterior probability that the treatment's mean is the higher


@dataclass(frozen=True)
class Cuped:
    """The CUPED adjustment of a metric by its pre-period covariate (Deng et al. 2013)."""

    theta: float
    treatment: Moments  # of Y - theta (X - mean X)
    control: Moments
    variance_reduction: float  # 1 - Var(adjusted lift) / Var(unadjusted lift)


@dataclass(frozen=True)
class SampleRatio:
    """Chi-square goodness of fit of the group sizes against the planned split."""

    observed: dict[str, int]
    expected: dict[str, float]
    statistic: float
    p_value: float

    @property
    def mismatch(self) -> bool:
        return bool(self.p_value < SRM_THRESHOLD)


@dataclass(frozen=True)
class Variant:
    """One non-control group's results."""

    group: str
    conversion: Comparison
    revenue: Comparison  # on the CUPED-adjusted revenue when a pre-period covariate was given
    revenue_per_customer: float  # unadjusted mean revenue of the group
    cuped: Cuped | None

    @property
    def incremental_conversions(self) -> tuple[float, float, float]:
        """Conversions caused in this group (lift x group size) with the interval."""
        return _scaled(self.conversion.absolute, self.conversion.treatment.n)

    @property
    def incremental_revenue(self) -> tuple[float, float, float]:
        """Revenue caused in this group (revenue lift x group size) with the interval."""
        return _scaled(self.revenue.absolute, self.revenue.treatment.n)


ControlChoice = Literal["given", "named control", "first group"]


@dataclass(frozen=True)
class Experiment:
    control: str
    control_choice: ControlChoice  # how the control was found
    groups: list[str]  # in file order of first appearance
    sample_ratio: SampleRatio
    variants: list[Variant]

    def summaries(self) -> list[dict[str, float | int | str | None]]:
        """One flat record per variant: what `medreach insights experiment` prints (NaN as None)."""
        return [
            {
                "group": v.group,
                "n": v.conversion.treatment.n,
                "rate": _finite(v.conversion.treatment.mean),
                "control_rate": _finite(v.conversion.control.mean),
                "abs_lift": _finite(v.conversion.absolute.estimate),
                "rel_lift": _finite(v.conversion.relative.estimate),
                "ci_low": _finite(v.conversion.absolute.ci_low),
                "ci_high": _finite(v.conversion.absolute.ci_high),
                "p_value": _finite(v.conversion.absolute.p_value),
                "revenue_per_customer": _finite(v.revenue_per_customer),
                "revenue_lift": _finite(v.revenue.absolute.estimate),
                "revenue_ci_low": _finite(v.revenue.absolute.ci_low),
                "revenue_ci_high": _finite(v.revenue.absolute.ci_high),
                "srm_p_value": _finite(self.sample_ratio.p_value),
            }
            for v in self.variants
        ]


# --- the tests -----------------------------------------------------------------------------------------------


def welch(treatment: Moments, control: Moments, alpha: float = ALPHA) -> Estimate:
    """Welch's t-test and interval for treatment.mean - control.mean (= scipy's ttest_ind, equal_var=False)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        vt = np.float64(treatment.variance) / treatment.n
        vc = np.float64(control.variance) / control.n
        return _t_estimate(
            np.float64(treatment.mean) - control.mean, vt + vc, _welch_df(vt, vc, treatment, control), alpha
        )


def delta_relative(treatment: Moments, control: Moments, alpha: float = ALPHA) -> Estimate:
    """The relative lift treatment.mean / control.mean - 1 with its delta-method variance and Welch df.

    Var = var_t / (n_t mu_c^2) + var_c mu_t^2 / (n_c mu_c^4). NaN when the control mean is 0.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        mt, mc = np.float64(treatment.mean), np.float64(control.mean)
        if mc == 0:
            return _t_estimate(np.float64(math.nan), np.float64(math.nan), np.float64(math.nan), alpha)
        vt = np.float64(treatment.variance) / treatment.n
        vc = np.float64(control.variance) / control.n
        variance = vt / mc**2 + vc * mt**2 / mc**4
        return _t_estimate(mt / mc - 1, variance, _welch_df(vt, vc, treatment, control), alpha)


def sequential_interval(
    estimate: float, std_error: float, n: int, alpha: float = ALPHA, tuning: float = SEQUENTIAL_TUNING
) -> SequentialInterval:
    """The asymptotic confidence sequence of Waudby-Smith et al. (2023), as GrowthBook's sequential testing.

    `n` is the customers in both groups so far, `tuning` the n at which the interval is tightest. With
    rho^2 = (-2 ln alpha + ln(1 - 2 ln alpha)) / tuning and s^2 = n se^2, the half-width is
    sqrt(s^2 * 2 (n rho^2 + 1) / (n rho)^2 * ln(sqrt(n rho^2 + 1) / alpha)); the p-value is the smallest
    alpha whose interval excludes 0. Valid however often and whenever one looks.
    """
    rho2 = (-2 * math.log(alpha) + math.log(1 - 2 * math.log(alpha))) / tuning
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        nr = n * rho2 + 1
        se2 = np.float64(std_error) ** 2
        half = np.sqrt(se2 * n * 2 * nr / (n**2 * rho2) * np.log(np.sqrt(nr) / alpha))
        z2 = np.float64(estimate) ** 2 / se2
        log_e_value = rho2 * n * z2 / (2 * nr) - 0.5 * np.log(nr)
        p = float(min(1.0, np.exp(-log_e_value))) if not np.isnan(log_e_value) else math.nan
    return SequentialInterval(float(estimate - half), float(estimate + half), p)


def chance_to_win_beta(
    treatment_conversions: int,
    treatment_n: int,
    control_conversions: int,
    control_n: int,
    prior: tuple[int, int] = (1, 1),
) -> float:
    """P(p_treatment > p_control) under Beta(prior + successes, prior + failures) posteriors.

    Exact (Evan Miller's sum over the smaller posterior's alpha); a normal approximation of the two Beta
    posteriors beyond a few million terms.
    """
    a_t, b_t = prior[0] + treatment_conversions, prior[1] + treatment_n - treatment_conversions
    a_c, b_c = prior[0] + control_conversions, prior[1] + control_n - control_conversions
    if min(a_t, a_c) > _EXACT_BETA_TERMS:
        mean_t, var_t = stats.beta.mean(a_t, b_t), stats.beta.var(a_t, b_t)
        mean_c, var_c = stats.beta.mean(a_c, b_c), stats.beta.var(a_c, b_c)
        return float(stats.norm.cdf((mean_t - mean_c) / math.sqrt(var_t + var_c)))
    if a_t <= a_c:
        return _beta_greater(a_t, b_t, a_c, b_c)
    return 1.0 - _beta_greater(a_c, b_c, a_t, b_t)


def chance_to_win_normal(difference: Estimate) -> float:
    """P(treatment mean > control mean) with a flat prior: Phi(difference / standard error)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(stats.norm.cdf(np.float64(difference.estimate) / difference.std_error))


def compare(
    treatment: Moments,
    control: Moments,
    alpha: float = ALPHA,
    tuning: float = SEQUENTIAL_TUNING,
    chance_to_win: float | None = None,
) -> Comparison:
    """Every test of one metric (chance to win by the normal approximation unless given)."""
    absolute = welch(treatment, control, alpha)
    return Comparison(
        treatment=treatment,
        control=control,
        absolute=absolute,
        relative=delta_relative(treatment, control, alpha),
        sequential=sequential_interval(absolute.estimate, absolute.std_error, treatment.n + control.n, alpha, tuning),
        chance_to_win=chance_to_win_normal(absolute) if chance_to_win is None else chance_to_win,
    )


def compare_conversions(
    treatment_conversions: int,
    treatment_n: int,
    control_conversions: int,
    control_n: int,
    alpha: float = ALPHA,
    tuning: float = SEQUENTIAL_TUNING,
) -> Comparison:
    """A conversion rate: Welch on the 0/1 values and the Beta-Binomial chance to win."""
    return compare(
        Moments.of_conversions(treatment_conversions, treatment_n),
        Moments.of_conversions(control_conversions, control_n),
        alpha,
        tuning,
        chance_to_win_beta(treatment_conversions, treatment_n, control_conversions, control_n),
    )


def cuped(treatment: ArrayLike, treatment_pre: ArrayLike, control: ArrayLike, control_pre: ArrayLike) -> Cuped:
    """Y_adj = Y - theta (X - mean X), theta = cov(Y, X) / var(X), both pooled over the two groups.

    theta is 0 (no adjustment) when the covariate does not vary.
    """
    y_t, x_t = np.asarray(treatment, dtype=float), np.asarray(treatment_pre, dtype=float)
    y_c, x_c = np.asarray(control, dtype=float), np.asarray(control_pre, dtype=float)
    y, x = np.concatenate([y_t, y_c]), np.concatenate([x_t, x_c])
    theta = 0.0
    if x.size > 1:
        var_x = float(np.var(x, ddof=1))
        if var_x > 0:
            theta = float(np.cov(y, x, ddof=1)[0, 1]) / var_x
    mean_x = float(x.mean()) if x.size else 0.0
    adjusted_t = Moments.of(y_t - theta * (x_t - mean_x))
    adjusted_c = Moments.of(y_c - theta * (x_c - mean_x))
    raw = welch(Moments.of(y_t), Moments.of(y_c)).std_error ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        reduction = float(1 - np.float64(welch(adjusted_t, adjusted_c).std_error) ** 2 / raw)
    return Cuped(theta, adjusted_t, adjusted_c, reduction)


def sample_ratio(counts: Mapping[str, int], planned: Mapping[str, float] | None = None) -> SampleRatio:
    """SRM: scipy.stats.chisquare of the group sizes against the planned split (equal groups if None).

    Planned weights are normalised to sum to 1; a planned group absent from `counts` counts 0 customers.
    """
    if planned is None:
        planned = dict.fromkeys(counts, 1.0)
    missing = [g for g in counts if g not in planned]
    if missing:
        raise AppError(422, "EXPERIMENT_SPLIT_MISSING_GROUPS", field="split", groups=", ".join(missing))
    observed = {g: int(counts.get(g, 0)) for g in planned}
    total, weight = sum(observed.values()), sum(planned.values())
    expected = {g: total * w / weight for g, w in planned.items()}
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic, p_value = stats.chisquare(list(observed.values()), list(expected.values()))
    return SampleRatio(observed, expected, float(statistic), float(p_value))


# --- a whole experiment --------------------------------------------------------------------------------------


def evaluate(
    frame: pd.DataFrame,
    control: str | None = None,
    split: Mapping[str, float] | None = None,
    alpha: float = ALPHA,
    tuning: float = SEQUENTIAL_TUNING,
) -> Experiment:
    """Every non-control group against the control, one row per customer in `frame`.

    Columns: group, converted (0/1), revenue and optionally pre_revenue (then the revenue comparison is on
    CUPED-adjusted revenue, theta pooled over the group and the control). The control is `control`, else
    the group named "control" (any case), else the first group in the frame's order.
    """
    _require_columns(frame.columns)
    _reject_first(~frame["converted"].isin([0, 1]), "EXPERIMENT_BAD_CONVERTED", frame["converted"], "converted")
    codes, groups = pd.factorize(frame["group"].astype(str), sort=False)
    names = [str(g) for g in groups]
    control, choice = _pick_control(names, control)
    if len(names) < 2:
        raise AppError(422, "EXPERIMENT_TOO_FEW_GROUPS", field="group", groups=", ".join(names))
    converted = frame["converted"].to_numpy(dtype=float)
    revenue = frame["revenue"].to_numpy(dtype=float)
    pre = frame[COVARIATE].to_numpy(dtype=float) if COVARIATE in frame else None
    members = {name: codes == i for i, name in enumerate(names)}
    counts = {name: int(mask.sum()) for name, mask in members.items()}
    in_control = members[control]
    control_conversions = int(converted[in_control].sum())
    variants = []
    for name in names:
        if name == control:
            continue
        mask = members[name]
        conversion = compare_conversions(
            int(converted[mask].sum()), counts[name], control_conversions, counts[control], alpha, tuning
        )
        adjustment = None
        if pre is None:
            revenue_t, revenue_c = Moments.of(revenue[mask]), Moments.of(revenue[in_control])
        else:
            adjustment = cuped(revenue[mask], pre[mask], revenue[in_control], pre[in_control])
            revenue_t, revenue_c = adjustment.treatment, adjustment.control
        variants.append(
            Variant(
                group=name,
                conversion=conversion,
                revenue=compare(revenue_t, revenue_c, alpha, tuning),
                revenue_per_customer=float(revenue[mask].mean()),
                cuped=adjustment,
            )
        )
    return Experiment(control, choice, names, sample_ratio(counts, split), variants)


def parse_split(text: str) -> dict[str, float]:
    """`control=0.1,a=0.45,b=0.45` -> {"control": 0.1, "a": 0.45, "b": 0.45} (positive weights)."""
    split: dict[str, float] = {}
    for item in text.split(","):
        name, sep, weight = (part.strip() for part in item.partition("="))
        try:
            value = float(weight)
        except ValueError:
            value = math.nan
        if not sep or not name or name in split or not (math.isfinite(value) and value > 0):
            raise AppError(422, "EXPERIMENT_SPLIT_INVALID", field="split", item=item.strip())
        split[name] = value
    return split


def read_results(path: str | PathLike[str]) -> pd.DataFrame:
    """A results CSV (UTF-8, header row) as a clean frame: group (str), converted (0/1), revenue, pre_revenue.

    Column names are matched without case; other columns are ignored, blank lines skipped. converted takes
    0/1 or true/false; revenue and pre_revenue finite numbers. A bad value raises an AppError naming its
    row (row 1 is the header).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)  # more fields than the header
            raw = pd.read_csv(
                path, dtype=str, keep_default_na=False, skip_blank_lines=False, index_col=False, encoding="utf-8-sig"
            )
    except pd.errors.EmptyDataError as e:
        raise AppError(422, "EMPTY_FILE") from e
    except pd.errors.ParserWarning as e:
        raise AppError(422, "EXPERIMENT_FILE_UNREADABLE", reason="a row has more fields than the header") from e
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise AppError(422, "EXPERIMENT_FILE_UNREADABLE", reason=str(e).strip().splitlines()[-1]) from e
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    _require_columns(raw.columns)
    wanted = [c for c in (*COLUMNS, COVARIATE) if c in raw.columns]
    raw = raw[wanted].apply(lambda column: column.str.strip())
    raw.index = raw.index + 2  # the file's row numbers
    raw = raw[(raw != "").any(axis=1)]
    if raw.empty:
        raise AppError(422, "EMPTY_FILE")
    _reject_first(raw["group"] == "", "EXPERIMENT_EMPTY_GROUP", raw["group"], "group")
    flag = raw["converted"].str.lower()
    _reject_first(~flag.isin(_TRUE | _FALSE), "EXPERIMENT_BAD_CONVERTED", raw["converted"], "converted")
    clean = pd.DataFrame({"group": raw["group"], "converted": flag.isin(_TRUE).astype(np.int8)})
    for column in wanted[2:]:
        numbers = pd.to_numeric(raw[column], errors="coerce")
        _reject_first(~np.isfinite(numbers.astype(float)), "EXPERIMENT_BAD_NUMBER", raw[column], column)
        clean[column] = numbers.astype(float)
    return clean.reset_index(drop=True)


# --- helpers -------------------------------------------------------------------------------------------------


def _welch_df(vt: np.float64, vc: np.float64, treatment: Moments, control: Moments) -> np.float64:
    return (vt + vc) ** 2 / (vt**2 / (treatment.n - 1) + vc**2 / (control.n - 1))


def _t_estimate(estimate: np.float64, variance: np.float64, df: np.float64, alpha: float) -> Estimate:
    """Two-sided t test and interval. Where df is undefined (both variances 0) any df gives the same answer."""
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(variance)
        statistic = estimate / se
        df_used = 1.0 if np.isnan(df) else df
        p_value = 2 * stats.t.sf(np.abs(statistic), df_used)
        half = stats.t.ppf(1 - alpha / 2, df_used) * se
    return Estimate(
        float(estimate),
        float(se),
        float(df),
        float(statistic),
        float(p_value),
        float(estimate - half),
        float(estimate + half),
    )


def _beta_greater(a1: int, b1: int, a2: int, b2: int) -> float:
    """P(X1 > X2) for X1 ~ Beta(a1, b1), X2 ~ Beta(a2, b2), a1 a positive integer (a1 terms)."""
    i = np.arange(a1, dtype=float)
    log_terms = special.betaln(a2 + i, b1 + b2) - np.log(b1 + i) - special.betaln(1 + i, b1) - special.betaln(a2, b2)
    return float(np.clip(np.exp(special.logsumexp(log_terms)), 0.0, 1.0))


def _require_columns(columns: pd.Index) -> None:
    missing = [c for c in COLUMNS if c not in columns]
    if missing:
        raise AppError(422, "EXPERIMENT_MISSING_COLUMNS", field=missing[0], columns=", ".join(missing))


def _pick_control(names: Sequence[str], control: str | None) -> tuple[str, ControlChoice]:
    if control:
        if control not in names:
            raise AppError(422, "EXPERIMENT_UNKNOWN_CONTROL", field="control", control=control, groups=", ".join(names))
        return control, "given"
    named = [name for name in names if name.lower() == "control"]
    if named:
        return ("control" if "control" in named else named[0]), "named control"
    return names[0], "first group"


def _reject_first(bad: pd.Series, code: str, values: pd.Series, column: str) -> None:
    """Raise `code` for the first row where `bad` holds, named by its index label (the file's row number)."""
    if bad.any():
        first = int(np.argmax(bad.to_numpy()))
        label = values.index[first]
        row = label.item() if isinstance(label, np.generic) else label
        raise AppError(422, code, field=column, row=row, value=str(values.iloc[first])[:40])


def _scaled(estimate: Estimate, n: int) -> tuple[float, float, float]:
    return estimate.estimate * n, estimate.ci_low * n, estimate.ci_high * n


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None
