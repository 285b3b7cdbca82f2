"""Prescriptions: upload or e-prescription, the patient (用药人), the pharmacist's review, validity and single use
(COMPLIANCE A2).

A prescription covers Rx products in stated quantities for one patient. It is bound to at most one order; the
binding is released if that order is cancelled before payment, and the prescription is consumed when it is paid.
An e-prescription is valid from its issue date for the days its prescriber allowed (处方管理办法 Art 18: the day of
issue, at most 3 days), in Beijing days: it is refused when dated in the future or already lapsed, and cannot be
approved or bought with after its last day.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from medreach.accounts import service as accounts
from medreach.accounts.schemas import RevealOut
from medreach.catalog import service as catalog
from medreach.core.db import get_or_404
from medreach.core.errors import AppError
from medreach.core.events import emit
from medreach.core.pagination import PageParams, paginate
from medreach.core.security import mask_name
from medreach.ops.service import audit
from medreach.orders import schemas
from medreach.orders.models import Order, Prescription, PrescriptionItem

if TYPE_CHECKING:  # types only: users are read through their domain's service
    from medreach.accounts.models import User

SHANGHAI = ZoneInfo("Asia/Shanghai")
EARLIER_ORDERS_SHOWN = 20
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# Recognised by their first bytes, whatever the client claims the type is.
SIGNATURES = {
    b"\xff\xd8\xff": ("image/jpeg", "jpg"),
    b"\x89PNG\r\n\x1a\n": ("image/png", "png"),
    b"%PDF-": ("application/pdf", "pdf"),
}


def sniff(content: bytes) -> tuple[str, str]:
    for magic, kind in SIGNATURES.items():
        if content.startswith(magic):
            return kind
    raise AppError(415, "PRESCRIPTION_FILE_TYPE", field="file")


def today() -> date:
    """Today in Beijing: the day a prescription is dated and valid on."""
    return datetime.now(SHANGHAI).date()


def valid_until(issued_on: date, validity_days: int, on: date) -> date:
    """The last day a prescription issued on `issued_on` may be used (Art 18), refusing one dated after `on` or
    no longer valid on it (422, the field `issued_on`)."""
    if issued_on > on:
        raise AppError(422, "PRESCRIPTION_DATED_IN_FUTURE", field="issued_on", issued_on=issued_on.isoformat())
    last = issued_on + timedelta(days=validity_days - 1)
    if last < on:
        raise AppError(422, "PRESCRIPTION_EXPIRED", field="issued_on", valid_until=last.isoformat())
    return last


def check_still_valid(rx: Prescription, field: str | None = None) -> None:
    """Refuse to approve or sell on a prescription past its last day."""
    if rx.valid_until is not None and rx.valid_until < today():
        raise AppError(422, "PRESCRIPTION_EXPIRED", field=field, valid_until=rx.valid_until.isoformat())


def _patient(data: schemas.PatientIn, on: date) -> str:
    """The patient's details besides the name, checked, as the JSON the encrypted column keeps."""
    if data.birth_date is None and data.age is None:
        raise AppError(422, "PATIENT_AGE_REQUIRED", field="patient.age")
    born = data.birth_date
    if born is not None and (born > on or on.year - born.year > 130):
        raise AppError(422, "PATIENT_BIRTH_DATE_INVALID", field="patient.birth_date")
    if data.sex == "male" and data.pregnancy != "none":
        raise AppError(422, "PATIENT_PREGNANCY_INVALID", field="patient.pregnancy")
    return json.dumps(data.model_dump(mode="json", exclude={"name"}), ensure_ascii=False)


def _items(session: Session, items: list[schemas.OrderItemIn]) -> list[PrescriptionItem]:
    merged: dict[int, int] = {}
    for item in items:
        merged[item.product_id] = merged.get(item.product_id, 0) + item.quantity
    out = []
    for product_id, quantity in merged.items():
        product = catalog.get_visible_product(session, product_id)
        if not product.is_rx:
            raise AppError(422, "PRESCRIPTION_NOT_NEEDED", field="items", product=product.sku)
        out.append(PrescriptionItem(product_id=product_id, quantity=quantity))
    return out


