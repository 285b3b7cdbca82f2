"""What the router and other domains call: the tag catalogue (seeding, listing, editing, imports, refreshes), the
customer 360 view with its audited reads, a customer's own tags, and the profile build's database side (what
the build is given, the coverage it leaves)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from medreach.accounts import consents
from medreach.accounts import service as accounts
from medreach.accounts.models import User
from medreach.core.db import Database
from medreach.core.errors import AppError, not_found
from medreach.core.pagination import PageParams
from medreach.core.scheduler import Cron
from medreach.core.settings import Settings
from medreach.ops.service import audit
from medreach.pipeline import jobs
from medreach.profiles import health, schemas, segments, store, tags
from medreach.profiles.build import CONSENT_COLUMNS, BuildInput, RuleTag
from medreach.profiles.models import TagDefinition
from medreach.tracking import service as tracking

READ_HEALTH = "profiles:read_health"
MAX_IMPORT_ROWS = 1_000_000
SHOWN_UNKNOWN = 20


# --- the catalogue --------------------------------------------------------------------------------------------


def seed_catalogue(session: Session) -> int:
    """Create or update the built-in tag definitions (idempotent); returns how many rows changed."""
    existing = {t.code: t for t in session.scalars(select(TagDefinition).where(TagDefinition.kind == "builtin"))}
    changed = 0
    for spec in tags.builtin_definitions():
        row = existing.get(spec["code"])
        if row is None:
            session.add(TagDefinition(**spec, description="", version=1))
            changed += 1
        elif any(getattr(row, k) != v for k, v in spec.items()):
            for key, value in spec.items():
                setattr(row, key, value)
            row.version += 1
            changed += 1
    if changed:
        session.commit()
    return changed


def _catalogue(session: Session) -> dict[str, dict[str, Any]]:
    return {t.code: {"kind": t.kind, "sensitive": t.sensitive} for t in session.scalars(select(TagDefinition))}


def list_tags(session: Session, family: str | None = None) -> list[TagDefinition]:
    q = select(TagDefinition).order_by(TagDefinition.family, TagDefinition.id)
    if family:
        q = q.where(TagDefinition.family == family)
    return list(session.scalars(q))


def catalogue(session: Session, family: str | None = None) -> list[schemas.TagOut]:
    """The catalogue as the console lists it: each tag with its owner's name (built-in tags have no owner)."""
    definitions = list_tags(session, family)
    names = accounts.names_of(session, [t.owner_id for t in definitions if t.owner_id is not None])
    return [
        schemas.TagOut.model_validate(t).model_copy(
            update={"owner_name": names.get(t.owner_id) if t.owner_id else None}
        )
        for t in definitions
    ]


def get_tag(session: Session, code: str) -> TagDefinition:
    tag = session.scalar(select(TagDefinition).where(TagDefinition.code == code))
    if tag is None:
        raise not_found("tag")
    return tag


def tag_detail(session: Session, lake_dir: Path, viewer: User, code: str) -> schemas.TagDetailOut:
    """A tag with its coverage and how its values are spread. A sensitive tag's figures need the health
    permission and the read is audited (aggregates, but of sensitive data)."""
    tag = get_tag(session, code)
    if tag.sensitive:
        _require_health(session, viewer, "tag", code)
    condition = tags.health_condition(tag.definition)
    out = schemas.TagDetailOut(
        **schemas.TagOut.model_validate(tag).model_dump(),
        distribution=[schemas.ValueCount(**r) for r in store.distribution(lake_dir, code, condition)],
        histogram=[] if condition else [schemas.Bin(**b) for b in store.histogram(lake_dir, code)],
        total_customers=store.customer_count(lake_dir),
    )
    if tag.sensitive:
        _audit_health(session, viewer, "tag", code, {"customers": tag.customers})
        session.commit()
    return out


def _check_definition(session: Session, definition: schemas.RuleDefinition, code: str) -> dict[str, Any]:
    catalogue = _catalogue(session)
    catalogue.pop(code, None)
    tags.check_tree(definition.when, catalogue)
    tags.check_words("definition.value", definition.value)
    return definition.model_dump()


