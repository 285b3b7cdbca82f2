"""Benchmark for medreach.recommend: every model against implicit's ALS tuned by a grid search.

    .venv/bin/python benchmarks/recommend_bench.py [--pharmacy-users 30000] [--scale-users 1000000] [--seed 7]
        [--skip-movielens] [--skip-pharmacy] [--skip-scale]

1. MovieLens 100k as the `recbole` wheel ships it (recbole/dataset_example/ml-100k: 100,000 ratings of 1,682
   films by 943 people, with times and genres). The wheel is read as a zip, never imported (recbole would
   pull in torch); it is fetched once with `pip download --no-deps recbole==1.2.1` into var/bench/ unless
   recbole is installed. Every rating counts as an interaction. Two time-based splits: each person's latest
   20% of ratings as their test (943 people), and one global cut at the 80% quantile of time (109 people
   rated on both sides of it).
2. A simulated pharmacy (`pharmacy_world`, seeded): chronic refills with switches to a generic of the same
   active ingredient, acute episodes in each person's own prone indications and in season, a second product
   for the same complaint, devices bought along (a thermometer with fever medicine), preferences for
   Chinese or Western medicine and for brands or generics. Test: the last 30 days.
3. Training time of every model on the simulated pharmacy at 1M people (goal: under 10 minutes in all).

Our models run with their default settings (nothing is tuned on a test set). ALS is tuned on each test set
itself: the best of a grid over factors, regularization and alpha (confidence weight), so the baseline is at
least as good as any ALS one could pick. Prints one line per model and a summary per data set.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import itertools
import platform
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from medreach.recommend.evaluate import evaluate, targets  # noqa: E402
from medreach.recommend.interactions import Interactions  # noqa: E402
from medreach.recommend.models import ALS, Recommender, default_models  # noqa: E402

RECBOLE = "recbole==1.2.1"
ML100K = "recbole/dataset_example/ml-100k/ml-100k"
ALS_GRID = {"factors": (32, 64, 128), "regularization": (0.1, 1.0, 10.0, 100.0), "alpha": (1, 5, 20)}
K = 10
DAY = 86_400


# --- data -----------------------------------------------------------------------------------------------


def _recbole_file(name: str) -> bytes:
    try:
        return Path(importlib.metadata.distribution("recbole").locate_file(name)).read_bytes()
    except importlib.metadata.PackageNotFoundError:
        pass
    cache = ROOT / "var" / "bench"
    wheels = sorted(cache.glob("recbole-1.2.1-*.whl"))
    if not wheels:
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", RECBOLE, "-d", str(cache)], check=True
        )
        wheels = sorted(cache.glob("recbole-1.2.1-*.whl"))
    with zipfile.ZipFile(wheels[0]) as wheel:
        return wheel.read(name)


def movielens() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(ratings as user_id, item_id, timestamp; films as item_id, year, genre) of MovieLens 100k."""
    ratings = pd.read_csv(io.BytesIO(_recbole_file(f"{ML100K}.inter")), sep="\t", dtype=str)
    ratings.columns = ["user_id", "item_id", "rating", "timestamp"]
    ratings["timestamp"] = ratings["timestamp"].astype(float)
    films = pd.read_csv(io.BytesIO(_recbole_file(f"{ML100K}.item")), sep="\t", dtype=str, keep_default_na=False)
    films.columns = ["item_id", "title", "year", "genre"]
    films["genre"] = films["genre"].str.replace(" ", "|")
    return ratings[["user_id", "item_id", "timestamp"]], films.set_index("item_id")[["year", "genre"]]


