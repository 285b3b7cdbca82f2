"""Behaviour analysis (issue 13, 5.1): browsing, searches, purchases, interactions and the view -> cart -> checkout
-> paid funnel, for the whole shop and for one customer, by Shanghai day, channel and device.

Two layers, both Ibis (DuckDB by default, Spark by configuration, as `pipeline/engine.py`):

1. **The behaviour mart** (`build`): the clean events (`lake/clean/events/`, canonical copies) cut into sessions
   and joined with the latest product snapshot and the paid orders (`profiles.features.read_inputs`, the one
   definition of a paid order), written to `lake/marts/behaviour/<table>/`:

       sessions     one row per session: person, user_id, day, channel, device, events, and the in-order funnel
                    times viewed_at <= added_at <= checkout_at <= paid_at (NULL where the session stopped)
       attempts     per person, each start of the funnel (a product view) with the in-order chain after it
                    (added_at, checkout_at, paid_at, not bounded by a session), for the people funnel
       searches     each search: term (trimmed, lower case), results, purchased (a paid order later in its session)
       views        each product view: product, category, brand, price_fen, price_band
       orders       each paid order: total, discount, items, lines, and the channel and device of its session
       order_lines  their lines: product, category, brand, quantity, amount_fen
       reviews      each review: product, category, rating

   Every row carries its session's `day` (Asia/Shanghai), `channel` and `device`, so every chart takes the same
   filters. The mart is built again, under a lock, the first time it is read after its inputs changed (a new
   cleaning of the events, or a new day's snapshot of orders or products).

2. **The charts** (`overview`, `funnel`, `searches`, `browsing`, `interest`, `purchases`, `interactions`,
   `customer`): small Ibis queries over the mart, cached per mart version and filters.

Definitions (docs/profiles.md, "Behaviour analysis"):
- A person is the signed-in user id; an anonymous id that was ever signed in as exactly one user is that user,
  any other anonymous id is a person of its own (`a:<anonymous id>`).
- A session ends after 30 minutes without an event (GA, Segment, PostHog). Its day is the Shanghai day it
  started; its channel is its first event's UTM source (`context.campaign.source`), `direct` when none; its device
  is the OS family (ua-parser) of its first user agent, `unknown` for a session with none (server events only).
- Funnel steps, in order: Product Viewed -> Product Added -> Checkout Started -> Order Completed (paid). A session
  reaches a step when the steps before it happened in that order within it. A person reaches a step when, after a
  product view on a day of the range, they did the following steps in order within the conversion window (default
  7 days, which may reach past the range); their best attempt counts (as ClickHouse's windowFunnel).
- A zero-result search is a `Products Searched` whose `results` is 0. The search-to-purchase rate is the share of
  searches followed by a paid order in the same session.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from sqlalchemy.orm import Session

from medreach.accounts import service as accounts
from medreach.accounts.models import User
from medreach.core.errors import AppError, not_found
from medreach.core.locks import file_lock
from medreach.core.settings import Settings
from medreach.ops.service import audit
from medreach.pipeline import engine, snapshots
from medreach.profiles import features
from medreach.profiles.features import SESSION_GAP, json_text, shanghai_day

MART = Path("marts") / "behaviour"
TABLES = ("sessions", "attempts", "searches", "views", "orders", "order_lines", "reviews")
VIEW, CART, CHECKOUT, PAID = "Product Viewed", "Product Added", "Checkout Started", "Order Completed"
FUNNEL = (VIEW, CART, CHECKOUT, PAID)
STEPS = ("view", "cart", "checkout", "paid")  # the funnel's steps as the API names them
SEARCHED, REVIEWED = "Products Searched", "Product Reviewed"
DIRECT, UNKNOWN_DEVICE, OTHER_DEVICE = "direct", "unknown", "other"
DEFAULT_WINDOW_DAYS = 7
DEFAULT_RANGE_DAYS = 30
# Lower edges in fen (the last band is open): what a product viewed costs, and what an order came to.
PRICE_BANDS = (0, 2000, 5000, 10000, 20000, 50000)
ORDER_BANDS = (0, 5000, 10000, 20000, 50000)
COUNT_BANDS = 5  # orders per buyer and items per order: 1, 2, 3, 4, 5+


def band_labels(edges: tuple[int, ...]) -> list[str]:
    """'0-20', '20-50', …, '500+' (yuan)."""
    yuan = [e // 100 for e in edges]
    return [f"{lo}-{hi}" for lo, hi in pairwise(yuan)] + [f"{yuan[-1]}+"]


def _band(value: ir.IntegerValue, edges: tuple[int, ...]) -> ir.StringValue:
    labels = band_labels(edges)
    return ibis.cases(*[(value < hi, label) for hi, label in zip(edges[1:], labels, strict=False)], else_=labels[-1])


def _count_band(value: ir.IntegerValue) -> ir.StringValue:
    return ibis.ifelse(value >= COUNT_BANDS, f"{COUNT_BANDS}+", value.cast("int64").cast("string"))


def count_labels() -> list[str]:
    return [str(i) for i in range(1, COUNT_BANDS)] + [f"{COUNT_BANDS}+"]


# --- devices ----------------------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def device_of(user_agent: str | None) -> str:
    """The OS family of a user agent (iOS, Android, Windows, Mac OS X, …), by ua-parser's rules."""
    if not user_agent:
        return UNKNOWN_DEVICE
    from ua_parser import parse_os

    os = parse_os(user_agent)
    return os.family if os is not None and os.family != "Other" else OTHER_DEVICE


# --- the mart ---------------------------------------------------------------------------------------------------


def mart_dir(lake_dir: Path) -> Path:
    return lake_dir / MART


