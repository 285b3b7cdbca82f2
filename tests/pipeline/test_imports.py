"""Datasets: file connectors (CSV in UTF-8 and GB18030, TSV, Excel, JSON Lines, Parquet) with rows read, written
and rejected by reason; each cleaning policy (duplicates exact and by key, missing values by constant, median,
mode and group, IQR and robust z-score outliers flagged, capped or dropped); normalisation; expectations that
fail a run and leave the clean table alone; drift against the last report; both engines agreeing."""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from medreach.pipeline import datasets, imports, quality
from medreach.pipeline.connectors import ConnectorError
from medreach.pipeline.connectors.files import FileSource
from medreach.pipeline.normalize import ColumnRule, convert, pseudonym

KEY = b"test-key"

SPEC = """
[orders]
key = ["order_no"]
latest_by = "updated_at"
min_rows = 2

[orders.columns.order_no]
aliases = ["订单号"]
normalize = ["fullwidth", "strip", "upper"]
missing = "drop"
expect = { nullable = false }

[orders.columns.phone]
aliases = ["手机号"]
normalize = ["phone", "pseudonymize"]
pii = true
rename = "customer_ref"

[orders.columns.product]
aliases = ["商品名称"]
normalize = ["fullwidth", "t2s", "strip"]

[orders.columns.channel]
missing = { policy = "mode" }

[orders.columns.city]
missing = { policy = "constant", value = "未知" }

[orders.columns.quantity]
type = "int"
missing = { policy = "constant", value = 1 }
outliers = { method = "robust_z", threshold = 3.5, action = "flag" }

[orders.columns.price]
type = "money"
rename = "price_fen"
missing = { policy = "median", group_by = "product" }
outliers = { method = "iqr", k = 1.5, action = "cap" }
expect = { ge = 0 }

[orders.columns.weight]
type = "quantity"
unit = "g"
rename = "weight_g"
outliers = { method = "iqr", k = 1.5, action = "drop" }

[orders.columns.updated_at]
type = "timestamp"
"""

HEADER = ["订单号", "手机号", "商品名称", "channel", "city", "quantity", "price", "weight", "updated_at"]
ROWS = [
    ["a1", "138 0013 8000", "板藍根顆粒", "门店", "上海", "2", "¥12.50", "500g", "2026-11-01 10:00"],
    ["a1", "138 0013 8000", "板藍根顆粒", "门店", "上海", "2", "¥12.50", "500g", "2026-11-01 10:00"],  # exact twin
    ["A2", "+86 139-0000-1111", "板蓝根颗粒", "美团", "", "1", "", "0.5kg", "2026-11-02 10:00"],  # price by group
    ["A3", "13700002222", "维生素C片", "", "北京", "", "8.00", "200克", "2026-11-03 10:00"],  # channel by mode
    ["A3", "13700002222", "维生素C片", "美团", "北京", "3", "8.00", "200克", "2026-11-04 10:00"],  # newer A3
    ["Ａ４", "12345", "维生素C片", "美团", "上海", "1", "9.00", "210g", "2026-11-05 10:00"],  # bad phone
    ["A5", "13500004444", "维生素C片", "美团", "上海", "40", "8.50", "190g", "2026-11-05 11:00"],  # qty outlier
    ["A6", "13500005555", "阿莫西林胶囊", "门店", "杭州", "1", "900.00", "300g", "2026-11-06 10:00"],  # price capped
    ["A7", "13500006666", "阿莫西林胶囊", "门店", "杭州", "1", "21.00", "50斤", "2026-11-06 11:00"],  # weight dropped
    ["", "13500007777", "阿莫西林胶囊", "门店", "杭州", "1", "21.00", "300g", "2026-11-06 12:00"],  # no order number
    ["A8", "13500008888", "阿莫西林胶囊", "京东", "杭州", "1", "20.00", "310g", "2026-11-07 10:00"],
    ["A9", "13500009999", "维生素C片", "京东", "上海", "2", "8.00", "220g", "2026-11-07 11:00"],
]


@pytest.fixture
def spec() -> datasets.DatasetSpec:
    return datasets.parse(SPEC)["orders"]


