"""Several API processes behind one address: with Redis, a retry that lands on another process is still a
duplicate, and the live view shows every process's events. Without Redis each process keeps its own."""

import base64
import uuid

import pytest
from fastapi.testclient import TestClient

from medreach.api import create_app
from medreach.catalog.search import SearchIndex
from medreach.catalog.synonyms import load_synonyms
from medreach.core.cache import RedisCache
from medreach.core.settings import Settings
from medreach.tracking.log import EventLog
from medreach.tracking.service import Deduper, LiveWindow, SharedDeduper, SharedLiveWindow, make_deduper
from tests.conftest import redis_cache


def second_process(like: Settings, var_dir, db, cache):
    """Another API process: its own folder (event log), the same database, keys and cache."""
    settings = Settings(var_dir=var_dir, public_base_url="http://testserver", jobs_enabled=False,
                        secret_key=like.signing_key, encryption_key=base64.b64encode(like.data_key).decode())
    return create_app(settings, db=db, cache=cache, search=SearchIndex(None, synonyms=load_synonyms()))


def batch(ids: list[str]) -> dict:
    return {"batch": [{"type": "track", "anonymousId": "shared", "event": "Product Viewed", "messageId": m}
                      for m in ids]}


def test_two_processes_share_dedupe_and_the_live_view(client, app, admin, db, tmp_path):
    if not isinstance(app.state.cache, RedisCache):
        shared = redis_cache()  # run the same scenario with Redis on every backend
        app = second_process(app.state.settings, tmp_path / "a", db, shared)
        first = TestClient(app).__enter__()
    else:
        shared, first = app.state.cache, client
    try:
        _, headers = admin
        key = first.post("/api/v1/admin/sources", headers=headers, json={"name": "app", "kind": "app"}).json()["write_key"]
        auth = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
        other_app = second_process(app.state.settings, tmp_path / "other", db, shared)
        with TestClient(other_app) as other:
            assert isinstance(other_app.state.dedupe, SharedDeduper)
            assert isinstance(other_app.state.live, SharedLiveWindow)
            ids = [f"m-{uuid.uuid4()}" for _ in range(5)]
            assert first.post("/v1/batch", headers=auth, json=batch(ids[:3])).status_code == 200
            # The client retries the whole batch, and the balancer sends it to the other process.
            assert other.post("/v1/batch", headers=auth, json=batch(ids)).status_code == 200
            mine = [e["messageId"] for e in EventLog(tmp_path / "other" / "events").read()]
            assert sorted(mine) == sorted(ids[3:])
            live = other.get("/api/v1/admin/events/live", headers=headers, params={"user": "shared"}).json()
            assert [e["messageId"] for e in live] == ids[3:][::-1] + ids[:3][::-1]  # newest first, both processes
    finally:
        if first is not client:
            first.__exit__(None, None, None)
            shared.clear_prefix()


def test_without_redis_each_process_keeps_its_own(tmp_path):
    from medreach.core.cache import MemoryCache

    log = EventLog(tmp_path / "events")
    try:
        assert isinstance(make_deduper(log, MemoryCache(), 60), Deduper)
    finally:
        log.close()
    window = LiveWindow(size=3)
    window.add([{"n": 1}, {"n": 2}])
    window.add([{"n": 3}, {"n": 4}])
    assert [e["n"] for e in window.newest()] == [4, 3, 2]


def test_an_unreachable_redis_falls_back_to_this_process(tmp_path):
    log = EventLog(tmp_path / "events")
    try:
        down = RedisCache("redis://127.0.0.1:1/0")  # nothing listens on port 1
        dedupe = SharedDeduper(Deduper(log), down, 60)
        assert dedupe.fresh(["a", "b", "a"]) == [True, True, False]
        assert dedupe.fresh(["a"]) == [False]
        dedupe.forget(["a"])
        assert dedupe.fresh(["a"]) == [True]
        window = SharedLiveWindow(down)
        window.add([{"n": 1}])
        assert window.newest() == []
    finally:
        log.close()


@pytest.mark.parametrize("window_seconds", [1])
def test_the_shared_memory_of_ids_expires(tmp_path, window_seconds):
    import time

    cache = redis_cache()
    logs = [EventLog(tmp_path / "a"), EventLog(tmp_path / "b")]
    try:
        one, two = (SharedDeduper(Deduper(log), cache, window_seconds) for log in logs)
        assert one.fresh(["x", "y"]) == [True, True]
        assert two.fresh(["y", "x", "z"]) == [False, False, True]
        time.sleep(window_seconds + 1.1)
        assert two.fresh(["y"]) == [False]  # this process saw it (its own memory)
        assert SharedDeduper(Deduper(logs[0]), cache, window_seconds).fresh(["z"]) == [True]  # the window passed
    finally:
        for log in logs:
            log.close()
        cache.clear_prefix()


def test_processes_share_the_throttle_and_accept_each_others_identity_tokens(app, db, admin, register, tmp_path):
    """With Redis the collector's counts are one count for every process, and a token one process signed proves
    the user to another (same secret key)."""
    shared = app.state.cache if isinstance(app.state.cache, RedisCache) else redis_cache()
    first, second = (second_process(app.state.settings, tmp_path / name, db, shared) for name in ("one", "two"))
    for process in (first, second):
        process.state.settings.collector_rate_public = 3
    try:
        with TestClient(first) as one, TestClient(second) as two:
            key = one.get("/api/v1/tracking/config").json()["write_key"]
            auth = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
            user, headers, _ = register()
            token = one.get("/api/v1/tracking/identity", headers=headers).json()["token"]
            event = {"userId": str(user["id"]), "anonymousId": "a-1", "event": "X", "context": {"identityToken": token}}
            codes = [c.post("/v1/track", headers=auth, json={**event, "messageId": f"t-{i}"}).status_code
                     for i, c in enumerate((one, two, two, one))]
            assert codes == [200, 200, 200, 429]
            [proven] = [e for e in EventLog(tmp_path / "two" / "events").read() if e["messageId"] == "t-1"]
            assert proven["userId"] == str(user["id"])
    finally:
        if shared is not app.state.cache:
            shared.clear_prefix()
