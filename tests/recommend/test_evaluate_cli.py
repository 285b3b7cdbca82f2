"""`medreach recommend evaluate` end to end: its printed metrics equal an independent scoring of its --output."""

import csv
import json
import math
from collections import defaultdict

import numpy as np
import pytest
from typer.testing import CliRunner

from medreach.cli import app

K = 5


def independent_scores(lists_path, train_path, test_path, k):
    """Scores the written lists from the files alone, with the documented definitions."""
    with open(train_path, newline="") as f:
        train = list(csv.DictReader(f))
    with open(test_path, newline="") as f:
        test = list(csv.DictReader(f))
    train_users = {row["user_id"] for row in train}
    catalog = {row["item_id"] for row in train}
    relevant = defaultdict(set)
    for row in test:
        if row["user_id"] in train_users:
            relevant[row["user_id"]].add(row["item_id"])
    ranked = defaultdict(lambda: defaultdict(list))
    with open(lists_path, newline="") as f:
        for row in csv.DictReader(f):
            ranked[row["model"]][row["user_id"]].append((int(row["rank"]), row["item_id"]))
    scores = {}
    for model, by_user in ranked.items():
        totals = defaultdict(float)
        recommended = set()
        for user, rel in relevant.items():
            items = [item for _, item in sorted(by_user.get(user, []))][:k]
            recommended.update(items)
            hits = [item in rel for item in items]
            totals["precision"] += sum(hits) / k
            totals["recall"] += sum(hits) / len(rel)
            dcg = sum(1 / math.log2(i + 2) for i, hit in enumerate(hits) if hit)
            totals["ndcg"] += dcg / sum(1 / math.log2(i + 2) for i in range(min(k, len(rel))))
            precision_sum = sum(sum(hits[: i + 1]) / (i + 1) for i, hit in enumerate(hits) if hit)
            totals["map"] += precision_sum / min(k, len(rel))
        scores[model] = {f"{name}@{k}": total / len(relevant) for name, total in totals.items()}
        scores[model]["coverage"] = len(recommended) / len(catalog)
        scores[model]["users"] = len(relevant)
    return scores, relevant


@pytest.fixture
def files(tmp_path):
    """Shoppers with one of three tastes over 45 products (three indications); the last 20 days are the test;
    some test users are not in train and some test items are not either."""
    rng = np.random.default_rng(11)
    train_rows, test_rows = [], []
    for person in range(150):
        taste = person % 3
        for _ in range(rng.integers(2, 10)):
            block = taste if rng.random() < 0.8 else rng.integers(0, 3)
            day = int(rng.integers(0, 100))
            row = (f"c{person:03d}", f"P{block * 15 + int(rng.integers(0, 15)):02d}", 1767225600 + day * 86400, 1)
            (test_rows if day >= 80 else train_rows).append(row)
    test_rows += [("stranger", "P01", 1767225600 + 90 * 86400, 1), ("c000", "NEW", 1767225600 + 95 * 86400, 1)]
    paths = {}
    for name, rows in (("train", train_rows), ("test", test_rows)):
        paths[name] = tmp_path / f"{name}.csv"
        with paths[name].open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["user_id", "item_id", "timestamp", "weight"])
            writer.writerows(rows)
    paths["items"] = tmp_path / "items.csv"
    with paths["items"].open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["item_id", "indication", "ingredient"])
        writer.writerows((f"P{n:02d}", f"ind{n // 15}", f"ing{n // 3}") for n in range(45))
    return paths


def run(*args):
    return CliRunner().invoke(app, ["recommend", "evaluate", *map(str, args)])


def test_printed_metrics_equal_an_independent_scoring_of_the_lists(files, tmp_path):
    lists = tmp_path / "lists.csv"
    result = run(
        "--train", files["train"], "--test", files["test"], "--k", K, "--output", lists, "--items", files["items"]
    )
    assert result.exit_code == 0, result.output
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["model"] for r in printed] == ["popularity", "itemknn", "als", "bpr", "ease", "content", "blend"]
    expected, relevant = independent_scores(lists, files["train"], files["test"], K)
    assert "stranger" not in relevant and "NEW" in relevant["c000"]
    for row in printed:
        assert set(row) == {
            "model",
            f"precision@{K}",
            f"recall@{K}",
            f"ndcg@{K}",
            f"map@{K}",
            "coverage",
            "users",
            "fit_seconds",
        }
        assert row["users"] == expected[row["model"]]["users"] == len(relevant)
        for key, value in expected[row["model"]].items():
            assert row[key] == pytest.approx(value, abs=1e-12), (row["model"], key)
        assert row["fit_seconds"] >= 0
    best = max(printed, key=lambda r: r[f"ndcg@{K}"])
    assert best[f"ndcg@{K}"] > 0.1  # the tastes are learnable


def test_lists_have_k_ranked_unseen_training_items_per_user(files, tmp_path):
    lists = tmp_path / "lists.csv"
    assert run("--train", files["train"], "--test", files["test"], "--k", K, "--output", lists).exit_code == 0
    with open(files["train"], newline="") as f:
        rows = list(csv.DictReader(f))
    history = defaultdict(set)
    for row in rows:
        history[row["user_id"]].add(row["item_id"])
    catalog = {row["item_id"] for row in rows}
    by_list = defaultdict(list)
    with open(lists, newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == ["model", "user_id", "item_id", "rank"]
        for row in reader:
            assert row["item_id"] in catalog and row["item_id"] not in history[row["user_id"]]
            by_list[row["model"], row["user_id"]].append(int(row["rank"]))
    assert {model for model, _ in by_list} == {"popularity", "itemknn", "als", "bpr", "ease", "blend"}  # no items
    assert all(
        ranks == list(range(1, min(K, len(catalog) - len(history[user])) + 1)) for (_, user), ranks in by_list.items()
    )


def test_one_model_and_plain_popularity(files):
    result = run("--train", files["train"], "--test", files["test"], "--model", "popularity", "--half-life-days", 0)
    assert result.exit_code == 0, result.output
    (row,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert row["model"] == "popularity" and "precision@10" in row


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--model", "magic"], "unknown model magic"),
        (["--model", "content"], "needs an item attributes file"),
    ],
)
def test_bad_requests_exit_2_with_a_message(files, extra, message):
    result = run("--train", files["train"], "--test", files["test"], *extra)
    assert result.exit_code == 2 and message in result.stderr


def test_a_test_file_without_known_users_is_refused(files, tmp_path):
    test = tmp_path / "strangers.csv"
    test.write_text("user_id,item_id\nnobody,P01\n")
    result = run("--train", files["train"], "--test", test)
    assert result.exit_code == 2 and "appears in train.csv" in result.stderr
