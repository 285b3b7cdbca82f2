"""The profile build's inputs and customer features, defined once in Ibis, so the same expressions run on DuckDB
or on Spark (`pipeline/engine.py`) and give the same rows.

Inputs come from the lake: the clean events (the canonical copies of signed-in people's events), and the latest
snapshots of the users, products, orders and order lines tables. An order counts once it is paid and as long as
it is not cancelled or refunded (`orders.state.COUNTED`); an order that exists only as an `Order Completed` event
(the simulated world, or a system whose orders are not in the database) counts unless a refund or cancellation
event names it, and a database order's own event is never counted twice (the order number joins them).
Money is integer fen; days are Asia/Shanghai days; durations are in days.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from medreach.orders.state import COUNTED
from medreach.pipeline import engine, snapshots
from medreach.pipeline.cleaning import CHINA
from medreach.pipeline.tables import TABLES

SHANGHAI = ZoneInfo("Asia/Shanghai")
CITIES_FILE = Path(__file__).parent / "data" / "cities.csv"
SESSION_GAP = ibis.interval(minutes=30)  # a new session after 30 minutes without an event (GA, Segment, PostHog)
INTEREST_HALF_LIFE_DAYS = 30.0  # an interaction's weight halves every 30 days
INTEREST_WEIGHTS = {"Product Viewed": 1.0, "Product List Viewed": 0.5, "Product Added": 3.0, "purchase": 5.0}
TOP_INTERESTS = 3
PRODUCT_EVENTS = ("Product Viewed", "Product Added", "Product Removed", "Product Reviewed")
ORDER_EVENTS = ("Order Completed", "Order Refunded", "Order Cancelled")  # orders are counted from `paid_orders`
AGE_BANDS = ((25, "18-24"), (35, "25-34"), (45, "35-44"), (55, "45-54"), (65, "55-64"))
RFM_GROUPS = {  # (recent, frequent, high spend) -> the eight classic groups
    (True, True, True): "重要价值客户",
    (True, False, True): "重要发展客户",
    (False, True, True): "重要保持客户",
    (False, False, True): "重要挽留客户",
    (True, True, False): "一般价值客户",
    (True, False, False): "一般发展客户",
    (False, True, False): "一般保持客户",
    (False, False, False): "一般挽留客户",
}
DEFAULT_GAP_DAYS = 90.0  # the expected gap between orders when no customer has ordered twice yet


# --- JSON properties: each engine's own functions (Ibis's JSON ops run Python UDFs on Spark) -----------------------


@ibis.udf.scalar.builtin(name="json_extract_string")
def _duckdb_json_text(doc: str, path: str) -> str: ...  # type: ignore[empty-body]


@ibis.udf.scalar.builtin(name="get_json_object")
def _spark_json_text(doc: str, path: str) -> str: ...  # type: ignore[empty-body]


LINE = dt.Array(dt.Struct({"product_id": dt.int64, "quantity": dt.int64, "price": dt.float64}))
_LINE_SCHEMA = {
    "duckdb": '[{"product_id": "BIGINT", "quantity": "BIGINT", "price": "DOUBLE"}]',
    "pyspark": "array<struct<product_id:bigint,quantity:bigint,price:double>>",
}


@ibis.udf.scalar.builtin(name="from_json")
def _from_json(doc: str, schema: str) -> LINE: ...  # type: ignore[valid-type]


def json_text(con, doc: ir.StringValue, key: str) -> ir.StringValue:
    """`doc`'s top-level `key` as text (numbers as written, strings unquoted), NULL when absent."""
    fn = _spark_json_text if con.name == "pyspark" else _duckdb_json_text
    return fn(doc, f"$.{key}")


def json_lines(con, doc: ir.StringValue) -> ir.ArrayValue:
    """An `Order Completed` event's `products` as an array of (product_id, quantity, price)."""
    return _from_json(json_text(con, doc, "products"), _LINE_SCHEMA[con.name])


def fen(text: ir.StringValue) -> ir.IntegerValue:
    """A yuan amount written as text (an event property) in integer fen."""
    return (text.try_cast("float64") * 100).round().cast("int64")


def seconds(at: ir.TimestampValue) -> ir.FloatingValue:
    """Whole seconds since the epoch (both engines the same: DuckDB's epoch keeps fractions, Spark's does not)."""
    return at.truncate("s").epoch_seconds().cast("float64")


