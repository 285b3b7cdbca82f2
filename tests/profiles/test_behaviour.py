"""Behaviour analysis on hand-made events with answers worked out by hand: sessions (30 minutes, Shanghai days,
identity stitching), channels and devices, the in-order funnel for sessions and for people within a conversion
window, searches (zero results, search-to-purchase), browsing by category, brand and price band, purchases and
reviews, one customer's panel, the mart's rebuild when its inputs change, both engines alike, and the API."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from itertools import count

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from medreach.pipeline import cleaning
from medreach.pipeline.tables import TABLES
from medreach.profiles import behaviour
from medreach.profiles.behaviour import Filters
from medreach.tracking import lake
from tests.conftest import problem_code

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.50"
)
ANDROID = "Mozilla/5.0 (Linux; Android 14; V2309A) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36"
WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36"
# id, brand, category, price (fen)
PRODUCTS = {1: ("络活喜", "hypertension", 3380), 5: ("999", "cold_flu", 1980), 6: ("欧姆龙", "device_bp", 25900)}
JUNE = Filters(date(2026, 6, 1), date(2026, 6, 30))


def at(text: str) -> datetime:
    """'06-01 10:00' in UTC, June 2026."""
    return datetime.fromisoformat(f"2026-{text}").replace(tzinfo=UTC)


class Events:
    """Segment records as the storefront (pages with a user agent and campaign) and the server (track events)
    send them."""

    def __init__(self, prefix: str = "m"):
        self.records: list[dict] = []
        self._prefix, self._ids = prefix, count(1)
        self.staff: list[int] = []  # users marked staff in the users snapshot

    def _add(self, kind: str, when: datetime, anon: str, user: str | None, library: str, **extra) -> None:
        stamp = when.isoformat().replace("+00:00", "Z")
        record = {
            "type": kind,
            "messageId": f"{self._prefix}{next(self._ids)}",
            "anonymousId": anon,
            "timestamp": stamp,
            "receivedAt": stamp,
            "sourceId": 1,
            **extra,
        }
        record.setdefault("context", {})["library"] = {"name": library}
        if user:
            record["userId"] = user
        self.records.append(record)

    def page(self, when, anon, user=None, ua=IPHONE, source=None):
        context = {"userAgent": ua, "page": {"path": "/"}}
        if source:
            context["campaign"] = {"source": source, "medium": "social", "name": "x"}
        self._add("page", when, anon, user, "medreach-web", name="home", properties={}, context=context)

    def track(self, when, anon, user, event, **properties):
        self._add("track", when, anon, user, "medreach-server", event=event, properties=properties)

    def view(self, when, anon, user, product):
        brand, category, price = PRODUCTS[product]
        self.track(
            when, anon, user, "Product Viewed", product_id=product, brand=brand, category=category, price=price / 100
        )

    def search(self, when, anon, user, query, results):
        self.track(when, anon, user, "Products Searched", query=query, results=results)

    def add(self, when, anon, user, product):
        self.track(when, anon, user, "Product Added", product_id=product, quantity=1)

    def checkout(self, when, anon, user):
        self.track(when, anon, user, "Checkout Started", value=10.0)

    def paid(self, when, anon, user, order_id, lines, discount_fen=0):
        subtotal = sum(PRODUCTS[p][2] * q for p, q in lines)
        self.track(
            when,
            anon,
            user,
            "Order Completed",
            order_id=order_id,
            total=(subtotal - discount_fen) / 100,
            discount=discount_fen / 100,
            products=[{"product_id": p, "quantity": q, "price": PRODUCTS[p][2] / 100} for p, q in lines],
        )

    def review(self, when, anon, user, product, rating):
        self.track(when, anon, user, "Product Reviewed", product_id=product, rating=rating)

    def write(self, lake_dir, work):
        work.mkdir(parents=True, exist_ok=True)
        segment = work / f"segment-{len(list(work.glob('*.jsonl')))}.jsonl"
        segment.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in self.records))
        lake.compact([segment], lake_dir, work / "done")
        cleaning.run(lake_dir)
        folder = lake_dir / "tables" / "products" / "snapshot" / "date=2026-06-30"
        folder.mkdir(parents=True, exist_ok=True)
        rows = [
            {
                "id": pid,
                "sku": f"SKU{pid}",
                "generic_name": f"药{pid}",
                "brand_name": brand,
                "manufacturer": "",
                "drug_class": "otc_a",
                "category": category,
                "price_fen": price,
                "stock": 1,
                "pack_size": 1,
                "pack_unit": "盒",
                "daily_dose": None,
                "is_active": True,
                "online_banned": False,
                "sales": 0,
                "created_at": at("01-01T00:00"),
                "updated_at": at("01-01T00:00"),
            }
            for pid, (brand, category, price) in PRODUCTS.items()
        ]
        pq.write_table(pa.Table.from_pylist(rows, schema=TABLES["products"].schema), folder / "data.parquet")
        users = [
            {
                "id": uid,
                "gender": "",
                "birth_year": None,
                "region": "",
                "city": "",
                "occupation": "",
                "is_staff": True,
                "is_active": True,
                "last_login_at": None,
                "created_at": at("01-01T00:00"),
                "updated_at": at("01-01T00:00"),
            }
            for uid in self.staff
        ]
        folder = lake_dir / "tables" / "users" / "snapshot" / "date=2026-06-30"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(users, schema=TABLES["users"].schema), folder / "data.parquet")
        for name in ("orders", "order_lines"):  # the orders here are the events' (as the simulator's)
            empty = lake_dir / "tables" / name / "snapshot" / "date=2026-06-30"
            empty.mkdir(parents=True, exist_ok=True)
            pq.write_table(TABLES[name].schema.empty_table(), empty / "data.parquet")
        return lake_dir


def shop() -> Events:
    """Five people in June 2026 (UTC times; Shanghai is 8 hours ahead).

    101 (iPhone, from wechat): 06-01 searches 感冒灵, views, adds, checks out and pays in one session; 06-03 views
        a product and leaves (a second session); 06-05 reviews what they bought (4 stars).
    102 (Android, direct): 06-01 13:00 views and adds to the cart, leaves; checks out and pays on 06-04 (a later
        session, 3 days after the view): a person who converts within 7 days but not within 1.
    x3 (anonymous, Windows, from sms): searches xyzzy (no results) at 23:50 Shanghai on 06-02 and views a product
        at 00:05 on 06-03, one session that started on 06-02 in Shanghai (15:50 UTC).
    104 (iPhone, direct): adds to the cart BEFORE viewing, then views: only the view counts (steps in order).
    x5 -> 105 (Android, direct): views anonymously, signs in, adds to the cart: one person, one session.
    900 (staff): views a product on 06-08; staff are left out.
    """
    e = Events()
    t = at("06-01T02:00")
    e.page(t, "d1", "101", IPHONE, source="WeChat")
    e.search(t + timedelta(minutes=1), "d1", "101", " 感冒灵 ", 5)
    e.view(t + timedelta(minutes=2), "d1", "101", 5)
    e.add(t + timedelta(minutes=3), "d1", "101", 5)
    e.checkout(t + timedelta(minutes=4), "d1", "101")
    e.paid(t + timedelta(minutes=5), "d1", "101", "S1", [(5, 2)], discount_fen=500)
    e.page(at("06-03T12:00"), "d1", "101", IPHONE)
    e.view(at("06-03T12:01"), "d1", "101", 6)
    e.review(at("06-05T03:00"), "d1", "101", 5, 4)

    e.page(at("06-01T13:00"), "d2", "102", ANDROID)
    e.view(at("06-01T13:01"), "d2", "102", 1)
    e.add(at("06-01T13:02"), "d2", "102", 1)
    e.page(at("06-04T01:00"), "d2", "102", ANDROID)
    e.checkout(at("06-04T01:01"), "d2", "102")
    e.paid(at("06-04T01:02"), "d2", "102", "S2", [(1, 1)])
    e.review(at("06-10T01:00"), "d2", "102", 1, 2)

    e.page(at("06-02T15:50"), "x3", None, WINDOWS, source="sms")
    e.search(at("06-02T15:51"), "x3", None, "xyzzy", 0)
    e.search(at("06-02T15:52"), "x3", None, "XYZZY", 0)
    e.view(at("06-02T16:05"), "x3", None, 6)

    e.page(at("06-06T02:00"), "d4", "104", IPHONE)
    e.add(at("06-06T02:01"), "d4", "104", 1)
    e.view(at("06-06T02:02"), "d4", "104", 1)

    e.page(at("06-07T02:00"), "x5", None, ANDROID)
    e.view(at("06-07T02:01"), "x5", None, 5)
    e.add(at("06-07T02:03"), "x5", "105", 5)

    e.staff.append(900)  # a pharmacist trying the shop: left out of every figure
    e.page(at("06-08T02:00"), "d900", "900", WINDOWS)
    e.view(at("06-08T02:01"), "d900", "900", 1)
    return e


@pytest.fixture(scope="module")
def shop_lake(tmp_path_factory):
    """The shop's lake with its mart built (read, not changed: a test that changes it works on a copy)."""
    work = tmp_path_factory.mktemp("shop")
    lake_dir = shop().write(work / "lake", work / "work")
    behaviour.ensure(lake_dir)
    return lake_dir


