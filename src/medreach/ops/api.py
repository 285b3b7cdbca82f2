"""Routes for operations: the audit log, health and readiness, Prometheus metrics."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST

from medreach.accounts.deps import DbSession, require
from medreach.accounts.models import User
from medreach.core.openapi import problem_responses
from medreach.core.pagination import Page, Paging
from medreach.core.params import Moment
from medreach.ops.schemas import AuditOut
from medreach.ops.service import metrics_text, search_audit

router = APIRouter()


@router.get("/api/v1/admin/audit", response_model=Page[AuditOut], tags=["admin"])
def audit_log(
    session: DbSession,
    paging: Paging,
    _: Annotated[User, require("audit:read")],
    actor_id: Annotated[int | None, Query(ge=0, le=2**31)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    subject_type: Annotated[str | None, Query(max_length=32)] = None,
    subject_id: Annotated[str | None, Query(max_length=64)] = None,
    outcome: Literal["success", "denied", "failure"] | None = None,
    since: Moment | None = None,
    until: Moment | None = None,
):
    rows, total = search_audit(
        session,
        paging,
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        outcome=outcome,
        since=since,
        until=until,
    )
    return Page(items=rows, total=total, **paging.model_dump())


@router.get("/healthz", tags=["ops"])
def healthz():
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    tags=["ops"],
    responses={503: {"description": "Not ready: a check failed", "content": {"application/json": {}}}},
)
def readyz(request: Request):
    """Readiness: the database and (when configured) Redis answer."""
    checks: dict[str, str] = {}
    try:
        request.app.state.db.ping()
        checks["database"] = "ok"
    except Exception as e:  # noqa: BLE001  any driver error means not ready
        checks["database"] = f"error: {type(e).__name__}"
    try:
        request.app.state.cache.ping()
        checks["cache"] = "ok"
    except Exception as e:  # noqa: BLE001  any client error means not ready
        checks["cache"] = f"error: {type(e).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503
    )


@router.get("/metrics", tags=["ops"], response_class=PlainTextResponse, responses=problem_responses(401))
def metrics(request: Request):
    """Prometheus metrics: with the metrics token (`Authorization: Bearer …`) or from an internal address."""
    state = request.app.state
    text = metrics_text(state.metrics.registry, state.settings, request.headers.get("authorization"))
    return PlainTextResponse(text, media_type=CONTENT_TYPE_LATEST)