def days_between(earlier: ir.TimestampValue, later: ir.TimestampValue) -> ir.FloatingValue:
    return (seconds(later) - seconds(earlier)) / 86400.0


def shanghai_day(at: ir.TimestampValue) -> ir.DateValue:
    return (at + CHINA).date()


# --- inputs ----------------------------------------------------------------------------------------------------


def latest_snapshot(con, lake_dir: Path, name: str) -> ir.Table:
    """The newest snapshot of a lake table, or an empty table of its declared schema."""
    files = snapshots.snapshots(lake_dir, name)
    if files:
        return con.read_parquet(str(files[-1]))
    return con.create_table(f"_empty_{name}", schema=ibis.Schema.from_pyarrow(TABLES[name].schema), temp=True)


@dataclass(frozen=True)
class Inputs:
    """The build's inputs as Ibis tables on one backend."""

    con: object
    as_of: datetime
    events: ir.Table  # signed-in, canonical: user_id, timestamp, day, event, properties
    products: ir.Table  # id, category, brand_name, generic_name, drug_class, pack_size, daily_dose
    users: ir.Table  # uid (text), gender, birth_year, city, region, occupation, is_staff
    orders: ir.Table  # paid orders: user_id, order_key, paid_at, day, total_fen, discount_fen
    lines: ir.Table  # their lines: user_id, order_key, paid_at, day, product_id, quantity, amount_fen
    db_orders: ir.Table | None = None  # number: every database order's, whatever its status

    @property
    def as_of_day(self) -> date:
        return self.as_of.astimezone(SHANGHAI).date()


def read_inputs(con, lake_dir: Path, as_of: datetime, order_sources: set[int] | None = None) -> Inputs:
    """The build's inputs. `order_sources`: the sources whose `Order Completed` events count as paid orders
    (MedReach's own: its server and the simulator; a client can send any event name through a public key, so its
    claims of an order are not facts); None counts every source (hand-made lakes)."""
    clean = lake_dir / "clean" / "events"
    if any(clean.glob("*.parquet")):
        raw = engine.read_folder(con, clean)
    else:
        schema = ibis.schema(
            {
                "user_id": "string",
                "anonymous_id": "string",
                "type": "string",
                "event": "string",
                "timestamp": "timestamp('UTC')",
                "canonical": "boolean",
                "source_id": "int32",
                "properties": "string",
            }
        )
        raw = con.create_table("_empty_events", schema=schema, temp=True)
    moment = ibis.literal(as_of, type=dt.Timestamp(timezone="UTC"))
    named = ibis.cases((raw.type == "page", "Page Viewed"), (raw.type == "screen", "Screen Viewed"), else_=raw.event)
    events = raw.filter(
        raw.user_id.notnull()
        & raw.canonical.fill_null(True)
        & raw.type.isin(("track", "page", "screen"))
        & raw.timestamp.notnull()
        & (raw.timestamp <= moment)
    ).select(
        "user_id",
        "timestamp",
        "source_id",
        day=shanghai_day(raw.timestamp),
        event=named,
        properties=raw.properties.cast("string"),
    )
    u = latest_snapshot(con, lake_dir, "users")
    staff = u.filter(u.is_staff.fill_null(False)).select(uid=u.id.cast("string"))
    events = events.filter(events.event.notnull()).anti_join(staff, events.user_id == staff.uid)

    p = latest_snapshot(con, lake_dir, "products")
    products = p.select(
        "id",
        "category",
        brand_name=ibis.ifelse(p.brand_name == "", ibis.null("string"), p.brand_name),
        generic_name=p.generic_name,
        drug_class=p.drug_class,
        pack_size=p.pack_size.cast("int64"),
        daily_dose=p.daily_dose.cast("float64"),
    )
    users = u.select(
        uid=u.id.cast("string"),
        gender=u.gender,
        birth_year=u.birth_year.cast("int64"),
        city=u.city,
        region=u.region,
        occupation=u.occupation,
        is_staff=u.is_staff,
    )
    orders, lines, known = _paid_orders(con, lake_dir, events, moment, order_sources)
    return Inputs(con, as_of, events, products, users, orders, lines, known)