@pytest.fixture
def own_lake(shop_lake, tmp_path):
    shutil.copytree(shop_lake, tmp_path / "lake")
    return tmp_path / "lake"


def run(lake_dir, fn, *args):
    behaviour.ensure(lake_dir)
    return behaviour.Reader(lake_dir).run(fn, *args)


def steps(result, what="people"):
    return [s[what] for s in result["steps"]]


def test_sessions_are_cut_after_30_minutes_on_shanghai_days_with_channel_and_device(shop_lake):
    behaviour.ensure(shop_lake)
    rows = pq.read_table(shop_lake / "marts" / "behaviour" / "sessions").to_pylist()
    by_person = {}
    for r in rows:
        by_person.setdefault(r["person"], []).append(r)
    assert {p: len(s) for p, s in by_person.items()} == {"101": 3, "102": 3, "a:x3": 1, "104": 1, "105": 1}
    x3 = by_person["a:x3"][0]
    assert (x3["day"], x3["channel"], x3["device"], x3["user_id"]) == (date(2026, 6, 2), "sms", "Windows", None)
    first = min(by_person["101"], key=lambda r: r["started_at"])
    assert (first["channel"], first["device"], first["day"]) == ("wechat", "iOS", date(2026, 6, 1))
    review = max(by_person["101"], key=lambda r: r["started_at"])
    assert (review["channel"], review["device"], review["events"]) == ("direct", "unknown", 1)  # server event only
    assert by_person["105"][0]["events"] == 3  # the anonymous view stitched to the user who signed in


