"""Catalog: the negative list, display rules, console CRUD, import/export, bulk updates, search via the API."""

import csv
import io

import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from medreach.catalog.models import StockMovement
from medreach.compliance import negative_list
from medreach.core.events import DomainEvent
from tests.conftest import SHOP_PRODUCTS, problem_code


def test_negative_list_rules():
    def check(name, form="片剂", flags=(), atc=""):
        return negative_list.check(generic_name=name, dosage_form=form, special_flags=list(flags), atc_code=atc)

    assert check("复方甘草片", flags=["opioid_compound_oral"]).banned
    assert check("华法林钠片").banned and "华法林" in check("华法林钠片").reason
    assert check("注射用头孢曲松钠", form="注射剂", flags=["injection"]).banned
    assert not check("门冬胰岛素注射液", form="注射剂", flags=["injection"], atc="A10AB05").banned
    assert not check("伏立康唑滴眼液", form="滴眼液").banned or not negative_list.rules().topical_forms
    assert not check("布洛芬缓释胶囊", form="胶囊剂").banned
    assert check("布洛芬缓释胶囊").version == negative_list.rules().version
    # 二(四) is limited to single-ingredient preparations, and listed anti-infectives are allowed in topical forms
    assert negative_list.check(generic_name="夫西地酸乳膏", dosage_form="乳膏", ingredients=["fusidic_acid"]).banned is False
    assert negative_list.check(generic_name="替格瑞洛片", dosage_form="片剂", ingredients=["ticagrelor"]).banned
    # TCM containing the herb 麻黄 is not an ephedrine-type compound (不包括含麻黄的中成药)
    assert not negative_list.check(generic_name="连花清瘟胶囊", dosage_form="胶囊剂",
                                   ingredients=["tcm_mahuang", "tcm_lianqiao", "tcm_jinyinhua"]).banned


def test_import_requires_known_ingredients_for_drugs(client, shop, staff):
    _, h = staff("admin")
    base = {**SHOP_PRODUCTS["otc"], "generic_name": "布洛芬片", "drug_class": "otc_a"}
    rows = [{**base, "sku": "ING-1", "active_ingredients": "ibuprofen:200mg"},
            {**base, "sku": "ING-2", "active_ingredients": ""},
            {**base, "sku": "ING-3", "active_ingredients": "unobtainium:5mg"},
            {**base, "sku": "ING-4", "active_ingredients": "ibuprofen;布洛芬"},
            {**base, "sku": "ING-5", "drug_class": "device", "generic_name": "体温计", "active_ingredients": ""}]
    report = client.post("/api/v1/admin/products/import", headers=h,
                         files={"file": ("p.csv", _csv(rows), "text/csv")}, params={"dry_run": True}).json()
    assert report["created"] == 2  # ING-1 and the device
    assert {(e["sku"], e["field"].split(".")[0]) for e in report["errors"]} == {
        ("ING-2", "active_ingredients"), ("ING-3", "active_ingredients"), ("ING-4", "active_ingredients")}
    body = {**SHOP_PRODUCTS["rx"], "sku": "ING-6", "active_ingredients": []}
    r = client.post("/api/v1/admin/products", headers=h, json=body)
    assert r.status_code == 422 and problem_code(r) == "INGREDIENTS_REQUIRED"
    r = client.patch(f"/api/v1/admin/products/{shop['rx']}", headers=h, json={"active_ingredients": []})
    assert r.status_code == 422 and problem_code(r) == "INGREDIENTS_REQUIRED"
    r = client.patch(f"/api/v1/admin/products/{shop['rx']}", headers=h,
                     json={"active_ingredients": [{"code": "amlodipine", "amount": 10, "unit": "mg"}]})
    assert r.status_code == 200 and r.json()["active_ingredients"][0]["amount"] == 10


def test_banned_products_are_never_listed_found_or_shown(client, shop, staff):
    assert client.get(f"/api/v1/products/{shop['banned']}").status_code == 404
    assert client.get("/api/v1/products", params={"q": "复方甘草"}).json()["total"] == 0
    assert client.get("/api/v1/products", params={"category": "cough"}).json()["total"] == 0
    cough = [c for c in client.get("/api/v1/categories").json() if c["code"] == "cough"][0]
    assert cough["product_count"] == 0
    _, h = staff("pharmacist")
    admin = client.get(f"/api/v1/admin/products/{shop['banned']}", headers=h).json()
    assert admin["online_banned"] is True and "含麻醉药品口服复方制剂" in admin["banned_reason"]


