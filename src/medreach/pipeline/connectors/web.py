"""What the web connectors (`http_api`, `scraper`) share: polite pacing, one HTTP GET with retries, and the
settings every web source has (rate limit, retries, timeout, user agent)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog

from medreach.pipeline.connectors import ConnectorError

log = structlog.get_logger(__name__)

DEFAULT_USER_AGENT = "MedReachBot/1.0 (+https://medreach.example/bot)"
# A server asking us to wait longer than this is not waited for: the run fails and can resume later.
MAX_RETRY_AFTER_SECONDS = 300.0


class FetchError(ConnectorError):
    """A URL could not be fetched; `status` is the last HTTP status, None for a transport error."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Pacer:
    """At most `per_second` requests per second: keeps a minimum interval between the starts of requests."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._next = 0.0

    def slow_to(self, interval: float) -> None:
        """Never go faster than one request per `interval` seconds (e.g. a robots.txt Crawl-delay)."""
        self.interval = max(self.interval, interval)

    def wait(self) -> None:
        now = time.monotonic()
        if now < self._next:
            time.sleep(self._next - now)
            now = time.monotonic()
        self._next = now + self.interval


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # the HTTP-date form
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def get(
    client: httpx.Client,
    url: str,
    pacer: Pacer,
    *,
    max_retries: int,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    backoff_seconds: float = 0.5,
) -> httpx.Response:
    """GET `url`, paced; transport errors and 5xx are retried with exponential backoff, a 429 (or 503) after
    its Retry-After. Raises `FetchError` on 401/403, on any other 4xx, and when retries run out."""
    problem, status = "", None
    for attempt in range(max_retries + 1):
        if attempt:
            log.info("web.retry", url=url, attempt=attempt, problem=problem)
        pacer.wait()
        try:
            response = client.get(url, params=params, headers=headers)
        except httpx.TransportError as e:
            problem, status = f"{type(e).__name__}: {e}".rstrip(": "), None
            if attempt < max_retries:
                time.sleep(backoff_seconds * 2**attempt)
            continue
        status = response.status_code
        if status < 400:
            return response
        if status in (401, 403):
            raise FetchError(
                f"{url}: refused with HTTP {status}: check the auth header (or the credentials in it)", status
            )
        if status != 429 and status < 500:
            raise FetchError(f"{url}: HTTP {status}", status)
        problem = f"HTTP {status}"
        wait = _retry_after(response) if status in (429, 503) else None
        if wait is not None and wait > MAX_RETRY_AFTER_SECONDS:
            raise FetchError(f"{url}: HTTP {status} asks to retry after {wait:.0f} s; try again later", status)
        if attempt < max_retries:
            time.sleep(wait if wait is not None else backoff_seconds * 2**attempt)
    raise FetchError(f"{url}: gave up after {max_retries + 1} attempts, last: {problem}", status)


def origin(url: str) -> str:
    """scheme://host[:port] of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def check_url(url: Any, what: str = "url") -> str:
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise ConnectorError(f"{what} must be an http(s) URL, got {url!r}")
    return url


def check_keys(cfg: Mapping[str, Any], allowed: set[str], kind: str) -> None:
    """Reject misspelt settings rather than silently ignoring them (`kind` itself is always allowed)."""
    unknown = sorted(set(cfg) - allowed - {"kind"})
    if unknown:
        raise ConnectorError(f"unknown {kind} settings: {', '.join(unknown)}")


def number(cfg: Mapping[str, Any], key: str, default: float, *, minimum: float = 0, integer: bool = False) -> Any:
    value = cfg.get(key, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or value < minimum
        or (integer and not isinstance(value, int))
    ):
        kind = "an integer" if integer else "a number"
        raise ConnectorError(f"{key} must be {kind} >= {minimum}, got {value!r}")
    return value


@dataclass(frozen=True)
class WebSettings:
    """The settings every web source has; config keys of the same names."""

    rate_limit_per_second: float
    max_retries: int = 3
    retry_backoff_seconds: float = 0.5
    timeout_seconds: float = 30.0
    user_agent: str = DEFAULT_USER_AGENT

    KEYS = frozenset({"rate_limit_per_second", "max_retries", "retry_backoff_seconds", "timeout_seconds", "user_agent"})

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], *, default_rate: float) -> WebSettings:
        rate = number(cfg, "rate_limit_per_second", default_rate)
        if rate <= 0:
            raise ConnectorError("rate_limit_per_second must be > 0")
        user_agent = cfg.get("user_agent", DEFAULT_USER_AGENT)
        if not isinstance(user_agent, str) or not user_agent.strip():
            raise ConnectorError("user_agent must be a non-empty string")
        return cls(
            rate_limit_per_second=float(rate),
            max_retries=number(cfg, "max_retries", 3, integer=True),
            retry_backoff_seconds=float(number(cfg, "retry_backoff_seconds", 0.5)),
            timeout_seconds=float(number(cfg, "timeout_seconds", 30.0, minimum=0.001)),
            user_agent=user_agent.strip(),
        )

    def client(self) -> httpx.Client:
        return httpx.Client(
            timeout=self.timeout_seconds, follow_redirects=True, headers={"User-Agent": self.user_agent}
        )

    def pacer(self) -> Pacer:
        return Pacer(self.rate_limit_per_second)

    def get(
        self,
        client: httpx.Client,
        url: str,
        pacer: Pacer,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        return get(
            client,
            url,
            pacer,
            max_retries=self.max_retries,
            params=params,
            headers=headers,
            backoff_seconds=self.retry_backoff_seconds,
        )