# indication: (chronic?, ingredients, monthly season weights Jan..Dec, device bought along)
INDICATIONS: dict[str, tuple[bool, int, tuple[float, ...], str | None]] = {
    "hypertension": (True, 18, (1,) * 12, "bp_monitor"),
    "diabetes": (True, 15, (1,) * 12, "glucose_strips"),
    "hyperlipidemia": (True, 12, (1,) * 12, None),
    "gout": (True, 6, (1,) * 12, None),
    "common_cold": (False, 24, (4, 4, 3, 2, 1, 0.5, 0.5, 0.5, 1, 2, 3, 4), "masks"),
    "fever": (False, 9, (4, 4, 3, 2, 1, 0.7, 0.7, 0.7, 1, 2, 3, 4), "thermometer"),
    "cough": (False, 18, (4, 4, 3, 2, 1, 0.6, 0.6, 0.6, 1, 2, 3, 4), None),
    "sore_throat": (False, 12, (3, 3, 2, 2, 1, 1, 1, 1, 1, 2, 2, 3), None),
    "allergy": (False, 12, (0.5, 0.5, 3, 5, 4, 2, 1, 1, 2, 1, 0.5, 0.5), None),
    "gastritis": (False, 15, (1,) * 12, None),
    "diarrhea": (False, 9, (0.6, 0.6, 0.8, 1, 1.4, 2, 2.5, 2.5, 1.5, 1, 0.7, 0.6), None),
    "constipation": (False, 9, (1,) * 12, None),
    "eczema": (False, 12, (0.8, 0.8, 1, 1.2, 1.5, 1.5, 1.5, 1.5, 1.2, 1, 0.8, 0.8), None),
    "acne": (False, 9, (1,) * 12, None),
    "insomnia": (False, 9, (1,) * 12, None),
    "eye_strain": (False, 9, (1,) * 12, None),
    "joint_pain": (False, 12, (1.5, 1.5, 1.2, 1, 0.8, 0.7, 0.7, 0.7, 0.9, 1, 1.3, 1.5), None),
    "vitamins": (False, 18, (1,) * 12, None),
    "calcium": (False, 9, (1,) * 12, None),
    "oral_ulcer": (False, 9, (1,) * 12, None),
}
DEVICES = ("bp_monitor", "glucose_strips", "masks", "thermometer")
FOLLOW_UPS = {  # complaints that often lead on to others
    "common_cold": ("cough", "sore_throat", "fever"),
    "fever": ("cough", "common_cold"),
    "sore_throat": ("cough", "oral_ulcer"),
    "cough": ("sore_throat",),
    "gastritis": ("diarrhea", "constipation"),
    "allergy": ("eczema", "eye_strain"),
    "joint_pain": ("calcium",),
    "insomnia": ("vitamins",),
}


def pharmacy_catalog(rng: np.random.Generator) -> pd.DataFrame:
    """Products: per indication some active ingredients, each sold as 2-6 products (Chinese or Western
    medicine, brand or generic), plus devices; `popularity` is a Zipf weight within the indication."""
    rows = []
    for indication, (_, ingredients, _, _) in INDICATIONS.items():
        for g in range(ingredients):
            kind = "tcm" if rng.random() < 0.4 else "western"
            for _ in range(rng.integers(2, 9)):
                rows.append((indication, f"{indication}-ing{g}", kind, "brand" if rng.random() < 0.4 else "generic"))
    for device in DEVICES:
        for _ in range(rng.integers(3, 8)):
            rows.append((device, device, "device", "brand" if rng.random() < 0.5 else "generic"))
    items = pd.DataFrame(rows, columns=["indication", "ingredient", "kind", "tier"])
    items.index = pd.Index([f"P{i:05d}" for i in range(len(items))], name="item_id")
    items["popularity"] = 0.0
    for _, group in items.groupby("indication"):
        ranks = rng.permutation(len(group)) + 1
        items.loc[group.index, "popularity"] = 1.0 / ranks**0.9
    return items


