"""The behaviour simulator: reproducible, believable (calendar peaks, winter colds, refills that follow the
pack size and daily dose, anonymous browsing stitched at login), valid Segment, and written to the lake
or through the collector."""

import csv
import statistics
from collections import Counter, defaultdict
from datetime import date, datetime
from types import SimpleNamespace

import duckdb
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from medreach.demo import DATA as DATA_DIR
from medreach.tracking import collector, identity, simulator
from medreach.tracking.lake import EVENT_SCHEMA, read_lake
from medreach.tracking.log import EventLog
from medreach.tracking.simulator import Item, Plan, World

START = date(2025, 7, 1)


def catalog() -> list[Item]:
    """The curated demo catalog as the simulator reads products (without a database)."""
    with (DATA_DIR / "demo_products.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [Item.of(SimpleNamespace(
        id=i, sku=r["sku"], generic_name=r["generic_name"], brand_name=r["brand_name"], price_fen=int(r["price_fen"]),
        drug_class=r["drug_class"], pack_size=int(r["pack_size"] or 1), daily_dose=r["daily_dose"] or None,
        tags=r["tags"].split(";"), category=SimpleNamespace(code=r["category_code"])))
        for i, r in enumerate(rows, start=1)]


@pytest.fixture(scope="module")
def world() -> World:
    return World(catalog(), START, 365, seed=7, source_id=9)


@pytest.fixture(scope="module")
def population(world):
    return list(simulator.generate(world, 0, 2500))


def test_the_same_seed_makes_the_same_world_and_another_seed_another(world):
    again = World(catalog(), START, 365, seed=7, source_id=9)
    assert simulator.behaviour(world, 42) == simulator.behaviour(again, 42)
    # A person does not depend on who was generated before them (chunks can run in any process).
    assert list(simulator.generate(world, 40, 3))[2] == simulator.behaviour(world, 42)
    other = World(catalog(), START, 365, seed=8, source_id=9)
    assert simulator.behaviour(other, 42)[1] != simulator.behaviour(world, 42)[1]


def test_every_record_is_a_valid_segment_call_inside_the_period(population, world):
    first, last = world.day_ms(0), world.day_ms(world.days)
    ids = Counter()
    for _, records in population:
        for r in records:
            assert collector.check(r, None, 0) is None, r
            ms = int(collector.parse_time(r["timestamp"]).timestamp() * 1000)
            assert first <= ms < last
            assert r["receivedAt"] >= r["timestamp"]
            ids[r["messageId"]] += 1
    assert ids and max(ids.values()) == 1


def test_people_are_adults_with_conditions_that_follow_age(population):
    people = [p for p, _ in population]
    assert all(START.year - p.birth_year >= 18 for p in people)
    def rate(cond, lo, hi):
        group = [p for p in people if lo <= START.year - p.birth_year <= hi]
        return sum(cond in p.conditions for p in group) / len(group)
    assert rate("hypertension", 55, 80) > 3 * rate("hypertension", 18, 34)
    assert rate("children", 25, 45) > 0.3 > rate("children", 55, 80)
    assert all(p.gender == "female" for p in people if "pregnancy" in p.conditions)
    assert Counter(p.kind for p in people)["shopper"] > 0.98 * len(people)


def test_shopping_festivals_and_winter_colds_show_in_the_volume(population, world):
    per_day, cold_views = Counter(), Counter()
    for _, records in population:
        for r in records:
            day = r["timestamp"][:10]
            per_day[day] += 1
            if r.get("event") == "Product Viewed" and r["properties"]["category"] in ("cold_flu", "cough"):
                cold_views[int(day[5:7])] += 1
    typical = statistics.median(per_day.values())
    assert per_day["2025-11-11"] > 2.5 * typical
    assert per_day["2026-06-18"] > 1.8 * typical
    spring_festival = world.calendar[date(2026, 2, 17)]
    assert spring_festival[0] == "春节" and spring_festival[1] < 1  # the lull while couriers rest
    winter = cold_views[12] + cold_views[1] + cold_views[2]
    summer = cold_views[6] + cold_views[7] + cold_views[8]
    assert winter > 2 * summer


