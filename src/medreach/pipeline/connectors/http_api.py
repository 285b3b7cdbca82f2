"""A paged JSON API: one batch per page, resumable at the page (or cursor) after the last one written.

Config (a dict, e.g. a dataset's `[source]` table):
  url, headers = {name = value}, params = {name = value}   values may use ${ENV_NAME}, read at run time
  records_path = "data.items"      dotted path to the list of records in the body ("" = the body is the list)
  pagination = "page" | "cursor"
    page:   page_param ("page"), size_param ("page_size"; "" = not sent), page_size (100), first_page (1),
            total_pages_path / has_more_path (optional; otherwise it stops at the first empty page)
    cursor: cursor_param ("cursor"), next_cursor_path (required; stops when it is null or empty),
            size_param (not sent unless given), page_size (100)
  rate_limit_per_second (5), max_retries (3), retry_backoff_seconds (0.5), timeout_seconds (30), user_agent,
  max_pages (10000: a safety cap; reaching it is reported as a `max_pages` rejection)
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from medreach.pipeline.connectors import Batch, ConnectorError, Record, Rejection
from medreach.pipeline.connectors.web import FetchError, Pacer, WebSettings, check_keys, check_url, number

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_MISSING = object()

KEYS = {
    "url",
    "headers",
    "params",
    "records_path",
    "pagination",
    "page_param",
    "size_param",
    "page_size",
    "first_page",
    "total_pages_path",
    "has_more_path",
    "cursor_param",
    "next_cursor_path",
    "max_pages",
}


def expand_env(value: Any, where: str) -> Any:
    """Replace ${NAME} in a string with the environment variable NAME (secrets stay out of config files)."""
    if not isinstance(value, str):
        return value

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ConnectorError(f"{where} needs the environment variable {name}, which is not set")
        return os.environ[name]

    return _ENV_REF.sub(lookup, value)


def dig(body: Any, path: str) -> Any:
    """The value at a dotted path ("data.items", "results.0.rows"); `_MISSING` if there is none."""
    for part in path.split(".") if path else ():
        if isinstance(body, dict) and part in body:
            body = body[part]
        elif isinstance(body, list) and part.isdigit() and int(part) < len(body):
            body = body[int(part)]
        else:
            return _MISSING
    return body


def _text_map(cfg: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = cfg.get(key, {})
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ConnectorError(f"{key} must be a table of name = value")
    return dict(value)


def _name(cfg: Mapping[str, Any], key: str, default: str | None) -> str | None:
    value = cfg.get(key, default)
    if value is not None and not isinstance(value, str):
        raise ConnectorError(f"{key} must be a string, got {value!r}")
    return value or None


@dataclass(frozen=True)
class HttpApiSource:
    """A JSON API read page by page (`pagination = "page"`) or cursor by cursor (`"cursor"`)."""

    kind: ClassVar[str] = "http_api"
    incremental: ClassVar[bool] = False

    url: str
    web: WebSettings
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    records_path: str = ""
    pagination: str = "page"
    page_param: str = "page"
    size_param: str | None = "page_size"
    page_size: int = 100
    first_page: int = 1
    total_pages_path: str | None = None
    has_more_path: str | None = None
    cursor_param: str = "cursor"
    next_cursor_path: str | None = None
    max_pages: int = 10000

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> HttpApiSource:
        check_keys(cfg, KEYS | WebSettings.KEYS, cls.kind)
        pagination = cfg.get("pagination", "page")
        if pagination not in ("page", "cursor"):
            raise ConnectorError(f'pagination must be "page" or "cursor", got {pagination!r}')
        if pagination == "cursor" and not cfg.get("next_cursor_path"):
            raise ConnectorError("cursor pagination needs next_cursor_path (where the next cursor is in the body)")
        return cls(
            url=check_url(cfg.get("url")),
            web=WebSettings.from_config(cfg, default_rate=5),
            headers=_text_map(cfg, "headers"),
            params=_text_map(cfg, "params"),
            records_path=_name(cfg, "records_path", "") or "",
            pagination=pagination,
            page_param=_name(cfg, "page_param", "page") or "page",
            size_param=_name(cfg, "size_param", "page_size" if pagination == "page" else None),
            page_size=number(cfg, "page_size", 100, minimum=1, integer=True),
            first_page=number(cfg, "first_page", 1, integer=True),
            total_pages_path=_name(cfg, "total_pages_path", None),
            has_more_path=_name(cfg, "has_more_path", None),
            cursor_param=_name(cfg, "cursor_param", "cursor") or "cursor",
            next_cursor_path=_name(cfg, "next_cursor_path", None),
            max_pages=number(cfg, "max_pages", 10000, minimum=1, integer=True),
        )

    def batches(self, checkpoint: dict[str, Any] | None) -> Iterator[Batch]:
        """One batch per page; checkpoint {"page": next page} or {"cursor": next cursor (None at the end)}."""
        headers = {k: str(expand_env(v, f"header {k}")) for k, v in self.headers.items()}
        params = {k: expand_env(v, f"param {k}") for k, v in self.params.items()}
        if self.size_param:
            params[self.size_param] = self.page_size
        with self.web.client() as client:
            fetch = _Fetcher(self, client, self.web.pacer(), headers)
            if self.pagination == "page":
                yield from self._by_page(fetch, params, checkpoint or {})
            else:
                yield from self._by_cursor(fetch, params, checkpoint or {})

    def _by_page(self, fetch: _Fetcher, params: dict[str, Any], checkpoint: dict[str, Any]) -> Iterator[Batch]:
        page = int(checkpoint.get("page", self.first_page))
        for fetched in range(1, self.max_pages + 1):
            body = fetch(f"page {page}", {**params, self.page_param: page})
            items = self._items(body, f"page {page}")
            if not items:
                return
            records, rejected = _split(items, f"page {page}")
            total = dig(body, self.total_pages_path) if self.total_pages_path else _MISSING
            total = total if isinstance(total, int) and not isinstance(total, bool) else None
            more = total is None or page < self.first_page + total - 1
            has_more = dig(body, self.has_more_path) if self.has_more_path else _MISSING
            if has_more is not _MISSING and has_more is not None:
                more = more and bool(has_more)
            if more and fetched == self.max_pages:
                rejected.append(_capped(self.max_pages, f"page {page + 1}"))
            yield Batch(
                records, {"page": page + 1}, rejected, done=page - self.first_page + 1, total=total, unit="pages"
            )
            if not more:
                return
            page += 1

    def _by_cursor(self, fetch: _Fetcher, params: dict[str, Any], checkpoint: dict[str, Any]) -> Iterator[Batch]:
        cursor = checkpoint.get("cursor")
        for fetched in range(1, self.max_pages + 1):
            where = f"page {fetched}" + (f" (cursor {cursor})" if cursor else "")
            body = fetch(where, {**params, self.cursor_param: cursor} if cursor else params)
            records, rejected = _split(self._items(body, where), where)
            assert self.next_cursor_path  # from_config makes sure
            following = dig(body, self.next_cursor_path)
            following = None if following in (_MISSING, None, "") else following
            if following is not None and following == cursor:
                raise ConnectorError(f"{self.url} {where}: the next cursor is the same as this one")
            if following is not None and fetched == self.max_pages:
                rejected.append(_capped(self.max_pages, f"cursor {following}"))
            yield Batch(records, {"cursor": following}, rejected, done=fetched, unit="pages")
            if following is None:
                return
            cursor = following

    def _items(self, body: Any, where: str) -> list[Any]:
        items = dig(body, self.records_path)
        if items is _MISSING:
            raise ConnectorError(f"{self.url} {where}: the response has no {self.records_path!r}")
        if not isinstance(items, list):
            path = repr(self.records_path) if self.records_path else "the body"
            raise ConnectorError(f"{self.url} {where}: {path} is a {type(items).__name__}, not a list")
        return items


@dataclass
class _Fetcher:
    """GETs one page of a source and parses its JSON body."""

    source: HttpApiSource
    client: httpx.Client
    pacer: Pacer
    headers: dict[str, str]

    def __call__(self, where: str, params: dict[str, Any]) -> Any:
        try:
            response = self.source.web.get(
                self.client, self.source.url, self.pacer, params=params, headers=self.headers
            )
        except FetchError as e:
            raise FetchError(f"{where}: {e}", e.status) from e
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "no content type")
            raise ConnectorError(
                f"{self.source.url} {where}: the response is not JSON ({kind}): {response.text[:80]!r}"
            ) from None


def _split(items: list[Any], where: str) -> tuple[list[Record], list[Rejection]]:
    records = [item for item in items if isinstance(item, dict)]
    rejected = [
        Rejection("not_an_object", f"{where} item {i}") for i, item in enumerate(items) if not isinstance(item, dict)
    ]
    return records, rejected


def _capped(max_pages: int, next_at: str) -> Rejection:
    return Rejection("max_pages", f"stopped at the max_pages cap of {max_pages}; not fetched from {next_at} on")