def create_tag(session: Session, actor: User, data: schemas.TagIn) -> TagDefinition:
    tags.check_words("code", data.code)
    tags.check_words("name_zh", data.name_zh)
    tags.check_words("name_en", data.name_en)
    tags.check_words("description", data.description)
    if session.scalar(select(TagDefinition.id).where(TagDefinition.code == data.code)):
        raise AppError(409, "TAG_EXISTS", field="code", tag=data.code)
    if data.kind == "rule":
        if data.definition is None:
            raise AppError(422, "CONDITION_INVALID", field="definition", reason="a rule tag needs a definition")
        definition = _check_definition(session, data.definition, data.code)
    else:
        if data.definition is not None:
            raise AppError(422, "TAG_KIND", field="definition", kind=data.kind)
        definition = {}
    tag = TagDefinition(
        code=data.code,
        name_zh=data.name_zh,
        name_en=data.name_en,
        description=data.description,
        family="custom" if data.kind == "rule" else "imported",
        kind=data.kind,
        definition=definition,
        schedule=data.schedule,
        owner_id=actor.id,
        sensitive=False,
        version=1,
    )
    session.add(tag)
    session.flush()
    _audit(session, actor, "tags.create", tag, {"kind": tag.kind, "definition": definition})
    session.commit()
    return tag


def update_tag(session: Session, actor: User, code: str, data: schemas.TagPatch) -> TagDefinition:
    tag = get_tag(session, code)
    if tag.kind == "builtin":
        raise AppError(409, "TAG_BUILTIN", field="code")
    changes = data.model_dump(exclude_unset=True)
    for name in ("name_zh", "name_en", "description"):
        if changes.get(name) is not None:
            tags.check_words(name, changes[name])
            setattr(tag, name, changes[name])
    if "definition" in changes and data.definition is not None:
        if tag.kind != "rule":
            raise AppError(422, "TAG_KIND", field="definition", kind=tag.kind)
        tag.definition = _check_definition(session, data.definition, code)
        tag.version += 1
    if "schedule" in changes:
        tag.schedule = data.schedule
    _audit(session, actor, "tags.update", tag, {"changed": sorted(changes)})
    session.commit()
    return tag


def delete_tag(session: Session, lake_dir: Path, actor: User, code: str) -> None:
    """Take a rule or imported tag out of the catalogue, with its values (and an import's file) at once."""
    tag = get_tag(session, code)
    if tag.kind == "builtin":
        raise AppError(409, "TAG_BUILTIN", field="code")
    store.replace_tag_values(lake_dir, code, None)
    store.import_file(lake_dir, code).unlink(missing_ok=True)
    _audit(session, actor, "tags.delete", tag, {"kind": tag.kind})
    session.delete(tag)
    session.commit()


def refresh_tag(session: Session, db: Database, settings: Settings, actor: User, code: str) -> dict[str, Any]:
    """Recompute a tag now, in the background: a rule or imported tag alone (`refresh_tag`), a built-in one with
    the whole store (`build_profiles`). Returns the job run."""
    tag = get_tag(session, code)
    job, params = ("build_profiles", None) if tag.kind == "builtin" else ("refresh_tag", {"code": code})
    run_id = jobs.create_run(db, job, "manual", requested_by=actor.id, params=params)
    _audit(session, actor, "tags.refresh", tag, {"run": run_id, "job": job})
    session.commit()
    jobs.start_in_background(db, settings, run_id)
    return {"id": run_id, "job": job, "status": "queued"}


def import_tag(
    session: Session, lake_dir: Path, actor: User, code: str, filename: str, content: bytes
) -> schemas.ImportReport:
    """An imported tag's values from a CSV of user_id,value (UTF-8, a header row): ids that are not customers of
    the published store are reported and left out; a value with a banned word refuses the whole file (422, the
    line named). The accepted rows replace the tag's values at once and are kept for every later build."""
    tag = get_tag(session, code)
    if tag.kind != "import":
        raise AppError(422, "TAG_KIND", field="code", kind=tag.kind)
    if not store.built(lake_dir):
        raise AppError(409, "PROFILES_NOT_BUILT")
    rows = _read_tag_csv(content)
    values: dict[str, str] = {}
    for line, user_id, value in rows:
        hit = tags.banned(value)
        if hit:
            raise AppError(
                422,
                "TAG_WORD_BANNED",
                field=f"line {line}",
                word=hit[0],
                group=hit[1],
                version=tags.banned_words().version,
            )
        values[user_id] = value  # a repeated id: the last line wins
    known = store.known_ids(lake_dir, list(values))
    unknown = sorted(u for u in values if u not in known)
    at = datetime.now(UTC)
    accepted = sorted(u for u in values if u in known)
    evidence = json.dumps({"import": filename[:128], "imported_at": at.isoformat(timespec="seconds")})
    kept = pa.table(
        {
            "user_id": pa.array(accepted, pa.string()),
            "value": pa.array([values[u] for u in accepted], pa.string()),
            "evidence": pa.array([evidence] * len(accepted), pa.string()),
        }
    )
    path = store.import_file(lake_dir, code)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(kept, path)
    store.replace_tag_values(
        lake_dir,
        code,
        pa.table(
            {
                "user_id": kept["user_id"],
                "tag": pa.array([code] * len(accepted), pa.string()),
                "value": kept["value"],
                "score": pa.nulls(len(accepted), pa.float64()),
                "evidence": kept["evidence"],
                "computed_at": pa.array([at] * len(accepted), pa.timestamp("us", tz="UTC")),
            }
        ),
    )
    report = schemas.ImportReport(
        rows=len(rows),
        imported=len(accepted),
        unknown=len(unknown),
        unknown_ids=unknown[:SHOWN_UNKNOWN],
        duplicates=len(rows) - len(values),
    )
    tag.definition = {
        "file": filename[:128],
        "rows": report.rows,
        "imported": report.imported,
        "unknown": report.unknown,
    }
    tag.version += 1
    _set_coverage(tag, len(accepted), store.customer_count(lake_dir), at)
    _audit(session, actor, "tags.import", tag, report.model_dump(exclude={"unknown_ids"}))
    session.commit()
    return report


