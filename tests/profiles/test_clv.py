"""Lifetime value: the published CDNOW figures, the lifetimes package on the same data, and hand-checked cases."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize, stats
from typer.testing import CliRunner

from medreach.cli import app
from medreach.profiles import clv

# Fader, Hardie & Lee (2005), table 1 and lifetimes' docs: BG/NBD on CDNOW's 39-week calibration, in weeks.
CDNOW_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
# lifetimes' docs: Gamma-Gamma on the CDNOW summary with monetary value, customers with repeat purchases.
CDNOW_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.45}
CDNOW_CALIBRATION_END = "1997-09-30"


def lifetimes_file(name: str) -> Path:
    """A data file shipped in lifetimes' wheel (lifetimes/datasets/), read in place: nothing is downloaded."""
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or spec.origin is None:
        pytest.skip("the lifetimes package (a test dependency) is not installed")
    return Path(spec.origin).parent / "datasets" / name


def lifetimes(module: str = "lifetimes"):
    """The reference implementation (or one of its modules), for side-by-side checks."""
    return pytest.importorskip(module)


@pytest.fixture(scope="module")
def cdnow_csv(tmp_path_factory) -> Path:
    """CDNOW's 1/10 sample (2,357 customers, 1997-01 to 1998-06) as a customer_id,date,amount file, with the
    number of CDs as an extra column the command ignores."""
    raw = pd.read_csv(
        lifetimes_file("CDNOW_sample.txt"),
        sep=r"\s+",
        header=None,
        names=["customer_id", "customer_index", "date", "cds", "amount"],
        dtype={"customer_id": str, "date": str},
    )
    path = tmp_path_factory.mktemp("cdnow") / "cdnow.csv"
    raw[["customer_id", "date", "amount", "cds"]].to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def cdnow(cdnow_csv) -> pd.DataFrame:
    return clv.read_transactions(cdnow_csv)


def run(*args: str):
    return CliRunner().invoke(app, ["profiles", "clv", *args])


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "transactions.csv"
    path.write_text(text, encoding="utf-8")
    return path


# -- the published reference figures ----------------------------------------------------------------------------------


def test_bgnbd_on_the_cdnow_summary_gives_the_published_parameters():
    summary = pd.read_csv(lifetimes_file("cdnow_customers_summary.csv"))
    fitted = clv.fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
    assert len(summary) == 2357
    for name, published in CDNOW_BGNBD.items():
        assert getattr(fitted, name) == pytest.approx(published, abs=5e-4), name


def test_gamma_gamma_on_the_cdnow_summary_gives_the_published_parameters():
    summary = pd.read_csv(lifetimes_file("cdnow_customers_summary_with_transactions.csv"))
    fitted = clv.fit_gamma_gamma(summary["x"], summary["zbar"])  # fits those with x > 0 (946 customers)
    assert (summary["x"] > 0).sum() == 946
    for name, published in CDNOW_GAMMA_GAMMA.items():
        assert getattr(fitted, name) == pytest.approx(published, abs=5e-3), name


def test_the_command_on_cdnow_transactions_gives_the_published_parameters(cdnow_csv, tmp_path):
    """From the raw purchases: per-day periods, the 39-week calibration; alpha comes in days (x 7 for weeks)."""
    out = tmp_path / "predictions.csv"
    result = run(str(cdnow_csv), "--calibration-end", CDNOW_CALIBRATION_END, "--predictions", str(out))
    assert result.exit_code == 0, result.output
    fitted = json.loads(result.stdout)
    assert set(fitted) == {"bgnbd", "gamma_gamma", "customers"}
    assert fitted["customers"] == 2357
    bgnbd = fitted["bgnbd"]
    assert {k: round(v / 7 if k == "alpha" else v, 3) for k, v in bgnbd.items()} == CDNOW_BGNBD
    for name, published in CDNOW_GAMMA_GAMMA.items():  # from unrounded amounts: v 15.44 for the summary's 15.45
        assert fitted["gamma_gamma"][name] == pytest.approx(published, abs=0.01), name
    predictions = pd.read_csv(out, dtype={"customer_id": str})
    assert len(predictions) == 2357 and predictions["customer_id"].is_unique
    for column in ("customer_id", "frequency", "recency", "T", "monetary_value", "probability_alive"):
        assert column in predictions
    for column in ("expected_orders_90d", "expected_value_12m", "frequency_holdout", "expected_orders_holdout"):
        assert column in predictions
    # The holdout forecast tracks what happened (the paper's figure 4): per calibration frequency, the customers
    # who bought more often before buy more after, predicted and actual; the total within 15 %.
    by_frequency = predictions.groupby(predictions["frequency"].clip(upper=7))
    predicted, actual = by_frequency["expected_orders_holdout"].mean(), by_frequency["frequency_holdout"].mean()
    assert predicted.is_monotonic_increasing and predicted.iloc[-1] > 10 * predicted.iloc[0]
    assert predicted.corr(actual) > 0.95
    assert predictions["expected_orders_holdout"].sum() == pytest.approx(predictions["frequency_holdout"].sum(), 0.15)


