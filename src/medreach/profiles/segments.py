"""Segments (用户分群, issue 13 item 4): the customers a condition tree selects, in the rule tags' language
(`tags.check_tree` / `tags.members`, with health conditions and sensitive tags allowed here), kept as members
with their history.

- **Evaluation** is DuckDB over the profile store's Parquet (`evaluate`): the tree's customers, less minors when
  the segment is for marketing (COMPLIANCE 12: `is_minor`, the protective reading of the birth year), less the
  current members of the segments it excludes. The console's live size is the same evaluation (`preview`).
- **Static** segments are a snapshot: computed when created or edited, or on request. **Dynamic** ones are
  recomputed by the `refresh_segments` task (every few seconds, `medreach.schedule`) whenever the published
  store changes (a build, a refreshed tag, scores, a withdrawn consent), their definition changes, a segment they
  exclude changes, or their own schedule (cron, Beijing time) comes round.
- **Members and history**: `segment_members` holds who is in now and since when; every entry and exit is a
  `segment_changes` row (the changes of one computation share its time).
- **Sensitive** segments (a health condition or a sensitive tag in the tree) need a recorded impact assessment id
  (PIPL Art 55, COMPLIANCE 18); who is in one is health information, so its members, samples and export need
  `profiles:read_health` and are audited. A customer who withdraws `health_profile` leaves every sensitive
  segment at once (`consent_withdrawn`, a consent listener).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from medreach.accounts import service as accounts
from medreach.accounts.models import User
from medreach.core.errors import AppError, not_found
from medreach.core.exports import write_csv
from medreach.core.scheduler import SHANGHAI, Cron
from medreach.core.sql import sql_literal
from medreach.ops.service import audit
from medreach.profiles import features, store, tags
from medreach.profiles import segments_schemas as schemas
from medreach.profiles.models import Segment, SegmentChange, SegmentMember, TagDefinition
from medreach.profiles.schemas import MembershipOut

READ_HEALTH = "profiles:read_health"
SAMPLE = 10
CHUNK = 5000
EXPORT_COLUMNS = ("user_id", "phone", "email", "since", "age_band", "city_tier", "rfm_group")
_local = threading.local()


# --- evaluation over the store (DuckDB) ------------------------------------------------------------------------


def _connection(lake_dir: Path, version: str) -> tuple[Any, tags.Scope]:
    """This thread's DuckDB connection with the store's tables loaded, kept while the store's version holds."""
    key = (str(lake_dir), version)
    cached = getattr(_local, "scope", None)
    if cached is not None and cached[0] == key:
        return cached[1], cached[2]
    if cached is not None:
        cached[1].disconnect()
    con = ibis.duckdb.connect()
    con.raw_sql("SET TimeZone = 'UTC'")
    tables = {}
    for name in ("customers", "tags", "activity", "health"):
        found = store.files(lake_dir, name)
        if not found:
            raise AppError(409, "PROFILES_NOT_BUILT")
        # loaded into DuckDB's memory once per store version: a preview then scans columns, not Parquet pages
        files = ", ".join(sql_literal(f) for f in found)
        con.raw_sql(f"CREATE TABLE p_{name} AS SELECT * FROM read_parquet([{files}], union_by_name=true)")
        tables[name] = con.table(f"p_{name}")
    meta = store.manifest(lake_dir) or {}
    as_of = datetime.fromisoformat(meta["as_of"]) if meta.get("as_of") else datetime.now(UTC)
    scope = tags.Scope(
        tables["customers"],
        tables["tags"],
        tables["activity"],
        as_of.astimezone(features.SHANGHAI).date(),
        tables["health"],
    )
    _local.scope = (key, con, scope)
    return con, scope


def evaluate(lake_dir: Path, tree: dict[str, Any], marketing: bool, excluded: set[str] | None = None) -> pa.Array:
    """The user ids (text) a checked tree selects: minors left out of marketing, `excluded` left out."""
    version = store.version(lake_dir)
    if version is None:
        raise AppError(409, "PROFILES_NOT_BUILT")
    con, scope = _connection(lake_dir, version)
    chosen = tags.members(scope, tree)
    if marketing:
        minors = scope.customers.filter(scope.customers.is_minor.fill_null(False))
        chosen = chosen.anti_join(minors, "user_id").select("user_id")
    ids = con.to_pyarrow(chosen)["user_id"].combine_chunks().cast(pa.string())
    if excluded:
        ids = ids.filter(pc.invert(pc.is_in(ids, value_set=pa.array(sorted(excluded), pa.string()))))
    return ids


