"""Polite scraping of public pages (e.g. a competitor's price list), one batch per page.

Config (a dict, or a per-site TOML file read with `ScraperSource.load`, see `data/sites/`):
  site, start_urls = [...]
  follow = selector of links to follow (a::attr(href), or the <a> elements), allowed_prefix (a URL prefix or a list;
           default: the start URLs' sites), max_pages (1000 URLs in all)
  item = selector of each item on a page (default: the page is one item)
  fields = {name = selector}: CSS (with ::text / ::attr(name)), or XPath when it starts with "/", "./" or "(";
           an element without ::text gives its text content. Values are stripped strings, None if nothing matched.
  rate_limit_per_second (1; a larger robots.txt Crawl-delay or Request-rate wins), user_agent,
  respect_robots (true), max_retries (2), retry_backoff_seconds (1), timeout_seconds (30)

Each record is {site, url, scraped_at (UTC ISO), **fields}; an item whose fields all came out empty is skipped. A page
is rejected with: robots_disallowed (not fetched), http_error (after retries), not_html, or no_match (no items
and no links matched by `follow`: a page that only links to items is a listing page, not a miss).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx
import parsel
from protego import Protego

from medreach.pipeline.connectors import Batch, ConnectorError, Record, Rejection
from medreach.pipeline.connectors.web import FetchError, Pacer, WebSettings, check_keys, check_url, number, origin

SITES_DIR = Path(__file__).resolve().parent.parent / "data" / "sites"
KEYS = {"site", "start_urls", "follow", "allowed_prefix", "max_pages", "item", "fields", "respect_robots"}
RESERVED_FIELDS = {"site", "url", "scraped_at"}
_SPACE = re.compile(r"\s+")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w-]+)""", re.IGNORECASE)


def select(node: parsel.Selector, query: str) -> parsel.SelectorList:
    """XPath when the query starts like one, CSS otherwise."""
    return node.xpath(query) if query.startswith(("/", "./", "(")) else node.css(query)


def text_of(nodes: parsel.SelectorList) -> str | None:
    """The matched strings (or elements' text content) joined, with whitespace collapsed."""
    parts = [n.root if isinstance(n.root, str) else n.xpath("string()").get("") for n in nodes]
    text = _SPACE.sub(" ", " ".join(str(p) for p in parts)).strip()
    return text or None


def html_text(response: httpx.Response) -> str:
    """The page's text, decoded by the HTTP charset or else the page's <meta charset> (GBK pages often have only
    that), or else UTF-8."""
    if response.charset_encoding is None and (meta := _META_CHARSET.search(response.content[:4096])):
        try:
            return response.content.decode(meta.group(1).decode("ascii"), errors="replace")
        except LookupError:
            pass
    return response.text


def _check_selector(query: Any, what: str) -> str:
    if not isinstance(query, str) or not query.strip():
        raise ConnectorError(f"{what} must be a non-empty selector string")
    try:
        select(parsel.Selector(text="<html></html>"), query.strip())
    except Exception as e:  # parsel raises several kinds (cssselect, lxml) for a bad selector
        raise ConnectorError(f"{what}: bad selector {query!r}: {e}") from e
    return query.strip()


@dataclass(frozen=True)
class ScraperSource:
    """Public pages of one site: start URLs, links followed within the site, items and fields by selectors."""

    kind: ClassVar[str] = "scraper"
    incremental: ClassVar[bool] = False

    site: str
    start_urls: tuple[str, ...]
    fields: Mapping[str, str]
    web: WebSettings
    item: str | None = None
    follow: str | None = None
    allowed_prefixes: tuple[str, ...] = ()
    max_pages: int = 1000
    respect_robots: bool = True

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> ScraperSource:
        check_keys(cfg, KEYS | WebSettings.KEYS, cls.kind)
        site = cfg.get("site")
        if not isinstance(site, str) or not site.strip():
            raise ConnectorError("site must be a name")
        start = cfg.get("start_urls")
        if isinstance(start, str):
            start = [start]
        if not isinstance(start, list) or not start:
            raise ConnectorError("start_urls must be a list of URLs")
        start_urls = tuple(dict.fromkeys(urldefrag(check_url(u, "start_urls")).url for u in start))
        fields = cfg.get("fields")
        if not isinstance(fields, dict) or not fields:
            raise ConnectorError("fields must be a table of name = selector")
        if clash := RESERVED_FIELDS & set(fields):
            raise ConnectorError(f"fields may not be named {', '.join(sorted(clash))}: every record has them")
        prefix = cfg.get("allowed_prefix")
        if prefix is None:
            prefixes = tuple(dict.fromkeys(origin(u) + "/" for u in start_urls))
        else:
            listed = prefix if isinstance(prefix, list) else [prefix]
            prefixes = tuple(check_url(p, "allowed_prefix") for p in listed)
        respect = cfg.get("respect_robots", True)
        if not isinstance(respect, bool):
            raise ConnectorError("respect_robots must be true or false")
        return cls(
            site=site.strip(),
            start_urls=start_urls,
            fields={str(k): _check_selector(v, f"fields.{k}") for k, v in fields.items()},
            web=WebSettings.from_config({"max_retries": 2, "retry_backoff_seconds": 1.0, **cfg}, default_rate=1),
            item=_check_selector(cfg["item"], "item") if cfg.get("item") is not None else None,
            follow=_check_selector(cfg["follow"], "follow") if cfg.get("follow") is not None else None,
            allowed_prefixes=prefixes,
            max_pages=number(cfg, "max_pages", 1000, minimum=1, integer=True),
            respect_robots=respect,
        )

    @classmethod
    def load(cls, path: str | Path) -> ScraperSource:
        """A per-site TOML file; `site` defaults to the file's name. A bare name is looked up in data/sites/."""
        path = Path(path)
        if not path.suffix and not path.exists():
            path = SITES_DIR / f"{path}.toml"
        try:
            cfg = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ConnectorError(f"site config {path}: {e}") from e
        return cls.from_config({"site": path.stem, **cfg})

    def batches(self, checkpoint: dict[str, Any] | None) -> Iterator[Batch]:
        """One batch per URL; checkpoint {"frontier": [URLs found so far], "next": index of the next to fetch}."""
        frontier = list((checkpoint or {}).get("frontier") or self.start_urls)
        position = int((checkpoint or {}).get("next", 0))
        crawl = _Crawl(self)
        with self.web.client() as client:
            while position < len(frontier):
                url = frontier[position]
                records, rejected = crawl.page(client, url, frontier)
                position += 1
                yield Batch(
                    records,
                    {"frontier": list(frontier), "next": position},
                    rejected,
                    done=position,
                    total=len(frontier),
                    unit="pages",
                )

    def allowed(self, url: str) -> bool:
        return urlsplit(url).scheme in ("http", "https") and url.startswith(self.allowed_prefixes)