# -- the same data through lifetimes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("unit", ["D", "W"])
def test_summary_and_calibration_split_equal_lifetimes(cdnow, unit):
    utils = lifetimes("lifetimes.utils")
    ours = clv.summarise(cdnow, unit)
    theirs = utils.summary_data_from_transaction_data(
        cdnow, "customer_id", "date", monetary_value_col="amount", freq=unit
    )
    assert len(ours) == len(theirs) == 2357
    pd.testing.assert_frame_equal(ours, theirs.loc[ours.index], check_names=False, rtol=1e-12)

    ours = clv.calibration_and_holdout(cdnow, CDNOW_CALIBRATION_END, unit)
    theirs = utils.calibration_and_holdout_data(
        cdnow, "customer_id", "date", CDNOW_CALIBRATION_END, monetary_value_col="amount", freq=unit
    ).loc[ours.index]
    theirs.columns = [c.removesuffix("_cal") for c in theirs.columns]
    pd.testing.assert_frame_equal(ours, theirs[ours.columns], check_names=False, rtol=1e-12)


@pytest.mark.parametrize("unit", ["D", "W"])
def test_fits_and_predictions_equal_lifetimes(cdnow, unit):
    reference = lifetimes()
    result = clv.fit(cdnow, unit, CDNOW_CALIBRATION_END)
    s = result.predictions
    history = s["frequency"], s["recency"], s["T"]
    bgf = reference.BetaGeoFitter().fit(*history)
    returning = s[s["frequency"] > 0]
    ggf = reference.GammaGammaFitter().fit(returning["frequency"], returning["monetary_value"])
    assert vars(result.bgnbd) == pytest.approx(dict(bgf.params_), rel=1e-5)
    assert vars(result.gamma_gamma) == pytest.approx(dict(ggf.params_), rel=1e-5)

    days = 90 / clv.DAYS_PER_UNIT[unit]
    expected = {
        "probability_alive": bgf.conditional_probability_alive(*history),
        "expected_orders_90d": bgf.conditional_expected_number_of_purchases_up_to_time(days, *history),
        "expected_order_value": ggf.conditional_expected_average_profit(s["frequency"], s["monetary_value"]),
        "expected_value_12m": ggf.customer_lifetime_value(
            bgf, *history, s["monetary_value"], time=12, discount_rate=0.01, freq=unit
        ),
    }
    for column, theirs in expected.items():
        np.testing.assert_allclose(s[column], np.asarray(theirs), rtol=1e-4, err_msg=column)


def test_fit_equals_lifetimes_on_its_example_log():
    """lifetimes' own example (5,000 simulated customers, 2014), per day, no amounts needed for BG/NBD."""
    reference, utils = lifetimes(), lifetimes("lifetimes.utils")
    log = pd.read_csv(lifetimes_file("example_transactions.csv"), parse_dates=["date"])
    theirs = utils.summary_data_from_transaction_data(log, "id", "date")
    log = log.assign(customer_id=log["id"].astype(str), amount=1.0)
    ours = clv.summarise(log)
    np.testing.assert_array_equal(ours[["frequency", "recency", "T"]], theirs.loc[log["id"].unique()])
    bgf = reference.BetaGeoFitter().fit(theirs["frequency"], theirs["recency"], theirs["T"])
    assert vars(clv.fit_bgnbd(ours["frequency"], ours["recency"], ours["T"])) == pytest.approx(
        dict(bgf.params_), rel=1e-5
    )


