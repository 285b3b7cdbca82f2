"""Sources and their write keys; counting received and rejected events; de-duplication by messageId."""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict, deque
from datetime import UTC, datetime, timedelta

import orjson
import redis
import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from medreach.accounts.models import User
from medreach.core.cache import Cache, RedisCache
from medreach.core.errors import not_found
from medreach.core.security import sha256_hex
from medreach.ops.service import audit
from medreach.tracking.collector import Rejected
from medreach.tracking.log import EventLog
from medreach.tracking.models import Rejection, Source

log = structlog.get_logger(__name__)


def _new_key() -> str:
    return "mr_" + secrets.token_urlsafe(24)


def create_source(session: Session, actor: User, name: str, kind: str) -> tuple[Source, str]:
    key = _new_key()
    source = Source(name=name, kind=kind, write_key_hash=sha256_hex(key), key_hint=key[:9])
    session.add(source)
    session.flush()
    audit(
        session,
        actor_id=actor.id,
        actor_login=actor.login,
        action="sources.create",
        subject_type="source",
        subject_id=source.id,
        detail={"name": name, "kind": kind},
    )
    session.commit()
    return source, key


STOREFRONT = "storefront (web)"


def storefront_key(session: Session) -> str:
    """The write key the storefront's tracker uses (the built-in web source, created on first use)."""
    source = session.scalar(select(Source).where(Source.name == STOREFRONT, Source.kind == "web"))
    if source is None:
        key = _new_key()
        source = Source(name=STOREFRONT, kind="web", write_key_hash=sha256_hex(key), key_hint=key[:9], embedded_key=key)
        session.add(source)
        session.commit()
    return source.embedded_key if source.status == "active" else ""


def internal_source(session: Session, name: str, kind: str) -> int:
    """A built-in source whose events MedReach writes itself (server events, the simulator): no usable key."""
    source_id = session.scalar(select(Source.id).where(Source.name == name, Source.kind == kind))
    if source_id is None:
        source = Source(
            name=name, kind=kind, write_key_hash=sha256_hex(f"internal:{name}"), key_hint="internal", status="revoked"
        )
        session.add(source)
        session.commit()
        source_id = source.id
    return source_id


def rotate_key(session: Session, actor: User, source_id: int) -> tuple[Source, str]:
    source = get_source(session, source_id)
    key = _new_key()
    if source.embedded_key is not None:
        source.embedded_key = key
    source.write_key_hash, source.key_hint, source.rotated_at = sha256_hex(key), key[:9], datetime.now(UTC)
    source.status = "active"
    audit(
        session,
        actor_id=actor.id,
        actor_login=actor.login,
        action="sources.rotate",
        subject_type="source",
        subject_id=source.id,
    )
    session.commit()
    return source, key


def revoke(session: Session, actor: User, source_id: int) -> Source:
    source = get_source(session, source_id)
    source.status = "revoked"
    audit(
        session,
        actor_id=actor.id,
        actor_login=actor.login,
        action="sources.revoke",
        subject_type="source",
        subject_id=source.id,
    )
    session.commit()
    return source


def get_source(session: Session, source_id: int) -> Source:
    source = session.get(Source, source_id)
    if source is None:
        raise not_found("source")
    return source


def list_sources(session: Session) -> list[Source]:
    return list(session.scalars(select(Source).order_by(Source.id)))


class KeyRing:
    """Write key -> active source id, cached per process for a few seconds (revocation takes hold fast)."""

    def __init__(self, ttl_seconds: float = 5.0):
        self.ttl, self._cache, self._lock = ttl_seconds, {}, threading.Lock()

    def cached(self, key: str) -> int | None:
        hit = self._cache.get(sha256_hex(key))
        return hit[0] if hit and hit[1] > time.monotonic() else None

    def source_for(self, session_factory, key: str) -> int | None:
        digest = sha256_hex(key)
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit and hit[1] > now:
            return hit[0]
        with session_factory() as s:
            source_id = s.scalar(select(Source.id).where(Source.write_key_hash == digest, Source.status == "active"))
        with self._lock:
            self._cache[digest] = (source_id, now + self.ttl)
        return source_id


class Deduper:
    """Message ids already in the log. Preloaded from the log at start, so a retry after a restart is
    still recognised; bounded (the oldest ids are forgotten first)."""

    def __init__(self, log: EventLog, capacity: int = 2_000_000):
        self.capacity, self._seen, self._lock = capacity, OrderedDict(), threading.Lock()
        for record in log.read(log.all_segments()):
            self._remember(record.get("messageId"))

    def _remember(self, message_id) -> None:
        if message_id:
            self._seen[message_id] = None
            if len(self._seen) > self.capacity:
                self._seen.popitem(last=False)

    def fresh(self, message_ids: list[str]) -> list[bool]:
        """For each id, True if never seen (and remember it); duplicates within the list count too."""
        out = []
        with self._lock:
            for mid in message_ids:
                new = mid not in self._seen
                if new:
                    self._remember(mid)
                out.append(new)
        return out

    def forget(self, message_ids: list[str]) -> None:
        """The write failed: these ids may be sent again."""
        with self._lock:
            for mid in message_ids:
                self._seen.pop(mid, None)


