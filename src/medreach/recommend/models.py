"""The recommendation models. One interface: `model.fit(interactions)`, then
`model.recommend(user_ids, k, exclude_seen=True)` -> one ranked list of item ids per user.

A model scores every item for a batch of users (`scores`); the base class removes the items a user has
already interacted with and takes the top k, ties going to the more popular item. A user unknown to the
fitted data gets an empty list: the caller chooses the non-personalised fallback. No database here.

- `Popularity`: time-decayed popularity (each event's weight halves every `half_life_days` before the latest
  event; plain weight sums without timestamps).
- `ItemKNN`: item-item co-occurrence, cosine similarity, each item's `neighbours` nearest items (implicit).
- `ALS`, `BPR`: matrix factorisation with implicit (CPU); ALS weighs each pair by `alpha` x its weight.
- `EASE`: Steck's linear autoencoder (2019), closed form with L2 `regularization`; dense items x items, so
  catalogs above `EASE.max_items` are refused.
- `Content`: items similar by attributes (TF-IDF over `column=value` features, cosine): the same indication,
  the same active ingredient.
- `Blend`: a score-normalised mix of the best of the other models, chosen with its weights on a validation
  split carved from the training data by time (forward selection, see `Blend._fit`).
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from implicit.cpu.bpr import BayesianPersonalizedRanking
from implicit.nearest_neighbours import ItemItemRecommender
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.preprocessing import MultiLabelBinarizer, normalize
from threadpoolctl import threadpool_limits

from medreach.core.errors import AppError
from medreach.recommend.interactions import SECONDS_PER_DAY, VALUE_SEPARATOR, Interactions
from medreach.recommend.metrics import ndcg_at_k

SEED = 7
HISTORY_HALF_LIFE = 5.0  # item-based models weigh a user's 5th latest distinct item half as much as the latest
BATCH_CELLS = 1 << 22  # users x items scored at once (16 MiB of float32)


def top_k_rows(scores: np.ndarray, k: int) -> list[np.ndarray]:
    """Per row, the column indices of the k highest finite scores, best first; ties go to the lower index."""
    rows, n = scores.shape
    k = min(k, n)
    if k <= 0 or rows == 0:
        return [np.empty(0, dtype=np.int64) for _ in range(rows)]
    scores[np.isnan(scores)] = -np.inf
    candidates = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    kth = np.take_along_axis(scores, candidates, axis=1).min(axis=1, keepdims=True)
    above = scores > kth
    tied = scores == kth
    room = k - above.sum(axis=1, keepdims=True)
    chosen = above | (tied & (np.cumsum(tied, axis=1, dtype=np.int32) <= room))
    columns = np.nonzero(chosen)[1].reshape(rows, k)  # ascending column order within each row
    values = np.take_along_axis(scores, columns, axis=1)
    order = np.argsort(-values, axis=1, kind="stable")
    columns = np.take_along_axis(columns, order, axis=1)
    finite = np.isfinite(np.take_along_axis(values, order, axis=1))
    return [row[keep] for row, keep in zip(columns, finite, strict=True)]


def exclude(scores: np.ndarray, seen_rows: sp.csr_matrix) -> np.ndarray:
    """Set the score of every item in the users' rows of `seen_rows` to -inf (in place)."""
    rows = np.repeat(np.arange(seen_rows.shape[0]), np.diff(seen_rows.indptr))
    scores[rows, seen_rows.indices] = -np.inf
    return scores