# --- checks -----------------------------------------------------------------------------------------------------


def _catalogue(session: Session) -> dict[str, dict[str, Any]]:
    return {t.code: {"kind": t.kind, "sensitive": t.sensitive} for t in session.scalars(select(TagDefinition))}


def _check(
    session: Session, tree: dict[str, Any], exclusions: list[int], impact: str | None, own_id: int | None = None
) -> bool:
    """Refuse a tree or exclusions a segment cannot use; returns whether the tree reads health data (then an
    impact assessment id is required)."""
    catalogue = _catalogue(session)
    tags.check_tree(tree, catalogue, "definition", segment=True)
    for i, other in enumerate(exclusions):
        if other == own_id or session.get(Segment, other) is None:
            raise AppError(422, "SEGMENT_EXCLUSION_INVALID", field=f"exclusions[{i}]", segment=other)
    sensitive = tags.reads_sensitive(tree, catalogue)
    if sensitive and not (impact or "").strip():
        raise AppError(422, "SEGMENT_IMPACT_ASSESSMENT_REQUIRED", field="impact_assessment_id")
    return sensitive


def _words(data: schemas.SegmentIn | schemas.SegmentPatch) -> None:
    for name in ("name", "description"):
        value = getattr(data, name)
        if value:
            tags.check_words(name, value)


def _can_read_health(viewer: User) -> bool:
    return READ_HEALTH in accounts.permissions_of(viewer)


def _require_health(session: Session, viewer: User, segment: Segment) -> None:
    if segment.sensitive and not _can_read_health(viewer):
        _audit(session, viewer, "segments.read_members", segment, {}, outcome="denied")
        session.commit()
        raise AppError(403, "PERMISSION_DENIED", permission=READ_HEALTH)


# --- the catalogue of segments -----------------------------------------------------------------------------------


def get_segment(session: Session, segment_id: int) -> Segment:
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise not_found("segment")
    return segment


def list_segments(session: Session) -> list[schemas.SegmentOut]:
    segments = list(session.scalars(select(Segment).order_by(Segment.id)))
    names = accounts.names_of(session, [s.owner_id for s in segments if s.owner_id is not None])
    return [_out(s, names) for s in segments]


def _out(segment: Segment, names: dict[int, str] | None = None) -> schemas.SegmentOut:
    out = schemas.SegmentOut.model_validate(segment)
    if names and segment.owner_id in names:
        out = out.model_copy(update={"owner_name": names[segment.owner_id]})
    return out


def segment_detail(session: Session, segment_id: int) -> schemas.SegmentOut:
    segment = get_segment(session, segment_id)
    names = accounts.names_of(session, [segment.owner_id] if segment.owner_id else [])
    return _out(segment, names)


def preview(session: Session, lake_dir: Path, viewer: User, data: schemas.PreviewIn) -> schemas.PreviewOut:
    """The audience size of a tree as it is being edited, with a masked sample (none for a tree that reads health
    data unless the viewer may read health data)."""
    sensitive = tags.reads_sensitive(data.definition, _catalogue(session))
    tags.check_tree(data.definition, _catalogue(session), "definition", segment=True)
    excluded = _excluded(session, data.exclusions)
    ids = evaluate(lake_dir, data.definition, data.purpose == "marketing", excluded)
    sample: list[schemas.MemberOut] = []
    if not sensitive or _can_read_health(viewer):
        chosen = sorted(ids.take(pc.select_k_unstable(ids, k=SAMPLE, sort_keys=[("user_id", "ascending")])).to_pylist())
        sample = _members_out(session, lake_dir, [(u, None) for u in chosen])
    return schemas.PreviewOut(size=len(ids), sample=sample, sensitive=sensitive)


def _excluded(session: Session, exclusions: list[int]) -> set[str]:
    if not exclusions:
        return set()
    return set(session.scalars(select(SegmentMember.user_id).where(SegmentMember.segment_id.in_(exclusions))))


def create_segment(session: Session, lake_dir: Path, actor: User, data: schemas.SegmentIn) -> schemas.SegmentOut:
    _words(data)
    if session.scalar(select(Segment.id).where(Segment.name == data.name)):
        raise AppError(409, "SEGMENT_EXISTS", field="name", name=data.name)
    sensitive = _check(session, data.definition, data.exclusions, data.impact_assessment_id)
    segment = Segment(
        name=data.name,
        description=data.description,
        kind=data.kind,
        purpose=data.purpose,
        definition=data.definition,
        exclusions=data.exclusions,
        owner_id=actor.id,
        schedule=data.schedule,
        sensitive=sensitive,
        impact_assessment_id=(data.impact_assessment_id or "").strip() or None,
        version=1,
    )
    session.add(segment)
    session.flush()
    _audit(session, actor, "segments.create", segment, {"kind": segment.kind, "definition": segment.definition})
    session.commit()
    if store.built(lake_dir):
        compute(session, lake_dir, segment)
    return segment_detail(session, segment.id)