def _read_tag_csv(content: bytes) -> list[tuple[int, str, str]]:
    if not content.strip():
        raise AppError(422, "EMPTY_FILE", field="file")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise AppError(422, "IMPORT_UNREADABLE", field="file", reason="not UTF-8") from e
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    if header[:2] != ["user_id", "value"]:
        raise AppError(422, "IMPORT_UNREADABLE", field="file", reason="the header must be user_id,value")
    rows: list[tuple[int, str, str]] = []
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(rows) >= MAX_IMPORT_ROWS:
            raise AppError(422, "IMPORT_TOO_MANY_ROWS", field="file", limit=MAX_IMPORT_ROWS)
        user_id, value = (cell.strip() for cell in [*cells, "", ""][:2])
        if not user_id or not value or len(user_id) > 64 or len(value) > 32 or "\x00" in value:
            raise AppError(
                422,
                "IMPORT_UNREADABLE",
                field=f"line {line}",
                reason=f"line {line}: a user id and a value (at most 32)",
            )
        rows.append((line, user_id, value))
    return rows


# --- the build's database side --------------------------------------------------------------------------------


def build_input(session: Session) -> BuildInput:
    """What the build needs from the database: consents in force now, rule tags, imported tags, and the sources
    whose order events are facts (MedReach's own)."""
    granted = {purpose: {str(u) for u in consents.granting(session, purpose)} for purpose in CONSENT_COLUMNS.values()}
    definitions = list_tags(session)
    return BuildInput(
        consents=granted,
        rule_tags=[RuleTag(t.code, t.definition, t.version) for t in definitions if t.kind == "rule"],
        import_tags=[t.code for t in definitions if t.kind == "import"],
        order_sources=tracking.internal_source_ids(session),
    )


def rule_input(session: Session, code: str) -> RuleTag | None:
    tag = get_tag(session, code)
    return RuleTag(tag.code, tag.definition, tag.version) if tag.kind == "rule" else None


def due_tags(session: Session, now: datetime) -> list[str]:
    """Rule and imported tags whose own schedule has fired since they were last computed."""
    due = []
    for tag in list_tags(session):
        if tag.kind == "builtin" or not tag.schedule:
            continue
        fired = Cron(tag.schedule).previous(now)  # Beijing time, as every schedule
        if tag.computed_at is None or tag.computed_at < fired:
            due.append(tag.code)
    return due


def record_coverage(session: Session, lake_dir: Path, codes: list[str] | None = None) -> None:
    """Store each tag's coverage (share of the store's customers with a value) and when it was computed."""
    counts = store.tag_counts(lake_dir)
    total = store.customer_count(lake_dir)
    meta = store.manifest(lake_dir) or {}
    at = datetime.fromisoformat(meta["built_at"]) if meta.get("built_at") else datetime.now(UTC)
    for tag in list_tags(session):
        if codes is not None and tag.code not in codes:
            continue
        condition = tags.health_condition(tag.definition)
        _set_coverage(tag, counts.get(f"health:{condition}" if condition else tag.code, 0), total, at)
    session.commit()


def _set_coverage(tag: TagDefinition, customers: int, total: int, at: datetime) -> None:
    tag.customers = customers
    tag.coverage = round(customers / total, 6) if total else None
    tag.computed_at = at


# --- customers ------------------------------------------------------------------------------------------------