def batches(count: int, n_items: int) -> list[slice]:
    size = max(1, BATCH_CELLS // max(n_items, 1))
    return [slice(start, min(start + size, count)) for start in range(0, count, size)]


class Recommender(ABC):
    """Fit on interactions, then score items for known users; see the module docstring."""

    name: ClassVar[str]
    data: Interactions

    def fit(self, interactions: Interactions) -> Self:
        self._fit(interactions)
        self.data = interactions
        return self

    @abstractmethod
    def _fit(self, data: Interactions) -> None: ...

    @abstractmethod
    def scores(self, users: np.ndarray) -> np.ndarray:
        """Scores of every item (columns) for the user indices `users` (rows), higher is better; a new array."""

    def top_items(self, users: np.ndarray, k: int, exclude_seen: bool = True) -> list[np.ndarray]:
        """The k best item indices for each user index, best first."""
        result: list[np.ndarray] = []
        for part in batches(len(users), self.data.n_items):
            scores = np.asarray(self.scores(users[part]), dtype=np.float32)
            if exclude_seen:
                exclude(scores, self.data.seen[users[part]])
            result.extend(top_k_rows(scores, k))
        return result

    def recommend(self, user_ids: Sequence[str], k: int, exclude_seen: bool = True) -> list[list[str]]:
        """One ranked list of at most k item ids per user id; empty for users the model has not seen."""
        users = self.data.user_indices(user_ids)
        lists: list[list[str]] = [[] for _ in user_ids]
        known = np.flatnonzero(users >= 0)
        for position, items in zip(known, self.top_items(users[known], k, exclude_seen), strict=True):
            lists[position] = self.data.item_ids[items].tolist()
        return lists


class Popularity(Recommender):
    name = "popularity"

    def __init__(self, half_life_days: float | None = 30.0):
        self.half_life_days = half_life_days

    def _fit(self, data: Interactions) -> None:
        weights = data.weights
        if data.timestamps is not None and self.half_life_days:
            age_days = (data.timestamps.max() - data.timestamps) / SECONDS_PER_DAY
            weights = weights * np.exp2(-age_days / self.half_life_days)
        self.popularity = np.bincount(data.items, weights=weights, minlength=data.n_items).astype(np.float32)

    def scores(self, users: np.ndarray) -> np.ndarray:
        return np.tile(self.popularity, (len(users), 1))


def cosine_neighbours(vectors: sp.csr_matrix, neighbours: int) -> sp.csr_matrix:
    """Items x items: each item's `neighbours` most cosine-similar items, itself left out. The columns of
    `vectors` are the items, its rows the dimensions they are compared on."""
    knn = ItemItemRecommender(K=neighbours + 1)
    knn.fit(normalize(vectors.T.astype(np.float64), norm="l2", axis=1).T.tocsr(), show_progress=False)
    similarity = knn.similarity.tocsr()
    similarity = similarity - sp.diags(similarity.diagonal())
    similarity.eliminate_zeros()
    return similarity.astype(np.float32).tocsr()


class ItemSimilarity(Recommender):
    """Scores an item by its similarity to the items in the user's history, summed; with a `history_half_life`
    the history is weighted by recency (see `Interactions.recency`)."""

    similarity: sp.csr_matrix | np.ndarray  # items x items
    history_half_life: float | None = None

    def fit(self, interactions: Interactions) -> Self:
        super().fit(interactions)
        self.history = interactions.recency(self.history_half_life)
        return self

    def scores(self, users: np.ndarray) -> np.ndarray:
        product = self.history[users] @ self.similarity
        return product.toarray() if sp.issparse(product) else np.asarray(product)


class ItemKNN(ItemSimilarity):
    name = "itemknn"

    def __init__(self, neighbours: int = 100, history_half_life: float | None = HISTORY_HALF_LIFE):
        self.neighbours, self.history_half_life = neighbours, history_half_life

    def _fit(self, data: Interactions) -> None:
        self.similarity = cosine_neighbours(data.seen, self.neighbours)


def item_features(attributes: pd.DataFrame, item_ids: np.ndarray) -> sp.csr_matrix:
    """Items x `column=value` features, TF-IDF weighted (a rare shared ingredient counts more than a common
    indication); items without attributes get an empty row."""
    aligned = attributes.reindex(pd.Index(item_ids, dtype=object)).fillna("")
    tokens = [
        [f"{column}={value.strip()}" for column, cell in row.items() for value in str(cell).split(VALUE_SEPARATOR)]
        for _, row in aligned.iterrows()
    ]
    tokens = [[t for t in item if not t.endswith("=")] for item in tokens]
    binary = MultiLabelBinarizer(sparse_output=True).fit_transform(tokens)
    if binary.shape[1] == 0:
        return sp.csr_matrix((len(item_ids), 0), dtype=np.float32)
    return sp.csr_matrix(TfidfTransformer().fit_transform(binary), dtype=np.float32)


class Content(ItemSimilarity):
    name = "content"

    def __init__(
        self, attributes: pd.DataFrame, neighbours: int = 100, history_half_life: float | None = HISTORY_HALF_LIFE
    ):
        self.attributes, self.neighbours, self.history_half_life = attributes, neighbours, history_half_life

    def _fit(self, data: Interactions) -> None:
        features = item_features(self.attributes, data.item_ids)
        if features.shape[1] == 0:
            self.similarity = sp.csr_matrix((data.n_items, data.n_items), dtype=np.float32)
        else:
            self.similarity = cosine_neighbours(features.T.tocsr(), self.neighbours)


class Factorization(Recommender):
    """Scores are dot products of user and item factors."""

    user_factors: np.ndarray
    item_factors: np.ndarray

    @abstractmethod
    def _model(self) -> AlternatingLeastSquares | BayesianPersonalizedRanking:
        """The unfitted implicit model."""

    @abstractmethod
    def _user_items(self, data: Interactions) -> sp.csr_matrix:
        """The user-item matrix the implicit model is fitted on."""

    def _fit(self, data: Interactions) -> None:
        # implicit runs one thread per core; a multi-threaded BLAS under it only slows it down.
        with threadpool_limits(1, "blas"):
            model = self._model()
            model.fit(self._user_items(data), show_progress=False)
        self.user_factors, self.item_factors = model.user_factors, model.item_factors

    def scores(self, users: np.ndarray) -> np.ndarray:
        return self.user_factors[users] @ self.item_factors.T


class ALS(Factorization):
    name = "als"

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 1.0,
        alpha: float = 5.0,
        iterations: int = 15,
        seed: int = SEED,
    ):
        self.factors, self.regularization, self.alpha = factors, regularization, alpha
        self.iterations, self.seed = iterations, seed

    def _model(self) -> AlternatingLeastSquares:
        return AlternatingLeastSquares(
            factors=self.factors,
            regularization=self.regularization,
            alpha=self.alpha,
            iterations=self.iterations,
            random_state=self.seed,
        )

    def _user_items(self, data: Interactions) -> sp.csr_matrix:
        return data.matrix  # the summed weights; implicit's confidence is alpha x weight