def test_refills_follow_pack_size_and_daily_dose(population, world):
    items = {i.id: i for group, _ in world.by_category.values() for i in group}
    ratios = []
    for person, records in population:
        if "hypertension" not in person.conditions:
            continue
        orders = [(datetime.fromisoformat(r["timestamp"].replace("Z", "+00:00")), r["properties"]["products"][0])
                  for r in records if r.get("event") == "Order Completed"]
        last: dict[int, tuple] = {}
        for t, line in orders:
            item = items[line["product_id"]]
            if item.category == "hypertension" and line["product_id"] in last:
                before, qty = last[line["product_id"]]
                ratios.append((t - before).days / (item.supply_days * qty))
            last[line["product_id"]] = (t, line["quantity"])
    assert len(ratios) > 100
    assert 0.9 < statistics.median(ratios) < 1.25  # they come back when the packs run out (adherence varies)


def test_browsing_starts_anonymous_and_login_stitches_it(population):
    stitched = 0
    for person, records in population:
        identified: dict[str, str] = {}
        for r in records:
            if r["type"] == "identify":
                assert r["userId"] == person.user_id and r["traits"]["address"]["city"] == person.city
                identified[r["anonymousId"]] = r["timestamp"]
            if r.get("userId"):
                assert r["anonymousId"] in identified  # a logged-in event comes from an identified device
            if r.get("event") == "Order Completed":
                assert r.get("userId") == person.user_id  # buying needs an account
        links = identity.links_from(records)
        if any(not r.get("userId") and r["anonymousId"] in identified and r["timestamp"] < identified[r["anonymousId"]]
               for r in records):
            stitched += 1
            assert links
    assert stitched > 200


def test_orders_reviews_prescriptions_and_coupons_hang_together(population, world):
    items = {i.id: i for group, _ in world.by_category.values() for i in group}
    names = Counter()
    for person, records in population:
        bought: dict[int, str] = {}
        rx_submitted = 0
        for r in records:
            event = r.get("event")
            names[event or r["type"]] += 1
            if event == "Prescription Submitted":
                rx_submitted += 1
            elif event == "Order Completed":
                p = r["properties"]
                line = p["products"][0]
                assert p["total"] == pytest.approx(p["revenue"] - p["discount"] + p["shipping"])
                if items[line["product_id"]].drug_class == "rx":
                    assert p["requires_rx"] and rx_submitted > 0
                    rx_submitted -= 1
                bought.setdefault(line["product_id"], r["timestamp"])
            elif event == "Product Reviewed":
                assert bought.get(r["properties"]["product_id"], "9999") < r["timestamp"]
        if person.kind == "bot":
            assert all(r["context"]["userAgent"] in simulator.BOT_AGENTS for r in records)
            assert not any(r.get("event") == "Order Completed" for r in records)
    assert names["Order Completed"] < names["Product Added"] < names["Product Viewed"]  # a funnel
    assert names["Coupon Applied"] > 0 and names["Product Reviewed"] > 0 and names["page"] > names["identify"]
    searches = [r["properties"] for _, records in population for r in records if r.get("event") == "Products Searched"]
    zero = [p["query"] for p in searches if p["results"] == 0]
    assert 0.02 < len(zero) / len(searches) < 0.15 and set(zero) <= set(simulator.ZERO_RESULT_QUERIES)


def test_server_copies_are_canonical_and_browser_pages_too(population):
    libraries = defaultdict(set)
    for _, records in population[:200]:
        for r in records:
            libraries[r.get("event") or r["type"]].add(r["context"]["library"]["name"])
    assert libraries["Order Completed"] == {simulator.SERVER} and libraries["page"] == {simulator.BROWSER}