def update_segment(
    session: Session, lake_dir: Path, actor: User, segment_id: int, data: schemas.SegmentPatch
) -> schemas.SegmentOut:
    segment = get_segment(session, segment_id)
    _words(data)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("name") and changes["name"] != segment.name:
        if session.scalar(select(Segment.id).where(Segment.name == changes["name"])):
            raise AppError(409, "SEGMENT_EXISTS", field="name", name=changes["name"])
        segment.name = changes["name"]
    if changes.get("description") is not None:
        segment.description = changes["description"]
    if "schedule" in changes:
        segment.schedule = data.schedule
    tree = changes.get("definition") or segment.definition
    exclusions = changes["exclusions"] if changes.get("exclusions") is not None else list(segment.exclusions)
    impact = changes.get("impact_assessment_id", segment.impact_assessment_id)
    purpose = changes.get("purpose") or segment.purpose
    selects = (tree, exclusions, purpose) != (segment.definition, list(segment.exclusions), segment.purpose)
    segment.sensitive = _check(session, tree, exclusions, impact, segment.id)
    segment.impact_assessment_id = (impact or "").strip() or None
    if selects:
        segment.definition, segment.exclusions, segment.purpose = tree, exclusions, purpose
        segment.version += 1
    _audit(session, actor, "segments.update", segment, {"changed": sorted(changes)})
    session.commit()
    if selects and store.built(lake_dir):
        compute(session, lake_dir, segment)
    return segment_detail(session, segment.id)


def delete_segment(session: Session, actor: User, segment_id: int) -> None:
    segment = get_segment(session, segment_id)
    for other in session.scalars(select(Segment).where(Segment.id != segment_id)):
        if segment_id in (other.exclusions or []):
            raise AppError(409, "SEGMENT_IN_USE", field="id", segment=other.name)
    session.execute(delete(SegmentMember).where(SegmentMember.segment_id == segment_id))
    session.execute(delete(SegmentChange).where(SegmentChange.segment_id == segment_id))
    _audit(session, actor, "segments.delete", segment, {"size": segment.size})
    session.delete(segment)
    session.commit()


def compute_now(session: Session, lake_dir: Path, actor: User, segment_id: int) -> schemas.SegmentOut:
    """Compute a segment now (a static segment's new snapshot)."""
    segment = get_segment(session, segment_id)
    if not store.built(lake_dir):
        raise AppError(409, "PROFILES_NOT_BUILT")
    _audit(session, actor, "segments.compute", segment, {"version": segment.version})
    session.commit()
    compute(session, lake_dir, segment)
    return segment_detail(session, segment_id)


# --- computing members ------------------------------------------------------------------------------------------


def compute(session: Session, lake_dir: Path, segment: Segment, now: datetime | None = None) -> tuple[int, int]:
    """Evaluate the segment and bring its members up to date, recording who entered and who left; returns
    (entered, left)."""
    now = now or datetime.now(UTC)
    version = store.version(lake_dir)
    ids = evaluate(lake_dir, segment.definition, segment.purpose == "marketing", _excluded(session, segment.exclusions))
    new = set(ids.to_pylist())
    current = set(session.scalars(select(SegmentMember.user_id).where(SegmentMember.segment_id == segment.id)))
    entered, left = sorted(new - current), sorted(current - new)
    for i in range(0, len(left), CHUNK):
        part = left[i : i + CHUNK]
        session.execute(
            delete(SegmentMember).where(SegmentMember.segment_id == segment.id, SegmentMember.user_id.in_(part))
        )
    _insert(session, SegmentMember, [{"segment_id": segment.id, "user_id": u, "since": now} for u in entered])
    _insert(
        session,
        SegmentChange,
        [{"segment_id": segment.id, "user_id": u, "change": "entered", "reason": "compute", "at": now} for u in entered]
        + [{"segment_id": segment.id, "user_id": u, "change": "left", "reason": "compute", "at": now} for u in left],
    )
    segment.size, segment.entered, segment.left = len(new), len(entered), len(left)
    segment.computed_at, segment.computed_build, segment.computed_version = now, version, segment.version
    session.commit()
    return len(entered), len(left)