def source_version(lake_dir: Path) -> str | None:
    """What the mart is built from: the published clean event files and the latest snapshots' paths (a day's
    snapshot rewritten by the 5-minute sync counts from the next day on). None when nothing is cleaned yet."""
    clean = sorted((lake_dir / "clean" / "events").glob("*.parquet"))
    if not clean:
        return None
    parts = [f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in clean]
    parts += [
        str(path.relative_to(lake_dir))
        for name in ("orders", "order_lines", "products")
        for path in _latest(lake_dir, name)
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _latest(lake_dir: Path, name: str) -> list[Path]:
    found = snapshots.snapshots(lake_dir, name)
    return found[-1:]


def manifest(lake_dir: Path) -> dict[str, Any] | None:
    path = mart_dir(lake_dir) / "manifest.json"
    return json.loads(path.read_text()) if path.exists() else None


def ensure(lake_dir: Path, engine_name: str = "duckdb", spark_master: str = "local[*]") -> dict[str, Any] | None:
    """The mart's manifest, built first if its inputs changed since (one process builds; the others wait for it
    and read its result). None when there are no clean events yet."""
    version = source_version(lake_dir)
    if version is None:
        return None
    current = manifest(lake_dir)
    if current and current["version"] == version:
        return current
    with file_lock(lake_dir / "locks" / "behaviour-mart.lock"):
        current = manifest(lake_dir)
        if current and current["version"] == version:
            return current
        return build(lake_dir, engine_name, spark_master, version)


def build(
    lake_dir: Path, engine_name: str = "duckdb", spark_master: str = "local[*]", version: str | None = None
) -> dict[str, Any]:
    """Build every mart table into a staging folder and swap it in whole; returns the manifest."""
    started = time.perf_counter()
    version = version or source_version(lake_dir) or "empty"
    staging = lake_dir / "staging" / f"behaviour-{version}-{time.time_ns()}"
    con = engine.connect(engine_name, spark_master)
    cached: list[ir.Table] = []

    def keep(expr: ir.Table) -> ir.Table:
        cached.append(engine.materialize(expr))
        return cached[-1]

    rows: dict[str, int] = {}
    try:
        for name, expr in mart_tables(con, lake_dir, keep).items():
            engine.write_parquet(con, expr, staging / name)
            rows[name] = int(con.execute(engine.read_folder(con, staging / name).count()))
    finally:
        for table in cached:
            table.release()
        engine.release(con, engine_name)
    meta = {
        "version": version,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "engine": engine_name,
        "rows": rows,
        "seconds": round(time.perf_counter() - started, 3),
    }
    (staging / "manifest.json").write_text(json.dumps(meta, indent=1))
    target = mart_dir(lake_dir)
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return meta


def _events(con, lake_dir: Path) -> ir.Table:
    """The clean events the analysis reads: canonical track/page/screen events with a time, and a person who is not
    staff."""
    raw = engine.read_folder(con, lake_dir / "clean" / "events")
    raw = raw.filter(
        raw.canonical.fill_null(True) & raw.type.isin(("track", "page", "screen")) & raw.timestamp.notnull()
    )
    raw = raw.filter(raw.user_id.notnull() | raw.anonymous_id.notnull())
    # Identity stitching: an anonymous id signed in as exactly one user is that user on every event.
    pairs = raw.filter(raw.user_id.notnull() & raw.anonymous_id.notnull())
    signed = pairs.group_by("anonymous_id").aggregate(_uid=pairs.user_id.min(), _users=pairs.user_id.nunique())
    signed = signed.filter(signed._users == 1).select("anonymous_id", "_uid")
    j = raw.left_join(signed, raw.anonymous_id == signed.anonymous_id)
    person = ibis.coalesce(j.user_id, j._uid, ibis.literal("a:").concat(j.anonymous_id))
    name = ibis.cases((j.type == "page", "Page Viewed"), (j.type == "screen", "Screen Viewed"), else_=j.event)
    props = j.properties.cast("string")
    wanted = (VIEW, SEARCHED, REVIEWED, PAID)
    users = features.latest_snapshot(con, lake_dir, "users")
    staff = users.filter(users.is_staff.fill_null(False)).select(uid=users.id.cast("string"))
    j = j.mutate(_person=person).anti_join(staff, ibis._._person == staff.uid)  # staff trying the shop
    person = j._person
    return j.select(
        person=person,
        message_id=j.message_id,
        timestamp=j.timestamp,
        event=name,
        campaign_source=ibis.ifelse(j.campaign_source.strip() == "", ibis.null("string"), j.campaign_source.lower()),
        user_agent=j.user_agent,
        properties=ibis.ifelse(name.isin(wanted), props, ibis.null("string")),
    )


def _sessionize(ev: ir.Table) -> ir.Table:
    """`ev` with `session_id`: a person's events split where 30 minutes pass without one."""
    order = [ev.timestamp, ev.message_id]
    previous = ev.timestamp.lag().over(ibis.window(group_by="person", order_by=order))
    ev = ev.mutate(_start=(previous.isnull() | (ev.timestamp > previous + SESSION_GAP)).cast("int64"))
    running = ibis.window(group_by="person", order_by=[ev.timestamp, ev.message_id], rows=(None, 0))
    ev = ev.mutate(_n=ev._start.sum().over(running))
    return ev.mutate(session_id=ev.person.concat("#", ev._n.cast("string"))).drop("_start", "_n")


def _first(value: ir.Value, at: ir.TimestampValue) -> ir.Value:
    """The value of the earliest row where it is set."""
    return value.argmin(ibis.ifelse(value.notnull(), at, ibis.null("timestamp('UTC')")))


def chain(t: ir.Table, by: str) -> ir.Table:
    """The in-order funnel after each product view of `t` (rows with `by`, timestamp, message_id, step 1-4):
    added_at = the first cart add at or after it, checkout_at = the first checkout at or after that add, paid_at =
    the first paid order at or after that checkout (each NULL when it never came). Each "first at or after" is a
    running minimum over the rows that follow; it is monotone in time, so a later step's time is the running
    minimum of the earlier step's own chain."""
    after = ibis.window(group_by=by, order_by=[t.timestamp, t.message_id], rows=(0, None))

    def first(step: int, value: ir.Value) -> ir.Value:
        return ibis.ifelse(t.step == step, value, ibis.null(value.type())).min().over(after)

    t = t.mutate(_paid=first(4, t.timestamp))
    t = t.mutate(_c3=first(3, t.timestamp), _c4=first(3, t._paid))
    t = t.mutate(_a2=first(2, t.timestamp), _a3=first(2, t._c3), _a4=first(2, t._c4))
    views = t.filter(t.step == 1)
    return views.select(
        *[c for c in t.columns if not c.startswith("_") and c != "step"],
        added_at=views._a2,
        checkout_at=views._a3,
        paid_at=views._a4,
    )


def mart_tables(con, lake_dir: Path, keep: Callable[[ir.Table], ir.Table]) -> dict[str, ir.Table]:
    """The mart's tables as Ibis expressions (`keep` materialises what several of them read)."""
    ev = keep(_sessionize(_events(con, lake_dir)))
    when = ev.timestamp

    def count(name: str) -> ir.IntegerScalar:
        return (ev.event == name).cast("int64").sum()

    sessions = keep(
        ev.group_by("session_id").aggregate(
            person=ev.person.min(),
            started_at=when.min(),
            ended_at=when.max(),
            events=ev.count(),
            views=count(VIEW),
            searches=count(SEARCHED),
            cart_adds=count(CART),
            channel=_first(ev.campaign_source, when),
            user_agent=_first(ev.user_agent, when),
        )
    )
    agents = [a for a in con.to_pyarrow(sessions.select("user_agent").distinct())["user_agent"].to_pylist() if a]
    devices = ibis.memtable(
        pa.table({"agent": pa.array(agents, pa.string()), "os": pa.array([device_of(a) for a in agents], pa.string())})
    )
    sessions = sessions.left_join(devices, sessions.user_agent == devices.agent)
    sessions = sessions.select(
        *[sessions[c] for c in ("session_id", "person", "started_at", "ended_at", "events", "views", "searches")],
        sessions.cart_adds,
        user_id=ibis.ifelse(sessions.person.startswith("a:"), ibis.null("string"), sessions.person),
        day=shanghai_day(sessions.started_at),
        channel=sessions.channel.fill_null(DIRECT),
        device=sessions.os.fill_null(UNKNOWN_DEVICE),
    )

    steps = ev.filter(ev.event.isin(FUNNEL))
    steps = steps.select(
        "person",
        "session_id",
        "timestamp",
        "message_id",
        step=ibis.cases(*[(steps.event == name, i + 1) for i, name in enumerate(FUNNEL)]),
    )
    in_session = chain(steps, "session_id")
    reached = in_session.group_by("session_id").aggregate(
        viewed_at=in_session.timestamp.min(),
        added_at=in_session.added_at.min(),
        checkout_at=in_session.checkout_at.min(),
        paid_at=in_session.paid_at.min(),
    )
    reached = keep(reached)
    j = sessions.left_join(reached, sessions.session_id == reached.session_id)
    # (Not cached: Spark's cache does not see the device memtable; every write below registers it.)
    sessions = j.select(sessions, *[reached[c] for c in ("viewed_at", "added_at", "checkout_at", "paid_at")])
    dims = sessions.select("session_id", "user_id", "day", "channel", "device")

    def with_dims(t: ir.Table) -> ir.Table:
        joined = t.join(dims, t.session_id == dims.session_id)
        return joined.select(
            dims.user_id, dims.day, dims.channel, dims.device, *[t[c] for c in t.columns if c != "session_id"]
        )

    started = chain(steps, "person")
    started = with_dims(started.select("session_id", "person", "timestamp", "added_at", "checkout_at", "paid_at"))
    # Of the attempts that day with the same chain after them, the latest start has the most room in its window.
    key = ["person", "user_id", "day", "channel", "device", "added_at", "checkout_at", "paid_at"]
    attempts = started.group_by(key).aggregate(at=started.timestamp.max())

    products = features.latest_snapshot(con, lake_dir, "products")
    catalogue = products.select(
        product=products.id.cast("int64"),
        p_category=products.category,
        p_brand=ibis.ifelse(products.brand_name == "", ibis.null("string"), products.brand_name),
        p_price=products.price_fen.cast("int64"),
    )

    # Searches, with a paid order later in the same session (the first at or after each search).
    flow = ev.filter(ev.event.isin((SEARCHED, PAID)))
    later = ibis.window(group_by="session_id", order_by=[flow.timestamp, flow.message_id], rows=(0, None))
    flow = flow.mutate(
        _paid=ibis.ifelse(flow.event == PAID, flow.timestamp, ibis.null("timestamp('UTC')")).min().over(later)
    )
    asked = flow.filter(flow.event == SEARCHED)
    term = json_text(con, asked.properties, "query").strip().lower()
    asked = asked.select(
        "session_id",
        "person",
        at=asked.timestamp,
        term=term,
        results=json_text(con, asked.properties, "results").try_cast("int64"),
        purchased=asked._paid.notnull(),
    )
    searches = with_dims(asked.filter(asked.term.notnull() & (asked.term != "")))

    seen = ev.filter(ev.event == VIEW)
    seen = seen.select(
        "session_id",
        "person",
        product_id=json_text(con, seen.properties, "product_id").try_cast("int64"),
        said_category=json_text(con, seen.properties, "category"),
        said_brand=json_text(con, seen.properties, "brand"),
        said_price=features.fen(json_text(con, seen.properties, "price")),
    )
    sj = seen.left_join(catalogue, seen.product_id == catalogue.product)
    price = ibis.coalesce(sj.p_price, sj.said_price)
    views = with_dims(
        sj.select(
            sj.session_id,
            sj.person,
            sj.product_id,
            category=ibis.coalesce(sj.p_category, sj.said_category),
            brand=ibis.coalesce(sj.p_brand, ibis.ifelse(sj.said_brand == "", ibis.null("string"), sj.said_brand)),
            price_fen=price,
            price_band=ibis.ifelse(price.isnull(), ibis.null("string"), _band(price, PRICE_BANDS)),
        )
    )

    # Paid orders as the profiles count them, with the channel and device of the session that paid them.
    inputs = features.read_inputs(con, lake_dir, datetime.now(UTC))
    paid = ev.filter(ev.event == PAID)
    paid = paid.select("session_id", order_key=json_text(con, paid.properties, "order_id"))
    paid = paid.group_by("order_key").aggregate(session_id=paid.session_id.min())
    paid = paid.join(dims, paid.session_id == dims.session_id).select("order_key", "channel", "device")
    lines = inputs.lines.left_join(catalogue, inputs.lines.product_id == catalogue.product)
    lines = keep(
        lines.select(
            lines.user_id,
            lines.order_key,
            lines.day,
            lines.product_id,
            category=lines.p_category,
            brand=lines.p_brand,
            quantity=lines.quantity.cast("int64"),
            amount_fen=lines.amount_fen.cast("int64"),
        )
    )
    per_order = lines.group_by("order_key").aggregate(items=lines.quantity.sum().cast("int64"), lines=lines.count())
    o = inputs.orders
    o = o.left_join(per_order, o.order_key == per_order.order_key).select(
        o.user_id, o.order_key, o.day, o.paid_at, o.total_fen, o.discount_fen, per_order.items, per_order.lines
    )
    o = o.left_join(paid, o.order_key == paid.order_key).select(o, paid.channel, paid.device)
    orders = o.mutate(
        items=o["items"].fill_null(0).cast("int64"),
        lines=o["lines"].fill_null(0).cast("int64"),
        channel=o.channel.fill_null(DIRECT),
        device=o.device.fill_null(UNKNOWN_DEVICE),
    )
    lj = lines.left_join(paid, lines.order_key == paid.order_key)
    order_lines = lj.select(
        lines,
        channel=paid.channel.fill_null(DIRECT),
        device=paid.device.fill_null(UNKNOWN_DEVICE),
    )

    rv = ev.filter(ev.event == REVIEWED)
    rv = rv.select(
        "session_id",
        "person",
        product_id=json_text(con, rv.properties, "product_id").try_cast("int64"),
        rating=json_text(con, rv.properties, "rating").try_cast("int64"),
    )
    rj = rv.left_join(catalogue, rv.product_id == catalogue.product)
    reviews = with_dims(rj.select(rj.session_id, rj.person, rj.product_id, category=rj.p_category, rating=rj.rating))
    reviews = reviews.filter(reviews.rating.between(1, 5))

    return {
        "sessions": sessions,
        "attempts": attempts,
        "searches": searches,
        "views": views,
        "orders": orders,
        "order_lines": order_lines,
        "reviews": reviews,
    }


# --- reading the mart -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What every chart takes: a range of Shanghai days (inclusive) and optionally one channel and one device."""

    start: date
    end: date
    channel: str | None = None
    device: str | None = None

    def key(self) -> tuple:
        return (self.start, self.end, self.channel, self.device)


class Mart:
    """The mart's tables on one connection, filtered as asked."""

    def __init__(self, con, lake_dir: Path):
        self.con, self.lake_dir = con, lake_dir
        self._tables: dict[str, ir.Table] = {}

    def table(self, name: str) -> ir.Table:
        if name not in self._tables:
            self._tables[name] = engine.read_folder(self.con, mart_dir(self.lake_dir) / name)
        return self._tables[name]

    def filtered(self, name: str, f: Filters, user_id: str | None = None) -> ir.Table:
        t = self.table(name)
        t = t.filter(t.day.between(ibis.literal(f.start), ibis.literal(f.end)))
        if f.channel is not None and "channel" in t.columns:
            t = t.filter(t.channel == f.channel)
        if f.device is not None and "device" in t.columns:
            t = t.filter(t.device == f.device)
        if user_id is not None:
            t = t.filter(t.user_id == user_id)
        return t

    def rows(self, expr: ir.Table) -> list[dict[str, Any]]:
        return engine.to_arrow(self.con, expr).to_pylist()

    def one(self, expr: ir.Table) -> dict[str, Any]:
        found = self.rows(expr)
        return found[0] if found else {}


class Reader:
    """Runs chart queries over the current mart (building it first when its inputs changed), caching each answer
    per mart version and arguments. Each thread keeps its connection and the mart's tables open while the version
    holds (opening a DuckDB connection and reading the files' schemas cost more than most charts)."""

    def __init__(self, lake_dir: Path, engine_name: str = "duckdb", spark_master: str = "local[*]", size: int = 512):
        self.lake_dir, self.engine_name, self.spark_master = lake_dir, engine_name, spark_master
        self._cache: OrderedDict[tuple, Any] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()
        self._local = threading.local()

    def manifest(self) -> dict[str, Any] | None:
        return ensure(self.lake_dir, self.engine_name, self.spark_master)

    def _mart(self, version: str) -> Mart:
        held = getattr(self._local, "held", None)
        if held is not None and held[0] == version:
            return held[1]
        if held is not None:
            engine.release(held[1].con, self.engine_name)
        mart = Mart(engine.connect(self.engine_name, self.spark_master), self.lake_dir)
        self._local.held = (version, mart)
        return mart

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        meta = self.manifest()
        if meta is None:
            return None
        key = (meta["version"], fn.__name__, *args)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        result = fn(self._mart(meta["version"]), *args)
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return result


def bounds(m: Mart) -> dict[str, Any]:
    """The days the mart covers and the channels and devices seen, for the filters."""
    s = m.table("sessions")
    span = m.one(s.aggregate(first_day=s.day.min(), last_day=s.day.max()))
    channels = m.rows(s.group_by("channel").aggregate(n=s.count()).order_by([ibis.desc("n"), "channel"]))
    devices = m.rows(s.group_by("device").aggregate(n=s.count()).order_by([ibis.desc("n"), "device"]))
    return {
        "first_day": span.get("first_day"),
        "last_day": span.get("last_day"),
        "channels": [r["channel"] for r in channels],
        "devices": [r["device"] for r in devices],
    }


def default_range(m: Mart, days: int = DEFAULT_RANGE_DAYS) -> tuple[date, date]:
    last = bounds(m)["last_day"] or datetime.now(UTC).date()
    return last - timedelta(days=days - 1), last


def _rate(part: float | int | None, whole: float | int | None) -> float | None:
    return round(float(part or 0) / whole, 6) if whole else None


def overview(m: Mart, f: Filters, user_id: str | None = None) -> dict[str, Any]:
    """Headline figures over the range: sessions, people, views, searches, orders, revenue, reviews."""
    s = m.filtered("sessions", f, user_id)
    head = m.one(
        s.aggregate(
            sessions=s.count(),
            people=s.person.nunique(),
            signed_in=s.user_id.nunique(),
            events=s.events.sum().cast("int64"),
            views=s.views.sum().cast("int64"),
            searches=s.searches.sum().cast("int64"),
            cart_adds=s.cart_adds.sum().cast("int64"),
            paid_sessions=s.paid_at.notnull().cast("int64").sum(),
        )
    )
    o = m.filtered("orders", f, user_id)
    sales = m.one(
        o.aggregate(orders=o.count(), buyers=o.user_id.nunique(), revenue_fen=o.total_fen.sum().cast("int64"))
    )
    q = m.filtered("searches", f, user_id)
    asked = m.one(
        q.aggregate(n=q.count(), bought=q.purchased.cast("int64").sum(), zero=(q.results == 0).cast("int64").sum())
    )
    r = m.filtered("reviews", f, user_id)
    rated = m.one(r.aggregate(reviews=r.count(), rating=r.rating.mean()))
    orders = int(sales.get("orders") or 0)
    revenue = int(sales.get("revenue_fen") or 0)
    return {
        "sessions": int(head.get("sessions") or 0),
        "people": int(head.get("people") or 0),
        "signed_in": int(head.get("signed_in") or 0),
        "events": int(head.get("events") or 0),
        "product_views": int(head.get("views") or 0),
        "searches": int(head.get("searches") or 0),
        "cart_adds": int(head.get("cart_adds") or 0),
        "orders": orders,
        "buyers": int(sales.get("buyers") or 0),
        "revenue_fen": revenue,
        "aov_fen": round(revenue / orders) if orders else None,
        "session_conversion": _rate(head.get("paid_sessions"), head.get("sessions")),
        "search_to_purchase": _rate(asked.get("bought"), asked.get("n")),
        "zero_result_share": _rate(asked.get("zero"), asked.get("n")),
        "reviews": int(rated.get("reviews") or 0),
        "average_rating": round(rated["rating"], 3) if rated.get("rating") is not None else None,
    }


def _session_levels(s: ir.Table) -> dict[str, ir.IntegerScalar]:
    marks = (s.viewed_at, s.added_at, s.checkout_at, s.paid_at)
    return {f"sessions_{step}": mark.notnull().cast("int64").sum() for step, mark in zip(STEPS, marks, strict=True)}


def _person_levels(a: ir.Table, window_days: int) -> ir.Table:
    """Per attempt: how far it got within the window (1 = viewed … 4 = paid)."""
    limit = a.at + ibis.interval(days=window_days)
    level = ibis.literal(1)
    for mark in (a.added_at, a.checkout_at, a.paid_at):
        level = level + (mark.notnull() & (mark <= limit)).cast("int64")
    return a.mutate(level=level)


def funnel(m: Mart, f: Filters, window_days: int = DEFAULT_WINDOW_DAYS, by: str | None = None) -> dict[str, Any]:
    """People and sessions at each step over the range, and the same per day, channel or device (`by`)."""
    s = m.filtered("sessions", f)
    s = s.filter(s.viewed_at.notnull())
    a = _person_levels(m.filtered("attempts", f), window_days)

    def counted(group: list[str]) -> list[dict[str, Any]]:
        per_person = a.group_by(["person", *group]).aggregate(level=a.level.max())
        people = (
            per_person.group_by(group).aggregate(
                **{f"people_{step}": (per_person.level >= i + 1).cast("int64").sum() for i, step in enumerate(STEPS)}
            )
            if group
            else per_person.aggregate(
                **{f"people_{step}": (per_person.level >= i + 1).cast("int64").sum() for i, step in enumerate(STEPS)}
            )
        )
        sessions = s.group_by(group).aggregate(**_session_levels(s)) if group else s.aggregate(**_session_levels(s))
        found: dict[tuple, dict[str, Any]] = {}
        for row in m.rows(people) + m.rows(sessions):
            entry = found.setdefault(tuple(row[g] for g in group), {g: row[g] for g in group})
            entry.update({k: int(v or 0) for k, v in row.items() if k not in group})
        return [found[k] for k in sorted(found, key=lambda k: tuple(str(x) for x in k))]

    def steps(row: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for i, step in enumerate(STEPS):
            people, sessions = row.get(f"people_{step}", 0), row.get(f"sessions_{step}", 0)
            first_people, first_sessions = row.get("people_view", 0), row.get("sessions_view", 0)
            prev = STEPS[i - 1] if i else step
            out.append(
                {
                    "step": step,
                    "people": people,
                    "sessions": sessions,
                    "people_rate": _rate(people, first_people),
                    "sessions_rate": _rate(sessions, first_sessions),
                    "people_from_previous": _rate(people, row.get(f"people_{prev}", 0)),
                    "sessions_from_previous": _rate(sessions, row.get(f"sessions_{prev}", 0)),
                }
            )
        return out

    [total] = counted([]) or [{}]
    breakdown = []
    if by is not None:
        for row in counted([by]):
            breakdown.append({"key": str(row[by]), "steps": steps(row)})
    return {"window_days": window_days, "steps": steps(total), "by": by, "breakdown": breakdown}


def searches(m: Mart, f: Filters, limit: int = 20, user_id: str | None = None) -> dict[str, Any]:
    """The most searched terms and the most searched terms that found nothing, with their search-to-purchase
    rates, and the totals."""
    q = m.filtered("searches", f, user_id)
    zero = (q.results == 0).cast("int64")
    totals = m.one(
        q.aggregate(
            searches=q.count(), people=q.person.nunique(), zero=zero.sum(), bought=q.purchased.cast("int64").sum()
        )
    )
    terms = q.group_by("term").aggregate(
        searches=q.count(),
        people=q.person.nunique(),
        zero_results=zero.sum(),
        purchased=q.purchased.cast("int64").sum(),
        average_results=q.results.mean(),
    )
    top = terms.order_by([ibis.desc("searches"), "term"]).limit(limit)
    nothing = terms.filter(terms.zero_results > 0).order_by([ibis.desc("zero_results"), "term"]).limit(limit)

    def shaped(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {
                "term": r["term"],
                "searches": int(r["searches"]),
                "people": int(r["people"]),
                "zero_results": int(r["zero_results"]),
                "average_results": round(r["average_results"], 2) if r["average_results"] is not None else None,
                "purchase_rate": _rate(r["purchased"], r["searches"]),
            }
            for r in rows
        ]

    n = int(totals.get("searches") or 0)
    return {
        "searches": n,
        "people": int(totals.get("people") or 0),
        "zero_results": int(totals.get("zero") or 0),
        "zero_result_share": _rate(totals.get("zero"), n),
        "search_to_purchase": _rate(totals.get("bought"), n),
        "top": shaped(m.rows(top)),
        "zero_result_terms": shaped(m.rows(nothing)),
    }


def _ranked(m: Mart, t: ir.Table, column: str, limit: int | None) -> list[dict[str, Any]]:
    g = t.filter(t[column].notnull())
    g = g.group_by(column).aggregate(views=g.count(), people=g.person.nunique())
    g = g.order_by([ibis.desc("views"), column])
    if limit:
        g = g.limit(limit)
    return [{"key": r[column], "views": int(r["views"]), "people": int(r["people"])} for r in m.rows(g)]


def browsing(m: Mart, f: Filters, limit: int = 15, user_id: str | None = None) -> dict[str, Any]:
    """Product views by category, by brand and by price band (views and distinct people)."""
    v = m.filtered("views", f, user_id)
    by_band = {r["key"]: r for r in _ranked(m, v, "price_band", None)}
    return {
        "views": int(m.rows(v.aggregate(n=v.count()))[0]["n"]),
        "categories": _ranked(m, v, "category", limit),
        "brands": _ranked(m, v, "brand", limit),
        "price_bands": [
            by_band.get(label, {"key": label, "views": 0, "people": 0}) for label in band_labels(PRICE_BANDS)
        ],
    }


def interest(m: Mart, f: Filters, interval: str = "day", top: int = 8) -> dict[str, Any]:
    """Product views of the `top` most viewed categories of the range, per day or per week (weeks start on Monday),
    each category a series; the rest together as `other`."""
    v = m.filtered("views", f)
    v = v.filter(v.category.notnull())
    leaders = [r["key"] for r in _ranked(m, v, "category", top)]
    period = v.day.truncate("W") if interval == "week" else v.day
    v = v.mutate(period=period, series=ibis.ifelse(v.category.isin(leaders or [""]), v.category, "other"))
    rows = m.rows(v.group_by(["period", "series"]).aggregate(views=v.count(), people=v.person.nunique()))
    periods = _periods(f.start, f.end, interval)
    names = leaders + (["other"] if any(r["series"] == "other" for r in rows) else [])
    cells = {(r["period"], r["series"]): r for r in rows}
    return {
        "interval": interval,
        "periods": periods,
        "series": [
            {
                "key": name,
                "views": [int(cells.get((p, name), {}).get("views", 0)) for p in periods],
                "people": [int(cells.get((p, name), {}).get("people", 0)) for p in periods],
            }
            for name in names
        ],
    }


def _periods(start: date, end: date, interval: str) -> list[date]:
    if interval == "week":
        first = start - timedelta(days=start.weekday())
        return [first + timedelta(weeks=i) for i in range((end - first).days // 7 + 1)]
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def purchases(m: Mart, f: Filters, limit: int = 15, user_id: str | None = None) -> dict[str, Any]:
    """Paid orders over the range: orders, buyers, revenue and average order value per day; how often buyers
    ordered (orders per buyer), what orders came to (value bands), basket sizes (items per order) and revenue
    by category."""
    o = m.filtered("orders", f, user_id)
    lines = m.filtered("order_lines", f, user_id)
    daily = m.rows(
        o.group_by("day")
        .aggregate(orders=o.count(), buyers=o.user_id.nunique(), revenue_fen=o.total_fen.sum().cast("int64"))
        .order_by("day")
    )
    per_buyer = o.group_by("user_id").aggregate(n=o.count())
    frequency = m.rows(per_buyer.group_by(band=_count_band(per_buyer.n)).aggregate(buyers=per_buyer.count()))
    values = m.rows(o.group_by(band=_band(o.total_fen, ORDER_BANDS)).aggregate(orders=o.count()))
    filled = o.filter(o["items"] > 0)
    baskets = m.rows(filled.group_by(band=_count_band(filled["items"])).aggregate(orders=filled.count()))
    head = m.one(
        o.aggregate(
            orders=o.count(),
            buyers=o.user_id.nunique(),
            revenue_fen=o.total_fen.sum().cast("int64"),
            discount_fen=o.discount_fen.sum().cast("int64"),
            discounted=(o.discount_fen > 0).cast("int64").sum(),
            items=o["items"].sum().cast("int64"),
        )
    )
    lc = lines.filter(lines.category.notnull())
    categories = m.rows(
        lc.group_by("category")
        .aggregate(
            revenue_fen=lc.amount_fen.sum().cast("int64"),
            quantity=lc.quantity.sum().cast("int64"),
            orders=lc.order_key.nunique(),
            buyers=lc.user_id.nunique(),
        )
        .order_by([ibis.desc("revenue_fen"), "category"])
        .limit(limit)
    )
    orders, buyers = int(head.get("orders") or 0), int(head.get("buyers") or 0)
    revenue = int(head.get("revenue_fen") or 0)

    def banded(rows: list[dict[str, Any]], labels: list[str], field: str) -> list[dict[str, Any]]:
        got = {r["band"]: int(r[field]) for r in rows}
        return [{"key": label, field: got.get(label, 0)} for label in labels]

    return {
        "orders": orders,
        "buyers": buyers,
        "revenue_fen": revenue,
        "discount_fen": int(head.get("discount_fen") or 0),
        "aov_fen": round(revenue / orders) if orders else None,
        "orders_per_buyer": round(orders / buyers, 3) if buyers else None,
        "items_per_order": round(int(head.get("items") or 0) / orders, 3) if orders else None,
        "discounted_share": _rate(head.get("discounted"), orders),
        "daily": [
            {
                "day": r["day"],
                "orders": int(r["orders"]),
                "buyers": int(r["buyers"]),
                "revenue_fen": int(r["revenue_fen"]),
                "aov_fen": round(r["revenue_fen"] / r["orders"]),
            }
            for r in daily
        ],
        "frequency": banded(frequency, count_labels(), "buyers"),
        "order_values": banded(values, band_labels(ORDER_BANDS), "orders"),
        "basket_sizes": banded(baskets, count_labels(), "orders"),
        "categories": [{"key": r.pop("category"), **{k: int(v) for k, v in r.items()}} for r in categories],
    }


def interactions(m: Mart, f: Filters, limit: int = 15, user_id: str | None = None) -> dict[str, Any]:
    """Reviews over the range: how many, the average rating, the ratings' spread, per day, per category."""
    r = m.filtered("reviews", f, user_id)
    head = m.one(r.aggregate(reviews=r.count(), people=r.person.nunique(), rating=r.rating.mean()))
    spread = {row["rating"]: int(row["n"]) for row in m.rows(r.group_by("rating").aggregate(n=r.count()))}
    daily = m.rows(r.group_by("day").aggregate(reviews=r.count(), rating=r.rating.mean()).order_by("day"))
    rc = r.filter(r.category.notnull())
    categories = m.rows(
        rc.group_by("category")
        .aggregate(reviews=rc.count(), rating=rc.rating.mean())
        .order_by([ibis.desc("reviews"), "category"])
        .limit(limit)
    )
    return {
        "reviews": int(head.get("reviews") or 0),
        "people": int(head.get("people") or 0),
        "average_rating": round(head["rating"], 3) if head.get("rating") is not None else None,
        "ratings": [{"rating": i, "reviews": spread.get(i, 0)} for i in range(1, 6)],
        "daily": [
            {"day": d["day"], "reviews": int(d["reviews"]), "average_rating": round(d["rating"], 3)} for d in daily
        ],
        "categories": [
            {"key": c["category"], "reviews": int(c["reviews"]), "average_rating": round(c["rating"], 3)}
            for c in categories
        ],
    }


def customer(m: Mart, user_id: str, f: Filters) -> dict[str, Any]:
    """One customer's behaviour over the range: headline figures, their funnel (sessions at each step), what
    they browse, search, buy and review, and their sessions per week by channel and device."""
    s = m.filtered("sessions", f, user_id)
    span = m.one(s.aggregate(first_seen=s.started_at.min(), last_seen=s.ended_at.max()))
    levels = m.one(s.aggregate(**_session_levels(s)))
    weekly = m.rows(
        s.group_by(week=s.day.truncate("W"))
        .aggregate(
            sessions=s.count(), events=s.events.sum().cast("int64"), paid=s.paid_at.notnull().cast("int64").sum()
        )
        .order_by("week")
    )
    channels = m.rows(s.group_by("channel").aggregate(sessions=s.count()).order_by([ibis.desc("sessions"), "channel"]))
    devices = m.rows(s.group_by("device").aggregate(sessions=s.count()).order_by([ibis.desc("sessions"), "device"]))
    return {
        "user_id": user_id,
        "first_seen": span.get("first_seen"),
        "last_seen": span.get("last_seen"),
        "summary": overview(m, f, user_id),
        "funnel": [{"step": step, "sessions": int(levels.get(f"sessions_{step}") or 0)} for step in STEPS],
        "weekly": [
            {"week": w["week"], "sessions": int(w["sessions"]), "events": int(w["events"]), "paid": int(w["paid"])}
            for w in weekly
        ],
        "channels": [{"key": c["channel"], "sessions": int(c["sessions"])} for c in channels],
        "devices": [{"key": d["device"], "sessions": int(d["sessions"])} for d in devices],
        "browsing": browsing(m, f, 8, user_id),
        "searches": searches(m, f, 10, user_id),
        "purchases": purchases(m, f, 8, user_id),
        "interactions": interactions(m, f, 8, user_id),
    }


# --- what the routes call -----------------------------------------------------------------------------------------

MAX_RANGE_DAYS = 366
_readers: dict[tuple, Reader] = {}
_readers_lock = threading.Lock()


@dataclass(frozen=True)
class Asked:
    """The range and filters as a request gives them (any may be missing)."""

    start: date | None = None
    end: date | None = None
    channel: str | None = None
    device: str | None = None


def reader(settings: Settings) -> Reader:
    """The process's reader for these settings' lake and engine (its cache is shared by every request)."""
    key = (settings.lake_path, settings.engine, settings.spark_master)
    with _readers_lock:
        if key not in _readers:
            _readers[key] = Reader(*key)
        return _readers[key]


def _resolve(settings: Settings, asked: Asked) -> tuple[Reader, Filters, dict[str, Any]]:
    """The reader, the filters with the range filled in (default: the last 30 days with data) and checked, and the
    mart's bounds. 409 BEHAVIOUR_NO_DATA before the events were first cleaned."""
    r = reader(settings)
    span = r.run(bounds)
    if span is None:
        raise AppError(409, "BEHAVIOUR_NO_DATA")
    end = asked.end or span["last_day"] or datetime.now(UTC).date()
    start = asked.start or end - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if start > end:
        raise AppError(422, "BEHAVIOUR_RANGE_INVALID", field="start", max_days=MAX_RANGE_DAYS)
    if (end - start).days >= MAX_RANGE_DAYS:
        raise AppError(422, "BEHAVIOUR_RANGE_INVALID", field="end", max_days=MAX_RANGE_DAYS)
    return r, Filters(start, end, asked.channel or None, asked.device or None), span


def _range(f: Filters) -> dict[str, Any]:
    return {"start": f.start, "end": f.end, "channel": f.channel, "device": f.device}


def overview_page(settings: Settings, asked: Asked) -> dict[str, Any]:
    r, f, span = _resolve(settings, asked)
    meta = r.manifest() or {}
    return {"range": _range(f), "bounds": span, "built_at": meta.get("built_at"), "overview": r.run(overview, f, None)}


def funnel_page(settings: Settings, asked: Asked, window_days: int, by: str | None) -> dict[str, Any]:
    r, f, _span = _resolve(settings, asked)
    return {"range": _range(f), **r.run(funnel, f, window_days, by)}


def searches_page(settings: Settings, asked: Asked, limit: int) -> dict[str, Any]:
    r, f, _span = _resolve(settings, asked)
    return {"range": _range(f), **r.run(searches, f, limit, None)}


def browsing_page(settings: Settings, asked: Asked, limit: int) -> dict[str, Any]:
    r, f, _span = _resolve(settings, asked)
    return {"range": _range(f), **r.run(browsing, f, limit, None)}


def interest_page(settings: Settings, asked: Asked, interval: str, top: int) -> dict[str, Any]:
    r, f, _span = _resolve(settings, asked)
    return {"range": _range(f), **r.run(interest, f, interval, top)}


def purchases_page(settings: Settings, asked: Asked, limit: int) -> dict[str, Any]:
    r, f, _span = _resolve(settings, asked)
    return {"range": _range(f), **r.run(purchases, f, limit, None)}


def interactions_page(settings: Settings, asked: Asked, limit: int) -> dict[str, Any]:
    r, f, _span = _resolve(settings, asked)
    return {"range": _range(f), **r.run(interactions, f, limit, None)}


def customer_page(session: Session, settings: Settings, actor: User, user_id: int, asked: Asked) -> dict[str, Any]:
    """One customer's behaviour (404 for an id that is no customer). What one person viewed and bought can reveal
    their health (COMPLIANCE 13), so every read is audited. The range defaults to everything the mart holds."""
    if not accounts.customers_by_ids(session, [user_id]):
        raise not_found("customer")
    r = reader(settings)
    span = r.run(bounds)
    if span is None:
        raise AppError(409, "BEHAVIOUR_NO_DATA")
    everything = Asked(asked.start or span["first_day"], asked.end or span["last_day"])
    _r, f, _span = _resolve(settings, everything)
    audit(
        session,
        actor_id=actor.id,
        actor_login=actor.login,
        action="behaviour.customer_read",
        subject_type="user",
        subject_id=user_id,
        detail={"start": f.start.isoformat(), "end": f.end.isoformat()},
    )
    session.commit()
    return {**r.run(customer, str(user_id), f), "range": _range(f)}