# -- summaries by hand ------------------------------------------------------------------------------------------------

TINY = """customer_id,date,amount
a,2024-03-01,10
a,2024-03-01 18:30,5
a,2024-03-04,20
a,2024-03-11,30
b,2024-03-05,7
c,2024-03-02,40
c,2024-03-10,8
"""


def test_a_tiny_log_summarised_by_hand(tmp_path):
    """Per day: a bought on 3 days (two purchases on the 1st are one period of 15), so 2 repeat periods of mean
    (20 + 30) / 2; the observation ends on the last date, 2024-03-11."""
    summary = clv.summarise(clv.read_transactions(write(tmp_path, TINY)), "D")
    assert summary.to_dict("index") == {
        "a": {"frequency": 2.0, "recency": 10.0, "T": 10.0, "monetary_value": 25.0},
        "b": {"frequency": 0.0, "recency": 0.0, "T": 6.0, "monetary_value": 0.0},
        "c": {"frequency": 1.0, "recency": 8.0, "T": 9.0, "monetary_value": 8.0},
    }


def test_weeks_run_monday_to_sunday(tmp_path):
    """Per week: 2024-03-01 (Fri) and 03-02 (Sat) are the week of Mon 02-26; 03-04 .. 03-10 the next; 03-11 the
    one after. a: weeks 0, 1, 2 with 15, 20, 30; c: 03-02 and 03-10 are weeks 0 and 1 (a repeat of 8)."""
    summary = clv.summarise(clv.read_transactions(write(tmp_path, TINY)), "W")
    assert summary.to_dict("index") == {
        "a": {"frequency": 2.0, "recency": 2.0, "T": 2.0, "monetary_value": 25.0},
        "b": {"frequency": 0.0, "recency": 0.0, "T": 1.0, "monetary_value": 0.0},
        "c": {"frequency": 1.0, "recency": 1.0, "T": 2.0, "monetary_value": 8.0},
    }
    assert clv.periods(pd.to_datetime(["2024-03-03", "2024-03-04", "2024-03-10"]), "W").tolist() == [
        clv.periods(pd.to_datetime(["2024-02-26"]), "W")[0],
        *[clv.periods(pd.to_datetime(["2024-03-04"]), "W")[0]] * 2,
    ]


def test_several_purchases_in_one_period_are_one_repeat_with_their_sum(tmp_path):
    log = clv.read_transactions(
        write(tmp_path, "customer_id,date,amount\nx,2024-01-01,1\nx,2024-01-02,2\nx,2024-01-02,3\nx,2024-01-03,4\n")
    )
    by_day = clv.summarise(log, "D").loc["x"]
    assert (by_day["frequency"], by_day["monetary_value"]) == (2, (2 + 3 + 4) / 2)
    by_week = clv.summarise(log, "W").loc["x"]  # Mon 01-01 to Wed 01-03: one week, no repeat
    assert (by_week["frequency"], by_week["recency"], by_week["monetary_value"]) == (0, 0, 0)


def test_calibration_split_by_hand(tmp_path):
    """Calibration to 2024-03-05 (T to that day); the holdout is 03-06 .. 03-11: a repeats on 03-11 (30), c on
    03-10 (8); b, silent since, has 0; 6 days of holdout. A customer first seen in the holdout is left out."""
    log = clv.read_transactions(write(tmp_path, TINY + "d,2024-03-09,99\n"))
    split = clv.calibration_and_holdout(log, "2024-03-05", "D")
    assert split.to_dict("index") == {
        "a": {"frequency": 1.0, "recency": 3.0, "T": 4.0, "monetary_value": 20.0, "frequency_holdout": 1.0,
              "monetary_value_holdout": 30.0, "duration_holdout": 6.0},
        "c": {"frequency": 0.0, "recency": 0.0, "T": 3.0, "monetary_value": 0.0, "frequency_holdout": 1.0,
              "monetary_value_holdout": 8.0, "duration_holdout": 6.0},
        "b": {"frequency": 0.0, "recency": 0.0, "T": 0.0, "monetary_value": 0.0, "frequency_holdout": 0.0,
              "monetary_value_holdout": 0.0, "duration_holdout": 6.0},
    }  # fmt: skip