def _save(session: Session, user: User, rx: Prescription) -> Prescription:
    session.add(rx)
    try:
        session.flush()
    except IntegrityError as e:  # the same file or e-prescription, submitted concurrently or by someone else
        session.rollback()
        raise AppError(409, "PRESCRIPTION_DUPLICATE", field="file") from e
    emit(
        session,
        "Prescription Submitted",
        user_id=user.id,
        prescription_id=rx.id,
        kind=rx.kind,
        products=[i.product_id for i in rx.items],
    )
    session.commit()
    return rx


def _existing(session: Session, user: User, digest: str) -> Prescription | None:
    """The same document again: the owner gets their existing record back; anyone else is refused."""
    found = session.scalar(select(Prescription).where(Prescription.file_sha256 == digest))
    if found is not None and found.user_id != user.id:
        raise AppError(409, "PRESCRIPTION_DUPLICATE", field="file")
    return found


def submit_upload(
    session: Session,
    user: User,
    content: bytes,
    filename: str,
    items: list[schemas.OrderItemIn],
    patient: schemas.PatientIn,
    storage: Path,
) -> tuple[Prescription, bool]:
    if not content:
        raise AppError(422, "PRESCRIPTION_FILE_EMPTY", field="file")
    if len(content) > MAX_UPLOAD_BYTES:
        raise AppError(413, "PRESCRIPTION_FILE_TOO_LARGE", field="file", limit=MAX_UPLOAD_BYTES)
    content_type, ext = sniff(content)
    details = _patient(patient, today())
    digest = hashlib.sha256(content).hexdigest()
    found = _existing(session, user, digest)
    if found is not None:
        return found, True
    rx_items = _items(session, items)
    path = storage / digest[:2] / f"{digest}.{ext}"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_bytes(content)
    rx = Prescription(
        user_id=user.id,
        kind="upload",
        file_sha256=digest,
        file_name=Path(filename).name[:128],
        content_type=content_type,
        size_bytes=len(content),
        patient_name=patient.name,
        patient=details,
        items=rx_items,
    )
    return _save(session, user, rx), False


def submit_e_rx(session: Session, user: User, data: schemas.EPrescriptionIn) -> tuple[Prescription, bool]:
    on = today()
    last_day = valid_until(data.issued_on, data.validity_days, on)
    details = _patient(data.patient, on)
    digest = hashlib.sha256(f"e_rx\x00{data.hospital}\x00{data.rx_number}".encode()).hexdigest()
    found = _existing(session, user, digest)
    if found is not None:
        return found, True
    rx = Prescription(
        user_id=user.id,
        kind="e_rx",
        file_sha256=digest,
        hospital=data.hospital,
        doctor=data.doctor,
        rx_number=data.rx_number,
        issued_on=data.issued_on,
        valid_until=last_day,
        patient_name=data.patient.name,
        patient=details,
        diagnosis=data.diagnosis,
        items=_items(session, data.items),
    )
    return _save(session, user, rx), False


def file_path(rx: Prescription, storage: Path) -> Path | None:
    if rx.kind != "upload" or not rx.file_sha256:
        return None
    ext = {v[0]: v[1] for v in SIGNATURES.values()}[rx.content_type]
    return storage / rx.file_sha256[:2] / f"{rx.file_sha256}.{ext}"


def get_own(session: Session, user: User, rx_id: int) -> Prescription:
    return get_or_404(session, Prescription, rx_id, "prescription", owner_id=user.id)


def list_own(session: Session, user: User) -> list[Prescription]:
    return list(
        session.scalars(select(Prescription).where(Prescription.user_id == user.id).order_by(Prescription.id.desc()))
    )


def queue(session: Session, viewer: User, params: PageParams, status: str | None = "pending"):
    q = select(Prescription)
    if status:
        q = q.where(Prescription.status == status)
    rows, total = paginate(session, q.order_by(Prescription.id), params)
    audit(
        session,
        actor_id=viewer.id,
        actor_login=viewer.login,
        action="prescriptions.list",
        subject_type="prescription",
        detail={"status": status or "", "returned": [r.id for r in rows]},
    )
    session.commit()
    return rows, total