def test_the_funnel_counts_steps_done_in_order(shop_lake):
    result = run(shop_lake, behaviour.funnel, JUNE, 7, None)
    # Sessions with a view: 101 (paid), 101 (view), 102 (cart), x3 (view), 104 (view: its add came first), 105 (cart).
    assert steps(result, "sessions") == [6, 3, 1, 1]
    # People: 101 paid, 102 paid within 7 days of the view, x3 and 104 viewed, 105 added to the cart.
    assert steps(result) == [5, 3, 2, 2]
    assert result["steps"][3]["people_rate"] == pytest.approx(2 / 5)
    assert result["steps"][1]["sessions_from_previous"] == pytest.approx(3 / 6)


def test_the_conversion_window_bounds_a_persons_later_steps(shop_lake):
    one_day = run(shop_lake, behaviour.funnel, JUNE, 1, None)
    assert steps(one_day) == [5, 3, 1, 1]  # 102 paid 3 days after the view
    three = run(shop_lake, behaviour.funnel, JUNE, 3, None)
    assert steps(three) == [5, 3, 2, 2]


def test_the_funnel_by_day_channel_and_device(shop_lake):
    by_channel = run(shop_lake, behaviour.funnel, JUNE, 7, "channel")
    rows = {r["key"]: [s["people"] for s in r["steps"]] for r in by_channel["breakdown"]}
    assert rows == {"direct": [4, 2, 1, 1], "sms": [1, 0, 0, 0], "wechat": [1, 1, 1, 1]}
    by_device = run(shop_lake, behaviour.funnel, JUNE, 7, "device")
    sessions = {r["key"]: [s["sessions"] for s in r["steps"]] for r in by_device["breakdown"]}
    assert sessions == {"Android": [2, 2, 0, 0], "Windows": [1, 0, 0, 0], "iOS": [3, 1, 1, 1]}
    by_day = run(shop_lake, behaviour.funnel, JUNE, 7, "day")
    days = {r["key"]: [s["people"] for s in r["steps"]] for r in by_day["breakdown"]}
    assert days["2026-06-01"] == [2, 2, 2, 2] and days["2026-06-02"] == [1, 0, 0, 0]
    assert days["2026-06-03"] == [1, 0, 0, 0]  # 101's view at 20:01 Shanghai