class BPR(Factorization):
    name = "bpr"

    def __init__(
        self,
        factors: int = 64,
        learning_rate: float = 0.05,
        regularization: float = 0.01,
        iterations: int = 50,
        seed: int = SEED,
    ):
        self.factors, self.learning_rate, self.regularization = factors, learning_rate, regularization
        self.iterations, self.seed = iterations, seed

    def _model(self) -> BayesianPersonalizedRanking:
        return BayesianPersonalizedRanking(
            factors=self.factors,
            learning_rate=self.learning_rate,
            regularization=self.regularization,
            iterations=self.iterations,
            random_state=self.seed,
            num_threads=1,  # its threads race on the factors: one thread keeps a seed's result
        )

    def _user_items(self, data: Interactions) -> sp.csr_matrix:
        return data.seen


class EASE(ItemSimilarity):
    name = "ease"
    max_items: ClassVar[int] = 20_000  # a dense float64 items x items matrix: 3.2 GB at 20,000 items

    def __init__(self, regularization: float = 250.0, history_half_life: float | None = HISTORY_HALF_LIFE):
        self.regularization, self.history_half_life = regularization, history_half_life

    def _fit(self, data: Interactions) -> None:
        if data.n_items > self.max_items:
            raise AppError(
                422, "CATALOG_TOO_LARGE", field="items", model=self.name, items=data.n_items, limit=self.max_items
            )
        x = data.seen.astype(np.float64)
        gram = (x.T @ x).toarray()
        gram[np.diag_indices_from(gram)] += self.regularization
        inverse = np.linalg.inv(gram)
        del gram
        weights = inverse / -np.diag(inverse)  # B_ij = -P_ij / P_jj
        weights[np.diag_indices_from(weights)] = 0.0
        self.similarity = weights.astype(np.float32)  # dense: scores are the history times B


def standardized(scores: np.ndarray) -> np.ndarray:
    """Each row as z-scores (a constant row becomes zeros)."""
    mean = scores.mean(axis=1, keepdims=True)
    spread = scores.std(axis=1, keepdims=True)
    return (scores - mean) / np.where(spread > 0, spread, 1.0)