def _paid_orders(
    con, lake_dir: Path, events: ir.Table, moment, order_sources: set[int] | None
) -> tuple[ir.Table, ir.Table, ir.Table]:
    o = latest_snapshot(con, lake_dir, "orders")
    db = o.filter(o.status.isin(tuple(COUNTED)) & o.paid_at.notnull() & (o.paid_at <= moment)).select(
        "id",
        user_id=o.user_id.cast("string"),
        order_key=o.number,
        paid_at=o.paid_at,
        total_fen=o.total_fen.cast("int64"),
        discount_fen=o.discount_fen.cast("int64").fill_null(0),
    )
    known = o.select(number=o.number)  # every database order, whatever its status, is the database's to count
    if order_sources is not None:
        events = events.filter(events.source_id.isin(sorted(order_sources) or [-1]))
    undone = events.filter(events.event.isin(("Order Refunded", "Order Cancelled"))).select(
        order_key=json_text(con, events.properties, "order_id")
    )
    placed = events.filter(events.event == "Order Completed").mutate(
        order_key=json_text(con, events.properties, "order_id")
    )
    placed = placed.filter(placed.order_key.notnull())
    placed = placed.anti_join(known, placed.order_key == known.number).anti_join(undone, "order_key")
    sim = placed.group_by("order_key").aggregate(
        user_id=placed.user_id.min(),
        paid_at=placed.timestamp.min(),
        total_fen=fen(json_text(con, placed.properties, "total")).max(),
        discount_fen=fen(json_text(con, placed.properties, "discount")).max().fill_null(0),
        lines=json_text(con, placed.properties, "products").min(),
    )
    columns = ["user_id", "order_key", "paid_at", "total_fen", "discount_fen"]
    orders = db.select(columns).union(sim.select(columns))
    orders = orders.mutate(day=shanghai_day(orders.paid_at), total_fen=orders.total_fen.fill_null(0))

    ol = latest_snapshot(con, lake_dir, "order_lines")
    db_lines = ol.join(db, ol.order_id == db.id).select(
        db.user_id,
        db.order_key,
        db.paid_at,
        product_id=ol.product_id,
        quantity=ol.quantity.cast("int64"),
        amount_fen=ol.line_total_fen.cast("int64"),
    )
    exploded = sim.select(
        "user_id", "order_key", "paid_at", line=_from_json(sim.lines, _LINE_SCHEMA[con.name]).unnest()
    )
    sim_lines = exploded.select(
        "user_id",
        "order_key",
        "paid_at",
        product_id=exploded.line.product_id,
        quantity=exploded.line.quantity,
        amount_fen=(exploded.line.price * 100).round().cast("int64") * exploded.line.quantity,
    )
    lines = db_lines.union(sim_lines.filter(sim_lines.product_id.notnull()))
    return orders, lines.mutate(day=shanghai_day(lines.paid_at)), known


# --- the customer table ----------------------------------------------------------------------------------------


def cities(con) -> ir.Table:
    """City -> province and tier (1 一线, 2 新一线, 3 二线; any other named city 4, 三线及以下)."""
    with CITIES_FILE.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return ibis.memtable(
        {
            "city_name": [r["city"] for r in rows],
            "province": [r["province"] for r in rows],
            "tier": [int(r["tier"]) for r in rows],
        }
    )


def behaviour(inputs: Inputs) -> ir.Table:
    """Per signed-in person: events, sessions, views, searches, cart adds, when last seen."""
    ev = inputs.events

    def count(name: str) -> ir.IntegerScalar:
        return (ev.event == name).cast("int64").sum()

    counts = ev.group_by("user_id").aggregate(
        events=ev.count(),
        product_views=count("Product Viewed"),
        searches=count("Products Searched"),
        cart_adds=count("Product Added"),
        last_seen_at=ev.timestamp.max(),
    )
    previous = ev.timestamp.lag().over(ibis.window(group_by="user_id", order_by="timestamp"))
    starts = ev.mutate(_start=(previous.isnull() | (ev.timestamp > previous + SESSION_GAP)).cast("int64"))
    sessions = starts.group_by("user_id").aggregate(sessions=starts._start.sum())
    return counts.join(sessions, "user_id")


