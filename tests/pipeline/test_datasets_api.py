"""Datasets through the API, as an analyst uses them from the console: upload a messy export of orders, follow
the job run, read its quality report and the clean rows; a broken expectation fails the run; bad uploads get
clear 4xx answers; the event cleaning job writes a report too."""

import io

from medreach.pipeline import samples
from tests.conftest import problem_code
from tests.pipeline.test_cleaning import lake_dir  # noqa: F401  (a fixture: the events of that test)
from tests.pipeline.test_jobs import wait_for

BASE = "/api/v1/admin"


def upload(client, headers, name: str, content: bytes, dataset="external_orders"):
    return client.post(f"{BASE}/datasets/{dataset}/imports", headers=headers,
                       files={"file": (name, io.BytesIO(content), "text/csv")})


def all_rows(client, headers, stage="clean") -> list[dict]:
    rows: list[dict] = []
    while True:
        page = client.get(f"{BASE}/datasets/external_orders/rows", headers=headers,
                          params={"stage": stage, "limit": 100, "offset": len(rows)}).json()
        rows += page["items"]
        if len(rows) >= page["total"]:
            return rows


def test_an_analyst_imports_a_csv_of_orders_and_sees_it_cleaned(client, staff, tmp_path):
    _, analyst = staff("analyst")
    export = samples.external_orders(tmp_path / "门店订单.csv", rows=300).read_bytes()
    started = upload(client, analyst, "门店订单.csv", export)
    assert started.status_code == 202 and started.json()["job"] == "import_file"
    assert started.json()["params"]["dataset"] == "external_orders"
    run = wait_for(client, analyst, started.json()["id"], timeout=60)
    assert run["status"] == "succeeded", run["error"]
    imported = run["result"]["import"]
    assert imported["read"] == imported["written"] > 300 and imported["rejected"] == 0
    assert imported["invalid_identifiers"]["customer_ref"] > 0  # the blank and broken phone numbers
    report = client.get(f"{BASE}/quality/reports/{run['result']['report_id']}", headers=analyst).json()
    assert report["subject"] == "dataset:external_orders" and report["status"] == "passed" and report["run_id"] == run["id"]
    body = report["report"]
    assert body["rows_in"] == imported["written"] and body["rows_out"] == run["result"]["rows_out"]
    assert body["dropped_by_reason"]["duplicate"] > 0 and body["dropped_by_reason"]["duplicate_key"] > 0
    assert body["filled"]["city"]["count"] > 0 and body["outliers"]["amount_fen"]["count"] > 0
    assert {c["name"] for c in body["columns"]} >= {"order_no", "customer_ref", "amount_fen", "amount_fen_outlier"}
    assert body["invalid"]["ordered_at"]["examples"][0] == "待确认"
    # The clean rows: Simplified names, fen, UTC times, pseudonymous customers; raw rows as imported.
    clean = all_rows(client, analyst)
    assert len(clean) == body["rows_out"]
    names = {r["product_name"] for r in clean}
    assert "板蓝根颗粒" in names and "板藍根顆粒" not in names
    assert all(isinstance(r["amount_fen"], int) for r in clean)
    raw = client.get(f"{BASE}/datasets/external_orders/rows", headers=analyst, params={"stage": "raw"}).json()
    assert raw["total"] == imported["written"] and "订单号" in raw["items"][0]
    listed = {d["name"]: d for d in client.get(f"{BASE}/datasets", headers=analyst).json()}
    orders = listed["external_orders"]
    assert orders["clean_rows"] == body["rows_out"] and orders["raw_rows"] == imported["written"]
    assert orders["last_report"]["id"] == report["id"] and "file:门店订单.csv" in orders["sources"]
    assert any(c["name"] == "customer_ref" and c["pii"] for c in orders["columns"])
    # Cleaning again from the raw rows gives the same table and a report with this one as its baseline.
    again = wait_for(client, analyst, client.post(f"{BASE}/datasets/external_orders/clean", headers=analyst).json()["id"])
    assert again["status"] == "succeeded" and again["result"]["rows_out"] == body["rows_out"]
    second = client.get(f"{BASE}/quality/reports/{again['result']['report_id']}", headers=analyst).json()
    assert second["report"]["drift"]["baseline"] == report["id"] and not second["drifted"]
    page = client.get(f"{BASE}/quality/reports", headers=analyst, params={"subject": "dataset:external_orders"}).json()
    assert [r["id"] for r in page["items"]] == [second["id"], report["id"]]