def _insert(session: Session, model: type, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), CHUNK):
        session.execute(insert(model), rows[i : i + CHUNK])


def due_segments(session: Session, lake_dir: Path, now: datetime) -> list[Segment]:
    """The dynamic segments to recompute now: never computed, edited since, computed on another version of the
    store, a segment they exclude computed since, or their own schedule fired since."""
    version = store.version(lake_dir)
    if version is None:
        return []
    segments = list(session.scalars(select(Segment).order_by(Segment.id)))
    computed = {s.id: s.computed_at for s in segments}
    due = []
    for s in segments:
        if s.kind != "dynamic":
            continue
        stale = (
            s.computed_at is None
            or s.computed_version != s.version
            or s.computed_build != version
            or any((computed.get(o) or s.computed_at) > s.computed_at for o in s.exclusions or [])
            or (s.schedule and s.computed_at < Cron(s.schedule).previous(now))
        )
        if stale:
            due.append(s)
    return due


def refresh_dynamic(session: Session, lake_dir: Path, now: datetime | None = None) -> dict[str, tuple[int, int]]:
    """Recompute every dynamic segment that is due (the scheduler's refresh_segments task)."""
    now = now or datetime.now(UTC)
    done = {}
    for segment in due_segments(session, lake_dir, now):
        done[segment.name] = compute(session, lake_dir, segment, now)
    return done


def consent_withdrawn(session: Session, user_id: int, purpose: str, granted: bool) -> None:
    """A customer withdrew health_profile: they leave every segment that reads health data at once."""
    if purpose != "health_profile" or granted:
        return
    uid, now = str(user_id), datetime.now(UTC)
    sensitive = list(session.scalars(select(Segment).where(Segment.sensitive.is_(True))))
    for segment in sensitive:
        member = session.get(SegmentMember, (segment.id, uid))
        if member is not None:
            session.delete(member)
            session.add(SegmentChange(segment_id=segment.id, user_id=uid, change="left", reason="consent", at=now))
            segment.size = max((segment.size or 1) - 1, 0)
    session.commit()


# --- reading members ---------------------------------------------------------------------------------------------


def _members_out(session: Session, lake_dir: Path, rows: list[tuple[str, datetime | None]]) -> list[schemas.MemberOut]:
    numeric = [int(u) for u, _ in rows if u.isdigit()]
    users = {u.id: accounts.user_view(u) for u in accounts.customers_by_ids(session, numeric)}
    profiles = store.customers_summary(lake_dir, [u for u, _ in rows])
    out = []
    for uid, since in rows:
        user = users.get(int(uid)) if uid.isdigit() else None
        profile = profiles.get(uid) or {}
        out.append(
            schemas.MemberOut(
                user_id=uid,
                phone=user.phone if user else None,
                email=user.email if user else None,
                since=since,
                age_band=profile.get("age_band"),
                city_tier=profile.get("city_tier"),
                rfm_group=profile.get("rfm_group"),
            )
        )
    return out


def members(
    session: Session, lake_dir: Path, viewer: User, segment_id: int, limit: int, offset: int
) -> tuple[list[schemas.MemberOut], int]:
    """A page of members, masked, newest first (a sensitive segment's need the health permission; audited)."""
    segment = get_segment(session, segment_id)
    _require_health(session, viewer, segment)
    q = select(SegmentMember.user_id, SegmentMember.since).where(SegmentMember.segment_id == segment_id)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.execute(
        q.order_by(SegmentMember.since.desc(), SegmentMember.user_id).limit(limit).offset(offset)
    ).all()
    out = _members_out(session, lake_dir, [(r.user_id, r.since) for r in rows])
    _audit(session, viewer, "segments.read_members", segment, {"returned": [m.user_id for m in out]})
    session.commit()
    return out, total


def history(session: Session, segment_id: int, recent: int = 50) -> schemas.HistoryOut:
    """Who entered and left, per Shanghai day (with the size at each day's end), and the latest changes."""
    segment = get_segment(session, segment_id)
    grouped = session.execute(
        select(SegmentChange.at, SegmentChange.change, func.count())
        .where(SegmentChange.segment_id == segment_id)
        .group_by(SegmentChange.at, SegmentChange.change)
        .order_by(SegmentChange.at)
    ).all()
    days: dict[str, dict[str, int]] = defaultdict(lambda: {"entered": 0, "left": 0})
    for at, change, n in grouped:
        days[at.astimezone(SHANGHAI).date().isoformat()][change] += n
    size, series = 0, []
    for day in sorted(days):
        size += days[day]["entered"] - days[day]["left"]
        series.append(schemas.HistoryDay(day=day, entered=days[day]["entered"], left=days[day]["left"], size=size))
    latest = session.scalars(
        select(SegmentChange)
        .where(SegmentChange.segment_id == segment_id)
        .order_by(SegmentChange.at.desc(), SegmentChange.id.desc())
        .limit(recent)
    )
    changes = [] if segment.sensitive else [schemas.ChangeOut.model_validate(c, from_attributes=True) for c in latest]
    return schemas.HistoryOut(segment_id=segment_id, days=series, changes=changes)