def test_the_calibration_end_is_an_instant_as_in_lifetimes(tmp_path):
    """A bare date is its midnight: a purchase later that day falls in the holdout (pandas' comparison, which
    lifetimes' calibration_and_holdout_data uses)."""
    log = clv.read_transactions(write(tmp_path, "customer_id,date,amount\na,2024-01-01,1\na,2024-01-05 09:00,2\n"))
    split = clv.calibration_and_holdout(log, "2024-01-05", "D")
    assert split.loc["a", "frequency"] == 0 and split.loc["a", "frequency_holdout"] == 1


def test_zero_amounts_count_as_purchases_but_not_in_the_gamma_gamma_fit():
    summary = pd.DataFrame({"frequency": [1.0, 2.0, 3.0, 1.0, 2.0], "monetary_value": [10.0, 0.0, 12.0, 8.0, 30.0]})
    with_zero = clv.fit_gamma_gamma(summary["frequency"], summary["monetary_value"])
    without = clv.fit_gamma_gamma(summary["frequency"][[0, 2, 3, 4]], summary["monetary_value"][[0, 2, 3, 4]])
    assert vars(with_zero) == pytest.approx(vars(without))


def test_weights_count_customers_with_the_same_history():
    summary = pd.read_csv(lifetimes_file("cdnow_customers_summary.csv"))
    condensed = summary.groupby(["frequency", "recency", "T"]).size().reset_index(name="customers")
    assert len(condensed) < len(summary)
    weighted = clv.fit_bgnbd(condensed["frequency"], condensed["recency"], condensed["T"], condensed["customers"])
    assert vars(weighted) == pytest.approx(vars(clv.fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])))


# -- the formulas by hand ---------------------------------------------------------------------------------------------

SIMPLE = clv.BgNbd(r=1.0, alpha=1.0, a=2.0, b=3.0)


def test_probability_alive_by_hand():
    """1 / (1 + a / (b + x - 1) ((alpha + T) / (alpha + t_x)) ** (r + x)): x 1, t_x 1, T 3 -> 1 / (1 + 2/3 * 4)."""
    alive = SIMPLE.probability_alive(np.array([1.0, 0.0]), np.array([1.0, 0.0]), np.array([3.0, 5.0]))
    assert alive.tolist() == pytest.approx([3 / 11, 1.0])


def test_expected_order_value_by_hand():
    """Shrinkage: x p / (x p + q - 1) of the own mean, the rest of the population mean p v / (q - 1)."""
    gg = clv.GammaGamma(p=6.0, q=4.0, v=15.0)
    value = gg.expected_order_value(np.array([2.0, 0.0]), np.array([20.0, 0.0]))
    assert value.tolist() == pytest.approx([0.2 * 30 + 0.8 * 20, 30.0])


@pytest.mark.parametrize(("x", "t_x", "T"), [(0, 0, 0), (0, 0, 20), (2, 5, 10), (6, 30, 31)])
def test_expected_purchases_equal_the_integral_over_rates_and_dropouts(x, t_x, T):
    """Equation (10) against its definition, without the hypergeometric function: an alive customer with rate
    lambda and dropout p expects (1 - exp(-lambda p t)) / p purchases in t; weigh that by P(alive, history) over
    the posterior. The Gamma integral over lambda is closed, (alpha + T)^-(r + x) and (alpha + T + p t)^-(r + x)
    (a common factor cancels); the Beta integral over p is numerical."""
    bg, t = clv.BgNbd(r=0.8, alpha=6.0, a=1.5, b=3.0), 14.0
    k = bg.r + x
    drop = stats.beta(bg.a, bg.b)

    def alive_forecast(p):  # E[purchases in t, alive] given p, over lambda's posterior, times (alpha + T)^k
        return (1 - p) ** x * (1 - ((bg.alpha + T) / (bg.alpha + T + p * t)) ** k) / p

    def history(p):  # P(history) given p, over lambda, times (alpha + T)^k
        dropped = p * (1 - p) ** (x - 1) * ((bg.alpha + T) / (bg.alpha + t_x)) ** k if x else 0.0
        return (1 - p) ** x + dropped

    def integral(f):
        return integrate.quad(lambda p: f(p) * drop.pdf(p), 0, 1, epsabs=0, epsrel=1e-11, limit=200)[0]

    expected = bg.expected_purchases(t, np.array([x]), np.array([t_x]), np.array([T]))[0]
    assert expected == pytest.approx(integral(alive_forecast) / integral(history), rel=1e-7)


