"""Connectors bring outside data into the lake: files (CSV, Excel, JSON Lines, Parquet), a paged JSON API,
tables of another MySQL/PostgreSQL database, and public web pages.

A connector only reads. It yields `Batch`es of records (plain dicts, values as the source gave them) with a
checkpoint; the import run (`pipeline/imports.py`) writes each batch to the dataset's raw files and only then
saves the checkpoint, so an interrupted pull resumes after the last batch that was written. What a connector
could not read at all (a malformed line, a page that failed) it reports as a rejection with a reason; what
it read but is wrong (a bad phone number, a negative price) is for cleaning to judge.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

Record = dict[str, Any]


@dataclass
class Rejection:
    reason: str  # a stable code: malformed_row, invalid_json, http_error, robots_disallowed, no_match, …
    detail: str = ""  # what and where (line 12, page 3, the URL), for the run's report


@dataclass
class Batch:
    records: list[Record]
    checkpoint: dict[str, Any] | None = None  # where to resume once these records are written
    rejected: list[Rejection] = field(default_factory=list)
    done: int | None = None  # progress so far (rows, pages or URLs) …
    total: int | None = None  # … out of this many, when known
    unit: str = "rows"


class Connector(Protocol):
    kind: str  # file | http_api | database | scraper

    @property
    def incremental(self) -> bool:
        """Goes on from its checkpoint every run (a database table), not only after it stopped half-way."""
        ...

    def batches(self, checkpoint: dict[str, Any] | None) -> Iterator[Batch]:
        """The records, in batches; `checkpoint` is the last one saved (None: from the start)."""
        ...


class ConnectorError(Exception):
    """The source cannot be read at all (wrong URL, refused login, unknown format): the run fails with it."""


# kind -> "module:Class" under this package, imported when first used (the scraper needs parsel, etc.)
KINDS = {
    "file": "files:FileSource",
    "http_api": "http_api:HttpApiSource",
    "database": "database:DatabaseTableSource",
    "scraper": "scraper:ScraperSource",
}


def make(kind: str, config: dict[str, Any]) -> Connector:
    """The connector of this kind, configured."""
    import importlib

    if kind not in KINDS:
        raise ConnectorError(f"unknown connector kind {kind!r}: one of {', '.join(KINDS)}")
    module, cls = KINDS[kind].split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls).from_config(config)
