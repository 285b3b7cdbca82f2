"""Tracking: sources and their write keys, the collector's work (identity proof, throttling, de-duplication,
the log, stitching), counts of received and rejected events, timelines."""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import redis
import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from medreach.accounts import service as accounts
from medreach.accounts.models import User
from medreach.core.cache import Cache, RedisCache
from medreach.core.db import get_or_404
from medreach.core.errors import AppError
from medreach.core.pagination import PageParams, paginate
from medreach.core.security import PERSONAL_KEYS, UNAMBIGUOUS_PERSONAL_KEYS, mask_personal, sha256_hex
from medreach.ops.service import audit
from medreach.tracking import collector, identity
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
    return source.embedded_key if source.status == "active" and source.embedded_key else ""


def internal_source(session: Session, name: str, kind: str) -> int:
    """A built-in source whose events MedReach writes itself (server events, the simulator). It has no key: the
    hash stored is of a random value nobody keeps, and the API refuses to make one (`_manageable`)."""
    source_id = session.scalar(select(Source.id).where(Source.name == name, Source.kind == kind))
    if source_id is None:
        source = Source(
            name=name,
            kind=kind,
            write_key_hash=sha256_hex(f"internal:{secrets.token_urlsafe(32)}"),
            key_hint="internal",
            status="revoked",
            internal=True,
        )
        session.add(source)
        session.commit()
        source_id = source.id
    return source_id


def internal_source_ids(session: Session) -> set[int]:
    """The sources whose events MedReach writes itself: the only ones whose business events (an Order Completed,
    say) are facts rather than a client's say-so."""
    return set(session.scalars(select(Source.id).where(Source.internal.is_(True))))


def _manageable(session: Session, source_id: int) -> Source:
    source = get_source(session, source_id)
    if source.internal:
        raise AppError(409, "SOURCE_INTERNAL", name=source.name)
    return source


def rotate_key(session: Session, actor: User, source_id: int) -> tuple[Source, str]:
    source = _manageable(session, source_id)
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
    source = _manageable(session, source_id)
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
    return get_or_404(session, Source, source_id, "source")


def list_sources(session: Session, params: PageParams) -> tuple[list[Source], int]:
    return paginate(session, select(Source).order_by(Source.id), params)


@dataclass(frozen=True)
class SourceKey:
    """What the collector needs to know about an active write key."""

    id: int
    trusted: bool  # a secret server/import key: its userIds are believed


class KeyRing:
    """Write key -> active source, cached per process for a few seconds (revocation takes hold fast)."""

    def __init__(self, ttl_seconds: float = 5.0):
        self.ttl, self._lock = ttl_seconds, threading.Lock()
        self._cache: dict[str, tuple[SourceKey | None, float]] = {}

    def cached(self, key: str) -> SourceKey | None:
        hit = self._cache.get(sha256_hex(key))
        return hit[0] if hit and hit[1] > time.monotonic() else None

    def source_for(self, session_factory, key: str) -> SourceKey | None:
        digest = sha256_hex(key)
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit and hit[1] > now:
            return hit[0]
        with session_factory() as s:
            source = s.scalar(select(Source).where(Source.write_key_hash == digest, Source.status == "active"))
            found = SourceKey(source.id, source.trusted) if source is not None and not source.internal else None
        with self._lock:
            self._cache[digest] = (found, now + self.ttl)
        return found