def test_ban_is_derived_on_every_save(client, shop, staff):
    _, h = staff("admin")
    r = client.patch(f"/api/v1/admin/products/{shop['otc']}", headers=h, json={"special_flags": ["narcotic"]})
    assert r.json()["online_banned"] is True
    assert client.get("/api/v1/products", params={"q": "板蓝根"}).json()["total"] == 0  # left the index at once
    r = client.patch(f"/api/v1/admin/products/{shop['otc']}", headers=h, json={"special_flags": []})
    assert r.json()["online_banned"] is False
    assert client.get("/api/v1/products", params={"q": "板蓝根"}).json()["total"] == 1
    r = client.post("/api/v1/admin/products", headers=h, json={**SHOP_PRODUCTS["otc"], "online_banned": True,
                                                               "sku": "NEW-1", "special_flags": []})
    assert r.status_code == 201 and r.json()["online_banned"] is False  # never set by hand


def test_product_crud_and_validation(client, shop, staff):
    _, h = staff("admin")
    body = {**SHOP_PRODUCTS["otc"], "sku": "NEW-2", "tags": ["感冒"], "special_flags": []}
    r = client.post("/api/v1/admin/products", headers=h, json=body)
    assert r.status_code == 201 and r.json()["days_of_supply"] == 6.7  # 20 sachets at 3 a day
    assert client.post("/api/v1/admin/products", headers=h, json=body).status_code == 409
    r = client.post("/api/v1/admin/products", headers=h, json={**body, "sku": "NEW-3", "price_fen": -1,
                                                               "drug_class": "magic", "category_code": "nope"})
    assert r.status_code == 422 and {e["field"] for e in r.json()["errors"]} >= {"price_fen", "drug_class"}
    r = client.post("/api/v1/admin/products", headers=h, json={**body, "sku": "NEW-4", "category_code": "nope"})
    assert r.status_code == 422 and problem_code(r) == "CATEGORY_UNKNOWN"
    _, marketer = staff("marketer")
    assert client.post("/api/v1/admin/products", headers=marketer, json=body).status_code == 403
    listed = client.get("/api/v1/admin/products", headers=h, params={"banned": True}).json()
    assert [p["sku"] for p in listed["items"]] == ["T-FFGC"]
    low = client.get("/api/v1/admin/products", headers=h, params={"low_stock": True}).json()
    assert [p["sku"] for p in low["items"]] == ["T-BPM"]