def consumption(inputs: Inputs) -> ir.Table:
    """Per customer with a paid order: orders, spend, order value, interval, price sensitivity, R/F/M scores and
    the RFM group."""
    o = inputs.orders
    moment = ibis.literal(inputs.as_of, type=dt.Timestamp(timezone="UTC"))
    per = o.group_by("user_id").aggregate(
        orders=o.count(),
        first_order_at=o.paid_at.min(),
        last_order_at=o.paid_at.max(),
        monetary_fen=o.total_fen.sum().cast("int64"),
        _discounted=(o.discount_fen > 0).cast("int64").sum(),
    )
    per = per.mutate(
        recency_days=days_between(per.last_order_at, moment),
        aov_fen=(per.monetary_fen.cast("float64") / per.orders).round().cast("int64"),
        purchase_interval_days=ibis.ifelse(
            per.orders > 1,
            days_between(per.first_order_at, per.last_order_at) / (per.orders - 1).cast("float64"),
            ibis.null("float64"),
        ),
        price_sensitivity=per._discounted.cast("float64") / per.orders,
    ).drop("_discounted")
    per = per.mutate(
        r_score=_quintile(ibis.cume_dist().over(order_by=ibis.desc(per.recency_days))),
        f_score=_quintile(ibis.cume_dist().over(order_by=per.orders)),
        m_score=_quintile(ibis.cume_dist().over(order_by=per.monetary_fen)),
    )
    high = {s: per[s] > per[s].mean().over() for s in ("r_score", "f_score", "m_score")}
    group = ibis.cases(
        *[
            ((high["r_score"] == r) & (high["f_score"] == f) & (high["m_score"] == m), name)
            for (r, f, m), name in RFM_GROUPS.items()
        ]
    )
    return per.mutate(rfm_group=group)


def _quintile(cume: ir.FloatingValue) -> ir.IntegerValue:
    """1-5 from a cumulative distribution: ties share a score (cume_dist gives them one value)."""
    return (cume * 5 - 1e-9).ceil().cast("int64").clip(lower=1, upper=5)


def churn_risk(per: ir.Table, gap_days: float) -> ir.FloatingValue:
    """A transparent heuristic until a model is promoted: how far a customer is past their own usual gap between
    orders (the shop's median gap for one-order customers). 0 within the gap, 0.5 one gap late, 0.67 two…"""
    gap = ibis.ifelse(per.orders > 1, per.purchase_interval_days, gap_days)
    late = ibis.greatest(per.recency_days / ibis.greatest(gap, 1.0) - 1.0, 0.0)
    return late / (late + 1.0)


def median_gap(con, per: ir.Table) -> float:
    import numpy as np

    gaps = con.to_pyarrow(per.filter(per.orders > 1).select("purchase_interval_days"))["purchase_interval_days"]
    values = np.asarray(gaps.to_numpy(zero_copy_only=False), dtype=float)
    return float(np.median(values)) if len(values) else DEFAULT_GAP_DAYS


def demographics(inputs: Inputs) -> ir.Table:
    u = inputs.users
    c = cities(inputs.con)
    city = u.city.strip().re_replace("市$", "")
    u = u.mutate(_city=ibis.ifelse(city == "", ibis.null("string"), city))
    j = u.left_join(c, u._city == c.city_name)
    age = ibis.literal(inputs.as_of.year, type="int64") - j.birth_year
    band = ibis.cases(
        (age.isnull() | (age < 18), ibis.null("string")),
        *[(age < upper, label) for upper, label in AGE_BANDS],
        else_="65+",
    )
    region = j.region.strip()
    occupation = j.occupation.strip()
    return j.select(
        user_id=j.uid,
        is_staff=j.is_staff.fill_null(False),
        gender=ibis.ifelse(j.gender.isin(("male", "female", "other")), j.gender, ibis.null("string")),
        age=age,
        age_band=band,
        # The lake keeps the birth year, not the date: anyone who may still be 17 on the as-of day (turning 18
        # this year) counts as a minor, which errs on the side of protection (COMPLIANCE 12).
        is_minor=(age <= 18).fill_null(False),
        city=j._city,
        city_tier=ibis.ifelse(j._city.isnull(), ibis.null("int64"), j.tier.fill_null(4).cast("int64")),
        region=ibis.ifelse(region == "", j.province, region),
        occupation=ibis.ifelse(occupation == "", ibis.null("string"), occupation),
    )


# --- interests and activity ------------------------------------------------------------------------------------


