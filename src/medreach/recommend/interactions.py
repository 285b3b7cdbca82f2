"""Interaction data for the recommenders: string ids mapped to dense indices, the user-item matrix, files.

An interactions file is a CSV with the columns `user_id,item_id` and optionally `timestamp,weight` (others are
ignored). Ids are strings, kept exactly as written; rows with a blank id are skipped. A repeated user-item pair
adds its weights (a blank or missing weight is 1; weights must be numbers >= 0). A timestamp is a number of
seconds since the epoch or an ISO 8601 date-time (UTC unless it says otherwise); a column of blanks counts as
no timestamps.

Item indices are ordered by popularity (most distinct users first, then by id), so a model's ties are broken
towards popular items when it ranks by index.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import scipy.sparse as sp

from medreach.core.errors import AppError

VALUE_SEPARATOR = "|"  # separates several values in one item-attribute cell ("paracetamol|caffeine")
SECONDS_PER_DAY = 86_400.0


def unreadable(field: str, reason: str) -> AppError:
    return AppError(422, "IMPORT_UNREADABLE", field=field, reason=reason)


@dataclass(frozen=True, eq=False)
class Interactions:
    """Events (user, item, weight, time) over dense indices; `user_ids[i]` / `item_ids[j]` are the string ids."""

    user_ids: np.ndarray  # object array of str, by user index
    item_ids: np.ndarray  # object array of str, by item index (most popular first)
    users: np.ndarray  # int32 user index per event
    items: np.ndarray  # int32 item index per event
    weights: np.ndarray  # float64 per event
    timestamps: np.ndarray | None = None  # float64 seconds since the epoch per event

    @classmethod
    def from_ids(
        cls,
        user_ids: Sequence[str],
        item_ids: Sequence[str],
        weights: Sequence[float] | None = None,
        timestamps: Sequence[float] | None = None,
    ) -> Interactions:
        """Build from parallel sequences of string ids (and optional weights and epoch seconds)."""
        users, user_index = pd.factorize(np.asarray(user_ids, dtype=object))
        items, item_index = pd.factorize(np.asarray(item_ids, dtype=object))
        return cls.from_codes(
            users,
            np.asarray(user_index, dtype=object),
            items,
            np.asarray(item_index, dtype=object),
            None if weights is None else np.asarray(weights, dtype=np.float64),
            None if timestamps is None else np.asarray(timestamps, dtype=np.float64),
        )

    @classmethod
    def from_codes(
        cls,
        users: np.ndarray,
        user_ids: np.ndarray,
        items: np.ndarray,
        item_ids: np.ndarray,
        weights: np.ndarray | None = None,
        timestamps: np.ndarray | None = None,
    ) -> Interactions:
        """Build from integer codes into `user_ids` / `item_ids`; re-orders the items by popularity."""
        if len(users) == 0:
            raise unreadable("train", "no interactions")
        n_items = len(item_ids)
        pairs = np.unique(users.astype(np.int64) * n_items + items.astype(np.int64))
        distinct_users = np.bincount(pairs % n_items, minlength=n_items)
        by_id = np.argsort(item_ids, kind="stable")
        order = by_id[np.argsort(-distinct_users[by_id], kind="stable")]
        position = np.empty(n_items, dtype=np.int32)
        position[order] = np.arange(n_items, dtype=np.int32)
        weights = np.ones(len(users)) if weights is None else weights.astype(np.float64, copy=False)
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise unreadable("weight", "weights must be finite numbers >= 0")
        return cls(
            user_ids=np.asarray(user_ids, dtype=object),
            item_ids=np.asarray(item_ids, dtype=object)[order],
            users=users.astype(np.int32),
            items=position[items],
            weights=weights,
            timestamps=None if timestamps is None else timestamps.astype(np.float64, copy=False),
        )

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @cached_property
    def matrix(self) -> sp.csr_matrix:
        """Users x items, float32: the summed weight of each pair (pairs whose weights sum to 0 left out)."""
        summed = sp.csr_matrix((self.weights, (self.users, self.items)), shape=(self.n_users, self.n_items))
        summed.eliminate_zeros()
        return summed.astype(np.float32)

    @cached_property
    def seen(self) -> sp.csr_matrix:
        """Users x items, float32: 1 for every pair in the data, whatever its weight."""
        ones = np.ones(len(self.users), dtype=np.float32)
        seen = sp.csr_matrix((ones, (self.users, self.items)), shape=(self.n_users, self.n_items))
        seen.data[:] = 1.0
        return seen

    def recency(self, half_life: float | None) -> sp.csr_matrix:
        """Users x items, float32: 2^(-r / half_life) for a user's r-th most recent distinct item (r = 0 for the
        latest; ties by time go to the more popular item); `seen` without timestamps or a half-life."""
        if self.timestamps is None or not half_life:
            return self.seen
        pairs = self.users.astype(np.int64) * self.n_items + self.items
        latest_first = np.lexsort((self.items, -self.timestamps, self.users))  # by user, newest first
        _, newest = np.unique(pairs[latest_first], return_index=True)  # each pair's newest event
        keep = np.zeros(len(pairs), dtype=bool)
        keep[newest] = True
        users, items = self.users[latest_first][keep], self.items[latest_first][keep]
        starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
        rank = np.arange(len(users)) - np.repeat(starts, np.diff(np.r_[starts, len(users)]))
        weights = np.exp2(-rank / half_life).astype(np.float32)
        return sp.csr_matrix((weights, (users, items)), shape=(self.n_users, self.n_items))

    @cached_property
    def _user_positions(self) -> dict[str, int]:
        return {user_id: i for i, user_id in enumerate(self.user_ids.tolist())}

    def user_indices(self, user_ids: Sequence[str]) -> np.ndarray:
        """The index of each user id, -1 for a user not in the data."""
        positions = self._user_positions
        return np.fromiter((positions.get(u, -1) for u in user_ids), dtype=np.int64, count=len(user_ids))

    def subset(self, events: np.ndarray) -> Interactions:
        """The given events (a boolean mask or indices) over the same user and item indices."""
        return Interactions(
            self.user_ids,
            self.item_ids,
            self.users[events],
            self.items[events],
            self.weights[events],
            None if self.timestamps is None else self.timestamps[events],
        )

    def split(self, fraction: float, seed: int = 7) -> tuple[Interactions, Interactions]:
        """(earlier, later): the last `fraction` of the events by time; a seeded random fraction without times."""
        n = len(self.users)
        if self.timestamps is not None:
            later = np.zeros(n, dtype=bool)
            later[np.argsort(self.timestamps, kind="stable")[n - round(n * fraction) :]] = True
        else:
            later = np.random.default_rng(seed).random(n) < fraction
        return self.subset(~later), self.subset(later)


def _header(path: Path, field: str) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            header = next(csv.reader(f), None)
    except (OSError, UnicodeDecodeError) as e:
        raise unreadable(field, f"{path.name}: {e}") from e
    if not header:
        raise unreadable(field, f"{path.name} is empty")
    return [name.strip() for name in header]


def read_columns(path: Path, field: str, required: Sequence[str], optional: Sequence[str] = ()) -> dict[str, pa.Array]:
    """The named columns of a CSV file as Arrow string arrays, exactly as written (no NA guessing)."""
    header = _header(path, field)
    missing = [c for c in required if c not in header]
    if missing:
        raise unreadable(field, f"{path.name} has no {', '.join(missing)} column (columns: {', '.join(header)})")
    wanted = [c for c in (*required, *optional) if c in header]
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, block_size=1 << 24),
            convert_options=pacsv.ConvertOptions(
                include_columns=wanted,
                column_types=dict.fromkeys(wanted, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, OSError) as e:
        raise unreadable(field, f"{path.name}: {e}") from e
    return {c: table.column(c).combine_chunks() for c in wanted}


def _encode(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    encoded = pc.dictionary_encode(values)
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    return codes, np.asarray(encoded.dictionary.to_pylist(), dtype=object)


def _numbers(values: pa.Array, field: str, default: str | None = None) -> np.ndarray:
    if default is not None:
        values = pc.if_else(pc.equal(values, ""), default, values)
    try:
        return pc.cast(pc.utf8_trim_whitespace(values), pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid as e:
        raise unreadable(field, f"{field} must be a number ({e})") from e


def _timestamps(values: pa.Array) -> np.ndarray | None:
    blank = pc.equal(pc.utf8_trim_whitespace(values), "")
    blanks = pc.sum(blank).as_py() or 0
    if blanks == len(values):
        return None
    if blanks:
        raise unreadable("timestamp", f"{blanks} rows have no timestamp (give every row one, or none)")
    try:
        return _numbers(values, "timestamp")
    except AppError:
        pass
    try:
        parsed = pd.to_datetime(values.to_pandas(), utc=True, format="ISO8601")
    except (ValueError, TypeError) as e:
        raise unreadable("timestamp", f"timestamps must be epoch seconds or ISO 8601 date-times ({e})") from e
    return parsed.to_numpy(dtype="datetime64[ns]").astype(np.int64) / 1e9


def read_interactions(path: Path, field: str = "train") -> Interactions:
    """An interactions file (see the module docstring)."""
    columns = read_columns(path, field, ("user_id", "item_id"), ("timestamp", "weight"))
    keep = pc.and_(pc.not_equal(columns["user_id"], ""), pc.not_equal(columns["item_id"], ""))
    columns = {name: values.filter(keep) for name, values in columns.items()}
    if len(columns["user_id"]) == 0:
        raise unreadable(field, f"{path.name} has no interactions")
    users, user_ids = _encode(columns["user_id"])
    items, item_ids = _encode(columns["item_id"])
    weights = _numbers(columns["weight"], "weight", default="1") if "weight" in columns else None
    timestamps = _timestamps(columns["timestamp"]) if "timestamp" in columns else None
    return Interactions.from_codes(users, user_ids, items, item_ids, weights, timestamps)


def read_pairs(path: Path, field: str = "test") -> tuple[list[str], list[str]]:
    """The (user_id, item_id) rows of an interactions file, blank ids skipped."""
    columns = read_columns(path, field, ("user_id", "item_id"))
    keep = pc.and_(pc.not_equal(columns["user_id"], ""), pc.not_equal(columns["item_id"], ""))
    return columns["user_id"].filter(keep).to_pylist(), columns["item_id"].filter(keep).to_pylist()


def read_item_attributes(path: Path, field: str = "items") -> pd.DataFrame:
    """An item attributes file: `item_id` and one column per attribute; a cell may hold several `|`-separated
    values. Returns a frame of strings indexed by item_id (the first row of a repeated item wins)."""
    header = _header(path, field)
    attributes = [c for c in header if c != "item_id"]
    if not attributes:
        raise unreadable(field, f"{path.name} needs item_id and at least one attribute column")
    columns = read_columns(path, field, ("item_id", *attributes))
    frame = pd.DataFrame({name: values.to_pylist() for name, values in columns.items()})
    frame = frame[frame["item_id"] != ""].drop_duplicates("item_id")
    return frame.set_index("item_id")