def overlap(session: Session, data: schemas.OverlapIn) -> schemas.OverlapOut:
    """How many customers each pair of segments shares, and how many are in all of them."""
    ids = list(dict.fromkeys(data.segments))
    found = {s.id: s for s in session.scalars(select(Segment).where(Segment.id.in_(ids)))}
    for i, sid in enumerate(ids):
        if sid not in found:
            raise AppError(422, "SEGMENT_EXCLUSION_INVALID", field=f"segments[{i}]", segment=sid)
    a, b = SegmentMember.__table__.alias("a"), SegmentMember.__table__.alias("b")
    pairs = {
        (x, y): n
        for x, y, n in session.execute(
            select(a.c.segment_id, b.c.segment_id, func.count())
            .select_from(a.join(b, (a.c.user_id == b.c.user_id) & (a.c.segment_id < b.c.segment_id)))
            .where(a.c.segment_id.in_(ids), b.c.segment_id.in_(ids))
            .group_by(a.c.segment_id, b.c.segment_id)
        ).all()
    }
    per_user = (
        select(SegmentMember.user_id)
        .where(SegmentMember.segment_id.in_(ids))
        .group_by(SegmentMember.user_id)
        .having(func.count() == len(ids))
    )
    everywhere = session.scalar(select(func.count()).select_from(per_user.subquery())) or 0
    sizes: dict[int, int] = dict(
        session.execute(
            select(SegmentMember.segment_id, func.count())
            .where(SegmentMember.segment_id.in_(ids))
            .group_by(SegmentMember.segment_id)
        ).all()
    )
    out_pairs = [
        schemas.OverlapPair(a=x, b=y, both=pairs.get((min(x, y), max(x, y)), 0))
        for i, x in enumerate(ids)
        for y in ids[i + 1 :]
    ]
    return schemas.OverlapOut(
        segments=[schemas.OverlapSegment(id=s, name=found[s].name, size=sizes.get(s, 0)) for s in ids],
        pairs=out_pairs,
        all=everywhere,
    )


def export_csv(session: Session, lake_dir: Path, viewer: User, segment_id: int) -> tuple[str, bytes]:
    """Every member as a CSV row (masked as accounts masks customers; spreadsheet-safe cells); audited."""
    segment = get_segment(session, segment_id)
    _require_health(session, viewer, segment)
    rows = session.execute(
        select(SegmentMember.user_id, SegmentMember.since)
        .where(SegmentMember.segment_id == segment_id)
        .order_by(SegmentMember.user_id)
    ).all()
    out: list[dict[str, Any]] = []
    for i in range(0, len(rows), CHUNK):
        part = _members_out(session, lake_dir, [(r.user_id, r.since) for r in rows[i : i + CHUNK]])
        out.extend(m.model_dump() for m in part)
    _audit(session, viewer, "segments.export", segment, {"rows": len(out)})
    session.commit()
    return f"segment-{segment.id}.csv", write_csv(EXPORT_COLUMNS, out)


def memberships(session: Session, user_id: int, sensitive: bool = False) -> list[MembershipOut]:
    """The segments a customer is in now, by name: the non-sensitive ones (the customer 360's segments card), or
    with `sensitive` the ones that read health data (shown with the health tags, to profiles:read_health)."""
    rows = session.execute(
        select(Segment.id, Segment.name, SegmentMember.since)
        .join(SegmentMember, SegmentMember.segment_id == Segment.id)
        .where(SegmentMember.user_id == str(user_id), Segment.sensitive.is_(sensitive))
        .order_by(Segment.name, Segment.id)
    ).all()
    return [MembershipOut(id=r.id, name=r.name, since=r.since, sensitive=sensitive) for r in rows]


def _audit(
    session: Session, actor: User, action: str, segment: Segment, detail: dict[str, Any], outcome: str = "success"
) -> None:
    audit(
        session,
        actor_id=actor.id,
        actor_login=actor.login,
        action=action,
        subject_type="segment",
        subject_id=segment.id,
        outcome=outcome,
        detail={"version": segment.version, **detail},
    )