class Blend(Recommender):
    """A weighted sum of the standardised scores of up to `size` other models, chosen on a validation split."""

    name = "blend"

    def __init__(
        self,
        components: Sequence[Recommender],
        size: int = 3,
        validation_fraction: float = 0.1,
        k: int = 10,
        step: float = 0.1,
        max_validation_users: int = 1000,
        seed: int = SEED,
    ):
        self.components, self.size, self.validation_fraction, self.k = list(components), size, validation_fraction, k
        self.step, self.max_validation_users, self.seed = step, max_validation_users, seed

    def _fit(self, data: Interactions) -> None:
        """Carve the latest `validation_fraction` of the events off the data (`Interactions.split`: by time),
        fit every component on the rest and score NDCG@k on the carved-off items new to each user. Start from
        the best component; then, while it helps and fewer than `size` are in, add the component and weight
        (in steps of `step`, the others scaled down to make room) that raise the mix's NDCG@k most. Finally
        refit the chosen components on all the data."""
        earlier, later = data.split(self.validation_fraction, self.seed)
        validation = _Validation(earlier, later, self.k, self.max_validation_users, self.seed)
        trials: dict[int, np.ndarray] = {}
        for number, template in enumerate(self.components):
            try:
                trials[number] = validation.standardized_scores(copy.copy(template).fit(earlier))
            except AppError as e:
                if e.code != "CATALOG_TOO_LARGE":
                    raise
        if not validation.users.size or not trials:  # nothing to validate on: the first component alone
            weights = {next(iter(trials), 0): 1.0}
        else:
            alone = {number: validation.ndcg(scores) for number, scores in trials.items()}
            weights = {max(alone, key=lambda n: alone[n]): 1.0}
            quality = max(alone.values())
            while len(weights) < self.size:
                best = quality, weights
                for number in trials.keys() - weights.keys():
                    for share in np.arange(1, round(0.5 / self.step) + 1) * self.step:
                        mix = {n: w * (1 - share) for n, w in weights.items()} | {number: float(share)}
                        ndcg = validation.ndcg(sum(w * trials[n] for n, w in mix.items()))
                        if ndcg > best[0] + 1e-12:
                            best = ndcg, mix
                if best[1] is weights:
                    break
                quality, weights = best
        self.weights = {self.components[n].name: round(float(w), 6) for n, w in weights.items()}
        self.parts = [(copy.copy(self.components[n]).fit(data), w) for n, w in weights.items()]

    def scores(self, users: np.ndarray) -> np.ndarray:
        mixed = np.zeros((len(users), self.data.n_items), dtype=np.float32)
        for model, weight in self.parts:
            mixed += weight * standardized(model.scores(users))
        return mixed


class _Validation:
    """The blend's validation users (a seeded sample of those active before the cut with items new to them
    after it), their relevant items and how a mix of scores ranks them."""

    def __init__(self, earlier: Interactions, later: Interactions, k: int, max_users: int, seed: int):
        new = (later.seen - later.seen.multiply(earlier.seen)).tocsr()
        new.eliminate_zeros()
        users = np.flatnonzero((np.diff(new.indptr) > 0) & (np.diff(earlier.seen.indptr) > 0))
        if len(users) > max_users:
            users = np.sort(np.random.default_rng(seed).choice(users, max_users, replace=False))
        self.users, self.k = users, k
        self.relevant = [set(new.indices[new.indptr[u] : new.indptr[u + 1]].tolist()) for u in users]
        self.seen = earlier.seen[users]

    def standardized_scores(self, model: Recommender) -> np.ndarray:
        return standardized(np.asarray(model.scores(self.users), dtype=np.float32)).astype(np.float32)

    def ndcg(self, scores: np.ndarray) -> float:
        top = top_k_rows(exclude(np.array(scores, dtype=np.float32), self.seen), self.k)
        return sum(ndcg_at_k(t.tolist(), r, self.k) for t, r in zip(top, self.relevant, strict=True)) / len(top)


def default_models(attributes: pd.DataFrame | None = None, half_life_days: float | None = 30.0) -> list[Recommender]:
    """Every model with its default settings (the content model only with item attributes), the blend last."""
    models: list[Recommender] = [Popularity(half_life_days), ItemKNN(), ALS(), BPR(), EASE()]
    if attributes is not None:
        models.append(Content(attributes))
    # BPR, the slowest to train and the weakest in every benchmark, is left out of the blend
    return [*models, Blend([m for m in models if m.name != BPR.name])]