def read_for_review(session: Session, viewer: User, rx_id: int) -> Prescription:
    rx = get_or_404(session, Prescription, rx_id, "prescription")
    audit(
        session,
        actor_id=viewer.id,
        actor_login=viewer.login,
        action="prescriptions.read",
        subject_type="prescription",
        subject_id=rx.id,
        detail={"user_id": rx.user_id},
    )
    session.commit()
    return rx


def bound_order(session: Session, rx: Prescription) -> Order | None:
    return session.get(Order, rx.consumed_order_id) if rx.consumed_order_id else None


def review(session: Session, pharmacist: User, rx_id: int, approve: bool, reason: str, on_decided=None) -> Prescription:
    """Approve or reject. The pharmacist's name, licence and the time are stored (COMPLIANCE A2).

    `on_decided(session, rx, order)` lets the order flow move a bound order along in the same transaction.
    """
    if not pharmacist.licence_no:
        raise AppError(422, "PHARMACIST_LICENCE_REQUIRED")
    if not approve and not reason.strip():
        raise AppError(422, "VALIDATION_ERROR", field="reason")
    rx = get_or_404(session, Prescription, rx_id, "prescription")
    if approve:
        check_still_valid(rx)
    to = "approved" if approve else "rejected"
    now = datetime.now(UTC)
    moved = cast(
        CursorResult,
        session.execute(
            update(Prescription)
            .where(Prescription.id == rx.id, Prescription.status == "pending")
            .values(
                status=to,
                reviewer_id=pharmacist.id,
                reviewer_name=pharmacist.name,
                reviewer_licence=pharmacist.licence_no,
                reviewed_at=now,
                review_reason=reason[:255],
                updated_at=now,
            )
        ),
    ).rowcount
    if moved != 1:
        raise AppError(409, "PRESCRIPTION_ALREADY_REVIEWED", current=rx.status)
    session.refresh(rx)
    audit(
        session,
        actor_id=pharmacist.id,
        actor_login=pharmacist.login,
        action="prescriptions.approve" if approve else "prescriptions.reject",
        subject_type="prescription",
        subject_id=rx.id,
        detail={"reason": reason, "licence": pharmacist.licence_no},
    )
    emit(
        session,
        "Prescription Approved" if approve else "Prescription Rejected",
        user_id=rx.user_id,
        prescription_id=rx.id,
        reviewer_id=pharmacist.id,
    )
    if on_decided:
        on_decided(session, rx, bound_order(session, rx))
    session.commit()
    return rx


def approved_product_ids(session: Session, user_id: int | None) -> set[int]:
    """Rx products the user holds a pharmacist-approved prescription for, used or not: their images and
    instructions show to this user (COMPLIANCE A4 hides them only before approval)."""
    if user_id is None:
        return set()
    rows = session.scalars(
        select(PrescriptionItem.product_id)
        .join(Prescription)
        .where(Prescription.user_id == user_id, Prescription.status.in_(("approved", "consumed")))
    )
    return set(rows)


def usable_product_ids(session: Session, user_id: int | None) -> set[int]:
    """Rx products the user may buy now: an approved prescription, not yet bound to an order, still valid."""
    if user_id is None:
        return set()
    rows = session.scalars(
        select(PrescriptionItem.product_id)
        .join(Prescription)
        .where(
            Prescription.user_id == user_id,
            Prescription.status == "approved",
            Prescription.consumed_order_id.is_(None),
            or_(Prescription.valid_until.is_(None), Prescription.valid_until >= today()),
        )
    )
    return set(rows)


def bind(session: Session, rx: Prescription, order_id: int) -> None:
    """Attach the prescription to one order; a second order can never take it (conditional update)."""
    bound = cast(
        CursorResult,
        session.execute(
            update(Prescription)
            .where(
                Prescription.id == rx.id,
                Prescription.consumed_order_id.is_(None),
                Prescription.status.in_(("pending", "approved")),
            )
            .values(consumed_order_id=order_id)
        ),
    ).rowcount
    if bound != 1:
        raise AppError(409, "PRESCRIPTION_USED", field="prescription_id")


def unbind(session: Session, rx_id: int | None, order_id: int) -> None:
    if rx_id:
        session.execute(
            update(Prescription)
            .where(
                Prescription.id == rx_id, Prescription.consumed_order_id == order_id, Prescription.status != "consumed"
            )
            .values(consumed_order_id=None)
        )