def test_filters_narrow_every_chart(shop_lake):
    wechat = Filters(JUNE.start, JUNE.end, channel="wechat")
    assert steps(run(shop_lake, behaviour.funnel, wechat, 7, None)) == [1, 1, 1, 1]
    android = Filters(JUNE.start, JUNE.end, device="Android")
    assert run(shop_lake, behaviour.purchases, android, 15, None)["orders"] == 1
    first_two_days = Filters(date(2026, 6, 1), date(2026, 6, 2))
    assert steps(run(shop_lake, behaviour.funnel, first_two_days, 7, None)) == [3, 2, 2, 2]


def test_searches_top_and_zero_result_terms_and_search_to_purchase(shop_lake):
    result = run(shop_lake, behaviour.searches, JUNE, 20, None)
    assert (result["searches"], result["people"], result["zero_results"]) == (3, 2, 2)
    assert result["search_to_purchase"] == pytest.approx(1 / 3)
    top = {t["term"]: t for t in result["top"]}
    assert top["xyzzy"]["searches"] == 2 and top["xyzzy"]["purchase_rate"] == 0  # case and spaces folded
    assert top["感冒灵"]["purchase_rate"] == 1 and top["感冒灵"]["average_results"] == 5
    assert [t["term"] for t in result["zero_result_terms"]] == ["xyzzy"]


def test_browsing_by_category_brand_and_price_band(shop_lake):
    result = run(shop_lake, behaviour.browsing, JUNE, 15, None)
    assert result["views"] == 6
    assert {c["key"]: (c["views"], c["people"]) for c in result["categories"]} == {
        "cold_flu": (2, 2),
        "hypertension": (2, 2),
        "device_bp": (2, 2),
    }
    bands = {b["key"]: b["views"] for b in result["price_bands"]}
    assert bands == {"0-20": 2, "20-50": 2, "50-100": 0, "100-200": 0, "200-500": 2, "500+": 0}


def test_category_interest_over_time(shop_lake):
    week = Filters(date(2026, 6, 1), date(2026, 6, 7))
    result = run(shop_lake, behaviour.interest, week, "day", 2)
    assert result["periods"][0] == date(2026, 6, 1) and len(result["periods"]) == 7
    series = {s["key"]: s["views"] for s in result["series"]}
    # Each category was viewed twice; ties go by name, so hypertension joins "other". A view counts on the day its
    # session started (x3's view at 00:05 on 06-03 belongs to the session begun at 23:50 on 06-02).
    assert series == {
        "cold_flu": [1, 0, 0, 0, 0, 0, 1],
        "device_bp": [0, 1, 1, 0, 0, 0, 0],
        "other": [1, 0, 0, 0, 0, 1, 0],
    }
    weekly = run(shop_lake, behaviour.interest, JUNE, "week", 8)
    assert weekly["periods"][0] == date(2026, 6, 1)  # a Monday
    assert sum(sum(s["views"]) for s in weekly["series"]) == 6


def test_purchases_frequency_amount_basket_and_categories(shop_lake):
    result = run(shop_lake, behaviour.purchases, JUNE, 15, None)
    s1, s2 = 2 * 1980 - 500, 3380
    assert (result["orders"], result["buyers"], result["revenue_fen"]) == (2, 2, s1 + s2)
    assert result["aov_fen"] == round((s1 + s2) / 2) and result["discounted_share"] == 0.5
    assert result["items_per_order"] == 1.5
    assert {b["key"]: b["orders"] for b in result["basket_sizes"]}["2"] == 1
    assert {b["key"]: b["buyers"] for b in result["frequency"]}["1"] == 2
    assert {b["key"]: b["orders"] for b in result["order_values"]} == {
        "0-50": 2,
        "50-100": 0,
        "100-200": 0,
        "200-500": 0,
        "500+": 0,
    }
    assert {c["key"]: c["revenue_fen"] for c in result["categories"]} == {"cold_flu": 2 * 1980, "hypertension": 3380}
    assert [d["day"] for d in result["daily"]] == [date(2026, 6, 1), date(2026, 6, 4)]


