"""Lifetime-value fit on a million customers: ours (medreach.profiles.clv) and, side by side on the same data, the
`lifetimes` package's (when installed).

    .venv/bin/python benchmarks/clv_bench.py [--customers 1000000] [--no-lifetimes] [--no-cli]

Draws a purchase log from the BG/NBD and Gamma-Gamma processes with known parameters (CDNOW's, in days): each
customer's first purchase in the first 12 weeks of 2025, a purchase rate ~ Gamma(r, alpha) and a dropout chance
after each repeat purchase ~ Beta(a, b), purchases as a Poisson process until dropout or 2025-12-31; each order's
value ~ Gamma(p, nu) with the customer's nu ~ Gamma(q, v). Then times the summary, both fits and the predictions,
prints how close the fitted parameters come to the true ones, the same on lifetimes and the ratio, and the whole
`medreach profiles clv` command on the log written as a CSV.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from medreach.profiles import clv

TRUE_BGNBD = clv.BgNbd(r=0.243, alpha=4.414 * 7, a=0.793, b=2.426)  # Fader, Hardie & Lee's CDNOW fit, in days
TRUE_GAMMA_GAMMA = clv.GammaGamma(p=6.25, q=3.74, v=15.45)  # lifetimes' CDNOW fit
START, END = pd.Timestamp("2025-01-01"), pd.Timestamp("2025-12-31")


def purchase_log(customers: int, seed: int = 2026) -> tuple[pd.DataFrame, pd.DataFrame]:
    """customer_id, date, amount: one row per purchase, drawn from the two models; and the exact histories
    (repeat purchases, the last one's time and T in fractional days, the repeat orders' mean value)."""
    rng = np.random.default_rng(seed)
    bg, gg = TRUE_BGNBD, TRUE_GAMMA_GAMMA
    first_day = rng.integers(0, 84, customers)
    horizon = (END - START).days - first_day  # days from the first purchase to the end
    rate = rng.gamma(bg.r, 1 / bg.alpha, customers)
    dropout = rng.beta(bg.a, bg.b, customers)
    nu = rng.gamma(gg.q, 1 / gg.v, customers)
    who, when = [np.arange(customers)], [np.zeros(customers)]
    active, clock = np.arange(customers), np.zeros(customers)
    while len(active):
        clock[active] += rng.exponential(1 / rate[active])
        active = active[clock[active] < horizon[active]]
        who.append(active)
        when.append(clock[active].copy())
        active = active[rng.random(len(active)) >= dropout[active]]  # drops out after this purchase
    who_all, after_first = np.concatenate(who), np.concatenate(when)
    amount = np.round(rng.gamma(gg.p, 1 / nu[who_all]), 2)
    log = pd.DataFrame(
        {
            "customer_id": who_all.astype(str),
            "date": START.to_datetime64() + (first_day[who_all] + np.floor(after_first)).astype("timedelta64[D]"),
            "amount": amount,
        }
    )
    repeat = np.concatenate([np.zeros(customers, bool), np.ones(len(who_all) - customers, bool)])
    frequency = np.bincount(who_all[repeat], minlength=customers)
    exact = pd.DataFrame(
        {
            "frequency": frequency,
            "recency": pd.Series(after_first).groupby(who_all).max().to_numpy(),
            "T": horizon,
            "monetary_value": np.bincount(who_all[repeat], weights=amount[repeat], minlength=customers)
            / np.maximum(frequency, 1),
        }
    )
    return log, exact


def timed(label: str, fn: Callable[[], Any], figures: dict[str, float]) -> Any:
    start = time.perf_counter()
    result = fn()
    figures[label] = time.perf_counter() - start
    print(f"  {label:<34} {figures[label]:8.2f} s", flush=True)
    return result


def show(name: str, fitted: dict[str, float], true: dict[str, float]) -> None:
    cells = ", ".join(f"{k} {fitted[k]:.4g} ({(fitted[k] / true[k] - 1) * 100:+.1f}%)" for k in true)
    print(f"  {name}: {cells}")


def ours(log: pd.DataFrame) -> tuple[dict[str, float], clv.BgNbd, clv.GammaGamma]:
    figures: dict[str, float] = {}
    print("medreach.profiles.clv")
    summary = timed("summary (purchases per day)", lambda: clv.summarise(log, "D"), figures)
    bg = timed("BG/NBD fit", lambda: clv.fit_bgnbd(summary["frequency"], summary["recency"], summary["T"]), figures)
    gg = timed("Gamma-Gamma fit", lambda: clv.fit_gamma_gamma(summary["frequency"], summary["monetary_value"]), figures)
    timed("predictions (alive, 90 d, 12 m)", lambda: clv.predict(bg, gg, summary, "D"), figures)
    return figures, bg, gg


def theirs(log: pd.DataFrame) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    figures: dict[str, float] = {}
    print("lifetimes 0.11.3")
    summary = timed(
        "summary (purchases per day)",
        lambda: summary_data_from_transaction_data(log, "customer_id", "date", monetary_value_col="amount", freq="D"),
        figures,
    )
    bgf = timed(
        "BG/NBD fit", lambda: BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"]), figures
    )
    returning = summary[summary["frequency"] > 0]
    ggf = timed(
        "Gamma-Gamma fit",
        lambda: GammaGammaFitter().fit(returning["frequency"], returning["monetary_value"]),
        figures,
    )

    def predictions() -> None:
        history = summary["frequency"], summary["recency"], summary["T"]
        bgf.conditional_probability_alive(*history)
        bgf.conditional_expected_number_of_purchases_up_to_time(90, *history)
        ggf.customer_lifetime_value(bgf, *history, summary["monetary_value"], time=12, discount_rate=0.01, freq="D")

    timed("predictions (alive, 90 d, 12 m)", predictions, figures)
    return figures, dict(bgf.params_), dict(ggf.params_)


def command(log: pd.DataFrame) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "transactions.csv"
        log.to_csv(path, index=False)
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "medreach.cli", "profiles", "clv", str(path), "--predictions", f"{tmp}/p.csv"],
            check=True,
            capture_output=True,
            text=True,
        )
        took = time.perf_counter() - start
        print(f"  medreach profiles clv (CSV {path.stat().st_size / 1e6:.0f} MB) {took:8.2f} s: {out.stdout.strip()}")
        return took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--no-lifetimes", action="store_true", help="time ours only")
    ap.add_argument("--no-cli", action="store_true", help="skip the whole command on a CSV")
    args = ap.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    start = time.perf_counter()
    log, exact = purchase_log(args.customers)
    print(f"{len(log):,} purchases of {args.customers:,} customers drawn in {time.perf_counter() - start:.1f} s")

    mine, bg, gg = ours(log)
    show("BG/NBD vs true", vars(bg), vars(TRUE_BGNBD))
    show("Gamma-Gamma vs true", vars(gg), vars(TRUE_GAMMA_GAMMA))
    print("  (per day, purchases on one day are one and times are whole days; on the exact histories:)")
    show("BG/NBD vs true", vars(clv.fit_bgnbd(exact["frequency"], exact["recency"], exact["T"])), vars(TRUE_BGNBD))
    exact_gg = clv.fit_gamma_gamma(exact["frequency"], exact["monetary_value"])
    show("Gamma-Gamma vs true", vars(exact_gg), vars(TRUE_GAMMA_GAMMA))
    fit_time = mine["BG/NBD fit"] + mine["Gamma-Gamma fit"]
    print(f"  both fits: {fit_time:.2f} s; with the summary: {fit_time + mine['summary (purchases per day)']:.2f} s")
    if not args.no_lifetimes:
        try:
            import lifetimes  # noqa: F401
        except ImportError:
            print("lifetimes is not installed: no side-by-side figures")
        else:
            other, their_bg, their_gg = theirs(log)
            show("BG/NBD vs ours", their_bg, vars(bg))
            show("Gamma-Gamma vs ours", their_gg, vars(gg))
            print("lifetimes' time / ours:")
            for label, seconds in mine.items():
                print(f"  {label:<34} {other[label] / seconds:8.1f} x")
            their_fit = other["BG/NBD fit"] + other["Gamma-Gamma fit"]
            print(f"  {'both fits':<34} {their_fit / fit_time:8.1f} x")
    if not args.no_cli:
        print("the command")
        command(log)
    print(json.dumps({"customers": args.customers, "purchases": len(log), **mine}))


if __name__ == "__main__":
    main()
