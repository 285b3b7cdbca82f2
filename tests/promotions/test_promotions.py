"""Promotions end to end: lifecycle, compliance refusals, checkout breakdowns, coupons, membership."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from medreach.ops.models import AuditEntry
from medreach.promotions.models import PointsEntry
from tests.conftest import problem_code
from tests.orders.test_orders import key, pay, place
from tests.promotions.conftest import window

TIERS = {"tiers": [{"threshold_fen": 5000, "off_fen": 500}, {"threshold_fen": 10000, "off_fen": 1500}]}


def test_lifecycle_needs_a_separate_reviewer_and_is_audited(client, shop, promo_staff, staff, db):
    marketer, reviewer = promo_staff
    body = {"name": "满50减5", "kind": "spend_tier", "rules": TIERS, **window()}
    p = client.post("/api/v1/admin/promotions", headers=marketer, json=body).json()
    assert p["status"] == "draft" and p["state"] == "draft"
    r = client.post(f"/api/v1/admin/promotions/{p['id']}/review", headers=marketer, json={"decision": "approve"})
    assert r.status_code == 403  # marketers edit; approving is another permission
    client.post(f"/api/v1/admin/promotions/{p['id']}/actions", headers=marketer, json={"action": "submit"})
    r = client.patch(f"/api/v1/admin/promotions/{p['id']}", headers=marketer, json={"name": "changed"})
    assert r.status_code == 409 and problem_code(r) == "PROMO_STATE_CONFLICT"  # no edits while in review
    _, admin_self = staff("admin")
    own = client.post("/api/v1/admin/promotions", headers=admin_self, json=body).json()
    client.post(f"/api/v1/admin/promotions/{own['id']}/actions", headers=admin_self, json={"action": "submit"})
    r = client.post(f"/api/v1/admin/promotions/{own['id']}/review", headers=admin_self, json={"decision": "approve"})
    assert r.status_code == 403 and problem_code(r) == "PROMO_SELF_REVIEW"
    r = client.post(f"/api/v1/admin/promotions/{p['id']}/review", headers=reviewer, json={"decision": "approve"})
    assert r.json()["state"] == "running"
    assert client.post(f"/api/v1/admin/promotions/{p['id']}/actions", headers=marketer,
                       json={"action": "pause"}).json()["state"] == "paused"
    assert client.post(f"/api/v1/admin/promotions/{p['id']}/actions", headers=marketer,
                       json={"action": "resume"}).json()["state"] == "running"
    assert client.post(f"/api/v1/admin/promotions/{p['id']}/actions", headers=marketer,
                       json={"action": "end"}).json()["state"] == "ended"
    with db.session() as s:
        actions = [a.action for a in s.scalars(sa.select(AuditEntry).where(AuditEntry.subject_id == str(p["id"]),
                                                                           AuditEntry.subject_type == "promotions"))]
    assert {"promotions.submit", "promotions.approve", "promotions.pause", "promotions.resume",
            "promotions.end"} <= set(actions)


def test_start_and_end_happen_on_time(client, shop, publish, customer):
    _, headers, _ = customer
    later = {"starts_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
             "ends_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat()}
    p = publish("catalog_discount", {"percent_off": 50}, {"product_ids": [shop["otc"]]}, **later)
    assert p["state"] == "scheduled"
    client.post("/api/v1/cart/items", headers=headers, json={"product_id": shop["otc"]})
    assert client.get("/api/v1/cart", headers=headers).json()["discount_fen"] == 0  # not yet


def test_compliance_refusals(client, db, shop, promo_staff):
    marketer, _ = promo_staff
    rx_scope = {"name": "x", "kind": "catalog_discount", "rules": {"percent_off": 10},
                "scope": {"product_ids": [shop["rx"]]}, **window()}
    r = client.post("/api/v1/admin/promotions", headers=marketer, json=rx_scope)
    assert r.status_code == 422 and problem_code(r) == "PROMO_RX_NOT_ALLOWED" and "T-AML" in r.json()["detail"]
    r = client.post("/api/v1/admin/promotions", headers=marketer, json={
        "name": "rx flash", "kind": "flash_sale", **window(),
        "rules": {"product_id": shop["rx"], "sale_price_fen": 100, "sale_stock": 5}})
    assert r.status_code == 422 and problem_code(r) == "PROMO_RX_NOT_ALLOWED"
    r = client.post("/api/v1/admin/promotions", headers=marketer, json={
        "name": "买药赠药", "kind": "gift", **window(), "rules": {"threshold_fen": 100, "gift_product_id": shop["otc_a"]}})
    assert r.status_code == 422 and problem_code(r) == "GIFT_DRUG_FORBIDDEN"
    assert "买药赠药" in client.post("/api/v1/admin/promotions", headers=marketer, json={
        "name": "g", "kind": "gift", **window(), "rules": {"threshold_fen": 100, "gift_product_id": shop["otc"]}}
    ).json()["detail"]
    r = client.post("/api/v1/admin/coupons", headers=marketer, json={
        "name": "rx coupon", "kind": "amount_off", "amount_off_fen": 100, "scope": {"product_ids": [shop["rx"]]},
        "valid_from": window()["starts_at"], "valid_to": window()["ends_at"]})
    assert r.status_code == 422 and problem_code(r) == "PROMO_RX_NOT_ALLOWED"
    r = client.post("/api/v1/admin/promotions", headers=marketer, json={
        "name": "bad", "kind": "spend_tier", **window(), "rules": {"tiers": [{"threshold_fen": 100, "off_fen": 500}]}})
    assert r.status_code == 422 and r.json()["errors"][0]["field"].startswith("rules")


def test_checkout_shows_and_charges_the_exact_breakdown(client, db, shop, publish, coupon, customer):
    user, headers, address_id = customer
    publish("spend_tier", TIERS)
    publish("catalog_discount", {"percent_off": 10}, {"category_codes": ["pain_fever", "pain"]})
    c = coupon()
    grant = client.post(f"/api/v1/coupons/{c['id']}/claim", headers=headers).json()
    assert grant["usable_now"] is True
    items = [{"product_id": shop["otc"], "quantity": 2}, {"product_id": shop["otc_a"], "quantity": 1}]
    preview = client.post("/api/v1/checkout/preview", headers=headers,
                          json={"items": items, "coupon_grant_id": grant["id"]}).json()
    b = preview["breakdown"]
    # 2 x 15.00 + 29.80 = 59.80; 10% off 芬必得 -2.98 -> 56.82; 满50减5 -> 51.82; coupon 满50减10 -> 41.82
    assert (b["subtotal_fen"], b["discount_fen"], b["shipping_fen"], b["total_fen"]) == (5980, 298 + 500 + 1000, 1000, 4182 + 1000)
    assert [a["kind"] for a in b["applied"]] == ["catalog_discount", "spend_tier", "amount_off"]
    order = client.post("/api/v1/orders", headers={**headers, **key()}, json={
        "address_id": address_id, "items": items, "coupon_grant_id": grant["id"]}).json()
    assert order["total_fen"] == b["total_fen"] and order["discount_fen"] == b["discount_fen"]
    assert sum(a["amount_fen"] for a in order["adjustments"]) == b["discount_fen"]
    assert sum(line["line_total_fen"] for line in order["lines"]) == b["goods_fen"]
    wallet = client.get("/api/v1/me/coupons", headers=headers).json()
    assert wallet[0]["status"] == "locked"
    again = client.post("/api/v1/orders", headers={**headers, **key()}, json={
        "address_id": address_id, "items": items, "coupon_grant_id": grant["id"]})
    assert again.status_code == 409 and problem_code(again) == "COUPON_NOT_AVAILABLE"
    pay(client, headers, order["id"])
    assert client.get("/api/v1/me/coupons", headers=headers).json()[0]["status"] == "used"
    membership = client.get("/api/v1/me/membership", headers=headers).json()
    assert membership["points"] == order["points_earned"] > 0


def test_cancel_returns_coupon_and_points(client, db, shop, coupon, customer):
    user, headers, address_id = customer
    c = coupon(min_spend_fen=0, amount_off_fen=300)
    grant = client.post(f"/api/v1/coupons/{c['id']}/claim", headers=headers).json()
    with db.session() as s:
        s.add(PointsEntry(user_id=user["id"], delta=500, balance=500, reason="earned"))
    order = client.post("/api/v1/orders", headers={**headers, **key()}, json={
        "address_id": address_id, "items": [{"product_id": shop["otc"], "quantity": 2}],
        "coupon_grant_id": grant["id"], "points": 500}).json()
    assert client.get("/api/v1/me/membership", headers=headers).json()["points"] == 0
    client.post(f"/api/v1/orders/{order['id']}/cancel", headers=headers, json={})
    assert client.get("/api/v1/me/membership", headers=headers).json()["points"] == 500
    assert client.get("/api/v1/me/coupons", headers=headers).json()[0]["status"] == "available"
    reasons = [e["reason"] for e in client.get("/api/v1/me/points", headers=headers).json()]
    assert reasons == ["refunded_redemption", "redeemed", "earned"]


def test_coupon_limits_and_codes(client, db, shop, coupon, promo_staff, register):
    marketer, _ = promo_staff
    c = coupon(total_limit=2, per_user_limit=1)
    _, a, _ = register()
    _, b, _ = register()
    _, d, _ = register()
    assert client.post(f"/api/v1/coupons/{c['id']}/claim", headers=a).status_code == 201
    r = client.post(f"/api/v1/coupons/{c['id']}/claim", headers=a)
    assert r.status_code == 409 and problem_code(r) == "COUPON_LIMIT_REACHED"
    assert client.post(f"/api/v1/coupons/{c['id']}/claim", headers=b).status_code == 201
    r = client.post(f"/api/v1/coupons/{c['id']}/claim", headers=d)
    assert r.status_code == 409 and problem_code(r) == "COUPON_SOLD_OUT"
    bulk = coupon(name="兑换码券", claimable=False)
    codes = client.post(f"/api/v1/admin/coupons/{bulk['id']}/codes", headers=marketer, json={"count": 3}).text.split()[1:]
    assert len(set(codes)) == 3
    assert client.post("/api/v1/coupons/redeem", headers=a, json={"code": codes[0]}).status_code == 201
    r = client.post("/api/v1/coupons/redeem", headers=b, json={"code": codes[0]})
    assert r.status_code == 409 and problem_code(r) == "COUPON_CODE_USED"
    assert client.post("/api/v1/coupons/redeem", headers=b, json={"code": "NOPE1234"}).status_code == 404
    claimable = [x["id"] for x in client.get("/api/v1/coupons/claimable").json()]
    assert c["id"] in claimable and bulk["id"] not in claimable
    public = coupon(name="公开码", public_code="WELCOME10")
    assert client.post("/api/v1/coupons/redeem", headers=d, json={"code": "welcome10"}).status_code == 201
    assert public["public_code"] == "WELCOME10"


def test_member_prices_levels_and_refund_reverses_points(client, db, shop, publish, customer, staff):
    user, headers, address_id = customer
    publish("member_price", {"level_percent": {"1": 90}})
    cart = client.post("/api/v1/checkout/preview", headers=headers, json={"items": [
        {"product_id": shop["otc"], "quantity": 1}]}).json()
    assert cart["discount_fen"] == 0  # level 0: no member price
    big = place(client, headers, address_id, [{"product_id": shop["device"], "quantity": 2}]).json()  # 518.00
    pay(client, headers, big["id"])
    m = client.get("/api/v1/me/membership", headers=headers).json()
    assert m["level"] == 1 and m["level_name"] == "银卡会员" and m["points"] == big["points_earned"] == 518
    cart = client.post("/api/v1/checkout/preview", headers=headers, json={"items": [
        {"product_id": shop["otc"], "quantity": 1}]}).json()
    assert cart["discount_fen"] == 150  # 10% member price at level 1
    client.post(f"/api/v1/orders/{big['id']}/refund-request", headers=headers, json={"reason": "买多了"})
    _, agent = staff("service")
    client.post(f"/api/v1/admin/orders/{big['id']}/refund", headers=agent, json={"decision": "approve"})
    m = client.get("/api/v1/me/membership", headers=headers).json()
    assert m["points"] == 0 and m["level"] == 0  # refunded spend no longer counts


def test_results_and_price_preview(client, db, shop, publish, customer, promo_staff):
    marketer, _ = promo_staff
    user, headers, address_id = customer
    p = publish("catalog_discount", {"amount_off_fen": 200}, {"product_ids": [shop["otc"]]})
    card = client.get(f"/api/v1/products/{shop['otc']}").json()
    assert card["promo_price_fen"] == 1300 and card["promo_label"] == p["name"]
    order = place(client, headers, address_id, [{"product_id": shop["otc"], "quantity": 3}]).json()
    pay(client, headers, order["id"])
    res = client.get(f"/api/v1/admin/promotions/{p['id']}/results", headers=marketer).json()
    assert res == {"promotion_id": p["id"], "orders": 1, "gmv_fen": order["total_fen"], "discount_fen": 600, "units": 3}
    draft = client.post("/api/v1/admin/promotions", headers=marketer, json={
        "name": "草稿满减", "kind": "spend_tier", "rules": TIERS, **window()}).json()
    preview = client.post("/api/v1/admin/pricing/preview", headers=marketer, json={
        "items": [{"product_id": shop["otc"], "quantity": 4}], "include_promotion_ids": [draft["id"]]}).json()
    assert preview["subtotal_fen"] == 6000 and preview["discount_fen"] == 800 + 500


def test_points_rate_is_configurable(client, db, shop, customer, monkeypatch):
    from medreach.core.settings import get_settings

    user, headers, _ = customer
    with db.session() as s:
        s.add(PointsEntry(user_id=user["id"], delta=1000, balance=1000, reason="earned"))
    body = {"items": [{"product_id": shop["device"], "quantity": 1}], "points": 1000}
    default = client.post("/api/v1/checkout/preview", headers=headers, json=body).json()["breakdown"]
    assert default["points_fen"] == 1000  # 100 points = ¥1 → 1000 points = ¥10
    monkeypatch.setenv("MEDREACH_POINTS_PER_YUAN", "200")
    get_settings.cache_clear()
    try:
        halved = client.post("/api/v1/checkout/preview", headers=headers, json=body).json()["breakdown"]
    finally:
        monkeypatch.delenv("MEDREACH_POINTS_PER_YUAN")
        get_settings.cache_clear()
    assert halved["points_fen"] == 500 and halved["points_redeemed"] == 1000


def test_times_need_a_zone_and_rule_errors_say_why(client, promo_staff):
    marketer, _ = promo_staff
    body = {"name": "t", "kind": "catalog_discount", "rules": {"percent_off": 10},
            "starts_at": "2026-12-01T10:00:00", "ends_at": "2026-12-05T10:00:00+08:00"}
    r = client.post("/api/v1/admin/promotions", headers=marketer, json=body)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "starts_at"
    r = client.post("/api/v1/admin/promotions", headers=marketer, json={
        **body, "starts_at": "0001-01-01T00:00:00+00:01"})
    assert r.status_code == 422
    r = client.post("/api/v1/admin/promotions", headers=marketer, json={
        **body, "starts_at": "2026-12-01T10:00:00+08:00", "kind": "spend_tier",
        "rules": {"tiers": [{"threshold_fen": 1000, "off_fen": 2000}]}})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "rules"
    assert "less than its threshold" in r.json()["errors"][0]["message"]