def test_reviews_and_ratings(shop_lake):
    result = run(shop_lake, behaviour.interactions, JUNE, 15, None)
    assert (result["reviews"], result["average_rating"]) == (2, 3.0)
    assert [r["reviews"] for r in result["ratings"]] == [0, 1, 0, 1, 0]
    assert {c["key"]: c["average_rating"] for c in result["categories"]} == {"cold_flu": 4.0, "hypertension": 2.0}


def test_overview(shop_lake):
    result = run(shop_lake, behaviour.overview, JUNE, None)
    assert (result["sessions"], result["people"], result["signed_in"]) == (9, 5, 4)
    assert (result["product_views"], result["searches"], result["orders"], result["reviews"]) == (6, 3, 2, 2)
    bounds = run(shop_lake, behaviour.bounds)
    assert (bounds["first_day"], bounds["last_day"]) == (date(2026, 6, 1), date(2026, 6, 10))
    assert set(bounds["channels"]) == {"direct", "wechat", "sms"}


def test_one_customers_panel(shop_lake):
    result = run(shop_lake, behaviour.customer, "101", JUNE)
    assert [s["sessions"] for s in result["funnel"]] == [2, 1, 1, 1]
    assert result["summary"]["orders"] == 1 and result["summary"]["sessions"] == 3
    assert result["searches"]["top"][0]["term"] == "感冒灵"
    assert [c["key"] for c in result["browsing"]["categories"]] == ["cold_flu", "device_bp"]
    assert result["interactions"]["average_rating"] == 4.0
    assert {d["key"] for d in result["devices"]} == {"iOS", "unknown"}
    nobody = run(shop_lake, behaviour.customer, "999", JUNE)
    assert nobody["summary"]["sessions"] == 0 and nobody["purchases"]["orders"] == 0


def test_the_mart_is_rebuilt_when_the_clean_events_change(own_lake, tmp_path):
    shop_lake = own_lake
    first = behaviour.ensure(shop_lake)
    assert behaviour.ensure(shop_lake)["built_at"] == first["built_at"]  # unchanged inputs: not built again
    more = Events("later-")
    more.staff.append(900)  # the users snapshot is written again: still staff
    more.page(at("06-20T02:00"), "d9", "109", ANDROID)
    more.view(at("06-20T02:01"), "d9", "109", 1)
    more.write(shop_lake, tmp_path / "work2")
    second = behaviour.ensure(shop_lake)
    assert second["version"] != first["version"]
    assert run(shop_lake, behaviour.funnel, JUNE, 7, None)["steps"][0]["people"] == 6


def test_no_clean_events_no_mart(tmp_path):
    assert behaviour.ensure(tmp_path / "lake") is None
    assert behaviour.Reader(tmp_path / "lake").run(behaviour.bounds) is None


def test_device_families():
    assert behaviour.device_of(IPHONE) == "iOS" and behaviour.device_of(WINDOWS) == "Windows"
    assert behaviour.device_of(None) == "unknown" and behaviour.device_of("curl-ish/1") == "other"


@pytest.mark.timeout(1200)  # Spark local[2]: each stage a job of its own; minutes on a busy box
def test_both_engines_build_the_same_mart_and_answers(shop_lake, own_lake):
    behaviour.build(own_lake, "spark", "local[2]")
    for name in behaviour.TABLES:
        duck = _sorted(pq.read_table(shop_lake / "marts" / "behaviour" / name))
        spark = _sorted(pq.read_table(own_lake / "marts" / "behaviour" / name))
        assert duck == spark, name
    on_spark = behaviour.Reader(own_lake, "spark", "local[2]")
    for fn, args in ((behaviour.funnel, (JUNE, 7, "channel")), (behaviour.searches, (JUNE, 20, None))):
        assert on_spark.run(fn, *args) == run(shop_lake, fn, *args), fn.__name__


def _sorted(table: pa.Table) -> list[tuple]:
    rows = table.to_pylist()
    return sorted((tuple(sorted((k, _plain(v)) for k, v in r.items())) for r in rows), key=repr)


def _plain(v):
    if isinstance(v, datetime):
        return v.astimezone(UTC).replace(tzinfo=None)
    return v


# --- the API ------------------------------------------------------------------------------------------------------


@pytest.fixture
def api_lake(shop_lake, settings):
    shutil.copytree(shop_lake, settings.lake_path, dirs_exist_ok=True)
    return settings.lake_path


