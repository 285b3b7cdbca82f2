"""The collector (Segment-compatible /v1/* endpoints), the storefront's identity token, and the console's
sources, live view and timelines. Thin: parse, call one service function, shape the answer."""

from __future__ import annotations

import base64
import gzip
import zlib
from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from medreach.accounts.deps import CurrentUser, DbSession, require
from medreach.accounts.models import User
from medreach.core.context import client_info
from medreach.core.errors import AppError, problem
from medreach.core.http import check_json_depth
from medreach.core.openapi import basic_auth, problem_responses
from medreach.core.pagination import Page, Paging
from medreach.core.params import IdPath
from medreach.tracking import collector, identity, schemas, service, tasks

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
        check_json_depth(raw, request.app.state.settings.max_json_depth)  # the middleware saw it packed
    return raw


async def collect(request: Request, kind: str | None) -> JSONResponse:
    raw = await _body(request)
    if len(raw) > collector.MAX_BATCH_BYTES:
        raise AppError(413, "BATCH_TOO_LARGE", limit=collector.MAX_BATCH_BYTES)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise AppError(400, "MALFORMED_BODY") from e
    key = _write_key(request, body)
    result = await service.collect(request.app.state, key, body, kind, client_info.get().ip, raw)
    if result.all_rejected:
        r = result.rejected[0]
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
                for x in result.rejected[:20]
            ],
        )
    body_out: dict[str, object] = dict(OK)
    if result.rejected:
        body_out["rejected"] = [{"index": r.index, "field": r.field, "reason": r.reason} for r in result.rejected[:100]]
    return JSONResponse(body_out)


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


WRITE_KEY = basic_auth("writeKey", "A source's write key as the user name, the password empty (Segment's convention)")


def _add_collector_route(path: str, kind: str | None) -> None:
    """The route with its document: the body (collector.check's rules), the write key, and its problem answers."""
    responses = problem_responses(
        **{
            "400": "Not JSON or nested too deeply, no `batch` array, or every event refused (MALFORMED_BODY, "
            "BODY_TOO_DEEP, EVENT_REJECTED with `reason` and each event's field in `errors`)",
            "401": "No valid write key (INVALID_WRITE_KEY)",
            "413": "Larger than 500 KB, or an event over 32 KB (BODY_TOO_LARGE, BATCH_TOO_LARGE, EVENT_REJECTED)",
            "429": "Too many calls from this address with this key, or with bad keys (TRACKING_RATE_LIMITED)",
        }
    )
    router.add_api_route(
        path,
        _route(kind),
        methods=["POST"],
        tags=["collector"],
        responses=responses,
        openapi_extra={**schemas.collector_body(kind), **WRITE_KEY},
    )


for _kind in collector.TYPES:
    _add_collector_route(f"/v1/{_kind}", _kind)
_add_collector_route("/v1/batch", None)
_add_collector_route("/v1/import", None)


@router.get("/api/v1/tracking/config", tags=["collector"])
def tracking_config(session: DbSession):
    """What the storefront's tracker needs: the built-in web source's (public) write key."""
    key = service.storefront_key(session)
    return {"write_key": key, "enabled": bool(key)}


@router.get("/api/v1/tracking/identity", response_model=schemas.IdentityTokenOut, tags=["collector"])
def tracking_identity(request: Request, user: CurrentUser):
    """A short-lived token proving to the collector that this browser is signed in as this user: the tracker
    sends it as `context.identityToken`, without which a public key's userId is not believed."""
    return service.identity_token(request.app.state, user)


# --- console: sources ----------------------------------------------------------------------------------------


def _with_key(source_and_key) -> schemas.SourceWithKey:
    source, key = source_and_key
    return schemas.SourceWithKey(**schemas.SourceOut.model_validate(source).model_dump(), write_key=key)


@router.get("/api/v1/admin/sources", response_model=Page[schemas.SourceOut], tags=["tracking admin"])
def list_sources(session: DbSession, paging: Paging, _: Annotated[User, require("analytics:read")]):
    items, total = service.list_sources(session, paging)
    return {"items": items, "total": total, "limit": paging.limit, "offset": paging.offset}


@router.post("/api/v1/admin/sources", response_model=schemas.SourceWithKey, status_code=201, tags=["tracking admin"])
def create_source(data: schemas.SourceIn, session: DbSession, actor: Annotated[User, require("sources:manage")]):
    return _with_key(service.create_source(session, actor, data.name, data.kind))


@router.post("/api/v1/admin/sources/{source_id}/rotate", response_model=schemas.SourceWithKey, tags=["tracking admin"])
def rotate_source(source_id: IdPath, session: DbSession, actor: Annotated[User, require("sources:manage")]):
    """A new write key (the old one stops at once). Internal sources have none: 409 SOURCE_INTERNAL."""
    return _with_key(service.rotate_key(session, actor, source_id))


@router.post("/api/v1/admin/sources/{source_id}/revoke", response_model=schemas.SourceOut, tags=["tracking admin"])
def revoke_source(source_id: IdPath, session: DbSession, actor: Annotated[User, require("sources:manage")]):
    return service.revoke(session, actor, source_id)


@router.get("/api/v1/admin/sources/{source_id}/stats", tags=["tracking admin"])
def source_stats(
    source_id: IdPath, request: Request, session: DbSession, _: Annotated[User, require("analytics:read")]
):
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
    return service.live_events(request.app.state, source_id, event, user, limit)


@router.get("/api/v1/admin/events/people", response_model=Page[schemas.PersonOut], tags=["tracking admin"])
def find_people(
    session: DbSession,
    paging: Paging,
    viewer: Annotated[User, require("profiles:read")],
    q: Annotated[str, Query(min_length=1, max_length=64)],
):
    """Customers by phone (exact), e-mail, name or id, to open their timeline (masked; every search is audited)."""
    items, total = service.find_people(session, viewer, q, paging)
    return {"items": items, "total": total, "limit": paging.limit, "offset": paging.offset}


@router.get("/api/v1/admin/users/{user_id}/timeline", tags=["tracking admin"])
def user_timeline(
    user_id: Annotated[str, Path(min_length=1, max_length=64)],
    request: Request,
    session: DbSession,
    viewer: Annotated[User, require("profiles:read")],
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
):
    """One person's events across every id stitched to them, newest first (the read is audited)."""
    return service.user_timeline(session, request.app.state, viewer, user_id, limit)


@router.post("/api/v1/admin/events/compact", tags=["tracking admin"])
def compact_now(request: Request, _: Annotated[User, require("pipeline:run")]):
    """Compact what this process has logged, and other processes' sealed segments, into the lake now
    (it also happens every minute)."""
    return {"events": tasks.compact_now(request.app.state)}


@router.post("/api/v1/admin/identity-links/{link_id}/undo", tags=["tracking admin"])
def undo_link(link_id: IdPath, session: DbSession, actor: Annotated[User, require("users:manage")]):
    link = identity.undo(session, actor, link_id)
    return {"id": link.id, "anonymous_id": link.anonymous_id, "user_id": link.user_id, "undone_at": link.undone_at}
