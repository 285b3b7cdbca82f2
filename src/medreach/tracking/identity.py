"""Identity stitching: identify and alias link anonymous ids to users; a user's timeline follows every
id linked to them; identify traits update the profile fields they map to."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
from sqlalchemy import select
from sqlalchemy.orm import Session

from medreach.accounts.models import User
from medreach.core.errors import AppError, not_found
from medreach.ops.service import audit
from medreach.tracking.collector import event_time, parse_time
from medreach.tracking.lake import read_lake, select_events
from medreach.tracking.log import EventLog
from medreach.tracking.models import IdentityLink

# Segment's reserved traits -> MedReach profile fields (no phone, email or ID number: those come only from
# the account itself).
TRAIT_FIELDS = {"name": "name", "gender": "gender", "birthday": "birth_date", "city": "city", "title": "occupation"}
GENDERS = {"male": "male", "m": "male", "男": "male", "female": "female", "f": "female", "女": "female"}


def links_from(records: list[dict]) -> list[tuple[str, str, str, str]]:
    """(anonymous or previous id, user id, via, message id) for every identify/alias that links two ids."""
    out = []
    for r in records:
        if r["type"] == "identify" and r.get("userId") and r.get("anonymousId"):
            out.append((r["anonymousId"], r["userId"], "identify", r["messageId"]))
        elif r["type"] == "alias" and r.get("userId") and r.get("previousId") and r["previousId"] != r["userId"]:
            out.append((r["previousId"], r["userId"], "alias", r["messageId"]))
    return out


def apply(session: Session, records: list[dict]) -> int:
    """Record new links and map identify traits onto profiles. Returns the number of new links."""
    new = 0
    for anon, user, via, mid in links_from(records):
        exists = session.scalar(
            select(IdentityLink.id).where(
                IdentityLink.anonymous_id == anon[:64],
                IdentityLink.user_id == user[:64],
                IdentityLink.undone_at.is_(None),
            )
        )
        if exists is None:
            session.add(IdentityLink(anonymous_id=anon[:64], user_id=user[:64], via=via, message_id=mid[:64]))
            new += 1
    for r in records:
        if r["type"] == "identify" and str(r.get("userId", "")).isdigit() and isinstance(r.get("traits"), dict):
            _apply_traits(session, int(r["userId"]), r["traits"], parse_time(event_time(r)))
    session.commit()
    return new


def _apply_traits(session: Session, user_id: int, traits: dict, at: datetime | None) -> None:
    """Map traits onto the profile, unless the profile changed after the identify happened: a tracker sends
    its identify in a batch, seconds later or after a retry, and what it says then must not undo an edit the
    person made meanwhile."""
    user = session.get(User, user_id)
    if user is None or user.is_staff or (at is not None and user.updated_at and at <= user.updated_at):
        return
    address = traits.get("address") if isinstance(traits.get("address"), dict) else {}
    for trait, field in TRAIT_FIELDS.items():
        value = traits.get(trait) or (address.get(trait) if trait == "city" else None)
        if not isinstance(value, str) or not value.strip():
            continue
        value = value.strip()[:64]
        if field == "gender":
            value = GENDERS.get(value.lower())
        elif field == "birth_date":
            try:
                value = date.fromisoformat(value[:10])
            except ValueError:
                value = None
        if value is not None:
            setattr(user, field, value)


def ids_of(session: Session, user_id: str) -> set[str]:
    """The user id and every id currently linked to it (following links of links)."""
    ids, frontier = {user_id}, {user_id}
    while frontier:
        linked = set(
            session.scalars(
                select(IdentityLink.anonymous_id).where(
                    IdentityLink.user_id.in_(frontier), IdentityLink.undone_at.is_(None)
                )
            )
        )
        frontier = linked - ids
        ids |= linked
    return ids


def links(session: Session, user_id: str) -> list[IdentityLink]:
    return list(session.scalars(select(IdentityLink).where(IdentityLink.user_id == user_id).order_by(IdentityLink.id)))


def undo(session: Session, actor: User, link_id: int) -> IdentityLink:
    link = session.get(IdentityLink, link_id)
    if link is None:
        raise not_found("identity link")
    if link.undone_at is not None:
        raise AppError(409, "CONFLICT")
    link.undone_at, link.undone_by = datetime.now(UTC), actor.id
    audit(
        session,
        actor_id=actor.id,
        actor_login=actor.login,
        action="identity.unlink",
        subject_type="user",
        subject_id=link.user_id,
        detail={"anonymous_id": link.anonymous_id, "via": link.via},
    )
    session.commit()
    return link


def timeline(log: EventLog, lake_dir: Path, ids: set[str], limit: int = 200) -> list[dict]:
    """Every event of these ids, newest first: the lake's Parquet files and the not yet compacted log
    segments, read together by DuckDB in the lake's schema."""
    if not ids:
        return []
    parts = []
    if list((lake_dir / "events").glob("day=*/*.parquet")):
        parts.append(f"SELECT * FROM {read_lake(lake_dir)}")
    live = [str(p) for p in log.segments()]
    if live:
        parts.append(select_events(live))
    if not parts:
        return []
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        rows = con.execute(
            f"SELECT * FROM ({' UNION ALL BY NAME '.join(parts)}) "
            "WHERE user_id IN (SELECT unnest(?)) OR anonymous_id IN (SELECT unnest(?)) "
            'ORDER BY "timestamp" DESC, received_at DESC LIMIT ?',
            [list(ids), list(ids), limit],
        ).fetchall()
        names = [d[0] for d in con.description]
    finally:
        con.close()
    return [dict(zip(names, row, strict=False)) for row in rows]