SEARCH_CAP = 1000  # the accounts found by a search that filters then narrow down


def search_customers(
    session: Session,
    lake_dir: Path,
    viewer: User,
    params: PageParams,
    q: str | None,
    filters: schemas.CustomerFilters | None = None,
) -> tuple[list[schemas.CustomerRow], int]:
    """Customers found by id, phone or name through accounts (masked, audited there), with their headline
    profile figures from the store. With filters over the profile (RFM group, city tier, age band, orders), the
    store picks the page of matching customers — among the first SEARCH_CAP accounts the search finds, if there
    is one — and the read is audited here."""
    where = filters.model_dump(exclude_none=True) if filters else {}
    perms = accounts.permissions_of(viewer)
    if not where:
        users, total = accounts.search_users(session, viewer, params, q=q, is_staff=False)
    else:
        among = None
        if q:
            found, _ = accounts.search_users(
                session, viewer, PageParams(limit=SEARCH_CAP, offset=0), q=q, is_staff=False
            )
            among = [str(u.id) for u in found]
        ids, total = store.find_customers(lake_dir, where, params.limit, params.offset, among)
        numeric = [int(i) for i in ids if i.isdigit()]
        by_id = {u.id: u for u in accounts.customers_by_ids(session, numeric)}
        users = [by_id[i] for i in numeric if i in by_id]
        audit(
            session,
            actor_id=viewer.id,
            actor_login=viewer.login,
            action="profiles.list",
            subject_type="user",
            detail={"q": q or "", "filters": where, "returned": [u.id for u in users]},
        )
        session.commit()
    summary = store.customers_summary(lake_dir, [str(u.id) for u in users])
    rows = []
    for user in users:
        found_row = summary.get(str(user.id))
        rows.append(
            schemas.CustomerRow(
                **accounts.user_view(user, perms).model_dump(),
                profile=schemas.CustomerSummary(**found_row) if found_row else None,
            )
        )
    return rows, total


def customer_profile(session: Session, lake_dir: Path, viewer: User, user_id: int) -> schemas.CustomerProfileOut:
    """The customer 360: personal data masked as accounts masks it, the profile row, tags with their evidence,
    interests, recent activity and the segments the customer is in. Health tags and the segments that read
    health data are not here (`customer_health`, with its own permission). Every read is audited."""
    user = accounts.read_user(session, viewer, user_id)
    uid = str(user_id)
    row = store.customer(lake_dir, uid)
    definitions = {t.code: t for t in list_tags(session)}
    values = []
    for v in store.tag_values(lake_dir, uid):
        spec = definitions.get(v["tag"])
        if spec is None or spec.sensitive:
            continue
        values.append(_tag_value(spec, v, row))
    meta = store.manifest(lake_dir)
    member_of = segments.memberships(session, user_id)
    audit(
        session,
        actor_id=viewer.id,
        actor_login=viewer.login,
        action="profiles.read",
        subject_type="user",
        subject_id=user_id,
        detail={"tags": len(values), "segments": len(member_of), "unmasked": not user.masked},
    )
    session.commit()
    return schemas.CustomerProfileOut(
        user=user,
        built=meta is not None,
        as_of=datetime.fromisoformat(meta["as_of"]) if meta else None,
        profile=row,
        tags=values,
        interests=[schemas.InterestOut(**i) for i in store.interests(lake_dir, uid)],
        activity=[
            schemas.ActivityOut(day=a["day"].isoformat(), event=a["event"], count=a["count"])
            for a in store.activity(lake_dir, uid)
        ],
        segments=member_of,
        timeline_user_id=uid,
        can_read_health=READ_HEALTH in accounts.permissions_of(viewer),
    )


def _tag_value(spec: TagDefinition, value: dict[str, Any], row: dict[str, Any] | None) -> schemas.TagValueOut:
    if spec.kind == "builtin":
        evidence = {c: row.get(c) for c in spec.definition.get("evidence", [])} if row else {}
    else:
        evidence = json.loads(value["evidence"]) if value["evidence"] else {}
    return schemas.TagValueOut(
        code=spec.code,
        name_zh=spec.name_zh,
        name_en=spec.name_en,
        family=spec.family,
        kind=spec.kind,
        value=value["value"],
        score=value["score"],
        evidence=json.loads(json.dumps(evidence, default=str)),
        computed_at=value["computed_at"],
    )