def consume(session: Session, rx_id: int | None) -> None:
    if rx_id:
        session.execute(
            update(Prescription)
            .where(Prescription.id == rx_id, Prescription.status == "approved")
            .values(status="consumed")
        )


def _age(birth_date: date, on: date) -> int:
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def _patient_out(rx: Prescription, masked: bool) -> schemas.PatientOut:
    details: dict[str, Any] = json.loads(rx.patient) if rx.patient else {}
    birth = date.fromisoformat(details["birth_date"]) if details.get("birth_date") else None
    return schemas.PatientOut(
        name=mask_name(rx.patient_name) if masked else rx.patient_name,
        sex=details.get("sex"),
        birth_date=None if masked else birth,
        age=_age(birth, today()) if birth else details.get("age"),
        allergies=details.get("allergies"),
        pregnancy=details.get("pregnancy"),
        relationship=details.get("relationship"),
    )


def view(session: Session, rx: Prescription, masked: bool) -> schemas.PrescriptionOut:
    """A prescription as its owner (`masked=False`) or as staff (`masked=True`: the patient's name masked and
    their birth date left out) see it."""
    products = catalog.products_by_id(session, [i.product_id for i in rx.items])
    names = {pid: catalog.display_name(p) for pid, p in products.items()}
    return schemas.PrescriptionOut(
        id=rx.id,
        user_id=rx.user_id,
        kind=rx.kind,
        status=rx.status,
        file_name=rx.file_name,
        content_type=rx.content_type,
        size_bytes=rx.size_bytes,
        hospital=rx.hospital,
        doctor=rx.doctor,
        rx_number=rx.rx_number,
        issued_on=rx.issued_on,
        valid_until=rx.valid_until,
        patient=_patient_out(rx, masked),
        diagnosis=rx.diagnosis,
        reviewer_name=rx.reviewer_name,
        reviewer_licence=rx.reviewer_licence,
        reviewed_at=rx.reviewed_at,
        review_reason=rx.review_reason,
        order_id=rx.consumed_order_id,
        created_at=rx.created_at,
        items=[
            schemas.PrescriptionItemOut(product_id=i.product_id, quantity=i.quantity, name=names.get(i.product_id, ""))
            for i in rx.items
        ],
        masked=masked,
    )


def earlier_rx_orders(session: Session, rx: Prescription) -> list[schemas.RxOrderOut]:
    """The buyer's other orders with prescription drugs, newest first, with their Rx lines."""
    query = select(Order).where(Order.user_id == rx.user_id, Order.requires_rx.is_(True))
    if rx.consumed_order_id is not None:
        query = query.where(Order.id != rx.consumed_order_id)
    orders = session.scalars(query.order_by(Order.id.desc()).limit(EARLIER_ORDERS_SHOWN))
    return [
        schemas.RxOrderOut(
            id=o.id,
            number=o.number,
            status=o.status,
            created_at=o.created_at,
            paid_at=o.paid_at,
            prescription_id=o.prescription_id,
            lines=[
                schemas.RxOrderLineOut(
                    product_id=line.product_id,
                    name=" ".join(filter(None, (line.brand_name, line.generic_name, line.specification))),
                    drug_class=line.drug_class,
                    quantity=line.quantity,
                )
                for line in o.lines
                if line.drug_class == "rx"
            ],
        )
        for o in orders
    ]


def review_view(session: Session, rx: Prescription) -> schemas.PrescriptionReviewOut:
    """What the reviewing pharmacist sees: the prescription (masked) and the buyer's earlier Rx orders."""
    return schemas.PrescriptionReviewOut(
        **view(session, rx, masked=True).model_dump(), earlier_rx_orders=earlier_rx_orders(session, rx)
    )


def reveal_patient(session: Session, viewer: User, rx_id: int, purpose: str) -> RevealOut:
    """The patient's name and birth date in full, for the stated purpose (audited)."""
    rx = get_or_404(session, Prescription, rx_id, "prescription")
    birth = json.loads(rx.patient).get("birth_date") if rx.patient else None
    values = {"patient_name": rx.patient_name, "patient_birth_date": birth}
    return accounts.reveal(session, viewer, "prescription", rx.id, values, purpose, needs="rx:review")
