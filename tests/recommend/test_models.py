"""The models: exclusion of seen items, ties, time decay, EASE against a direct solve, the others' behaviour."""

import numpy as np
import pandas as pd
import pytest

from medreach.core.errors import AppError
from medreach.recommend.interactions import SECONDS_PER_DAY, Interactions
from medreach.recommend.models import (
    ALS,
    BPR,
    EASE,
    Blend,
    Content,
    ItemKNN,
    Popularity,
    default_models,
    top_k_rows,
)


def world(seed: int = 3, people: int = 120, items: int = 30) -> Interactions:
    """People with one of three tastes, each buying mostly from their own third of the catalog."""
    rng = np.random.default_rng(seed)
    users, products, times = [], [], []
    for person in range(people):
        taste = person % 3
        for _ in range(rng.integers(3, 9)):
            own = rng.random() < 0.8
            block = taste if own else rng.integers(0, 3)
            users.append(f"u{person}")
            products.append(f"i{block * (items // 3) + rng.integers(0, items // 3)}")
            times.append(float(rng.integers(0, 100)) * SECONDS_PER_DAY)
    return Interactions.from_ids(users, products, timestamps=times)


ATTRIBUTES = pd.DataFrame(
    {"indication": [f"ind{int(i[1:]) // 10}" for i in (f"i{n}" for n in range(30))]},
    index=pd.Index([f"i{n}" for n in range(30)], name="item_id"),
)


def all_models() -> list:
    return default_models(ATTRIBUTES)


@pytest.mark.parametrize("model", all_models(), ids=lambda m: m.name)
def test_no_model_recommends_an_item_the_user_already_has(model):
    data = world()
    model.fit(data)
    users = list(data.user_ids[:40])
    lists = model.recommend(users, 10)
    seen = data.seen.tocsr()
    for user, items in zip(users, lists, strict=True):
        row = int(data.user_indices([user])[0])
        history = set(data.item_ids[seen.indices[seen.indptr[row] : seen.indptr[row + 1]]])
        assert len(items) == 10 and len(set(items)) == 10
        assert not history & set(items), (model.name, user)


def test_without_exclusion_the_seen_items_can_come_back():
    data = Interactions.from_ids(["a", "b", "b", "c"], ["x", "x", "y", "x"])
    model = Popularity(None).fit(data)
    assert model.recommend(["a"], 2, exclude_seen=False) == [["x", "y"]]
    assert model.recommend(["a"], 2) == [["y"]]  # x is a's; nothing else to fill the list


def test_unknown_users_get_an_empty_list_and_known_ones_keep_their_order():
    data = world()
    lists = Popularity().fit(data).recommend(["nobody", "u1", "u2"], 5)
    assert lists[0] == [] and len(lists[1]) == 5 and len(lists[2]) == 5


def test_top_k_breaks_ties_towards_the_lower_index_and_drops_excluded_items():
    scores = np.array([[1.0, 3.0, 3.0, -np.inf, 3.0, 2.0], [0.0, 0.0, 0.0, 0.0, -np.inf, -np.inf]], dtype=np.float32)
    top = top_k_rows(scores.copy(), 4)
    assert top[0].tolist() == [1, 2, 4, 5]
    assert top[1].tolist() == [0, 1, 2, 3]
    assert [t.tolist() for t in top_k_rows(scores.copy(), 6)] == [[1, 2, 4, 5, 0], [0, 1, 2, 3]]


def test_time_decay_halves_an_event_every_half_life():
    day = SECONDS_PER_DAY
    # old: three purchases 60 days before the latest event; new: one purchase at the latest event
    data = Interactions.from_ids(
        ["a", "b", "c", "d", "e"], ["old", "old", "old", "new", "x"], timestamps=[0, 0, 0, 60 * day, 60 * day]
    )
    decayed = Popularity(half_life_days=30).fit(data)
    weights = dict(zip(data.item_ids, decayed.popularity, strict=True))
    assert weights["old"] == pytest.approx(3 * 0.25) and weights["new"] == pytest.approx(1.0)
    assert decayed.recommend(["e"], 2) == [["new", "old"]]
    assert Popularity(half_life_days=None).fit(data).recommend(["e"], 2) == [["old", "new"]]
    untimed = Interactions.from_ids(["a", "b", "c", "d", "e"], ["old", "old", "old", "new", "x"])
    assert Popularity(half_life_days=30).fit(untimed).recommend(["e"], 2) == [["old", "new"]]


def test_popularity_adds_the_weights_of_repeated_pairs():
    data = Interactions.from_ids(["a", "a", "b", "c"], ["x", "x", "y", "z"], weights=[2, 3, 4, 1])
    model = Popularity(None).fit(data)
    assert dict(zip(data.item_ids, model.popularity, strict=True)) == {"x": 5, "y": 4, "z": 1}
    assert data.matrix.toarray().tolist()[0] == [5, 0, 0]