@dataclass
class _Crawl:
    """One run's state: a pacer and the robots.txt rules per host."""

    source: ScraperSource
    pacers: dict[str, Pacer] = field(default_factory=dict)
    robots: dict[str, Protego | bool] = field(default_factory=dict)  # True: all allowed, False: none

    def pacer(self, url: str) -> Pacer:
        host = origin(url)
        if host not in self.pacers:
            self.pacers[host] = self.source.web.pacer()
        return self.pacers[host]

    def may_fetch(self, client: httpx.Client, url: str) -> bool:
        if not self.source.respect_robots:
            return True
        host = origin(url)
        if host not in self.robots:
            self.robots[host] = self._robots(client, host)
        rules = self.robots[host]
        return rules if isinstance(rules, bool) else rules.can_fetch(url, self.source.web.user_agent)

    def _robots(self, client: httpx.Client, host: str) -> Protego | bool:
        try:
            response = self.source.web.get(client, f"{host}/robots.txt", self.pacer(host))
        except FetchError as e:
            # RFC 9309: robots.txt unavailable (4xx) means no rules; unreachable (5xx, network) means keep out.
            return e.status is not None and 400 <= e.status < 500 and e.status != 429
        rules = Protego.parse(response.text)
        agent = self.source.web.user_agent
        delay = rules.crawl_delay(agent)
        rate = rules.request_rate(agent)
        if rate and rate.requests:
            delay = max(delay or 0, rate.seconds / rate.requests)
        if delay:
            self.pacer(host).slow_to(float(delay))
        return rules

    def page(self, client: httpx.Client, url: str, frontier: list[str]) -> tuple[list[Record], list[Rejection]]:
        """Fetch and read one page; links it has are appended to `frontier`."""
        if not self.may_fetch(client, url):
            return [], [Rejection("robots_disallowed", url)]
        try:
            response = self.source.web.get(client, url, self.pacer(url))
        except FetchError as e:
            return [], [Rejection("http_error", f"{url}: {e.status or e}")]
        content_type = response.headers.get("Content-Type", "text/html")
        if "html" not in content_type and "xml" not in content_type:
            return [], [Rejection("not_html", f"{url}: {content_type}")]
        page = parsel.Selector(text=html_text(response))
        followed = self._follow(page, str(response.url), frontier)
        scraped_at = datetime.now(UTC).isoformat(timespec="seconds")
        items = select(page, self.source.item) if self.source.item else [page]
        records = []
        for node in items:
            values = {name: text_of(select(node, query)) for name, query in self.source.fields.items()}
            if any(v is not None for v in values.values()):
                records.append({"site": self.source.site, "url": url, "scraped_at": scraped_at, **values})
        if not records and not followed:
            return [], [Rejection("no_match", url)]
        return records, []

    def _follow(self, page: parsel.Selector, base: str, frontier: list[str]) -> int:
        """Append the new in-site links (up to max_pages URLs in all); how many links matched the selector."""
        if not self.source.follow:
            return 0
        # A selector may give the hrefs themselves (a::attr(href)) or the link elements (a.product).
        found = (n.root if isinstance(n.root, str) else n.attrib.get("href") for n in select(page, self.source.follow))
        hrefs = [h.strip() for h in found if h and h.strip()]
        known = set(frontier)
        for href in hrefs:
            link = urldefrag(urljoin(base, href)).url
            if len(frontier) >= self.source.max_pages:
                break
            if link not in known and self.source.allowed(link):
                frontier.append(link)
                known.add(link)
        return len(hrefs)
