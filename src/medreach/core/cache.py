"""A small cache: in-process by default, Redis when MEDREACH_REDIS_URL is set.

Both speak the same few operations, so callers never know which one they have.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, cast

import redis


class Cache(Protocol):
    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str, ttl: int | None = None) -> None: ...
    def delete(self, *keys: str) -> None: ...
    def incr(self, key: str, ttl: int, amount: int = 1) -> int:
        """Add `amount` (one) and return the new count; the key expires ttl seconds after its first increment."""

    def ttl(self, key: str) -> int:
        """Seconds left before the key expires; 0 when it is absent or has no expiry."""

    def ping(self) -> None: ...


class MemoryCache:
    def __init__(self) -> None:
        self._data: dict[str, tuple[str, float | None]] = {}
        self._lock = threading.Lock()

    def _live(self, key: str) -> tuple[str, float | None] | None:
        item = self._data.get(key)
        if item and item[1] is not None and item[1] <= time.monotonic():
            del self._data[key]
            return None
        return item

    def get(self, key: str) -> str | None:
        with self._lock:
            item = self._live(key)
            return item[0] if item else None

    def set(self, key: str, value: str, ttl: int | None = None) -> None:
        with self._lock:
            self._data[key] = (value, time.monotonic() + ttl if ttl else None)

    def delete(self, *keys: str) -> None:
        with self._lock:
            for k in keys:
                self._data.pop(k, None)

    def incr(self, key: str, ttl: int, amount: int = 1) -> int:
        with self._lock:
            item = self._live(key)
            count = int(item[0]) + amount if item else amount
            self._data[key] = (str(count), item[1] if item else time.monotonic() + ttl)
            return count

    def ttl(self, key: str) -> int:
        with self._lock:
            item = self._live(key)
            return max(int(item[1] - time.monotonic() + 0.999), 0) if item and item[1] else 0

    def ping(self) -> None:
        return None


class RedisCache:
    def __init__(self, url: str, prefix: str = "medreach:") -> None:
        self.client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = prefix

    def get(self, key: str) -> str | None:
        return cast(str | None, self.client.get(self.prefix + key))  # decode_responses: text, not bytes

    def set(self, key: str, value: str, ttl: int | None = None) -> None:
        self.client.set(self.prefix + key, value, ex=ttl)

    def delete(self, *keys: str) -> None:
        if keys:
            self.client.delete(*(self.prefix + k for k in keys))

    def incr(self, key: str, ttl: int, amount: int = 1) -> int:
        k = self.prefix + key
        pipe = self.client.pipeline()
        pipe.incr(k, amount)
        pipe.expire(k, ttl, nx=True)  # only the first increment starts the window
        count, _ = pipe.execute()
        return int(count)

    def ttl(self, key: str) -> int:
        return max(int(self.client.ttl(self.prefix + key)), 0)

    def ping(self) -> None:
        self.client.ping()

    def clear_prefix(self) -> None:
        for k in self.client.scan_iter(self.prefix + "*"):
            self.client.delete(k)


def make_cache(redis_url: str | None, prefix: str = "medreach:") -> Cache:
    return RedisCache(redis_url, prefix) if redis_url else MemoryCache()
