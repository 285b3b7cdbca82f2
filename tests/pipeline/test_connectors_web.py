"""The web connectors against real local HTTP servers: a paged JSON API (pages, cursors, auth from the
environment, pacing, retries, resume) and a polite scraper (robots.txt, Crawl-delay, links, selectors)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from medreach.pipeline.connectors import Batch, ConnectorError
from medreach.pipeline.connectors.http_api import HttpApiSource
from medreach.pipeline.connectors.scraper import ScraperSource
from medreach.pipeline.connectors.web import DEFAULT_USER_AGENT, Pacer

FAST = {"rate_limit_per_second": 500, "retry_backoff_seconds": 0.01}


@dataclass
class Hit:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float


Reply = tuple[int, dict[str, str], str | bytes]
App = Callable[[Hit], Reply]


@dataclass
class Server:
    """A real HTTP server on a free local port; `app` answers each GET, `hits` logs every request."""

    app: App
    hits: list[Hit] = field(default_factory=list)
    url: str = ""

    def paths(self) -> list[str]:
        return [h.path for h in self.hits]


@pytest.fixture
def serve() -> Iterator[Callable[[App], Server]]:
    started: list[ThreadingHTTPServer] = []

    def start(app: App) -> Server:
        server = Server(app)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                hit = Hit(parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()},
                          {k.lower(): v for k, v in self.headers.items()}, time.monotonic())
                server.hits.append(hit)
                status, headers, body = server.app(hit)
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        started.append(httpd)
        server.url = f"http://127.0.0.1:{httpd.server_port}"
        return server

    yield start
    for httpd in started:
        httpd.shutdown()
        httpd.server_close()


def ok(body: object) -> Reply:
    return 200, {}, json.dumps(body)


def paged_api(pages: int, per_page: int = 2) -> App:
    """Pages 1..pages of {"data": {"items": [...]}}, then empty pages."""

    def app(hit: Hit) -> Reply:
        page = int(hit.query.get("page", "1"))
        items = [{"id": (page - 1) * per_page + i} for i in range(per_page)] if page <= pages else []
        return ok({"data": {"items": items}, "meta": {"total_pages": pages, "more": page < pages}})

    return app


def pages_asked(server: Server) -> list[int]:
    return [int(h.query["page"]) for h in server.hits]


def collect(batches: Iterator[Batch]) -> tuple[list[Batch], ConnectorError | None]:
    """Every batch yielded, and the error that ended the run early, if one did."""
    seen: list[Batch] = []
    try:
        for batch in batches:
            seen.append(batch)
    except ConnectorError as e:
        return seen, e
    return seen, None


def api(server: Server, **cfg: object) -> HttpApiSource:
    return HttpApiSource.from_config({"url": f"{server.url}/v1/items", "records_path": "data.items", **FAST, **cfg})


# --- HTTP API --------------------------------------------------------------------------------------------------


def test_page_pagination_with_the_auth_header_from_the_environment(serve, monkeypatch):
    pages = paged_api(3)
    server = serve(lambda hit: pages(hit) if hit.headers.get("authorization") == "Bearer s3cret"
                   else (401, {}, '{"error": "unauthorized"}'))
    source = api(server, headers={"Authorization": "Bearer ${SUPPLIER_TOKEN}"}, page_size=2)
    assert source.kind == "http_api" and source.incremental is False

    monkeypatch.delenv("SUPPLIER_TOKEN", raising=False)
    with pytest.raises(ConnectorError, match="SUPPLIER_TOKEN"):
        list(source.batches(None))
    assert server.hits == []  # nothing is sent without the secret

    monkeypatch.setenv("SUPPLIER_TOKEN", "s3cret")
    batches = list(source.batches(None))
    assert [r["id"] for b in batches for r in b.records] == [0, 1, 2, 3, 4, 5]
    assert [b.checkpoint for b in batches] == [{"page": 2}, {"page": 3}, {"page": 4}]
    assert [(b.done, b.total, b.unit) for b in batches] == [(1, None, "pages"), (2, None, "pages"),
                                                            (3, None, "pages")]
    assert pages_asked(server) == [1, 2, 3, 4]  # stopped at the first empty page
    assert {h.query["page_size"] for h in server.hits} == {"2"}
    assert all(h.headers["user-agent"] == DEFAULT_USER_AGENT for h in server.hits)

    monkeypatch.setenv("SUPPLIER_TOKEN", "wrong")
    server.hits.clear()
    with pytest.raises(ConnectorError, match=r"refused with HTTP 401: check the auth header"):
        list(source.batches(None))
    assert len(server.hits) == 1  # a refusal is not retried


@pytest.mark.parametrize("stop", [{"total_pages_path": "meta.total_pages"}, {"has_more_path": "meta.more"}])
def test_pages_stop_when_the_body_says_so(serve, stop):
    server = serve(paged_api(3))
    batches = list(api(server, **stop).batches(None))
    assert pages_asked(server) == [1, 2, 3]  # no request for an empty page 4
    assert len(batches) == 3 and batches[-1].checkpoint == {"page": 4}
    assert [b.total for b in batches] == ([3, 3, 3] if "total_pages_path" in stop else [None] * 3)


def test_max_pages_caps_a_run_and_says_so(serve):
    server = serve(paged_api(10))
    batches = list(api(server, max_pages=2).batches(None))
    assert pages_asked(server) == [1, 2]
    assert batches[-1].checkpoint == {"page": 3}
    assert [r.reason for r in batches[-1].rejected] == ["max_pages"]


def test_cursor_pagination_and_resume_from_a_cursor(serve):
    chain = {None: ("a", [1, 2]), "a": ("b", [3]), "b": ("", [4, 5])}

    def app(hit: Hit) -> Reply:
        following, ids = chain[hit.query.get("after")]
        return ok({"results": [{"id": i} for i in ids], "paging": {"next": following or None}})

    server = serve(app)
    source = HttpApiSource.from_config({"url": f"{server.url}/v2/orders", "pagination": "cursor",
                                        "records_path": "results", "cursor_param": "after",
                                        "next_cursor_path": "paging.next", **FAST})
    batches = list(source.batches(None))
    assert [[r["id"] for r in b.records] for b in batches] == [[1, 2], [3], [4, 5]]
    assert [b.checkpoint for b in batches] == [{"cursor": "a"}, {"cursor": "b"}, {"cursor": None}]
    assert [h.query.get("after") for h in server.hits] == [None, "a", "b"]
    assert "page_size" not in server.hits[0].query  # no size parameter unless one is configured

    server.hits.clear()
    resumed = list(source.batches({"cursor": "b"}))
    assert [h.query.get("after") for h in server.hits] == ["b"]
    assert [r["id"] for b in resumed for r in b.records] == [4, 5]


def test_the_rate_limit_spaces_requests(serve):
    server = serve(paged_api(5))
    list(api(server, rate_limit_per_second=5).batches(None))
    times = [h.at for h in server.hits]
    assert len(times) == 6
    # Arrival times at the server jitter by a few milliseconds either way; the span does not accumulate it.
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 0.2 - 0.03, gaps
    assert times[-1] - times[0] >= 5 * 0.2 - 0.02


def test_pacer_alone():
    pacer = Pacer(20)
    started = time.monotonic()
    for _ in range(5):
        pacer.wait()
    assert time.monotonic() - started >= 4 * 0.05 - 0.005  # the first request does not wait


def test_a_server_error_is_retried(serve):
    failed: set[int] = set()
    pages = paged_api(3)

    def app(hit: Hit) -> Reply:
        page = int(hit.query["page"])
        if page == 2 and page not in failed:
            failed.add(page)
            return 500, {}, "oops"
        return pages(hit)

    server = serve(app)
    batches = list(api(server).batches(None))
    assert [r["id"] for b in batches for r in b.records] == [0, 1, 2, 3, 4, 5]
    assert pages_asked(server) == [1, 2, 2, 3, 4]


def test_429_waits_for_retry_after(serve):
    limited: list[bool] = []
    pages = paged_api(2)

    def app(hit: Hit) -> Reply:
        if hit.query["page"] == "2" and not limited:
            limited.append(True)
            return 429, {"Retry-After": "1"}, '{"error": "slow down"}'
        return pages(hit)

    server = serve(app)
    batches = list(api(server).batches(None))
    assert len(batches) == 2
    assert pages_asked(server) == [1, 2, 2, 3]
    assert server.hits[2].at - server.hits[1].at >= 1.0 - 0.02


def test_retries_run_out(serve):
    server = serve(lambda hit: (503, {}, "down"))
    with pytest.raises(ConnectorError, match=r"page 1: .* gave up after 3 attempts, last: HTTP 503"):
        list(api(server, max_retries=2).batches(None))
    assert len(server.hits) == 3


def test_a_failed_run_resumes_at_the_page_that_failed(serve):
    pages = paged_api(4)
    broken = [True]

    def app(hit: Hit) -> Reply:
        if hit.query["page"] == "3" and broken[0]:
            return 500, {}, "database is down"
        return pages(hit)

    server = serve(app)
    source = api(server, max_retries=1)
    batches, error = collect(source.batches(None))
    assert error is not None and "page 3" in str(error)
    assert [r["id"] for b in batches for r in b.records] == [0, 1, 2, 3]
    assert batches[-1].checkpoint == {"page": 3}

    broken[0] = False
    server.hits.clear()
    resumed = list(source.batches(batches[-1].checkpoint))
    assert pages_asked(server) == [3, 4, 5]
    assert [r["id"] for b in resumed for r in b.records] == [4, 5, 6, 7]
    assert [b.done for b in resumed] == [3, 4]


def test_items_that_are_not_objects_are_rejected(serve):
    server = serve(lambda hit: ok([{"id": 1}, "junk", {"id": 2}, 7]) if hit.query["page"] == "1" else ok([]))
    batches = list(HttpApiSource.from_config({"url": f"{server.url}/list", **FAST}).batches(None))
    assert batches[0].records == [{"id": 1}, {"id": 2}]
    assert [(r.reason, r.detail) for r in batches[0].rejected] == [("not_an_object", "page 1 item 1"),
                                                                   ("not_an_object", "page 1 item 3")]


@pytest.mark.parametrize(("reply", "message"), [
    ((200, {"Content-Type": "text/html"}, "<html>maintenance</html>"), "not JSON"),
    ((200, {}, '{"rows": []}'), "no 'data.items'"),
    ((200, {}, '{"data": {"items": {"id": 1}}}'), "not a list"),
    ((404, {}, "{}"), "HTTP 404"),
])
def test_an_unreadable_body_fails_the_run(serve, reply, message):
    server = serve(lambda hit: reply)
    with pytest.raises(ConnectorError, match=message):
        list(api(server).batches(None))


@pytest.mark.parametrize(("cfg", "message"), [
    ({"url": "ftp://x/y"}, "http"),
    ({"url": "http://x/y", "pagination": "offset"}, "pagination"),
    ({"url": "http://x/y", "pagination": "cursor"}, "next_cursor_path"),
    ({"url": "http://x/y", "page_sise": 10}, "unknown http_api settings: page_sise"),
    ({"url": "http://x/y", "rate_limit_per_second": 0}, "rate_limit_per_second"),
])
def test_bad_api_config(cfg, message):
    with pytest.raises(ConnectorError, match=message):
        HttpApiSource.from_config(cfg)


# --- scraper ---------------------------------------------------------------------------------------------------

PRODUCT = """<html><body><div class="product-detail" data-sku="{sku}">
  <h1> {name} </h1><span class="price">¥ <b>{price}</b></span>
  <dl><dt>Specification</dt><dd> {spec} </dd></dl></div></body></html>"""
PRODUCTS = {"1": ("Ibuprofen 200mg", "12.50", "24 tablets"), "2": ("Vitamin C", "30.00", "60 capsules"),
            "3": ("Secret", "1.00", "x")}


def site(robots: str | None = "User-agent: *\nDisallow: /private\n", robots_status: int = 200) -> App:
    """A small shop: /shop lists products (and one off-site link), /p/N are products, /prices is a table."""

    def app(hit: Hit) -> Reply:
        html = {"Content-Type": "text/html; charset=utf-8"}
        if hit.path == "/robots.txt":
            return (robots_status, {"Content-Type": "text/plain"}, robots or "") if robots is not None else (
                404, html, "not found")
        if hit.path == "/shop":
            port = hit.headers["host"].rsplit(":", 1)[1]
            links = ["/p/1", "p/2#reviews", "/p/1", "/private/p/3", f"http://localhost:{port}/p/2", "/empty"]
            body = "".join(f'<a class="product" href="{href}">x</a>' for href in links)
            return 200, html, f"<html><body>{body}<a href='/about'>about</a></body></html>"
        if hit.path.startswith(("/p/", "/private/p/")):
            name, price, spec = PRODUCTS[hit.path.rsplit("/", 1)[1]]
            return 200, html, PRODUCT.format(sku="SKU" + hit.path[-1], name=name, price=price, spec=spec)
        if hit.path == "/prices":
            rows = "".join(f"<tr class='product'><td class='name'>{n}</td><td class='price'>{p}</td>"
                           f"<td class='spec'><i>{s}</i> pack</td></tr>" for n, p, s in PRODUCTS.values())
            return 200, html, f"<html><body><table class='prices'><tr><th>Name</th></tr>{rows}</table></body></html>"
        if hit.path == "/gbk":  # a page whose charset is only in its <meta>
            page = '<html><head><meta charset="gbk"></head><body><h1>布洛芬缓释胶囊</h1></body></html>'
            return 200, {"Content-Type": "text/html"}, page.encode("gbk")
        if hit.path == "/broken":
            return 500, html, "oops"
        if hit.path == "/empty":
            return 200, html, "<html><body><p>Nothing here</p></body></html>"
        return 404, html, "not found"

    return app


PRODUCT_FIELDS = {"name": "div.product-detail h1::text", "price": "span.price",
                  "spec": "//dt[text()='Specification']/following-sibling::dd[1]/text()",
                  "sku": "div.product-detail::attr(data-sku)"}


def scraper(server: Server, start: list[str], **cfg: object) -> ScraperSource:
    return ScraperSource.from_config({"site": "shop", "start_urls": [server.url + p for p in start],
                                      "fields": PRODUCT_FIELDS, **FAST, **cfg})


def test_crawl_follows_links_within_the_site_and_obeys_robots(serve):
    server = serve(site())
    source = scraper(server, ["/shop"], follow="a.product")
    assert source.kind == "scraper" and source.incremental is False
    batches = list(source.batches(None))

    records = [r for b in batches for r in b.records]
    assert [(r["url"], r["name"], r["price"], r["spec"], r["sku"]) for r in records] == [
        (server.url + "/p/1", "Ibuprofen 200mg", "¥ 12.50", "24 tablets", "SKU1"),
        (server.url + "/p/2", "Vitamin C", "¥ 30.00", "60 capsules", "SKU2"),
    ]
    assert all(datetime.fromisoformat(r["scraped_at"]).utcoffset().total_seconds() == 0 for r in records)
    rejected = [(r.reason, r.detail) for b in batches for r in b.rejected]
    assert rejected == [("robots_disallowed", server.url + "/private/p/3"), ("no_match", server.url + "/empty")]
    # robots.txt read once; the disallowed page, the off-site link (localhost) and the duplicate never asked for.
    assert server.paths() == ["/robots.txt", "/shop", "/p/1", "/p/2", "/empty"]
    assert all(h.headers["user-agent"] == DEFAULT_USER_AGENT for h in server.hits)
    assert batches[-1].checkpoint == {"frontier": [server.url + p for p in
                                                   ["/shop", "/p/1", "/p/2", "/private/p/3", "/empty"]], "next": 5}
    assert [(b.done, b.total) for b in batches] == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]


def test_items_with_css_and_relative_xpath_fields(serve):
    server = serve(site())
    source = scraper(server, ["/prices", "/empty"], item="table.prices tr.product",
                     fields={"name": "td.name::text", "price": "./td[@class='price']/text()", "spec": "td.spec"})
    batches = list(source.batches(None))
    assert [{k: r[k] for k in ("name", "price", "spec")} for r in batches[0].records] == [
        {"name": n, "price": p, "spec": f"{s} pack"} for n, p, s in PRODUCTS.values()]
    assert [(r.reason, r.detail) for r in batches[1].rejected] == [("no_match", server.url + "/empty")]


def test_a_page_in_gbk_is_decoded_by_its_meta_charset(serve):
    server = serve(site())
    batches = list(scraper(server, ["/gbk"], fields={"name": "h1::text"}).batches(None))
    assert batches[0].records[0]["name"] == "布洛芬缓释胶囊"


def test_crawl_delay_wins_over_a_faster_rate(serve):
    server = serve(site("User-agent: *\nCrawl-delay: 0.3\n"))
    list(scraper(server, ["/p/1", "/p/2", "/prices"], rate_limit_per_second=100).batches(None))
    times = [h.at for h in server.hits]
    assert len(times) == 4  # robots.txt and three pages
    gaps = [b - a for a, b in zip(times[1:], times[2:], strict=False)]
    assert min(gaps) >= 0.3 - 0.03, gaps
    assert times[-1] - times[1] >= 2 * 0.3 - 0.02


def test_robots_rules_for_our_agent(serve):
    server = serve(site("User-agent: MedReachBot\nDisallow: /p/2\n\nUser-agent: *\nDisallow: /\n"))
    batches = list(scraper(server, ["/p/1", "/p/2"]).batches(None))
    assert [r["name"] for b in batches for r in b.records] == ["Ibuprofen 200mg"]
    assert [r.reason for r in batches[1].rejected] == ["robots_disallowed"]
    assert server.paths() == ["/robots.txt", "/p/1"]


@pytest.mark.parametrize(("robots", "status", "fetched"), [
    (None, 404, ["/robots.txt", "/p/1"]),  # no robots.txt: everything is allowed
    ("", 500, ["/robots.txt"] * 3),  # robots.txt failing: nothing is (after its retries)
])
def test_robots_txt_missing_or_failing(serve, robots, status, fetched):
    server = serve(site(robots, status))
    batches = list(scraper(server, ["/p/1"], max_retries=2).batches(None))
    assert server.paths() == fetched
    if status == 404:
        assert batches[0].records[0]["name"] == "Ibuprofen 200mg"
    else:
        assert batches[0].records == [] and batches[0].rejected[0].reason == "robots_disallowed"


def test_respect_robots_can_be_turned_off(serve):
    server = serve(site("User-agent: *\nDisallow: /\n"))
    batches = list(scraper(server, ["/p/1"], respect_robots=False).batches(None))
    assert server.paths() == ["/p/1"] and len(batches[0].records) == 1


def test_a_failing_page_is_rejected_and_the_crawl_goes_on(serve):
    server = serve(site())
    batches = list(scraper(server, ["/broken", "/nowhere", "/p/2"], max_retries=1).batches(None))
    assert [(r.reason, r.detail) for b in batches for r in b.rejected] == [
        ("http_error", server.url + "/broken: 500"), ("http_error", server.url + "/nowhere: 404")]
    assert server.paths().count("/broken") == 2 and server.paths().count("/nowhere") == 1  # a 404 is not retried
    assert [r["name"] for r in batches[2].records] == ["Vitamin C"]


def test_a_resumed_crawl_skips_the_pages_already_written(serve):
    server = serve(site())
    source = scraper(server, ["/shop"], follow="a.product")
    first = source.batches(None)
    written = [next(first), next(first)]  # /shop and /p/1, then the run stops
    first.close()
    assert written[-1].checkpoint["next"] == 2

    server.hits.clear()
    rest = list(source.batches(written[-1].checkpoint))
    assert server.paths() == ["/robots.txt", "/p/2", "/empty"]
    assert [r["url"] for b in written + rest for r in b.records] == [server.url + "/p/1", server.url + "/p/2"]


def test_the_example_site_config_loads():
    path = Path(__file__).parents[2] / "src/medreach/pipeline/data/sites/example_pharmacy.toml"
    source = ScraperSource.load(path)
    assert source.site == "example_pharmacy" and set(source.fields) == {"name", "price", "spec"}
    assert source.respect_robots and source.web.rate_limit_per_second == 1
    assert ScraperSource.load("example_pharmacy") == source


@pytest.mark.parametrize(("cfg", "message"), [
    ({"start_urls": ["http://x/"], "fields": {"a": "b"}}, "site"),
    ({"site": "s", "start_urls": [], "fields": {"a": "b"}}, "start_urls"),
    ({"site": "s", "start_urls": ["http://x/"], "fields": {"url": "a::attr(href)"}}, "may not be named url"),
    ({"site": "s", "start_urls": ["http://x/"], "fields": {"a": "div[["}}, "bad selector"),
    ({"site": "s", "start_urls": ["http://x/"], "fields": {"a": "b"}, "respect_robot": False}, "unknown scraper"),
])
def test_bad_scraper_config(cfg, message):
    with pytest.raises(ConnectorError, match=message):
        ScraperSource.from_config(cfg)