def test_the_12_month_value_discounts_each_month():
    """sum over months k of value * (E(k months) - E(k - 1 months)) / 1.01 ** k, a month 30 days or 4.345 weeks."""
    x, t_x, T = np.array([3.0]), np.array([40.0]), np.array([60.0])
    by_month = [SIMPLE.expected_purchases(30.0 * k, x, t_x, T)[0] for k in range(13)]
    by_hand = sum((by_month[k] - by_month[k - 1]) / 1.01**k for k in range(1, 13))
    assert clv.discounted_orders(SIMPLE, x, t_x, T, "D")[0] == pytest.approx(by_hand)
    assert clv.discounted_orders(SIMPLE, x, t_x, T, "D", months=1, monthly_discount=0)[0] == pytest.approx(by_month[1])
    weekly = [SIMPLE.expected_purchases(4.345 * k, x, t_x, T)[0] for k in range(13)]
    assert clv.discounted_orders(SIMPLE, x, t_x, T, "W")[0] == pytest.approx(
        sum((weekly[k] - weekly[k - 1]) / 1.01**k for k in range(1, 13))
    )


@pytest.mark.parametrize("objective", ["bgnbd", "gamma_gamma"])
def test_the_hand_written_gradients_match_finite_differences(objective):
    rng = np.random.default_rng(7)
    x = rng.integers(0, 8, 300).astype(float)
    T = rng.uniform(0.2, 1.0, 300)
    if objective == "bgnbd":
        t_x = np.where(x > 0, T * rng.uniform(0, 1, 300), 0.0)
        f = clv._bgnbd_objective(x, t_x, T, rng.integers(1, 4, 300).astype(float))
    else:
        x = x + 1
        f = clv._gamma_gamma_objective(x, rng.gamma(5, 4, 300), np.ones(300))
    for point in rng.normal(0, 0.7, (5, 4 if objective == "bgnbd" else 3)):
        error = optimize.check_grad(lambda p: f(p)[0], lambda p: f(p)[1], point, epsilon=1e-7)
        assert error < 1e-5 * max(1.0, np.abs(f(point)[1]).max())


# -- predictions behave -----------------------------------------------------------------------------------------------


def test_predictions_are_finite_and_move_the_right_way(cdnow):
    predictions = clv.fit(cdnow, "D", CDNOW_CALIBRATION_END).predictions
    for column in ("probability_alive", "expected_orders_90d", "expected_order_value", "expected_value_12m"):
        assert np.isfinite(predictions[column]).all(), column
        assert (predictions[column] >= 0).all(), column
    assert predictions["probability_alive"].between(0, 1).all()

    fit = clv.fit(cdnow, "D")
    grid = np.arange(0.0, 301.0, 10.0)  # 4 repeat periods, observed for 300 days, last bought on day t_x
    x, T = np.full_like(grid, 4.0), np.full_like(grid, 300.0)
    for value in (fit.bgnbd.probability_alive(x, grid, T), fit.bgnbd.expected_purchases(90, x, grid, T)):
        assert (np.diff(value) > 0).all()  # more recent -> more alive, more orders to come
    silent = fit.bgnbd.probability_alive(np.full(5, 4.0), np.full(5, 50.0), np.array([50, 100, 200, 400, 800.0]))
    assert (np.diff(silent) < 0).all()  # the longer the silence since, the less alive
    busier = fit.bgnbd.expected_purchases(90, np.arange(1.0, 20.0), np.full(19, 290.0), np.full(19, 300.0))
    assert (np.diff(busier) > 0).all()  # more repeat purchases, same recency -> more orders to come
    richer = fit.gamma_gamma.expected_order_value(np.full(5, 3.0), np.array([5, 10, 20, 40, 80.0]))
    assert (np.diff(richer) > 0).all()


