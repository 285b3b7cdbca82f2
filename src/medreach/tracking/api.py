"""The collector (Segment-compatible /v1/* endpoints) and the console's source management."""

from __future__ import annotations

import base64
import gzip
import zlib
from datetime import UTC, datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from medreach.accounts.deps import DbSession, require
from medreach.accounts.models import User
from medreach.core.errors import AppError, problem
from medreach.core.params import IdPath
from medreach.ops.service import audit
from medreach.tracking import collector, identity, lake, schemas, service

router = APIRouter()
OK = {"success": True}


def _write_key(request: Request, body) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("basic "):
        try:
            return base64.b64decode(auth[6:]).decode().split(":", 1)[0] or None
        except (ValueError, UnicodeDecodeError):
            return None
    if isinstance(body, dict) and isinstance(body.get("writeKey"), str):
        return body["writeKey"]
    return None


async def _body(request: Request) -> bytes:
    raw = await request.body()
    if request.headers.get("content-encoding", "").lower() == "gzip":
        try:  # bounded: a small gzip cannot unpack into more than the batch limit
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            raw = d.decompress(raw, collector.MAX_BATCH_BYTES + 1)
        except (zlib.error, gzip.BadGzipFile) as e:
            raise AppError(400, "MALFORMED_BODY") from e
    return raw


async def collect(request: Request, kind: str | None) -> JSONResponse:
    raw = await _body(request)
    if len(raw) > collector.MAX_BATCH_BYTES:
        raise AppError(413, "BATCH_TOO_LARGE", limit=collector.MAX_BATCH_BYTES)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise AppError(400, "MALFORMED_BODY") from e
    state = request.app.state
    key = _write_key(request, body)
    source_id = state.keyring.cached(key) if key else None
    if source_id is None and key:  # a database look-up only on a cache miss
        source_id = await run_in_threadpool(state.keyring.source_for, state.db.sessions, key)
    if source_id is None:
        raise AppError(401, "INVALID_WRITE_KEY", headers={"WWW-Authenticate": 'Basic realm="write key"'})
    if kind is None:  # batch
        events = body.get("batch") if isinstance(body, dict) else None
        if not isinstance(events, list):
            raise AppError(400, "EVENT_REJECTED", field="batch", reason="missing_batch")
        sent_at = body.get("sentAt")
    else:
        events, sent_at = [body], None
    received_iso = collector.iso(datetime.now(UTC))
    batch_sent = sent_at if collector.parse_time(sent_at) else None
    accepted, lines, rejected = [], [], []
    for i, event in enumerate(events):
        outcome = collector.accept(event, kind, i if kind is None else None, source_id, received_iso, batch_sent)
        if isinstance(outcome, collector.Rejected):
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
    service.count(state.cache, source_id, len(to_write), len(rejected))
    state.live.add(to_write)
    if any(e["type"] in ("identify", "alias") for e in to_write):
        await run_in_threadpool(_stitch, state, to_write)
    if rejected:
        await run_in_threadpool(_record, state, source_id, rejected, raw)
    if rejected and not accepted:
        r = rejected[0]
        field = r.field if r.index is None else f"batch[{r.index}].{r.field}"
        status = 413 if r.reason == "event_too_large" else 400
        return problem(
            request,
            status,
            "EVENT_REJECTED",
            reason=r.reason,
            errors=[
                {
                    "field": field if x.index is None else f"batch[{x.index}].{x.field}",
                    "code": x.reason,
                    "message": x.reason,
                }
                for x in rejected[:20]
            ],
        )
    body_out = dict(OK)
    if rejected:
        body_out["rejected"] = [{"index": r.index, "field": r.field, "reason": r.reason} for r in rejected[:100]]
    return JSONResponse(body_out)


def _stitch(state, records) -> None:
    with state.db.sessions() as s:
        identity.apply(s, records)


def _record(state, source_id, rejected, raw) -> None:
    with state.db.sessions() as s:
        service.record_rejections(s, source_id, rejected, raw)


def _route(kind: str | None):
    async def endpoint(request: Request):
        return await collect(request, kind)

    endpoint.__name__ = f"collect_{kind or 'batch'}"
    endpoint.__doc__ = (
        f"Segment-compatible `{kind}` call."
        if kind
        else "Segment-compatible batch of up to 500 KB; valid events are kept, the rest reported."
    )
    return endpoint


for _kind in collector.TYPES:
    router.add_api_route(f"/v1/{_kind}", _route(_kind), methods=["POST"], tags=["collector"])