def _choose(rng: np.random.Generator, items: pd.DataFrame, indication: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """A product (row number) for each (indication, shopper segment): popularity x 3 for the preferred kind
    (Chinese / Western medicine) x 2 for the preferred tier (brand / generic)."""
    chosen = np.empty(len(indication), dtype=np.int64)
    codes = {name: i for i, name in enumerate(items["indication"].unique())}
    item_indication = items["indication"].map(codes).to_numpy()
    for code in np.unique(indication):
        rows = np.flatnonzero(item_indication == code)
        for seg in range(4):
            where = np.flatnonzero((indication == code) & (segment == seg))
            if not len(where):
                continue
            prefers_tcm, prefers_brand = seg // 2 == 1, seg % 2 == 1
            weight = items["popularity"].to_numpy()[rows].copy()
            kinds, tiers = items["kind"].to_numpy()[rows], items["tier"].to_numpy()[rows]
            weight *= np.where((kinds == "tcm") == prefers_tcm, 3.0, 1.0)
            weight *= np.where((tiers == "brand") == prefers_brand, 2.0, 1.0)
            chosen[where] = rng.choice(rows, size=len(where), p=weight / weight.sum())
    return chosen


def pharmacy_world(people: int, seed: int = 7, days: int = 365) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(purchases as user_id, item_id, timestamp; products as item_id, indication, ingredient, kind, tier)."""
    rng = np.random.default_rng(seed)
    items = pharmacy_catalog(rng)
    names = list(INDICATIONS)
    codes = {name: i for i, name in enumerate(items["indication"].unique())}
    chronic = [codes[n] for n in names if INDICATIONS[n][0]]
    acute = [codes[n] for n in names if not INDICATIONS[n][0]]
    season = np.array([INDICATIONS[n][2] for n in names if not INDICATIONS[n][0]], dtype=float)  # acute x month
    segment = rng.integers(0, 4, people)
    prone = rng.choice(acute, size=(people, 2))
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    # chronic refills about every 30 days; now and then a switch to another product of the same ingredient
    patients = np.flatnonzero(rng.random(people) < 0.25)
    condition = rng.choice(chronic, size=len(patients))
    product = _choose(rng, items, condition, segment[patients])
    ingredient = items["ingredient"].to_numpy()
    start = rng.uniform(0, 30, len(patients))
    for refill in range(days // 30 + 1):
        when = start + 30 * refill + rng.normal(0, 3, len(patients))
        inside = (when >= 0) & (when < days)
        switch = rng.random(len(patients)) < 0.12
        for p in np.flatnonzero(switch):
            same = np.flatnonzero(ingredient == ingredient[product[p]])
            product[p] = rng.choice(same)
        parts.append((patients[inside], product[inside], when[inside]))

    # acute episodes: 60% in the person's own prone indications, the rest in season
    episodes = rng.poisson(4.0, people)
    person = np.repeat(np.arange(people), episodes)
    when = rng.uniform(0, days, len(person))
    month = ((when / days * 12).astype(int)) % 12
    seasonal = np.empty(len(person), dtype=np.int64)
    for m in range(12):
        where = np.flatnonzero(month == m)
        seasonal[where] = rng.choice(acute, size=len(where), p=season[:, m] / season[:, m].sum())
    own = rng.random(len(person)) < 0.6
    indication = np.where(own, prone[person, rng.integers(0, 2, len(person))], seasonal)
    # an episode leads on to a related complaint a few days later (a cold to a cough) in 35% of cases
    next_of = {codes[a]: [codes[b] for b in bs] for a, bs in FOLLOW_UPS.items()}
    follows = np.flatnonzero(np.isin(indication, list(next_of)) & (rng.random(len(person)) < 0.35))
    person = np.r_[person, person[follows]]
    when = np.r_[when, when[follows] + rng.uniform(2, 10, len(follows))]
    indication = np.r_[indication, [rng.choice(next_of[i]) for i in indication[follows]]]
    parts.append((person, _choose(rng, items, indication, segment[person]), when))
    second = rng.random(len(person)) < 0.3
    parts.append((person[second], _choose(rng, items, indication[second], segment[person[second]]), when[second]))

    # devices bought along with the medicine they go with (and with chronic refills, once in a while)
    device_of = {codes[n]: codes[d] for n, (_, _, _, d) in INDICATIONS.items() if d}
    buyer_person = np.r_[person, patients]
    buyer_indication = np.r_[indication, condition]
    buyer_when = np.r_[when, start]
    has_device = np.isin(buyer_indication, list(device_of)) & (rng.random(len(buyer_person)) < 0.35)
    device = np.array([device_of[i] for i in buyer_indication[has_device]], dtype=np.int64)
    parts.append(
        (
            buyer_person[has_device],
            _choose(rng, items, device, segment[buyer_person[has_device]]),
            buyer_when[has_device],
        )
    )

    # companions: a product's own partners (a combination therapy, a bundle the maker promotes, the syrup
    # that goes with those lozenges), bought with it or within two months in 30% of purchases
    companions = rng.integers(0, len(items), size=(len(items), 2))
    buyer, bought, at = (np.concatenate(column) for column in zip(*parts, strict=True))
    along = np.flatnonzero(rng.random(len(buyer)) < 0.3)
    later = rng.random(len(along)) < 0.5
    parts.append(
        (
            buyer[along],
            companions[bought[along], rng.integers(0, 2, len(along))],
            at[along] + np.where(later, rng.uniform(1, 60, len(along)), 0.0),
        )
    )

    users = np.concatenate([p[0] for p in parts])
    products = np.concatenate([p[1] for p in parts])
    inside = np.concatenate([p[2] for p in parts]) < days
    users, products = users[inside], products[inside]
    seconds = np.concatenate([p[2] for p in parts])[inside] * DAY + 1_767_225_600  # from 2026-01-01 UTC
    purchases = pd.DataFrame(
        {
            "user_id": np.char.add("U", users.astype(str)),
            "item_id": items.index.to_numpy()[products],
            "timestamp": seconds,
        }
    )
    return purchases, items[["indication", "ingredient", "kind", "tier"]]


# --- evaluation -----------------------------------------------------------------------------------------


def interactions(frame: pd.DataFrame) -> Interactions:
    return Interactions.from_ids(
        frame["user_id"].tolist(), frame["item_id"].tolist(), timestamps=frame["timestamp"].to_numpy(float)
    )


def run(title: str, train_frame: pd.DataFrame, test_frame: pd.DataFrame, attributes: pd.DataFrame | None) -> None:
    train = interactions(train_frame)
    users, relevant = targets(train, test_frame["user_id"].tolist(), test_frame["item_id"].tolist())
    print(
        f"\n== {title}: {len(train.users):,} training interactions, {train.n_users:,} people, "
        f"{train.n_items:,} items; {len(users):,} test people, {len(test_frame):,} test interactions"
    )
    ours: list[dict] = []
    models = default_models(attributes)
    for result in evaluate(models, train, users, relevant, K):
        ours.append(result)
        print(_line(result))
    print(f"  the blend's choice: {models[-1].weights}")
    best_als, grid_seconds = _tuned_als(train, users, relevant)
    print(_line(best_als) + f"  (tuned: {best_als['model']}; grid of {_grid_size()} in {grid_seconds:.0f} s)")
    best = max(ours, key=lambda r: r[f"ndcg@{K}"])
    gain = best[f"ndcg@{K}"] / best_als[f"ndcg@{K}"] - 1
    als_default = next(r for r in ours if r["model"] == "als")
    print(
        f"best: {best['model']} ndcg@{K} {best[f'ndcg@{K}']:.4f} vs tuned ALS {best_als[f'ndcg@{K}']:.4f}: "
        f"{gain:+.1%} (goal +10%: {'met' if gain >= 0.10 else 'NOT met'}); fit {best['fit_seconds']:.1f} s vs "
        f"ALS {best_als['fit_seconds']:.1f} s (ours with default settings: {als_default['fit_seconds']:.1f} s)"
    )


def _grid_size() -> int:
    return int(np.prod([len(v) for v in ALS_GRID.values()]))


def _tuned_als(train: Interactions, users: list[str], relevant: list[set[str]]) -> tuple[dict, float]:
    started, best = time.perf_counter(), None
    for factors, regularization, alpha in itertools.product(*ALS_GRID.values()):
        model = ALS(factors=factors, regularization=regularization, alpha=alpha)
        result = next(evaluate([model], train, users, relevant, K))
        if best is None or result[f"ndcg@{K}"] > best[f"ndcg@{K}"]:
            best = {**result, "model": f"als factors={factors} regularization={regularization} alpha={alpha}"}
    assert best is not None
    return best, time.perf_counter() - started


def _line(r: dict) -> str:
    return (
        f"  {r['model'][:12]:<12} precision@{K} {r[f'precision@{K}']:.4f}  recall@{K} {r[f'recall@{K}']:.4f}  "
        f"ndcg@{K} {r[f'ndcg@{K}']:.4f}  map@{K} {r[f'map@{K}']:.4f}  coverage {r['coverage']:.3f}  "
        f"fit {r['fit_seconds']:7.2f} s"
    )


def per_person_split(frame: pd.DataFrame, fraction: float = 0.2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each person's latest `fraction` of interactions (by time) as the test."""
    ordered = frame.sort_values(["timestamp"], kind="stable")
    position = ordered.groupby("user_id").cumcount()
    size = ordered.groupby("user_id")["user_id"].transform("size")
    test = position >= np.ceil(size * (1 - fraction))
    return ordered[~test], ordered[test]


def global_split(frame: pd.DataFrame, cut: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    return frame[frame["timestamp"] <= cut], frame[frame["timestamp"] > cut]


def scale(people: int, seed: int) -> None:
    started = time.perf_counter()
    purchases, products = pharmacy_world(people, seed)
    train = interactions(purchases)
    print(
        f"\n== training time at scale: {len(train.users):,} interactions, {train.n_users:,} people, "
        f"{train.n_items:,} items (generated and indexed in {time.perf_counter() - started:.0f} s)"
    )
    total = 0.0
    for model in default_models(products):
        total += _timed_fit(model, train)
    print(f"all models: {total:.0f} s ({total / 60:.1f} min; goal under 10 min: {'met' if total < 600 else 'NOT met'})")


def _timed_fit(model: Recommender, train: Interactions) -> float:
    started = time.perf_counter()
    model.fit(train)
    seconds = time.perf_counter() - started
    print(f"  {model.name:<12} fit {seconds:7.1f} s")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pharmacy-users", type=int, default=30_000)
    parser.add_argument("--scale-users", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-movielens", action="store_true")
    parser.add_argument("--skip-pharmacy", action="store_true")
    parser.add_argument("--skip-scale", action="store_true")
    args = parser.parse_args()
    print(f"{platform.machine()}, {platform.python_version()}, {time.strftime('%Y-%m-%d')}")
    if not args.skip_movielens:
        ratings, films = movielens()
        run("MovieLens 100k, each person's latest 20% as test", *per_person_split(ratings), films)
        run(
            "MovieLens 100k, global cut at the 80% time quantile",
            *global_split(ratings, ratings["timestamp"].quantile(0.8)),
            films,
        )
    if not args.skip_pharmacy:
        purchases, products = pharmacy_world(args.pharmacy_users, args.seed)
        cut = purchases["timestamp"].max() - 30 * DAY
        run(
            f"simulated pharmacy, {args.pharmacy_users:,} people, last 30 days as test",
            *global_split(purchases, cut),
            products,
        )
    if not args.skip_scale:
        scale(args.scale_users, args.seed)


if __name__ == "__main__":
    main()