def test_a_broken_expectation_fails_the_run_with_its_report(client, staff):
    _, analyst = staff("analyst")
    csv = "订单号,商品名称,数量,金额,下单时间\nX1,维生素C片,0,8.00,2026-11-01 10:00\n".encode()
    run = wait_for(client, analyst, upload(client, analyst, "bad.csv", csv).json()["id"])
    assert run["status"] == "failed" and run["attempt"] == 1  # not retried: the data will not change
    assert "ExpectationsFailed" in run["log"][-2]["message"] and "quantity" in run["log"][-2]["message"]
    [report] = client.get(f"{BASE}/quality/reports", headers=analyst, params={"status": "failed"}).json()["items"]
    assert report["broken"] == 1
    listed = {d["name"]: d for d in client.get(f"{BASE}/datasets", headers=analyst).json()}
    assert listed["external_orders"]["clean_rows"] is None  # nothing published


def test_bad_uploads_and_requests_get_clear_answers(client, staff, register):
    _, analyst = staff("analyst")
    r = upload(client, analyst, "orders.docx", b"PK..")
    assert r.status_code == 415 and problem_code(r) == "UNSUPPORTED_FILE_TYPE"
    r = upload(client, analyst, "orders.csv", b"")
    assert r.status_code == 422 and problem_code(r) == "EMPTY_FILE"
    assert upload(client, analyst, "o.csv", b"a\n1\n", dataset="nope").status_code == 404
    assert upload(client, analyst, "o.csv", b"a\n1\n", dataset="Bad Name!").status_code == 422
    r = client.post(f"{BASE}/datasets/external_orders/imports", headers=analyst)
    assert r.status_code == 422 and any(e["field"].endswith("file") for e in r.json()["errors"])
    r = client.post(f"{BASE}/jobs/import_file/run", headers=analyst)
    assert r.status_code == 422 and problem_code(r) == "JOB_NEEDS_PARAMETERS"
    assert client.get(f"{BASE}/quality/reports/999999", headers=analyst).status_code == 404
    assert client.get(f"{BASE}/datasets/external_orders/rows", headers=analyst,
                      params={"stage": "cooked"}).status_code == 422
    # A file of another shape is refused by the run, which says why.
    run = wait_for(client, analyst, upload(client, analyst, "o.csv", b"foo,bar\n1,2\n").json()["id"])
    assert run["status"] == "failed" and "belongs to external_orders" in run["error"] + str(run["log"])
    _, customer, _ = register()
    assert upload(client, customer, "o.csv", b"a\n1\n").status_code == 403
    assert client.get(f"{BASE}/datasets", headers=customer).status_code == 403


def test_event_cleaning_writes_a_quality_report(client, staff, settings, lake_dir):
    import shutil

    shutil.copytree(lake_dir, settings.lake_path, dirs_exist_ok=True)
    _, analyst = staff("analyst")
    run = wait_for(client, analyst, client.post(f"{BASE}/jobs/clean_events/run", headers=analyst).json()["id"])
    assert run["status"] == "succeeded", run["error"]
    report = client.get(f"{BASE}/quality/reports/{run['result']['report_id']}", headers=analyst).json()
    body = report["report"]
    assert report["subject"] == "events" and report["status"] == "passed"
    assert body["dropped_by_reason"] == {s["step"]: s["dropped"] for s in run["result"]["steps"] if s["dropped"]}
    event = next(c for c in body["columns"] if c["name"] == "event")
    assert event["top"][0]["value"] == "Product Viewed" and event["null_rate"] == 0