router.add_api_route("/v1/batch", _route(None), methods=["POST"], tags=["collector"])
router.add_api_route("/v1/import", _route(None), methods=["POST"], tags=["collector"])


@router.get("/api/v1/tracking/config", tags=["collector"])
def tracking_config(session: DbSession):
    """What the storefront's tracker needs: the built-in web source's (public) write key."""
    key = service.storefront_key(session)
    return {"write_key": key, "enabled": bool(key)}


# --- console: sources ----------------------------------------------------------------------------------------


@router.get("/api/v1/admin/sources", response_model=list[schemas.SourceOut], tags=["tracking admin"])
def list_sources(session: DbSession, _: Annotated[User, require("analytics:read")]):
    return service.list_sources(session)


@router.post("/api/v1/admin/sources", response_model=schemas.SourceWithKey, status_code=201, tags=["tracking admin"])
def create_source(data: schemas.SourceIn, session: DbSession, actor: Annotated[User, require("pipeline:run")]):
    source, key = service.create_source(session, actor, data.name, data.kind)
    return schemas.SourceWithKey(**schemas.SourceOut.model_validate(source).model_dump(), write_key=key)


@router.post("/api/v1/admin/sources/{source_id}/rotate", response_model=schemas.SourceWithKey, tags=["tracking admin"])
def rotate_source(source_id: IdPath, session: DbSession, actor: Annotated[User, require("pipeline:run")]):
    source, key = service.rotate_key(session, actor, source_id)
    return schemas.SourceWithKey(**schemas.SourceOut.model_validate(source).model_dump(), write_key=key)


@router.post("/api/v1/admin/sources/{source_id}/revoke", response_model=schemas.SourceOut, tags=["tracking admin"])
def revoke_source(source_id: IdPath, session: DbSession, actor: Annotated[User, require("pipeline:run")]):
    return service.revoke(session, actor, source_id)


@router.get("/api/v1/admin/sources/{source_id}/stats", tags=["tracking admin"])
def source_stats(
    source_id: IdPath, request: Request, session: DbSession, _: Annotated[User, require("analytics:read")]
):
    service.get_source(session, source_id)
    return service.stats(session, request.app.state.cache, source_id)


# --- console: live view and timelines -------------------------------------------------------------------------


@router.get("/api/v1/admin/events/live", tags=["tracking admin"])
def live_events(
    request: Request,
    _: Annotated[User, require("analytics:read")],
    source_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    event: Annotated[str | None, Query(max_length=64)] = None,
    user: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
):
    """The newest events received (live view; filters by source, event name and user or anonymous id).
    With Redis configured it is every API process's stream; otherwise this process's."""
    out = []
    for e in request.app.state.live.newest():
        if (source_id and e.get("sourceId") != source_id) or (event and e.get("event") != event):
            continue
        if user and user not in (e.get("userId"), e.get("anonymousId")):
            continue
        out.append({**e, "timestamp": collector.event_time(e)})
        if len(out) >= limit:
            break
    return out


@router.get("/api/v1/admin/users/{user_id}/timeline", tags=["tracking admin"])
def user_timeline(
    user_id: Annotated[str, Path(min_length=1, max_length=64)],
    request: Request,
    session: DbSession,
    viewer: Annotated[User, require("profiles:read")],
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
):
    """One person's events across every id stitched to them, newest first (the read is audited)."""
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
    return {
        "user_id": user_id,
        "ids": sorted(ids),
        "links": links,
        "events": identity.timeline(request.app.state.event_log, request.app.state.settings.lake_path, ids, limit),
    }


@router.post("/api/v1/admin/events/compact", tags=["tracking admin"])
def compact_now(request: Request, _: Annotated[User, require("pipeline:run")]):
    """Compact what this process has logged, and other processes' sealed segments, into the lake now
    (it also happens every minute)."""
    request.app.state.event_log.seal()
    return {"events": compact_sealed(request.app.state, quiet_seconds=0)}


def compact_sealed(state, quiet_seconds: float | None = None) -> int:
    log = state.event_log
    return lake.compact(log.sealed_segments(quiet_seconds), state.settings.lake_path, log.compacted_dir)


@router.post("/api/v1/admin/identity-links/{link_id}/undo", tags=["tracking admin"])
def undo_link(link_id: IdPath, session: DbSession, actor: Annotated[User, require("users:manage")]):
    link = identity.undo(session, actor, link_id)
    return {"id": link.id, "anonymous_id": link.anonymous_id, "user_id": link.user_id, "undone_at": link.undone_at}
