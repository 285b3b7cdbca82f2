"""The online-sale ban no longer hangs on a flag staff type in (penetration test, item 5).

Attacks as reported: clearing `ephedrine_compound` on 新康泰克 unbanned it and priced it at 1 fen; a new product
named 酚麻美敏片 without the flag was listed. The ban is now derived from the product's active ingredients, its generic
name and its dosage form, on the demo catalog as `make run` loads it.
"""

import csv
import io

import sqlalchemy as sa

from medreach.catalog.models import Product
from medreach.compliance import ingredients
from medreach.demo import load_catalog
from tests.conftest import SHOP_PRODUCTS, problem_code


def _demo_catalog(client, db) -> dict[str, int]:
    with db.session() as s:
        created = load_catalog(s)  # the curated files through the real import (raises on any bad row)
        assert created == 332
        return {p.sku: p.id for p in s.scalars(sa.select(Product))}


def _csv(rows: list[dict]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def test_clearing_the_flag_on_contac_keeps_it_banned_and_unsellable(client, db, staff):
    ids = _demo_catalog(client, db)
    contac = ids["MR10006"]  # 新康泰克 复方盐酸伪麻黄碱缓释胶囊
    _, h = staff("admin")
    before = client.get(f"/api/v1/admin/products/{contac}", headers=h).json()
    assert before["online_banned"] and before["ban_derived"]
    assert [i["code"] for i in before["active_ingredients"]] == ["pseudoephedrine", "chlorphenamine"]

    # the attack: clear the flag and price it at 1 fen
    r = client.patch(f"/api/v1/admin/products/{contac}", headers=h, json={"special_flags": [], "price_fen": 1})
    assert r.status_code == 200
    after = r.json()
    assert after["special_flags"] == [] and after["price_fen"] == 1
    assert after["online_banned"] is True and "含麻黄碱类复方制剂（伪麻黄碱）" in after["banned_reason"]
    assert [(f["flag"], f["derived"]) for f in after["ban_findings"]] == [("ephedrine_compound", True)]

    # and going further: drop pseudoephedrine from the ingredients; the generic name still says it
    r = client.patch(f"/api/v1/admin/products/{contac}", headers=h,
                     json={"active_ingredients": [{"code": "chlorphenamine", "amount": 4, "unit": "mg"}]})
    assert r.status_code == 200 and r.json()["online_banned"] is True

    # not purchasable, not visible, not found
    assert client.get(f"/api/v1/products/{contac}").status_code == 404
    assert client.get("/api/v1/products", params={"q": "新康泰克"}).json()["total"] == 0
    r = client.post("/api/v1/cart/items", json={"product_id": contac, "quantity": 1})
    assert r.status_code == 404 and problem_code(r) == "NOT_FOUND"

    # the same for every ephedrine-type compound of the demo catalog (泰诺, 白加黑)
    for sku in ("MR10005", "MR10007"):
        r = client.patch(f"/api/v1/admin/products/{ids[sku]}", headers=h, json={"special_flags": []})
        assert r.json()["online_banned"] is True, sku


def test_a_new_fenmameimin_without_the_flag_is_refused_or_banned(client, db, shop, staff):
    _, h = staff("admin")
    tylenol = {**SHOP_PRODUCTS["otc_a"], "generic_name": "酚麻美敏片", "brand_name": "泰诺", "dosage_form": "片剂",
               "category_code": "cold_flu", "special_flags": "", "price_fen": 1}
    # without its ingredients: refused (a drug needs them), on import and through the form
    rows = [{**tylenol, "sku": "ATK-1", "active_ingredients": ""}]
    report = client.post("/api/v1/admin/products/import", headers=h,
                         files={"file": ("p.csv", _csv(rows), "text/csv")}).json()
    assert report["created"] == 0 and [e["field"] for e in report["errors"]] == ["active_ingredients"]
    r = client.post("/api/v1/admin/products", headers=h,
                    json={**SHOP_PRODUCTS["otc_a"], "sku": "ATK-2", "generic_name": "酚麻美敏片",
                          "category_code": "cold_flu", "active_ingredients": []})
    assert r.status_code == 422 and problem_code(r) == "INGREDIENTS_REQUIRED"

    # with ingredients that leave pseudoephedrine out, or with the true ones, and no flag: banned either way
    rows = [{**tylenol, "sku": "ATK-3", "active_ingredients": "paracetamol:325mg"},
            {**tylenol, "sku": "ATK-4", "active_ingredients":
             "paracetamol:325mg;pseudoephedrine:30mg;dextromethorphan:15mg;chlorphenamine:2mg"},
            {**tylenol, "sku": "ATK-5", "generic_name": "美扑伪麻片", "active_ingredients": "dextromethorphan:15mg"},
            {**tylenol, "sku": "ATK-6", "generic_name": "感冒片", "active_ingredients": "盐酸伪麻黄碱:30mg;对乙酰氨基酚"}]
    report = client.post("/api/v1/admin/products/import", headers=h,
                         files={"file": ("p.csv", _csv(rows), "text/csv")}).json()
    assert report["errors"] == [] and report["created"] == 4 and report["banned"] == 4
    for sku in ("ATK-3", "ATK-4", "ATK-5", "ATK-6"):
        found = client.get("/api/v1/admin/products", headers=h, params={"q": sku}).json()["items"][0]
        assert found["online_banned"] and "含麻黄碱类复方制剂" in found["banned_reason"], sku
        assert client.get(f"/api/v1/products/{found['id']}").status_code == 404
    assert client.get("/api/v1/products", params={"q": "酚麻美敏"}).json()["total"] == 0


def test_editing_a_banned_single_dextromethorphan_keeps_the_ban(client, shop, staff):
    _, h = staff("admin")
    body = {**SHOP_PRODUCTS["otc_a"], "sku": "DXM-1", "generic_name": "氢溴酸右美沙芬片", "category_code": "cough",
            "active_ingredients": [{"code": "dextromethorphan", "amount": 15, "unit": "mg"}]}
    r = client.post("/api/v1/admin/products", headers=h, json=body)
    assert r.status_code == 201 and r.json()["online_banned"] and r.json()["ban_derived"]
    pid = r.json()["id"]
    # a made-up second ingredient does not make it a compound: the generic name names one ingredient
    r = client.patch(f"/api/v1/admin/products/{pid}", headers=h, json={"active_ingredients": [
        {"code": "dextromethorphan"}, {"code": "vitamin_c"}], "special_flags": []})
    assert r.json()["online_banned"] is True and "右美沙芬口服单方制剂" in r.json()["banned_reason"]
    # online_banned is no field of the form: a value sent for it changes nothing
    r = client.patch(f"/api/v1/admin/products/{pid}", headers=h, json={"online_banned": False, "price_fen": 1})
    assert r.json()["price_fen"] == 1 and r.json()["online_banned"] is True
    assert client.get(f"/api/v1/admin/products/{pid}", headers=h).json()["online_banned"] is True


def test_generic_names_map_to_their_ingredients():
    assert ingredients.from_generic_name("酚麻美敏片").codes == {
        "paracetamol", "pseudoephedrine", "dextromethorphan", "chlorphenamine"}
    assert "pseudoephedrine" in ingredients.from_generic_name("氨酚伪麻美芬片").codes
    assert ingredients.from_generic_name("美扑伪麻片").codes == {"dextromethorphan", "chlorphenamine", "pseudoephedrine"}
    # longest names first: 伪麻黄碱 is not also 麻黄碱, 双氢可待因 not also 可待因
    assert ingredients.from_generic_name("盐酸伪麻黄碱片").codes == {"pseudoephedrine"}
    assert ingredients.from_generic_name("酒石酸双氢可待因片").single == "dihydrocodeine"
    assert ingredients.from_generic_name("复方盐酸伪麻黄碱缓释胶囊").compound