def test_the_sample_export_downloads_and_imports(client, staff):
    _, analyst = staff("analyst")
    r = client.get(f"{BASE}/datasets/external_orders/sample", headers=analyst)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.decode("gb18030").startswith("订单号,手机号")
    assert client.get(f"{BASE}/datasets/competitor_prices/sample", headers=analyst).status_code == 404
    run = wait_for(client, analyst, upload(client, analyst, "sample.csv", r.content).json()["id"], timeout=60)
    assert run["status"] == "succeeded" and run["result"]["rows_out"] > 500


def test_a_bad_import_is_taken_out_and_the_dataset_cleans_again(client, staff):
    _, analyst = staff("analyst")
    good = "订单号,商品名称,数量,金额,下单时间\nG1,维生素C片,1,8.00,2026-11-01 10:00\nG2,布洛芬,2,30.00,2026-11-01 11:00\n"
    bad = "订单号,商品名称,数量,金额,下单时间\nX1,维生素C片,0,8.00,2026-11-01 10:00\n"
    assert wait_for(client, analyst, upload(client, analyst, "good.csv", good.encode()).json()["id"])["status"] == "succeeded"
    assert wait_for(client, analyst, upload(client, analyst, "bad.csv", bad.encode()).json()["id"])["status"] == "failed"
    # Every later clean fails too while the bad rows are in the dataset ...
    again = client.post(f"{BASE}/datasets/external_orders/clean", headers=analyst).json()
    assert wait_for(client, analyst, again["id"])["status"] == "failed"
    listed = client.get(f"{BASE}/datasets/external_orders/imports", headers=analyst).json()
    assert [(i["source"], i["rows"], i["read"]) for i in listed] == [("file:bad.csv", 1, 1), ("file:good.csv", 2, 2)]
    # ... until that import is taken out.
    r = client.delete(f"{BASE}/datasets/external_orders/imports/{listed[0]['import_id']}", headers=analyst)
    assert r.status_code == 204
    assert client.delete(f"{BASE}/datasets/external_orders/imports/{listed[0]['import_id']}",
                         headers=analyst).status_code == 404
    assert client.delete(f"{BASE}/datasets/external_orders/imports/../../etc", headers=analyst).status_code in (404, 405, 422)
    assert client.delete(f"{BASE}/datasets/external_orders/imports/not-an-id", headers=analyst).status_code == 422
    fixed = client.post(f"{BASE}/datasets/external_orders/clean", headers=analyst).json()
    run = wait_for(client, analyst, fixed["id"])
    assert run["status"] == "succeeded" and run["result"]["rows_out"] == 2


def test_broken_event_expectations_fail_the_run_and_keep_the_published_events(client, staff, settings, lake_dir,
                                                                                 tmp_path, monkeypatch):
    import shutil

    from medreach.pipeline import quality

    shutil.copytree(lake_dir, settings.lake_path, dirs_exist_ok=True)
    _, analyst = staff("analyst")
    first = wait_for(client, analyst, client.post(f"{BASE}/jobs/clean_events/run", headers=analyst).json()["id"])
    assert first["status"] == "succeeded"
    published = sorted(p.read_bytes() for p in (settings.lake_path / "clean" / "events").glob("*.parquet"))
    strict = tmp_path / "cleaning.toml"
    strict.write_text(quality.RULES_FILE.read_text(encoding="utf-8").replace(
        "events = { ge = 1, nullable = false }", "events = { ge = 1000, nullable = false }"), encoding="utf-8")
    monkeypatch.setattr(quality, "RULES_FILE", strict)
    run = wait_for(client, analyst, client.post(f"{BASE}/jobs/clean_events/run", headers=analyst).json()["id"])
    assert run["status"] == "failed" and "events" in run["error"] and run["attempt"] == 1
    [report] = client.get(f"{BASE}/quality/reports", headers=analyst, params={"status": "failed"}).json()["items"]
    assert report["subject"] == "events" and report["broken"] >= 1 and report["run_id"] == run["id"]
    assert sorted(p.read_bytes() for p in (settings.lake_path / "clean" / "events").glob("*.parquet")) == published
    assert not any((settings.lake_path / "staging").iterdir())