def touches(inputs: Inputs) -> ir.Table:
    """Every interaction that says something about interest, with its weight and what it touched: views, list
    views and cart adds from the events, purchases from the paid order lines."""
    con, ev, p = inputs.con, inputs.events, inputs.products
    browsing = ev.filter(ev.event.isin(tuple(k for k in INTEREST_WEIGHTS if k != "purchase")))
    browsing = browsing.select(
        "user_id",
        "day",
        weight=ibis.cases(*[(browsing.event == k, w) for k, w in INTEREST_WEIGHTS.items() if k != "purchase"]),
        product_id=json_text(con, browsing.properties, "product_id").try_cast("int64"),
        category_said=json_text(con, browsing.properties, "category"),
        brand_said=json_text(con, browsing.properties, "brand"),
    )
    bought = inputs.lines.select(
        "user_id",
        "day",
        weight=ibis.literal(INTEREST_WEIGHTS["purchase"]),
        product_id="product_id",
        category_said=ibis.null("string"),
        brand_said=ibis.null("string"),
    )
    both = browsing.union(bought)
    j = both.left_join(p, both.product_id == p.id)
    return j.select(
        j.user_id,
        j.day,
        j.weight,
        category=ibis.coalesce(j.category, j.category_said),
        brand=ibis.coalesce(j.brand_name, ibis.ifelse(j.brand_said == "", ibis.null("string"), j.brand_said)),
    )


def interests(inputs: Inputs) -> ir.Table:
    """user_id, kind ('category' | 'brand'), key, score: the time-decayed weight of the interactions with each
    category and brand (a weight halves every INTEREST_HALF_LIFE_DAYS days)."""
    t = touches(inputs)
    long = t.select("user_id", "day", "weight", kind=ibis.literal("category"), key=t.category).union(
        t.select("user_id", "day", "weight", kind=ibis.literal("brand"), key=t.brand)
    )
    long = long.filter(long.key.notnull())
    daily = long.group_by(["user_id", "kind", "key", "day"]).aggregate(weight=long.weight.sum())
    age = ibis.literal(inputs.as_of_day).delta(daily.day, unit="day").cast("float64")
    decayed = daily.weight * (age * (-math.log(2) / INTEREST_HALF_LIFE_DAYS)).exp()
    return daily.group_by(["user_id", "kind", "key"]).aggregate(score=decayed.sum())


def top_interests(interest: ir.Table) -> ir.Table:
    """Per customer, the TOP_INTERESTS strongest categories and brands (ties by name), as lists."""
    rank = ibis.row_number().over(
        ibis.window(group_by=["user_id", "kind"], order_by=[ibis.desc(interest.score.round(9)), interest.key])
    )
    ranked = interest.mutate(_rank=rank)
    ranked = ranked.filter(ranked._rank < TOP_INTERESTS)

    def slot(kind: str, i: int) -> ir.StringScalar:
        return ibis.ifelse((ranked.kind == kind) & (ranked._rank == i), ranked.key, ibis.null("string")).max()

    slots = ranked.group_by("user_id").aggregate(
        **{f"_{kind}{i}": slot(kind, i) for kind in ("category", "brand") for i in range(TOP_INTERESTS)}
    )
    return slots.select(
        "user_id",
        top_categories=ibis.array([slots[f"_category{i}"] for i in range(TOP_INTERESTS)]).filter(lambda x: x.notnull()),
        top_brands=ibis.array([slots[f"_brand{i}"] for i in range(TOP_INTERESTS)]).filter(lambda x: x.notnull()),
    )


def categorised_events(inputs: Inputs) -> ir.Table:
    ev, p, con = inputs.events, inputs.products, inputs.con
    ev = ev.filter(~ev.event.isin(ORDER_EVENTS))
    product_id = ibis.ifelse(
        ev.event.isin(PRODUCT_EVENTS),
        json_text(con, ev.properties, "product_id").try_cast("int64"),
        ibis.null("int64"),
    )
    said = ibis.ifelse(
        ev.event.isin((*PRODUCT_EVENTS, "Product List Viewed")),
        json_text(con, ev.properties, "category"),
        ibis.null("string"),
    )
    ev = ev.select("user_id", "day", "event", _product=product_id, _said=said)
    j = ev.left_join(p, ev._product == p.id)
    return j.select(j.user_id, j.day, j.event, category=ibis.coalesce(j.category, j._said))