def test_ease_equals_a_direct_solve_of_its_constrained_ridge_regression():
    rng = np.random.default_rng(0)
    x = (rng.random((25, 6)) < 0.4).astype(float)
    users, items = np.nonzero(x)
    data = Interactions.from_ids([f"u{u}" for u in users], [f"i{i}" for i in items])
    regularization = 3.0
    model = EASE(regularization=regularization).fit(data)
    # the model's column order is by popularity: put the matrix in that order
    columns = [int(item[1:]) for item in data.item_ids]
    rows = [int(user[1:]) for user in data.user_ids]
    x = x[np.ix_(rows, columns)]
    n = x.shape[1]
    expected = np.zeros((n, n))
    for j in range(n):  # B[:, j] = argmin |x_j - X_-j b|^2 + lambda |b|^2, B[j, j] = 0
        others = [i for i in range(n) if i != j]
        a = x[:, others]
        expected[others, j] = np.linalg.solve(a.T @ a + regularization * np.eye(n - 1), a.T @ x[:, j])
    assert np.allclose(model.similarity, expected, atol=1e-5)
    assert np.allclose(model.scores(np.arange(data.n_users)), x @ expected, atol=1e-4)


def test_ease_refuses_a_catalog_above_its_limit(monkeypatch):
    monkeypatch.setattr(EASE, "max_items", 3)
    data = Interactions.from_ids(["a", "a", "b", "b"], ["w", "x", "y", "z"])
    with pytest.raises(AppError, match="CATALOG_TOO_LARGE") as error:
        EASE().fit(data)
    assert error.value.params == {"model": "ease", "items": 4, "limit": 3}


def test_itemknn_scores_are_summed_cosine_similarities():
    data = Interactions.from_ids(["a", "a", "b", "b", "c", "c", "d"], ["x", "y", "x", "y", "x", "z", "z"])
    model = ItemKNN(neighbours=10).fit(data)
    x = data.seen.toarray()
    norms = np.linalg.norm(x, axis=0)
    cosine = (x.T @ x) / np.outer(norms, norms)
    np.fill_diagonal(cosine, 0)
    assert np.allclose(model.similarity.toarray(), cosine, atol=1e-6)
    assert np.allclose(model.scores(np.arange(4)), x @ cosine, atol=1e-6)


def test_itemknn_keeps_only_each_items_nearest_neighbours():
    data = world()
    similarity = ItemKNN(neighbours=3).fit(data).similarity
    assert max(np.diff(similarity.indptr)) <= 3


def test_history_half_life_weights_the_latest_items_most():
    day = SECONDS_PER_DAY
    data = Interactions.from_ids(
        ["a", "a", "a", "a"], ["x", "y", "x", "z"], timestamps=[1 * day, 2 * day, 5 * day, 3 * day]
    )
    recency = dict(zip(data.item_ids, data.recency(1.0).toarray()[0], strict=True))
    assert recency == {"x": 1.0, "z": 0.5, "y": 0.25}  # x's newest purchase is the latest
    assert (data.recency(None) != data.seen).nnz == 0


def test_content_prefers_the_same_ingredient_then_the_same_indication():
    attributes = pd.DataFrame(
        {
            "indication": ["fever", "fever", "fever", "cough", "cough"],
            "ingredient": ["paracetamol", "paracetamol|caffeine", "ibuprofen", "dextromethorphan", "ambroxol"],
        },
        index=pd.Index(["p1", "p2", "p3", "c1", "c2"], name="item_id"),
    )
    data = Interactions.from_ids(["a", "b", "b", "c", "c", "d"], ["p1", "c1", "c2", "p3", "c2", "c1"])
    # p2 is bought by no one and still ranks by its attributes; c2 and c1 are the most popular
    data_with_p2 = Interactions.from_ids([*data.user_ids[data.users], "e"], [*data.item_ids[data.items], "p2"])
    lists = Content(attributes).fit(data_with_p2).recommend(["a"], 4)
    assert lists[0][:2] == ["p2", "p3"]  # same ingredient first, then the same indication


def test_content_without_matching_attributes_falls_back_to_popularity_order():
    attributes = pd.DataFrame({"indication": ["fever"]}, index=pd.Index(["other"], name="item_id"))
    data = Interactions.from_ids(["a", "b", "b", "c"], ["x", "y", "z", "y"])
    assert Content(attributes).fit(data).recommend(["a"], 2) == [["y", "z"]]


def test_als_and_bpr_are_seeded():
    data = world()
    for model_class in (ALS, BPR):
        first = model_class(factors=8, iterations=5).fit(data).recommend(list(data.user_ids[:20]), 5)
        second = model_class(factors=8, iterations=5).fit(data).recommend(list(data.user_ids[:20]), 5)
        assert first == second, model_class.name


@pytest.mark.parametrize("model", [m for m in all_models() if m.name != "popularity"], ids=lambda m: m.name)
def test_every_personalised_model_learns_the_tastes(model):
    data = world()
    users = list(data.user_ids)
    lists = model.fit(data).recommend(users, 3)  # person n likes i(10 * (n % 3)) to i(10 * (n % 3) + 9)
    own = [int(item[1:]) // 10 == int(user[1:]) % 3 for user, items in zip(users, lists, strict=True) for item in items]
    assert np.mean(own) > 0.6, model.name  # a third by chance


def test_blend_chooses_weights_on_a_time_split_and_mixes_its_best_components():
    data = world(people=300)
    components = [Popularity(), ItemKNN(), EASE()]
    blend = Blend(components, size=2).fit(data)
    assert len(blend.weights) == 2 and set(blend.weights) <= {"popularity", "itemknn", "ease"}
    assert sum(blend.weights.values()) == pytest.approx(1)
    assert all(model.data is data for model, _ in blend.parts)  # refitted on all the data
    assert Blend(components, size=2).fit(data).weights == blend.weights  # seeded
    assert all(c.__dict__.get("data") is None for c in components)  # the templates stay unfitted