def test_bulk_world_into_the_lake_with_links_and_a_manifest(db, tmp_path, shop):
    lake_dir = tmp_path / "lake"
    plan = Plan(users=150, seed=11, days=90, end=date(2026, 3, 1))
    seen = []
    manifest = simulator.write_lake(db.session, lake_dir, tmp_path / "staging", plan, workers=1,
                                    advance=lambda people, n: seen.append((people, n)))
    assert sum(p for p, _ in seen) == 150 and sum(n for _, n in seen) == manifest["events"] > 0
    assert simulator.existing_world(lake_dir) == manifest and manifest["people"]["shopper"] > 140
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rows = con.execute(f"SELECT count(*), min(\"timestamp\"), max(\"timestamp\"), count(DISTINCT product) FROM "
                       f"(SELECT *, properties->>'product_id' AS product FROM {read_lake(lake_dir)})").fetchone()
    assert rows[0] == manifest["events"]
    assert rows[1].date() >= date(2025, 12, 1) and rows[2].date() < date(2026, 3, 1)
    assert rows[3] <= len(shop) + 1  # only the catalog's products
    assert [d[0] for d in con.execute(f"DESCRIBE SELECT * FROM {read_lake(lake_dir)}").fetchall()] == list(EVENT_SCHEMA)
    people = con.execute(f"SELECT user_id, anonymous_ids FROM '{lake_dir}/simulation/people.parquet'").fetchall()
    assert len(people) == 150
    # A shopper's timeline (through the links written to the database) holds their anonymous browsing.
    with db.session() as s:
        buyers = [u for u, _ in people if identity.links(s, u)]
        user = buyers[0]
        ids = identity.ids_of(s, user)
    events = identity.timeline(EventLog(tmp_path / "log"), lake_dir, user, ids, limit=1000)
    assert {e["user_id"] for e in events} >= {None, user}
    # Replacing removes the world's files and links.
    with db.session() as s:
        simulator.remove_world(s, lake_dir, manifest)
        assert identity.links(s, user) == []
    assert simulator.existing_world(lake_dir) is None and not list((lake_dir / "events").glob("day=*/*.parquet"))


def test_the_demo_command_simulates_once_and_replaces_on_request(tmp_path, monkeypatch):
    from medreach.accounts import demo_customers
    from medreach.accounts.models import User
    from medreach.cli import app
    from medreach.core.db import Database
    from medreach.core.settings import get_settings

    monkeypatch.setenv("MEDREACH_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("MEDREACH_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        run = lambda *a: CliRunner().invoke(app, list(a))  # noqa: E731
        assert run("db", "upgrade").exit_code == 0
        first = run("demo", "--users", "120", "--days", "30", "--end", "2026-01-01")
        assert first.exit_code == 0 and "Behaviour:" in first.output and "120 people" in first.output
        assert "Pipeline:" in first.output and list((tmp_path / "lake" / "marts" / "daily_events").glob("*.parquet"))
        accounts = simulator.existing_world(tmp_path / "lake")["accounts"]
        assert accounts > 0 and f"Customers: {accounts:,} simulated shoppers signed up" in first.output
        again = run("demo", "--users", "120", "--days", "30", "--end", "2026-01-01")
        assert "already in the lake" in again.output and f"{accounts:,} customer accounts" in again.output
        assert "clean_events is up to date" in again.output and "build_profiles is up to date" in again.output
        other = run("demo", "--users", "120", "--days", "30", "--end", "2026-01-01", "--seed", "5")
        assert "--replace" in other.output
        assert simulator.existing_world(tmp_path / "lake")["seed"] == 2026
        db = Database(get_settings().db_url)
        with db.session() as s:
            old_ids = set(s.scalars(sa.select(User.id).where(User.is_demo.is_(True))))
        assert len(old_ids) == accounts
        replaced = run("demo", "--users", "120", "--days", "30", "--end", "2026-01-01", "--seed", "5", "--replace")
        assert replaced.exit_code == 0 and simulator.existing_world(tmp_path / "lake")["seed"] == 5
        assert not list((tmp_path / "lake" / "events").glob("day=*/sim2026-*.parquet"))
        with db.session() as s:  # the old world's customers went with it; the new world's are new accounts
            new_ids = set(s.scalars(sa.select(User.id).where(User.is_demo.is_(True))))
            assert new_ids and not new_ids & old_ids
            assert len(new_ids) == simulator.existing_world(tmp_path / "lake")["accounts"]
            demo_customers.remove(s)  # a database made anew beside the lake: the world is simulated again
        remade = run("demo", "--users", "120", "--days", "30", "--end", "2026-01-01", "--seed", "5")
        assert "simulating it again" in remade.output and "Customers:" in remade.output
        with db.session() as s:
            assert demo_customers.count(s) == len(new_ids)
        db.engine.dispose()
        # `make run` on a later day (no --end): the world already there is the one wanted.
        assert "already in the lake" in run("demo", "--users", "120", "--days", "30", "--seed", "5").output
        bad = run("demo", "--via", "kafka")
        assert bad.exit_code != 0 and "--via" in bad.output
        assert run("demo", "--via", "collector", "--users", "10").exit_code != 0  # needs a write key
    finally:
        get_settings.cache_clear()
