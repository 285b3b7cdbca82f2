"""The collector as a real server: official SDKs unchanged, and durability through a SIGKILL."""

import base64
import os
import signal
import threading
import time
import uuid

import httpx
import pytest
import rudderstack.analytics as rudder
import segment.analytics as segment

from medreach.demo import DEMO_PASSWORD, DEMO_STAFF
from medreach.devserver import base_env, prepare, server_process, serving
from medreach.tracking.log import EventLog


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    var = tmp_path_factory.mktemp("collector")
    env = base_env(var, MEDREACH_JOBS_ENABLED="false")
    prepare(env)
    return var, env


def new_source(base: str) -> str:
    login = httpx.post(base + "/api/v1/auth/login", json={"login": DEMO_STAFF["admin"][0], "password": DEMO_PASSWORD})
    headers = {"Authorization": "Bearer " + login.json()["tokens"]["access_token"]}
    r = httpx.post(base + "/api/v1/admin/sources", headers=headers, json={"name": f"sdk-{uuid.uuid4().hex[:4]}",
                                                                          "kind": "server"})
    return r.json()["write_key"]


def ids_in_log(var) -> list[str]:
    return [e["messageId"] for e in EventLog(var / "events").read()]


@pytest.mark.parametrize("sdk", ["segment-analytics-python", "rudder-sdk-python"])
def test_official_sdks_work_unchanged(world, sdk):
    var, env = world
    with serving(env, var / f"{sdk}.log") as base:
        key = new_source(base)
        errors = []
        cls = segment.Client if sdk.startswith("segment") else rudder.Client
        client = cls(write_key=key, host=base, on_error=lambda e, batch: errors.append(e), gzip=True,
                     upload_size=50, max_retries=2)
        sent = []
        for i in range(120):
            mid = f"{sdk}-{uuid.uuid4()}"
            sent.append(mid)
            if i % 4 == 0:
                client.identify(user_id=f"u{i}", traits={"city": "杭州"}, message_id=mid)
            elif i % 4 == 1:
                client.page(user_id=f"u{i}", name="首页", properties={"path": "/"}, message_id=mid)
            elif i % 4 == 2:
                client.alias(previous_id=f"anon-{i}", user_id=f"u{i}", message_id=mid)
            else:
                client.track(user_id=f"u{i}", event="Product Viewed", properties={"sku": "MR1"}, message_id=mid)
        client.flush()
        client.shutdown()
    assert errors == []
    logged = ids_in_log(var)
    assert all(logged.count(mid) == 1 for mid in sent)  # every event arrived, exactly once


def test_acknowledged_events_survive_sigkill(world):
    var, env = world
    before = set(ids_in_log(var))
    acked: list[str] = []
    stop = threading.Event()
    port_holder = {}

    def stream(base, key):
        auth = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
        with httpx.Client(base_url=base, headers=auth, timeout=5) as c:
            while not stop.is_set():
                ids = [f"kill-{uuid.uuid4()}" for _ in range(100)]
                try:
                    r = c.post("/v1/batch", json={"batch": [
                        {"type": "track", "anonymousId": "a", "event": "Stream", "messageId": m} for m in ids]})
                except httpx.HTTPError:
                    return  # the server died mid-request: this batch was never acknowledged
                if r.status_code == 200:
                    acked.extend(ids)

    with server_process(env, var / "kill.log") as (proc, base):
        port_holder["base"] = base
        key = new_source(base)
        t = threading.Thread(target=stream, args=(base, key))
        t.start()
        deadline = time.monotonic() + 60  # a loaded machine may take a while to answer the first batches
        while len(acked) < 300 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # and kill it mid-stream
        os.kill(proc.pid, signal.SIGKILL)
        t.join(10)
        stop.set()
    assert len(acked) >= 200, "the stream should have been acknowledged a few times before the kill"
    with serving(env, var / "after-kill.log") as base:  # restart on the same folder: the log is readable
        assert httpx.get(base + "/readyz").status_code == 200
    logged = [m for m in ids_in_log(var) if m not in before]
    counts = {}
    for m in logged:
        counts[m] = counts.get(m, 0) + 1
    assert all(counts.get(m) == 1 for m in acked)  # every acknowledged event, exactly once
    assert all(n == 1 for n in counts.values())  # and nothing twice


def test_the_simulator_writes_through_the_collector(world):
    """`medreach demo --via collector`: a world sent as /v1/import batches arrives whole and stitched."""
    from datetime import date

    from medreach.core.db import Database
    from medreach.tracking import identity, simulator

    var, env = world
    db = Database(f"sqlite:///{var / 'medreach.db'}")
    plan = simulator.Plan(users=40, seed=3, days=45, end=date(2026, 5, 1))
    before = set(ids_in_log(var))
    with serving(env, var / "simulator.log") as base:
        result = simulator.send(db.session, base, new_source(base), plan, batch_events=120)
        again = simulator.send(db.session, base, new_source(base), plan)  # a re-run: every id is a duplicate
    logged = [m for m in ids_in_log(var) if m not in before]
    assert result["events"] == again["events"] == len(logged) == len(set(logged)) > 0
    with db.session() as s:
        items = simulator.catalog_items(s)
    expected = [r["messageId"] for _, records in simulator.generate(
        simulator.World(items, plan.start, plan.days, plan.seed, 0), 0, plan.users) for r in records]
    assert sorted(logged) == sorted(expected)
    identified = {r["userId"] for r in EventLog(var / "events").read() if r["type"] == "identify"
                  and r["messageId"] in set(logged)}
    with db.session() as s:
        assert identified and all(len(identity.ids_of(s, u)) >= 2 for u in identified)
