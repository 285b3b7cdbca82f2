"""Each metric on hand-made lists; the expected figures are worked out by hand in the comments."""

import math

import pytest

from medreach.recommend.metrics import (
    average_precision_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
    score_lists,
)

# hits at ranks 1 and 3 of 4; three relevant items, one of them (d) never recommended
LIST = ["a", "x", "b", "y"]
RELEVANT = {"a", "b", "d"}


def test_precision_divides_hits_by_k():
    assert precision_at_k(LIST, RELEVANT, 4) == pytest.approx(2 / 4)
    assert precision_at_k(LIST, RELEVANT, 2) == pytest.approx(1 / 2)  # only a in the first two
    assert precision_at_k(["a"], RELEVANT, 4) == pytest.approx(1 / 4)  # a short list still divides by k


def test_recall_divides_hits_by_the_relevant_count():
    assert recall_at_k(LIST, RELEVANT, 4) == pytest.approx(2 / 3)
    assert recall_at_k(LIST, RELEVANT, 1) == pytest.approx(1 / 3)


def test_ndcg_log2_discount_and_ideal_over_min_k_relevant():
    # DCG = 1/log2(2) + 1/log2(4) = 1.5; IDCG over min(4, 3) = 3 hits = 1 + 1/log2(3) + 1/2
    assert ndcg_at_k(LIST, RELEVANT, 4) == pytest.approx(1.5 / (1.5 + 1 / math.log2(3)))
    # k = 2: DCG = 1; IDCG over min(2, 3) = 2 hits = 1 + 1/log2(3)
    assert ndcg_at_k(LIST, RELEVANT, 2) == pytest.approx(1 / (1 + 1 / math.log2(3)))
    # a single relevant item at rank 2: (1/log2(3)) / 1
    assert ndcg_at_k(["x", "a"], {"a"}, 10) == pytest.approx(1 / math.log2(3))
    assert ndcg_at_k(["a", "b"], {"a", "b"}, 2) == pytest.approx(1.0)


def test_map_sums_precision_at_hits_over_min_k_relevant():
    # hits at ranks 1 and 3: P@1 = 1, P@3 = 2/3; divided by min(4, 3) = 3
    assert average_precision_at_k(LIST, RELEVANT, 4) == pytest.approx((1 + 2 / 3) / 3)
    # k = 2: one hit at rank 1, divided by min(2, 3) = 2
    assert average_precision_at_k(LIST, RELEVANT, 2) == pytest.approx(1 / 2)
    # one relevant item, found at rank 2: P@2 = 1/2, divided by min(10, 1) = 1
    assert average_precision_at_k(["x", "a"], {"a"}, 10) == pytest.approx(1 / 2)


def test_only_the_first_k_entries_count():
    assert precision_at_k(["x", "y", "a"], {"a"}, 2) == 0
    assert ndcg_at_k(["x", "y", "a"], {"a"}, 2) == 0
    assert average_precision_at_k(["x", "y", "a"], {"a"}, 2) == 0


def test_score_lists_averages_over_users_and_counts_coverage():
    lists = [LIST, ["x", "a"], []]
    relevant = [RELEVANT, {"a"}, {"z"}]
    scores = score_lists(lists, relevant, 4, catalog_size=10)
    assert scores["users"] == 3
    assert scores["precision@4"] == pytest.approx((2 / 4 + 1 / 4 + 0) / 3)
    assert scores["recall@4"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert scores["ndcg@4"] == pytest.approx((1.5 / (1.5 + 1 / math.log2(3)) + 1 / math.log2(3)) / 3)
    assert scores["map@4"] == pytest.approx(((1 + 2 / 3) / 3 + 1 / 2) / 3)
    assert scores["coverage"] == pytest.approx(4 / 10)  # a, x, b, y


def test_score_lists_refuses_no_users_and_a_zero_k():
    with pytest.raises(ValueError, match="no users"):
        score_lists([], [], 10, 5)
    with pytest.raises(ValueError, match="at least 1"):
        score_lists([["a"]], [{"a"}], 0, 5)