def test_the_charts_over_the_api(client, staff, api_lake):
    _, headers = staff("analyst")
    june = {"start": "2026-06-01", "end": "2026-06-30"}
    r = client.get("/api/v1/admin/behaviour/overview", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    # The default range: the 30 days up to the last day with data.
    assert body["range"] == {"start": "2026-05-12", "end": "2026-06-10", "channel": None, "device": None}
    assert body["overview"]["orders"] == 2 and body["bounds"]["devices"][0] in ("iOS", "Android")
    funnel = client.get(
        "/api/v1/admin/behaviour/funnel", headers=headers, params={**june, "window_days": 1, "by": "device"}
    ).json()
    assert [s["people"] for s in funnel["steps"]] == [5, 3, 1, 1]
    assert {b["key"] for b in funnel["breakdown"]} == {"Android", "Windows", "iOS"}
    wechat = client.get("/api/v1/admin/behaviour/funnel", headers=headers, params={**june, "channel": "wechat"})
    assert [s["sessions"] for s in wechat.json()["steps"]] == [1, 1, 1, 1]
    searched = client.get("/api/v1/admin/behaviour/searches", headers=headers, params=june).json()
    assert searched["zero_result_terms"][0]["term"] == "xyzzy"
    for path in ("browsing", "interest", "purchases", "interactions"):
        r = client.get(f"/api/v1/admin/behaviour/{path}", headers=headers, params={**june, "interval": "week"})
        assert r.status_code == 200, (path, r.text)
    assert client.get("/api/v1/admin/behaviour/purchases", headers=headers, params=june).json()["orders"] == 2


def test_the_charts_need_analytics_read(client, staff, register, api_lake):
    _, service_headers = staff("service")
    r = client.get("/api/v1/admin/behaviour/funnel", headers=service_headers)
    assert r.status_code == 403 and problem_code(r) == "PERMISSION_DENIED"
    _, customer_headers, _ = register()
    assert client.get("/api/v1/admin/behaviour/overview", headers=customer_headers).status_code == 403
    assert client.get("/api/v1/admin/behaviour/overview").status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [({"start": "2026-06-10", "end": "2026-06-01"}, "start"), ({"start": "2025-01-01", "end": "2026-06-01"}, "end")],
)
def test_a_bad_range_is_refused_with_its_field(client, staff, api_lake, params, field):
    _, headers = staff("analyst")
    r = client.get("/api/v1/admin/behaviour/funnel", headers=headers, params=params)
    assert r.status_code == 422 and problem_code(r) == "BEHAVIOUR_RANGE_INVALID"
    assert r.json()["field"] == field


@pytest.mark.parametrize("params", [{"channel": "we\x00chat"}, {"window_days": 0}, {"by": "city"}, {"start": "x"}])
def test_bad_parameters_are_422(client, staff, api_lake, params):
    _, headers = staff("analyst")
    assert client.get("/api/v1/admin/behaviour/funnel", headers=headers, params=params).status_code == 422


def test_no_clean_events_is_409(client, staff):
    _, headers = staff("analyst")
    r = client.get("/api/v1/admin/behaviour/overview", headers=headers)
    assert r.status_code == 409 and problem_code(r) == "BEHAVIOUR_NO_DATA"


def test_one_customers_behaviour_is_audited_and_needs_profiles_read(client, staff, register, settings, db, tmp_path):
    user, _, _ = register()
    e = Events()
    e.page(at("06-01T02:00"), "dz", str(user["id"]), ANDROID, source="sms")
    e.view(at("06-01T02:01"), "dz", str(user["id"]), 6)
    e.write(settings.lake_path, tmp_path / "work")
    analyst, headers = staff("analyst")
    r = client.get(f"/api/v1/admin/behaviour/customers/{user['id']}", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user_id"] == str(user["id"]) and body["funnel"][0]["sessions"] == 1
    assert body["channels"] == [{"key": "sms", "sessions": 1}] and body["range"]["start"] == "2026-06-01"
    from sqlalchemy import select

    from medreach.ops.models import AuditEntry

    with db.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "behaviour.customer_read")).one()
        assert (entry.actor_id, entry.subject_id) == (analyst["id"], str(user["id"]))
    assert client.get("/api/v1/admin/behaviour/customers/999999", headers=headers).status_code == 404
    _, pharmacist_headers = staff("pharmacist")  # no profiles:read
    assert client.get(f"/api/v1/admin/behaviour/customers/{user['id']}", headers=pharmacist_headers).status_code == 403
