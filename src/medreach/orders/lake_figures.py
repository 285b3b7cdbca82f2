"""Product figures from orders and reviews that exist only in the lake (the simulated world, or a system whose
orders and reviews are not in this database), so that the storefront counts them the same way as the database's
own: per product, the units sold on paid orders that no database order holds, and the reviews (with the sum of
their ratings) that no database review is behind. The profile build writes the table
(`marts/product_figures/data.parquet`, one row per product); the storefront reads it through `read`, cached until
the file changes."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

MART = Path("marts") / "product_figures"
SCHEMA = pa.schema(
    [
        ("product_id", pa.int64()),
        ("sold", pa.int64()),
        ("reviews", pa.int64()),
        ("rating_sum", pa.int64()),
    ]
)


@dataclass(frozen=True)
class Figures:
    sold: int = 0
    reviews: int = 0
    rating_sum: int = 0


_lock = threading.Lock()
_cache: dict[str, tuple[tuple[int, int], dict[int, Figures]]] = {}


def folder(lake_dir: Path) -> Path:
    return lake_dir / MART


def read(lake_dir: Path) -> dict[int, Figures]:
    """The lake's figures per product id (empty before the first build), read again only when the file changes."""
    path = folder(lake_dir) / "data.parquet"
    try:
        stat = path.stat()
    except FileNotFoundError:
        return {}
    key, stamp = str(path), (stat.st_mtime_ns, stat.st_size)
    with _lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    try:
        table = pq.read_table(path, schema=SCHEMA)
    except (OSError, pa.ArrowInvalid):  # replaced while being read: the next request reads the new one
        return cached[1] if cached is not None else {}
    rows = table.to_pydict()
    figures = {
        pid: Figures(sold or 0, reviews or 0, ratings or 0)
        for pid, sold, reviews, ratings in zip(
            rows["product_id"], rows["sold"], rows["reviews"], rows["rating_sum"], strict=True
        )
        if pid is not None
    }
    with _lock:
        _cache[key] = (stamp, figures)
    return figures


def with_ratings(
    db: dict[int, tuple[int, int]], lake: dict[int, Figures], product_ids: list[int]
) -> dict[int, tuple[float, int]]:
    """The average rating and count per product over the database's approved reviews (`db`: the sum of their
    ratings and their count) and the lake's reviews together."""
    out: dict[int, tuple[float, int]] = {}
    for pid in product_ids:
        total, n = db.get(pid, (0, 0))
        extra = lake.get(pid, Figures())
        if n + extra.reviews:
            out[pid] = (round((total + extra.rating_sum) / (n + extra.reviews), 1), n + extra.reviews)
    return out