class SharedDeduper:
    """De-duplication across processes (several API workers behind one address): this process's memory
    first, then Redis (SET NX with an expiry: the first process to claim an id wins). If Redis cannot be
    reached, the local answer stands rather than refusing events."""

    def __init__(self, local: Deduper, cache: RedisCache, window_seconds: int):
        self.local, self.client, self.window = local, cache.client, window_seconds
        self.prefix = cache.prefix + "tracking:seen:"

    def fresh(self, message_ids: list[str]) -> list[bool]:
        local = self.local.fresh(message_ids)
        if not any(local):
            return local
        try:
            pipe = self.client.pipeline(transaction=False)
            for mid, new in zip(message_ids, local, strict=False):
                if new:
                    pipe.set(self.prefix + mid, "1", nx=True, ex=self.window)
            claimed = iter(pipe.execute())
        except redis.RedisError:
            log.warning("dedupe_redis_unavailable")
            return local
        return [bool(next(claimed)) if new else False for new in local]

    def forget(self, message_ids: list[str]) -> None:
        self.local.forget(message_ids)
        try:
            self.client.delete(*(self.prefix + m for m in message_ids))
        except redis.RedisError:
            log.warning("dedupe_redis_unavailable")


AnyDeduper = Deduper | SharedDeduper


def make_deduper(event_log: EventLog, cache: Cache, window_seconds: int) -> AnyDeduper:
    local = Deduper(event_log)
    return SharedDeduper(local, cache, window_seconds) if isinstance(cache, RedisCache) else local


class LiveWindow:
    """The newest events, for the console's live view: in this process's memory. Like the shared window,
    a large batch adds only its last events."""

    def __init__(self, size: int = 5000, per_batch: int = 100):
        self._events: deque[dict] = deque(maxlen=size)
        self.per_batch = per_batch

    def add(self, events: list[dict]) -> None:
        self._events.extend(events[-self.per_batch :])

    def newest(self) -> list[dict]:
        return list(self._events)[::-1]


class SharedLiveWindow:
    """The newest events of every process, in a capped Redis list. A large batch adds only its last events:
    nobody reads thousands a second, and the collector stays fast."""

    def __init__(self, cache: RedisCache, size: int = 2000, per_batch: int = 100):
        self.client, self.key, self.size, self.per_batch = cache.client, cache.prefix + "tracking:live", size, per_batch

    def add(self, events: list[dict]) -> None:
        if not events:
            return
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.lpush(self.key, *(orjson.dumps(e) for e in events[-self.per_batch :]))
            pipe.ltrim(self.key, 0, self.size - 1)
            pipe.execute()
        except redis.RedisError:
            log.warning("live_window_redis_unavailable")

    def newest(self) -> list[dict]:
        try:
            return [orjson.loads(x) for x in self.client.lrange(self.key, 0, self.size - 1)]
        except redis.RedisError:
            return []


AnyLiveWindow = LiveWindow | SharedLiveWindow


def make_live_window(cache: Cache) -> AnyLiveWindow:
    return SharedLiveWindow(cache) if isinstance(cache, RedisCache) else LiveWindow()


def count(cache: Cache, source_id: int, received: int, rejected: int) -> None:
    """Per-source, per-day volumes (in the cache: Redis across processes when configured)."""
    day = datetime.now(UTC).strftime("%Y%m%d")
    for what, n in (("received", received), ("rejected", rejected)):
        if n:
            cache.incr(f"tracking:{source_id}:{day}:{what}", 8 * 86400, n)


def record_rejections(session: Session, source_id: int | None, rejected: list[Rejected], sample: bytes = b"") -> None:
    for r in rejected[:20]:  # a flood of bad events keeps only a sample of reasons
        session.add(
            Rejection(
                source_id=source_id,
                reason=r.reason,
                field=r.field,
                message_id=(r.message_id or "")[:64],
                sample=sample[:500].decode("utf-8", "replace"),
            )
        )
    session.commit()


def stats(session: Session, cache: Cache, source_id: int, days: int = 7) -> dict:
    today = datetime.now(UTC)
    series = []
    for n in range(days - 1, -1, -1):
        day = (today - timedelta(days=n)).strftime("%Y%m%d")
        series.append(
            {
                "day": day,
                "received": int(cache.get(f"tracking:{source_id}:{day}:received") or 0),
                "rejected": int(cache.get(f"tracking:{source_id}:{day}:rejected") or 0),
            }
        )
    reasons = dict(
        session.execute(
            select(Rejection.reason, func.count()).where(Rejection.source_id == source_id).group_by(Rejection.reason)
        ).all()
    )
    recent = list(
        session.scalars(
            select(Rejection).where(Rejection.source_id == source_id).order_by(Rejection.id.desc()).limit(20)
        )
    )
    return {
        "days": series,
        "rejected_by_reason": reasons,
        "recent_rejections": [
            {"reason": r.reason, "field": r.field, "message_id": r.message_id, "sample": r.sample, "at": r.at}
            for r in recent
        ],
    }
