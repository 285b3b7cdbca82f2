"""Moves server-side domain events (the outbox in core.events) into the event log, as Segment `track`
records of the built-in "server" source, so storefront and server events share one log and one schema.

Log first, then mark published: a crash in between re-sends events the log already has, and the
de-duplication by messageId (the outbox's message_id) drops them.
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from medreach.accounts import consents
from medreach.core.events import BEHAVIOUR, DomainEvent
from medreach.tracking.collector import iso
from medreach.tracking.log import EventLog
from medreach.tracking.models import Source
from medreach.tracking.service import AnyDeduper, AnyLiveWindow, internal_source

SERVER_SOURCE = "server (domain events)"


def server_source(session: Session) -> int:
    """The built-in source of server-side events (it has no usable write key)."""
    return internal_source(session, SERVER_SOURCE, "server")


def record(event: DomainEvent, source_id: int, received: str) -> dict:
    out = {
        "type": "track",
        "event": event.name,
        "properties": event.properties or {},
        "messageId": event.message_id,
        "timestamp": iso(event.occurred_at),
        "receivedAt": received,
        "sourceId": source_id,
        "context": {"library": {"name": "medreach-server"}},
    }
    if event.user_id is not None:
        out["userId"] = str(event.user_id)
    if event.anonymous_id:
        out["anonymousId"] = event.anonymous_id
    if "userId" not in out and "anonymousId" not in out:
        out["anonymousId"] = "server"
    return out


def relay(
    session: Session, log: EventLog, dedupe: AnyDeduper, live: AnyLiveWindow | None = None, limit: int = 1000
) -> int:
    """Publish up to `limit` waiting domain events; returns how many were written."""
    q = select(DomainEvent).where(DomainEvent.published_at.is_(None)).order_by(DomainEvent.id).limit(limit)
    if session.get_bind().dialect.name != "sqlite":
        q = q.with_for_update(skip_locked=True)  # several processes relay without taking the same rows
    events = list(session.scalars(q))
    if not events:
        session.rollback()
        return 0
    source_id = session.scalar(select(Source.id).where(Source.name == SERVER_SOURCE, Source.kind == "server"))
    if source_id is None:  # created outside this transaction's row locks
        session.rollback()
        server_source(session)
        return relay(session, log, dedupe, live, limit)
    # A signed-in user who refused behaviour analytics (on any device): their browsing events stop here.
    refused = consents.refused(
        session, {e.user_id for e in events if e.name in BEHAVIOUR and e.user_id}, "behaviour_analytics"
    )
    keep = [e for e in events if not (e.name in BEHAVIOUR and e.user_id in refused)]
    received = iso(datetime.now(UTC))
    fresh = dedupe.fresh([e.message_id for e in keep])
    records = [record(e, source_id, received) for e, new in zip(keep, fresh, strict=False) if new]
    lines = [orjson.dumps(r) for r in records]
    if lines:
        log.append(lines)
        if live is not None:
            live.add(records)
    session.execute(
        update(DomainEvent).where(DomainEvent.id.in_([e.id for e in events])).values(published_at=datetime.now(UTC))
    )
    session.commit()
    return len(lines)
