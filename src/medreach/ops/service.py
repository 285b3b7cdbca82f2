"""Writing and querying the audit log; who may read the metrics."""

from __future__ import annotations

import hmac
import ipaddress
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import select
from sqlalchemy.orm import Session

from medreach.core.context import client_info
from medreach.core.errors import AppError
from medreach.core.pagination import PageParams, paginate
from medreach.core.settings import Settings
from medreach.ops.models import AuditEntry


def audit(
    session: Session,
    *,
    actor_id: int | None,
    actor_login: str = "",
    action: str,
    subject_type: str = "",
    subject_id: Any = "",
    outcome: str = "success",
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit entry to the caller's transaction (it commits with the change it describes)."""
    info = client_info.get()
    entry = AuditEntry(
        actor_id=actor_id,
        actor_login=actor_login,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id) if subject_id is not None else "",
        outcome=outcome,
        ip=info.ip,
        request_id=info.request_id,
        detail=detail or {},
    )
    session.add(entry)
    return entry


def search_audit(
    session: Session,
    params: PageParams,
    *,
    actor_id: int | None = None,
    action: str | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[AuditEntry], int]:
    q = select(AuditEntry)
    if actor_id is not None:
        q = q.where(AuditEntry.actor_id == actor_id)
    if action:
        q = q.where(AuditEntry.action.startswith(action, autoescape=True))
    if subject_type:
        q = q.where(AuditEntry.subject_type == subject_type)
    if subject_id:
        q = q.where(AuditEntry.subject_id == subject_id)
    if outcome:
        q = q.where(AuditEntry.outcome == outcome)
    if since:
        q = q.where(AuditEntry.at >= since)
    if until:
        q = q.where(AuditEntry.at < until)
    return paginate(session, q.order_by(AuditEntry.id.desc()), params)


def metrics_text(registry: CollectorRegistry, settings: Settings, authorization: str | None) -> bytes:
    """The Prometheus exposition for a scraper allowed to read it: with `MEDREACH_METRICS_TOKEN` set, one that
    sends it as a bearer token; without, a client in `MEDREACH_METRICS_NETWORKS` (loopback by default).
    Anyone else gets a 401: route names, status counts and latencies describe the service to an attacker."""
    if settings.metrics_token:
        scheme, _, token = (authorization or "").partition(" ")
        allowed = scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), settings.metrics_token.encode())
    else:
        allowed = _within(client_info.get().ip, settings.metrics_networks)
    if not allowed:
        raise AppError(401, "METRICS_TOKEN_REQUIRED", headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    return generate_latest(registry)


def _within(ip: str, networks: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:  # no address (a test client, a Unix socket)
        return False
    return any(address in ipaddress.ip_network(n, strict=False) for n in networks)