def _csv(rows: list[dict]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def test_import_reports_each_bad_row_and_dry_run_writes_nothing(client, db, shop, staff):
    _, h = staff("admin")
    good = {**SHOP_PRODUCTS["otc"], "sku": "IMP-1", "generic_name": "连花清瘟胶囊"}
    rows = [good, {**good, "sku": "IMP-2", "price_fen": "abc"}, {**good, "sku": "IMP-3", "category_code": "zzz"},
            {**SHOP_PRODUCTS["otc"], "price_fen": "1800"}, {**good, "sku": "IMP-1"}]
    files = {"file": ("products.csv", _csv(rows), "text/csv")}
    dry = client.post("/api/v1/admin/products/import", headers=h, files=files, params={"dry_run": True}).json()
    assert dry["dry_run"] and dry["created"] == 1 and dry["updated"] == 1 and dry["rejected"] == 3
    assert {(e["row"], e["field"]) for e in dry["errors"]} == {(3, "price_fen"), (4, "category_code"), (6, "sku")}
    assert client.get("/api/v1/products", params={"q": "连花清瘟"}).json()["total"] == 0
    real = client.post("/api/v1/admin/products/import", headers=h, files=files).json()
    assert real["created"] == 1 and real["updated"] == 1
    assert client.get("/api/v1/products", params={"q": "连花清瘟"}).json()["total"] == 1
    assert client.get(f"/api/v1/products/{shop['otc']}").json()["price_fen"] == 1800
    bad = client.post("/api/v1/admin/products/import", headers=h, files={"file": ("x.txt", b"hello", "text/plain")})
    assert bad.status_code == 415


def test_export_and_reimport_xlsx(client, shop, staff):
    _, h = staff("admin")
    r = client.get("/api/v1/admin/products/export", headers=h, params={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(r.content)).active
    header = [c.value for c in sheet[1]]
    assert "sku" in header and sheet.max_row == 1 + len(SHOP_PRODUCTS)
    csv_text = client.get("/api/v1/admin/products/export", headers=h).content.decode("utf-8-sig")
    assert "板蓝根颗粒" in csv_text and "opioid_compound_oral" in csv_text
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    ws.append(["XL-1" if col == "sku" else {"generic_name": "维生素C片", "drug_class": "otc_b",
                                             "active_ingredients": "维生素C:100mg", "category_code": "cold_flu",
                                             "price_fen": 990, "stock": 7}.get(col)
               for col in header])
    ws.append(["XL-2" if col == "sku" else {"generic_name": "维生素E软胶囊", "drug_class": "otc_b",
                                             "category_code": "cold_flu", "price_fen": 990}.get(col)
               for col in header])
    buf = io.BytesIO()
    wb.save(buf)
    report = client.post("/api/v1/admin/products/import", headers=h,
                         files={"file": ("p.xlsx", buf.getvalue(), "application/octet-stream")}).json()
    assert report["created"] == 1  # a drug without its active ingredients is refused
    assert [(e["sku"], e["field"]) for e in report["errors"]] == [("XL-2", "active_ingredients")]
    listed = client.get("/api/v1/admin/products", headers=h, params={"q": "维生素C片"}).json()["items"]
    assert [(i["code"], i["amount"], i["unit"], i["name_en"]) for i in listed[0]["active_ingredients"]] == [
        ("vitamin_c", 100.0, "mg", "vitamin C (ascorbic acid)")]  # the Chinese name is stored as its code
    assert "T-FFGC,复方甘草片" in csv_text and "opium_powder:4mg" in csv_text  # ingredients in the import format


def test_bulk_price_and_stock(client, db, shop, staff):
    _, h = staff("admin")
    r = client.post("/api/v1/admin/products/bulk", headers=h, json={"items": [
        {"sku": "T-BLG", "price_fen": 1399, "stock_delta": -10}, {"sku": "T-BPM", "stock": 30},
        {"sku": "NOPE", "price_fen": 1}, {"sku": "T-IBU", "stock_delta": -999}]})
    out = r.json()
    assert out["updated"] == 2 and {(e["sku"], e["field"]) for e in out["errors"]} == {
        ("NOPE", "sku"), ("T-IBU", "stock_delta")}
    assert client.get(f"/api/v1/products/{shop['otc']}").json()["price_fen"] == 1399
    moves = client.get(f"/api/v1/admin/products/{shop['device']}/stock-movements", headers=h).json()
    assert moves["items"][0]["delta"] == 27 and moves["items"][0]["reason"] == "bulk"
    with db.session() as s:
        assert s.scalar(sa.select(sa.func.sum(StockMovement.delta)).where(StockMovement.product_id == shop["otc"])) == 90


def test_search_api(client, db, shop):
    r = client.get("/api/v1/products", params={"q": "banlangen"}).json()
    assert [p["sku"] for p in r["items"]] == ["T-BLG"]
    assert client.get("/api/v1/products", params={"q": "blg"}).json()["items"][0]["sku"] == "T-BLG"
    cold = client.get("/api/v1/products", params={"q": "发热"}).json()  # 布洛芬's indications
    assert "T-IBU" in [p["sku"] for p in cold["items"]]
    by_class = client.get("/api/v1/products", params={"drug_class": ["otc_a", "otc_b"], "sort": "price_desc"}).json()
    assert [p["sku"] for p in by_class["items"]] == ["T-IBU", "T-BLG"]
    assert by_class["facets"]["drug_class"] == {"otc_a": 1, "otc_b": 1}
    devices = client.get("/api/v1/products", params={"category": "device"}).json()
    assert [p["sku"] for p in devices["items"]] == ["T-BPM"]
    assert "板蓝根颗粒" in client.get("/api/v1/products/suggest", params={"q": "banl"}).json()
    priced = client.get("/api/v1/products", params={"price_min": 2000, "price_max": 30000}).json()
    assert {p["sku"] for p in priced["items"]} == {"T-IBU", "T-AML", "T-BPM"}
    with db.session() as s:
        searched = s.scalars(sa.select(DomainEvent).where(DomainEvent.name == "Products Searched")).all()
    assert {e.properties["query"] for e in searched} >= {"banlangen", "blg", "发热"}


def test_categories_tree_counts(client, shop):
    tree = {c["code"]: c for c in client.get("/api/v1/categories").json()}
    assert tree["device"]["product_count"] == 1 and tree["device"]["children"][0]["code"] == "device_bp"
    assert tree["hypertension"]["product_count"] == 1


def test_product_image_is_an_svg_package(client, shop):
    r = client.get(f"/api/v1/products/{shop['otc']}/image.svg")
    assert r.headers["content-type"].startswith("image/svg+xml") and "板蓝根颗粒" in r.text