def customer_health(session: Session, lake_dir: Path, viewer: User, user_id: int) -> schemas.CustomerHealthOut:
    """A customer's health tags and the segments reading health data they are in, for staff holding
    profiles:read_health (the route requires it): only while the customer's health_profile consent is in force;
    every read audited."""
    accounts_user = accounts.customers_by_ids(session, [user_id])
    if not accounts_user:
        raise not_found("user")
    consent, rows = health.customer_health(session, lake_dir, user_id)
    member_of = segments.memberships(session, user_id, sensitive=True) if consent else []
    detail = {"consent": consent, "conditions": len(rows), "segments": [m.id for m in member_of]}
    _audit_health(session, viewer, "user", user_id, detail)
    session.commit()
    return schemas.CustomerHealthOut(user_id=user_id, consent=consent, conditions=_health_out(rows), segments=member_of)


def _health_out(rows: list[dict[str, Any]]) -> list[schemas.HealthRowOut]:
    names = health.rules().conditions
    return [
        schemas.HealthRowOut(
            condition=r["condition"],
            name_zh=names[r["condition"]].name_zh if r["condition"] in names else r["condition"],
            name_en=names[r["condition"]].name_en if r["condition"] in names else r["condition"],
            confidence=r["confidence"],
            evidence=r["evidence"],
            medicine_product_id=r["medicine_product_id"],
            next_refill_date=r["next_refill_date"].isoformat() if r["next_refill_date"] else None,
        )
        for r in rows
    ]


def my_tags(session: Session, lake_dir: Path, user: User) -> list[schemas.MyTagOut]:
    """The tags about the customer themselves (COMPLIANCE 21: see the tags used about you), health tags
    included while their consent is in force."""
    definitions = {t.code: t for t in list_tags(session)}
    out = []
    for v in store.tag_values(lake_dir, str(user.id)):
        spec = definitions.get(v["tag"])
        if spec is not None:
            out.append(
                schemas.MyTagOut(
                    code=spec.code,
                    name_zh=spec.name_zh,
                    name_en=spec.name_en,
                    family=spec.family,
                    value=v["value"],
                    computed_at=v["computed_at"],
                )
            )
    _, rows = health.customer_health(session, lake_dir, user.id)
    meta = store.manifest(lake_dir) or {}
    for condition in sorted({r["condition"] for r in rows}):
        spec = definitions.get(health.tag_code(condition))
        if spec is not None:
            out.append(
                schemas.MyTagOut(
                    code=spec.code,
                    name_zh=spec.name_zh,
                    name_en=spec.name_en,
                    family=spec.family,
                    value="yes",
                    computed_at=datetime.fromisoformat(meta["as_of"]) if meta.get("as_of") else None,
                )
            )
    return out


def status(lake_dir: Path) -> schemas.ProfilesStatusOut:
    meta = store.manifest(lake_dir)
    return schemas.ProfilesStatusOut(built=meta is not None, manifest=meta)


def build_now(session: Session, db: Database, settings: Settings, actor: User) -> dict[str, Any]:
    """Start the build_profiles job now, in the background (409 while it runs)."""
    run_id = jobs.create_run(db, "build_profiles", "manual", requested_by=actor.id)
    audit(
        session,
        actor_id=actor.id,
        actor_login=actor.login,
        action="profiles.build",
        subject_type="job",
        subject_id="build_profiles",
        detail={"run": run_id},
    )
    session.commit()
    jobs.start_in_background(db, settings, run_id)
    return {"id": run_id, "job": "build_profiles", "status": "queued"}


# --- permission and audit ---------------------------------------------------------------------------------------


def _require_health(session: Session, viewer: User, subject_type: str, subject_id: Any) -> None:
    if READ_HEALTH not in accounts.permissions_of(viewer):
        audit(
            session,
            actor_id=viewer.id,
            actor_login=viewer.login,
            action="profiles.read_health",
            subject_type=subject_type,
            subject_id=subject_id,
            outcome="denied",
        )
        session.commit()
        raise AppError(403, "PERMISSION_DENIED", permission=READ_HEALTH)


def _audit_health(session: Session, viewer: User, subject_type: str, subject_id: Any, detail: dict) -> None:
    audit(
        session,
        actor_id=viewer.id,
        actor_login=viewer.login,
        action="profiles.read_health",
        subject_type=subject_type,
        subject_id=subject_id,
        detail=detail,
    )


def _audit(session: Session, actor: User, action: str, tag: TagDefinition, detail: dict[str, Any]) -> None:
    audit(
        session,
        actor_id=actor.id,
        actor_login=actor.login,
        action=action,
        subject_type="tag",
        subject_id=tag.code,
        detail={"version": tag.version, **detail},
    )
