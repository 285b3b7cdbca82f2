import time

import pytest

from medreach.core.cache import MemoryCache
from tests.conftest import redis_cache


@pytest.fixture(params=["memory", "redis"])
def any_cache(request):
    if request.param == "memory":
        yield MemoryCache()
        return
    c = redis_cache()
    yield c
    c.clear_prefix()


def test_get_set_delete(any_cache):
    assert any_cache.get("a") is None
    any_cache.set("a", "1")
    assert any_cache.get("a") == "1"
    any_cache.delete("a")
    assert any_cache.get("a") is None


def test_incr_window_starts_at_first_increment(any_cache):
    assert [any_cache.incr("n", 2) for _ in range(3)] == [1, 2, 3]
    assert 1 <= any_cache.ttl("n") <= 2
    time.sleep(2.1)
    assert any_cache.get("n") is None and any_cache.incr("n", 2) == 1


def test_set_with_ttl_expires(any_cache):
    any_cache.set("t", "x", ttl=1)
    assert any_cache.ttl("t") == 1
    time.sleep(1.1)
    assert any_cache.get("t") is None and any_cache.ttl("t") == 0
