"""Identity stitching and its proof.

identify and alias link anonymous ids to users; a user's timeline follows every id linked to them. A client-side
source (a write key that ships to browsers and apps) proves nothing about who the user is, so its userId counts
only with an identity token the server signed for that user (`IdentityTokens`, handed to the signed-in browser
as help-desk widgets hand out a user hash). Traits are event data: they never change account fields."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import duckdb
from sqlalchemy import select
from sqlalchemy.orm import Session

from medreach.accounts.models import User
from medreach.core.db import get_or_404
from medreach.core.errors import AppError
from medreach.ops.service import audit
from medreach.tracking.lake import read_lake, select_events
from medreach.tracking.log import EventLog
from medreach.tracking.models import IdentityLink

TOKEN_TTL_SECONDS = 3600


class IdentityTokens:
    """Short-lived proofs that a browser is signed in as a user, for the tracking collector only:
    `v1.<user id>.<expiry, epoch seconds>.<HMAC-SHA256>` under a key derived from the signing key for this one
    purpose (an access token is not an identity token, nor the reverse). The collector checks them per event, so
    each token's verdict is computed once and cached."""

    def __init__(self, signing_key: str, ttl_seconds: int = TOKEN_TTL_SECONDS, cache_size: int = 65_536):
        self._key = hmac.new(signing_key.encode(), b"medreach/tracking-identity/v1", hashlib.sha256).digest()
        self.ttl = ttl_seconds
        self._verdict = lru_cache(maxsize=cache_size)(self._verify)

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def issue(self, user_id: int | str) -> tuple[str, datetime]:
        expires = int(time.time()) + self.ttl
        payload = f"{user_id}.{expires}"
        return f"v1.{payload}.{self._sign(payload)}", datetime.fromtimestamp(expires, UTC)

    def _verify(self, token: str) -> tuple[str, int] | None:
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != "v1" or not parts[2].isdigit():
            return None
        if not hmac.compare_digest(parts[3], self._sign(f"{parts[1]}.{parts[2]}")):
            return None
        return parts[1], int(parts[2])

    def user_of(self, token) -> str | None:
        """The user this token proves, or None (not a string, forged, or expired)."""
        if not isinstance(token, str) or len(token) > 256:
            return None
        verdict = self._verdict(token)
        return verdict[0] if verdict is not None and verdict[1] > time.time() else None


def _may_be_linked(anonymous_id: str, trusted: bool) -> bool:
    """From a client-side source, an account id (MedReach's are numbers) is never taken as an anonymous id: that
    would pour the account's events into someone else's timeline."""
    return trusted or not anonymous_id.isdigit()


def links_from(records: list[dict], trusted: bool = True) -> list[tuple[str, str, str, str]]:
    """(anonymous or previous id, user id, via, message id) for every identify/alias that links two ids. From a
    client-side source (`trusted` False, userIds already verified by the collector) only identify links."""
    out = []
    for r in records:
        if r["type"] == "identify" and r.get("userId") and r.get("anonymousId"):
            if _may_be_linked(r["anonymousId"], trusted):
                out.append((r["anonymousId"], r["userId"], "identify", r["messageId"]))
        elif trusted and r["type"] == "alias" and r.get("userId") and r.get("previousId") not in (None, r["userId"]):
            out.append((r["previousId"], r["userId"], "alias", r["messageId"]))
    return out


def apply(session: Session, records: list[dict], trusted: bool = True) -> int:
    """Record the new links these records make. Returns how many."""
    new = 0
    for anon, user, via, mid in links_from(records, trusted):
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
    session.commit()
    return new


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
    link = get_or_404(session, IdentityLink, link_id, "identity link")
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


def timeline(log: EventLog, lake_dir: Path, user_id: str, ids: set[str], limit: int = 200) -> list[dict]:
    """Every event of this user and the ids linked to them (`ids`), newest first: the lake's Parquet files and the
    not yet compacted log segments, read together by DuckDB in the lake's schema. The user's own id is matched as
    a user id only: anyone can send events under an anonymousId of their choosing."""
    linked = sorted(ids - {user_id})
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
            [[user_id, *linked], linked, limit],
        ).fetchall()
        names = [d[0] for d in con.description]
    finally:
        con.close()
    return [dict(zip(names, row, strict=False)) for row in rows]