def write_csv(path: Path, rows=ROWS, header=HEADER, encoding="utf-8", sep=",") -> Path:
    lines = [sep.join(header)] + [sep.join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def clean_rows(lake: Path, name="orders") -> dict[str, dict]:
    table = pq.read_table(datasets.DatasetFiles(lake, name).clean)
    return {r["order_no"]: r for r in table.to_pylist()}


def test_every_policy_does_what_it_says_and_reports_it(tmp_path, spec):
    lake = tmp_path / "lake"
    result = imports.run_import(lake, spec, "file:orders.csv", FileSource(write_csv(tmp_path / "o.csv")), KEY)
    assert (result.read, result.written, sum(result.rejected.values())) == (12, 12, 0)
    assert result.invalid == {"customer_ref": 1}  # 12345 is not a phone number
    report = imports.clean(lake, spec, KEY)
    assert report["status"] == "passed"
    assert report["dropped_by_reason"] == {"duplicate": 1, "duplicate_key": 1, "missing:order_no": 1,
                                           "outlier:weight_g": 1}
    assert [s["step"] for s in report["steps"]] == ["duplicate", "duplicate_key", "missing:order_no",
                                                    "outlier:weight_g"]
    assert report["rows_in"] == 12 and report["rows_out"] == 8
    rows = clean_rows(lake)
    assert sorted(rows) == ["A1", "A2", "A3", "A4", "A5", "A6", "A8", "A9"]
    # Normalisation: full-width and Traditional forms, phones pseudonymised (the same person, the same ref).
    assert rows["A1"]["product"] == "板蓝根颗粒" and rows["A4"]["customer_ref"] is None
    assert rows["A1"]["customer_ref"] == pseudonym("+8613800138000", KEY) != rows["A2"]["customer_ref"]
    assert rows["A2"]["weight_g"] == 500.0 and rows["A3"]["weight_g"] == 200.0
    # Duplicates by key keep the latest update.
    assert rows["A3"]["quantity"] == 3 and rows["A3"]["channel"] == "美团"
    # Missing values: constant, mode, and the median within the product's group.
    assert rows["A2"]["city"] == "未知" and report["filled"]["city"]["count"] == 1
    assert rows["A2"]["price_fen"] == 1250 and report["filled"]["price_fen"]["group_by"] == "product"
    # Outliers: flagged (kept, marked), capped (to the fence, marked), dropped (counted as a reason).
    assert rows["A5"]["quantity"] == 40 and rows["A5"]["quantity_outlier"] is True
    assert rows["A1"]["quantity_outlier"] is False
    upper = report["outliers"]["price_fen"]["upper"]
    assert rows["A6"]["price_fen"] == round(upper) < 90000 and rows["A6"]["price_fen_outlier"] is True
    assert report["outliers"]["weight_g"]["count"] == 1 and report["outliers"]["weight_g"]["action"] == "drop"


def test_identifiers_never_reach_the_lake(tmp_path, spec):
    lake = tmp_path / "lake"
    imports.run_import(lake, spec, "f", FileSource(write_csv(tmp_path / "o.csv")), KEY)
    imports.clean(lake, spec, KEY)
    stored = b"".join(p.read_bytes() for p in lake.rglob("*.parquet"))
    raw = pa.concat_tables([pq.read_table(p) for p in datasets.DatasetFiles(lake, "orders").raw_parts()])
    assert b"13800138000" not in stored and b"0013" not in stored
    assert raw.column("手机号").to_pylist()[0] == raw.column("手机号").to_pylist()[1] != "138 0013 8000"


def test_file_formats_give_the_same_rows(tmp_path, spec):
    expected = None
    book = Workbook()
    book.active.append(HEADER)
    for r in ROWS:
        book.active.append(r)
    book.save(tmp_path / "o.xlsx")
    (tmp_path / "o.jsonl").write_text("\n".join(json.dumps(dict(zip(HEADER, r, strict=True)), ensure_ascii=False)
                                                for r in ROWS), encoding="utf-8")
    pq.write_table(pa.table({h: [r[i] for r in ROWS] for i, h in enumerate(HEADER)}), tmp_path / "o.parquet")
    files = [write_csv(tmp_path / "utf8.csv"), write_csv(tmp_path / "gbk.csv", encoding="gb18030"),
             write_csv(tmp_path / "tabs.tsv", sep="\t"), tmp_path / "o.xlsx", tmp_path / "o.jsonl",
             tmp_path / "o.parquet"]
    for n, path in enumerate(files):
        lake = tmp_path / f"lake{n}"
        result = imports.run_import(lake, spec, "f", FileSource(path), KEY)
        assert result.written == 12, path.name
        imports.clean(lake, spec, KEY)
        rows = clean_rows(lake)
        expected = expected or rows
        assert rows == expected, path.name


def test_unreadable_rows_are_rejected_with_reasons_and_the_rest_imported(tmp_path, spec):
    csv_path = tmp_path / "bad.csv"
    csv_path.write_text("订单号,商品名称\nA1,板蓝根\nA2,维C,extra\n\nA3,布洛芬\n", encoding="utf-8")
    result = imports.run_import(tmp_path / "l1", spec, "f", FileSource(csv_path), KEY)
    assert (result.read, result.written, dict(result.rejected)) == (3, 2, {"malformed_row": 1})
    assert result.samples[0]["detail"].startswith("line 3")
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_text('{"订单号": "A1"}\n{not json\n[1, 2]\n{"订单号": "A2"}\n', encoding="utf-8")
    result = imports.run_import(tmp_path / "l2", spec, "f", FileSource(jsonl), KEY)
    assert dict(result.rejected) == {"invalid_json": 1, "not_an_object": 1} and result.written == 2
    other = tmp_path / "other.csv"
    other.write_text("foo,bar\n1,2\n", encoding="utf-8")
    with pytest.raises(ConnectorError, match="belongs to orders"):
        imports.run_import(tmp_path / "l3", spec, "f", FileSource(other), KEY)
    (tmp_path / "notes.doc").write_text("x")
    with pytest.raises(ConnectorError, match="unsupported"):
        imports.run_import(tmp_path / "l4", spec, "f", FileSource(tmp_path / "notes.doc"), KEY)


def test_an_interrupted_import_resumes_after_the_last_written_batch(tmp_path, spec):
    path = write_csv(tmp_path / "o.csv")
    lake = tmp_path / "lake"

    class Breaks(FileSource):
        def batches(self, checkpoint):
            for n, batch in enumerate(super().batches(checkpoint)):
                if n == 2:
                    raise ConnectorError("connection lost")
                yield batch

    with pytest.raises(ConnectorError, match="connection lost"):
        imports.run_import(lake, spec, "f", Breaks(path, batch_size=5), KEY)
    files = datasets.DatasetFiles(lake, "orders")
    assert files.state()["f"] == {**files.state()["f"], "checkpoint": {"row": 10}, "complete": False}
    result = imports.run_import(lake, spec, "f", FileSource(path, batch_size=5), KEY)
    assert result.resumed_from == {"row": 10} and result.written == 2
    assert sum(pq.ParquetFile(p).metadata.num_rows for p in files.raw_parts()) == 12
    again = imports.run_import(lake, spec, "f", FileSource(path, batch_size=5), KEY)
    assert again.resumed_from is None and again.written == 12  # a finished file import starts over


def test_a_broken_expectation_fails_and_keeps_the_previous_clean_table(tmp_path, spec):
    lake = tmp_path / "lake"
    imports.run_import(lake, spec, "f", FileSource(write_csv(tmp_path / "o.csv")), KEY)
    assert imports.clean(lake, spec, KEY)["status"] == "passed"
    before = pq.read_table(datasets.DatasetFiles(lake, "orders").clean)
    negative = [["B1", "13800138000", "维生素C片", "门店", "上海", "1", "-5.00", "200g", "2026-11-08 10:00"]]
    imports.run_import(lake, spec, "g", FileSource(write_csv(tmp_path / "n.csv", negative)), KEY)
    report = imports.clean(lake, spec, KEY)
    assert report["status"] == "failed"
    [failure] = report["expectations"]["failures"]
    assert failure["column"] == "price_fen" and "greater_than_or_equal_to" in failure["check"]
    assert pq.read_table(datasets.DatasetFiles(lake, "orders").clean).equals(before)


def test_too_few_rows_breaks_the_table_expectation(tmp_path, spec):
    lake = tmp_path / "lake"
    imports.run_import(lake, spec, "f", FileSource(write_csv(tmp_path / "o.csv", ROWS[:1])), KEY)
    report = imports.clean(lake, spec, KEY)
    assert report["status"] == "failed" and "at least 2 rows" in report["expectations"]["failures"][0]["check"]


def test_drift_against_the_previous_report(tmp_path, spec):
    lake = tmp_path / "lake"
    imports.run_import(lake, spec, "f", FileSource(write_csv(tmp_path / "o.csv")), KEY)
    first = imports.clean(lake, spec, KEY)
    assert first["drift"]["drifted"] is False and first["drift"]["baseline"] is None
    more = [r[:4] + [""] + r[5:] + ["备注"] for r in ROWS]  # no city any more, and a new column
    imports.run_import(lake, spec, "g", FileSource(write_csv(tmp_path / "m.csv", more, HEADER + ["remark"])), KEY)
    second = imports.clean(lake, spec, KEY, previous={"id": 1, **first})
    drift = second["drift"]
    assert drift["drifted"] and drift["baseline"] == 1 and drift["columns_added"] == ["remark"]
    assert [c["column"] for c in drift["null_rate_changes"]] == []  # city is filled, so its null rate holds
    city = next(c for c in second["columns"] if c["name"] == "city")
    assert {"value": "未知", "count": city["top"][0]["count"]} in city["top"]


def test_the_profile_describes_each_column(tmp_path, spec):
    lake = tmp_path / "lake"
    imports.run_import(lake, spec, "f", FileSource(write_csv(tmp_path / "o.csv")), KEY)
    columns = {c["name"]: c for c in imports.clean(lake, spec, KEY)["columns"]}
    assert columns["customer_ref"]["nulls"] == 1 and columns["customer_ref"]["null_rate"] == round(1 / 8, 4)
    assert columns["order_no"]["distinct"] == 8 and columns["order_no"]["kind"] == "text"
    quantity = columns["quantity"]
    assert quantity["min"] == 1 and quantity["max"] == 40 and len(quantity["histogram"]) == quality.BINS
    assert sum(b["count"] for b in quantity["histogram"]) == 8
    assert columns["quantity_outlier"]["top"][0] == {"value": "false", "count": 7}


@pytest.mark.parametrize("raw,rule,expected", [
    (["２０２６年11月25日 10:30", "2026-11-25T02:30:00Z", "2026/11/25 10:30:00"], ColumnRule(type="timestamp"),
     ["2026-11-25T02:30:00+00:00"] * 3),
    (["¥1,234.50", "12.5元", "RMB 8", "１２"], ColumnRule(type="money"), [123450, 1250, 800, 1200]),
    (["500mg", "0.5 kg", "2斤", "300", "1.2公斤"], ColumnRule(type="quantity", unit="g"),
     [0.5, 500.0, 1000.0, 300.0, 1200.0]),
    (["藥品　價格 ", "ＡＢＣ１２３"], ColumnRule(normalize=("fullwidth", "t2s", "strip")), ["药品 价格", "ABC123"]),
    (["是", "no", "1", "否"], ColumnRule(type="bool"), [True, False, True, False]),
])
def test_normalisation(raw, rule, expected):
    out = convert(raw, rule)
    values = [v.isoformat() if hasattr(v, "isoformat") else v for v in out.values]
    assert values == expected and out.invalid == 0


def test_bad_values_become_missing_and_are_counted():
    out = convert(["3", "3.5", "many", None, "N/A"], ColumnRule(type="int"))
    assert out.values == [3, None, None, None, None] and out.invalid == 2 and out.examples == ["3.5", "many"]
    phones = convert(["138 0013 8000", "+86 138-0013-8000", "12345"], ColumnRule(normalize=("phone",)))
    assert phones.values == ["+8613800138000", "+8613800138000", None] and phones.invalid == 1


def test_a_declaration_that_cannot_work_is_refused():
    with pytest.raises(datasets.SpecError, match="median needs a numeric"):
        datasets.parse('[t.columns.a]\nmissing = { policy = "median" }')
    with pytest.raises(datasets.SpecError, match="unknown normalisation"):
        datasets.parse('[t.columns.a]\nnormalize = ["shout"]')
    with pytest.raises(datasets.SpecError, match="not one of its columns"):
        datasets.parse('[t]\nkey = ["b"]\n[t.columns.a]\n')
    assert set(datasets.all_specs()) >= {"external_orders", "competitor_prices"}