def test_extreme_histories_still_give_finite_predictions():
    fit = clv.BgNbd(r=0.243, alpha=30.9, a=0.793, b=2.426)
    x = np.array([0, 1, 500, 2000, 1, 300.0])
    t_x = np.array([0, 0, 1000, 3000, 10000, 1.0])
    T = np.array([0, 10000, 1000, 3000, 10000, 5000.0])
    for t in (90.0, 360.0):
        assert np.isfinite(fit.expected_purchases(t, x, t_x, T)).all()
    assert np.isfinite(clv.discounted_orders(fit, x, t_x, T, "D")).all()
    assert np.isfinite(fit.probability_alive(x, t_x, T)).all()


# -- the command and bad input ----------------------------------------------------------------------------------------


def test_the_command_prints_floats_and_writes_every_customer(tmp_path, cdnow_csv):
    out = tmp_path / "p.csv"
    result = run(str(cdnow_csv), "--time-unit", "W", "--predictions", str(out))
    assert result.exit_code == 0, result.output
    fitted = json.loads(result.stdout)
    assert all(isinstance(v, float) for part in ("bgnbd", "gamma_gamma") for v in fitted[part].values())
    assert isinstance(fitted["customers"], int)
    predictions = pd.read_csv(out, dtype={"customer_id": str})
    assert len(predictions) == fitted["customers"] == 2357
    assert predictions["customer_id"].str.len().eq(5).all()  # ids kept as written (00004 stays 00004)
    assert "frequency_holdout" not in predictions


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("customer_id,date,amount\na,2024-01-01,1\na,2024-02-30,2\n", "line 3: date '2024-02-30' is not a date"),
        ("customer_id,date,amount\na,2024-01-01,1\nb,2024-01-02,abc\n", "line 3: amount 'abc' is not a number"),
        ("customer_id,date,amount\na,2024-01-01,-5\n", "line 2: amount '-5' is not a number >= 0"),
        ("customer_id,date,amount\na,2024-01-01,\n", "line 2: amount '' is not a number"),
        ("customer_id,date,amount\na,2024-01-01,1\n\n,2024-01-02,1\n", "line 4: customer_id is empty"),
        ("customer_id,date,amount\na,,1\n", "line 2: date '' is not a date"),
        ("customer_id,amount\na,1\n", "missing: date"),
        ("", "the file is empty"),
        ("customer_id,date,amount\n", "no purchases"),
        ("customer_id,date,amount\na,2024-01-01,1\nb,2024-01-05,2\n", "BG/NBD needs repeat purchases"),
    ],
)
def test_bad_files_are_refused_with_exit_code_2(tmp_path, text, says):
    result = run(str(write(tmp_path, text)))
    assert result.exit_code == 2
    assert says in result.stderr
    assert result.stdout == ""


def test_every_bad_row_is_counted_and_the_first_ones_named(tmp_path):
    rows = "".join(f"c{i},2024-01-{i:02d},x\n" for i in range(1, 10))
    result = run(str(write(tmp_path, "customer_id,date,amount\n" + rows)))
    assert result.exit_code == 2
    assert "9 bad value(s)" in result.stderr and "line 2:" in result.stderr and "(and 4 more)" in result.stderr


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--time-unit", "M", "D (days) or W (weeks)"),
        ("--calibration-end", "1997-31-09", "YYYY-MM-DD"),
        ("--calibration-end", "1998-12-31", "nothing to hold out"),
        ("--calibration-end", "1996-01-01", "no purchase on or before the calibration end"),
    ],
)
def test_bad_options_exit_with_code_2(cdnow_csv, option, value, says):
    result = run(str(cdnow_csv), option, value)
    assert result.exit_code == 2
    assert says in result.output


def test_a_header_with_spaces_and_other_columns_in_any_order_is_read(tmp_path):
    text = "note, amount ,customer_id,date\nx,10,a,2024-01-01\ny,5.5,a,20240103\nz,1,b,2024/01/02\n"
    log = clv.read_transactions(write(tmp_path, text))
    assert log.to_dict("list") == {
        "customer_id": ["a", "a", "b"],
        "date": list(pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-02"])),
        "amount": [10.0, 5.5, 1.0],
    }