def activity(inputs: Inputs) -> ir.Table:
    """user_id, day, event, category, count: per Shanghai day, each event's count with category NULL, and beside
    it the count per category for the events that have one (product events, list views, paid orders by the
    categories of their lines). Orders are the paid ones (`Order Completed`, refunds and cancellations left out)."""
    ev = categorised_events(inputs)
    totals = ev.group_by(["user_id", "day", "event"]).aggregate(count=ev.count())
    with_category = ev.filter(ev.category.notnull())
    by_category = with_category.group_by(["user_id", "day", "event", "category"]).aggregate(count=with_category.count())
    o, lines, p = inputs.orders, inputs.lines, inputs.products
    paid = o.group_by(["user_id", "day"]).aggregate(count=o.order_key.nunique())
    lj = lines.join(p, lines.product_id == p.id)
    paid_by_category = lj.group_by([lj.user_id, lj.day, lj.category]).aggregate(count=lj.order_key.nunique())
    columns = ["user_id", "day", "event", "category", "count"]
    return ibis.union(
        totals.mutate(category=ibis.null("string")).select(columns),
        by_category.select(columns),
        paid.mutate(event=ibis.literal("Order Completed"), category=ibis.null("string")).select(columns),
        paid_by_category.filter(paid_by_category.category.notnull())
        .mutate(event=ibis.literal("Order Completed"))
        .select(columns),
        distinct=False,
    ).mutate(count=ibis._["count"].cast("int64"))


def customers(inputs: Inputs, buyers: ir.Table, gap_days: float) -> ir.Table:
    """The wide table without the columns computed outside the engine (CLV, consents, model scores): one row per
    signed-in person with any event or paid order, staff left out. `buyers` is `consumption(inputs)`."""
    moment = ibis.literal(inputs.as_of, type=dt.Timestamp(timezone="UTC"))
    seen = behaviour(inputs)
    ids = ibis.union(seen.select("user_id"), buyers.select("user_id"), distinct=True)
    t = ids
    for part in (demographics(inputs), buyers, seen, top_interests(interests(inputs))):
        j = t.left_join(part, t.user_id == part.user_id)
        t = j.select(t, *[part[c] for c in part.columns if c != "user_id"])
    t = t.filter(~t.is_staff.fill_null(False)).drop("is_staff")
    orders = t.orders.fill_null(0)
    return t.mutate(
        orders=orders,
        monetary_fen=t.monetary_fen.fill_null(0),
        is_minor=t.is_minor.fill_null(False),
        events=t.events.fill_null(0),
        sessions=t.sessions.fill_null(0),
        product_views=t.product_views.fill_null(0),
        searches=t.searches.fill_null(0),
        cart_adds=t.cart_adds.fill_null(0),
        last_active_days=days_between(t.last_seen_at, moment),
        churn_risk=ibis.ifelse(orders > 0, churn_risk(t, gap_days), ibis.null("float64")),
        top_categories=ibis.coalesce(t.top_categories, ibis.literal([], type="array<string>")),
        top_brands=ibis.coalesce(t.top_brands, ibis.literal([], type="array<string>")),
    )


# --- product figures from the lake -------------------------------------------------------------------------------


def product_figures(con, inputs: Inputs, review_sources: set[int] | None = None) -> ir.Table:
    """Per product, what only the lake knows (`orders.lake_figures`): units sold on paid orders no database order
    holds, and the reviews no database review is behind (a database review's event names its review_id), with
    the sum of their ratings (1 to 5). `review_sources` as the build's order sources (None: every source)."""
    lines = inputs.lines
    if inputs.db_orders is not None:
        lines = lines.anti_join(inputs.db_orders, lines.order_key == inputs.db_orders.number)
    sold = lines.group_by(product_id=lines.product_id.cast("int64")).aggregate(sold=lines.quantity.sum().cast("int64"))
    ev = inputs.events
    if review_sources is not None:
        ev = ev.filter(ev.source_id.isin(sorted(review_sources) or [-1]))
    reviewed = ev.filter(ev.event == "Product Reviewed").mutate(
        product_id=json_text(con, ev.properties, "product_id").try_cast("int64"),
        rating=json_text(con, ev.properties, "rating").try_cast("int64"),
        review_id=json_text(con, ev.properties, "review_id"),
    )
    reviewed = reviewed.filter(
        reviewed.review_id.isnull() & reviewed.product_id.notnull() & reviewed.rating.between(1, 5)
    )
    reviews = reviewed.group_by("product_id").aggregate(
        reviews=reviewed.count().cast("int64"), rating_sum=reviewed.rating.sum().cast("int64")
    )
    both = sold.outer_join(reviews, sold.product_id == reviews.product_id)
    return both.select(
        product_id=ibis.coalesce(both.product_id, both.product_id_right).cast("int64"),
        sold=both.sold.fill_null(0).cast("int64"),
        reviews=both.reviews.fill_null(0).cast("int64"),
        rating_sum=both.rating_sum.fill_null(0).cast("int64"),
    ).order_by("product_id")