class RateLimiter:
    """Fixed-window request counts per bucket (a source and a client address). With Redis, one count shared by
    every process (one INCR per request); otherwise this process's memory, which forgets past windows."""

    def __init__(self, window_seconds: int, cache: Cache):
        self.window = max(1, window_seconds)
        self.shared = cache if isinstance(cache, RedisCache) else None
        self._counts: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, bucket: str, limit: int) -> tuple[int, int]:
        """Count one request: (how many in this window so far, seconds until the window ends)."""
        now = time.time()
        window = int(now // self.window)
        retry_after = max(1, math.ceil((window + 1) * self.window - now))
        if self.shared is not None:
            try:
                return self.shared.incr(f"tracking:rate:{bucket}:{window}", self.window + 1), retry_after
            except redis.RedisError:
                log.warning("rate_limit_redis_unavailable")  # this process's own count stands in
        with self._lock:
            seen_window, count = self._counts.get(bucket, (window, 0))
            count = count + 1 if seen_window == window else 1
            if len(self._counts) > 100_000:  # many addresses: keep only this window's
                self._counts = {b: c for b, c in self._counts.items() if c[0] == window}
            self._counts[bucket] = (window, count)
        return count, retry_after


class Runtime:
    """The collector's per-app helpers that need the settings: identity tokens and throttling."""

    def __init__(self, settings, cache: Cache):
        self.tokens = identity.IdentityTokens(settings.signing_key)
        self.limiter = RateLimiter(settings.collector_rate_window_seconds, cache)
        self.public_limit, self.trusted_limit = settings.collector_rate_public, settings.collector_rate_trusted
        self.bad_key_limit = settings.collector_rate_bad_keys


def runtime(state) -> Runtime:
    """The app's Runtime, made on first use."""
    found = getattr(state, "tracking", None)
    if found is None:
        found = state.tracking = Runtime(state.settings, state.cache)
    return found


def identity_token(state, user: User) -> dict:
    """A signed-in browser's proof of who it is, for the tracker to send with its calls."""
    token, expires_at = runtime(state).tokens.issue(user.id)
    return {"user_id": str(user.id), "token": token, "expires_at": expires_at}


# --- the collector --------------------------------------------------------------------------------------------


@dataclass
class Collected:
    written: int
    rejected: list[Rejected]
    all_rejected: bool


def _throttle(state, bucket: str, limit: int) -> tuple[int, bool]:
    """Count the request: (0 if it may go on, else the seconds it must wait; whether it is the window's first
    refusal). A limit of 0 means none."""
    if limit <= 0:
        return 0, False
    n, retry_after = runtime(state).limiter.hit(bucket, limit)
    return (retry_after if n > limit else 0), n == limit + 1


def _too_many(retry_after: int) -> AppError:
    return AppError(429, "TRACKING_RATE_LIMITED", retry_after=retry_after, headers={"Retry-After": str(retry_after)})


async def collect(state, key: str | None, body: Any, kind: str | None, client_ip: str, raw: bytes) -> Collected:
    """Take one collector call (`kind`) or batch (`kind` None) sent with this write key from this address:
    throttle, check, prove identities, drop duplicates, log durably, count, stitch, record refusals."""
    found = state.keyring.cached(key) if key else None
    if found is None and key:  # a database look-up only on a cache miss
        found = await run_in_threadpool(state.keyring.source_for, state.db.sessions, key)
    rt = runtime(state)
    if found is None:
        wait, _ = _throttle(state, f"badkey:{client_ip}", rt.bad_key_limit)
        if wait:
            raise _too_many(wait)
        raise AppError(401, "INVALID_WRITE_KEY", headers={"WWW-Authenticate": 'Basic realm="write key"'})
    if kind is None:  # batch
        events = body.get("batch") if isinstance(body, dict) else None
        if not isinstance(events, list):
            raise AppError(400, "EVENT_REJECTED", field="batch", reason="missing_batch")
        sent_at = body.get("sentAt")
    else:
        events, sent_at = [body], None
    wait, first = _throttle(state, f"{found.id}:{client_ip}", rt.trusted_limit if found.trusted else rt.public_limit)
    if wait:  # its events count as rejected; only a window's first refusal is recorded (a flood writes one row)
        count(state.cache, found.id, 0, len(events))
        if first:
            await run_in_threadpool(_record, state, found.id, [Rejected(None, "writeKey", "rate_limited")], b"")
        raise _too_many(wait)
    received_iso = collector.iso(datetime.now(UTC))
    batch_sent = sent_at if collector.parse_time(sent_at) else None
    verified_user = None if found.trusted else rt.tokens.user_of
    accepted, lines, rejected = [], [], []
    for i, event in enumerate(events):
        outcome = collector.accept(
            event, kind, i if kind is None else None, found.id, received_iso, batch_sent, verified_user
        )
        if isinstance(outcome, Rejected):
            rejected.append(outcome)
        else:
            accepted.append(outcome[0])
            lines.append(outcome[1])
    fresh = state.dedupe.fresh([e["messageId"] for e in accepted])
    to_write = [e for e, new in zip(accepted, fresh, strict=False) if new]
    if to_write:
        try:
            await state.event_log.append_async([line for line, new in zip(lines, fresh, strict=False) if new])
        except OSError:
            state.dedupe.forget([e["messageId"] for e in to_write])
            raise
    count(state.cache, found.id, len(to_write), len(rejected))
    state.live.add(to_write)
    if any(e["type"] in ("identify", "alias") for e in to_write):
        await run_in_threadpool(_stitch, state, to_write, found.trusted)
    if rejected:
        await run_in_threadpool(_record, state, found.id, rejected, raw)
    return Collected(len(to_write), rejected, bool(rejected) and not accepted)


def _stitch(state, records: list[dict], trusted: bool) -> None:
    with state.db.sessions() as s:
        identity.apply(s, records, trusted)


def _record(state, source_id: int, rejected: list[Rejected], raw: bytes) -> None:
    with state.db.sessions() as s:
        record_rejections(s, source_id, rejected, raw)


class Deduper:
    """Message ids already in the log. Preloaded from the log at start, so a retry after a restart is
    still recognised; bounded (the oldest ids are forgotten first)."""

    def __init__(self, log: EventLog, capacity: int = 2_000_000):
        self.capacity, self._lock = capacity, threading.Lock()
        self._seen: OrderedDict[str, None] = OrderedDict()
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
    get_source(session, source_id)
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


# --- the console: whose timeline, and the timeline --------------------------------------------------------------


def find_people(session: Session, viewer: User, q: str, params: PageParams) -> tuple[list[dict], int]:
    """Customers whose timeline staff may open, found by phone (exact), e-mail, name or id; masked as the viewer
    may see them. The accounts search audits every search."""
    users, total = accounts.search_users(session, viewer, params, q=q, is_staff=False)
    perms = accounts.permissions_of(viewer)
    people = []
    for user in users:
        view = accounts.user_view(user, perms)
        people.append({"user_id": str(user.id), "name": view.name, "phone": view.phone, "email": view.email})
    return people, total


def masked_event(event: dict) -> dict:
    """An event as staff see it: whatever a client put under personal keys of its traits and properties (a name,
    a phone, an e-mail, a street) masked by the one rule (core.security), kept as JSON text where it was text."""
    out = dict(event)
    for key, keys in (("traits", PERSONAL_KEYS), ("properties", UNAMBIGUOUS_PERSONAL_KEYS)):
        value = out.get(key)
        if isinstance(value, str | bytes):
            try:
                parsed = orjson.loads(value)
            except orjson.JSONDecodeError:
                continue
            out[key] = orjson.dumps(mask_personal(parsed, keys)).decode()
        elif isinstance(value, dict | list):
            out[key] = mask_personal(value, keys)
    return out


def user_timeline(session: Session, state, viewer: User, user_id: str, limit: int) -> dict:
    """One person's events across every id stitched to them, newest first, with the links (the read is audited)."""
    ids = identity.ids_of(session, user_id)
    audit(
        session,
        actor_id=viewer.id,
        actor_login=viewer.login,
        action="tracking.timeline",
        subject_type="user",
        subject_id=user_id,
        detail={"ids": len(ids)},
    )
    session.commit()
    links = [
        {
            "id": link.id,
            "anonymous_id": link.anonymous_id,
            "via": link.via,
            "created_at": link.created_at,
            "undone_at": link.undone_at,
        }
        for link in identity.links(session, user_id)
    ]
    events = identity.timeline(state.event_log, state.settings.lake_path, user_id, ids, limit)
    return {"user_id": user_id, "ids": sorted(ids), "links": links, "events": [masked_event(e) for e in events]}


def live_events(state, source_id: int | None, event: str | None, user: str | None, limit: int) -> list[dict]:
    """The newest events received, filtered by source, event name and user or anonymous id."""
    out = []
    for e in state.live.newest():
        if (source_id and e.get("sourceId") != source_id) or (event and e.get("event") != event):
            continue
        if user and user not in (e.get("userId"), e.get("anonymousId")):
            continue
        out.append({**masked_event(e), "timestamp": collector.event_time(e)})
        if len(out) >= limit:
            break
    return out
