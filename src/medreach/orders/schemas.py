"""API shapes for carts, orders, payments, prescriptions and reviews."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from medreach.catalog.schemas import ProductCard
from medreach.core.schemas import InputModel, MultiLine
from medreach.orders.models import PrescriptionKind
from medreach.promotions.schemas import BreakdownOut

Qty = Annotated[int, Field(ge=1, le=999)]
ProductId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class CartItemIn(InputModel):
    product_id: ProductId
    quantity: Qty = 1


class CartQuantityIn(InputModel):
    quantity: Qty


class CartLineOut(BaseModel):
    product: ProductCard
    quantity: int
    line_total_fen: int  # at list price
    discount_fen: int
    final_fen: int
    flash_units: int
    problem: str | None  # e.g. OUT_OF_STOCK, RX_PRESCRIPTION_REQUIRED: the line cannot be checked out as is


class CartOut(BaseModel):
    guest_token: str | None
    lines: list[CartLineOut]
    item_count: int
    subtotal_fen: int
    discount_fen: int
    shipping_fen: int
    total_fen: int
    requires_rx: bool
    breakdown: BreakdownOut


class MergeIn(InputModel):
    guest_token: Annotated[str, Field(min_length=1, max_length=64)]


class OrderItemIn(InputModel):
    product_id: ProductId
    quantity: Qty


class CheckoutIn(InputModel):
    address_id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    coupon_grant_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    points: Annotated[int, Field(ge=0, le=100_000_000)] = 0
    items: Annotated[list[OrderItemIn], Field(min_length=1, max_length=50)] | None = None  # default: the cart
    prescription_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    risk_confirmed: bool = False  # the buyer confirmed the Rx risk notice
    note: Annotated[str, Field(max_length=200)] = ""


class FlashBuyIn(InputModel):
    address_id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    quantity: Annotated[int, Field(ge=1, le=99)] = 1


class PreviewIn(InputModel):
    items: Annotated[list[OrderItemIn], Field(min_length=1, max_length=50)] | None = None
    coupon_grant_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    points: Annotated[int, Field(ge=0, le=100_000_000)] = 0


class PreviewOut(BaseModel):
    lines: list[CartLineOut]
    subtotal_fen: int
    discount_fen: int
    shipping_fen: int
    total_fen: int
    requires_rx: bool
    rx_notice: str | None
    breakdown: BreakdownOut


class OrderLineOut(BaseModel):
    product_id: int
    sku: str
    generic_name: str
    brand_name: str
    specification: str
    dosage_form: str
    manufacturer: str
    approval_number: str
    drug_class: str
    batch_no: str
    expiry_date: date | None
    unit_price_fen: int
    quantity: int
    line_total_fen: int


class StatusChangeOut(BaseModel):
    from_status: str
    to_status: str
    reason: str
    at: datetime


class AdjustmentOut(BaseModel):
    product_id: int | None
    source: str
    source_id: int | None
    kind: str
    label: str
    amount_fen: int


class OrderOut(BaseModel):
    id: int
    number: str
    user_id: int
    status: str
    subtotal_fen: int
    shipping_fen: int
    discount_fen: int
    total_fen: int
    currency: str
    address: dict
    requires_rx: bool
    prescription_id: int | None
    risk_confirmed_at: datetime | None
    expires_at: datetime | None
    paid_at: datetime | None
    shipped_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    tracking_no: str
    note: str
    created_at: datetime
    points_earned: int
    lines: list[OrderLineOut]
    adjustments: list[AdjustmentOut]
    history: list[StatusChangeOut]
    allowed_actions: list[str]
    masked: bool = False  # the address's personal data masked (every staff view; the full values by reveal)


class ReasonIn(InputModel):
    reason: Annotated[str, Field(min_length=1, max_length=255)]


class OptionalReasonIn(InputModel):
    reason: Annotated[str, Field(max_length=255)] = ""


class ShipIn(InputModel):
    tracking_no: Annotated[str, Field(min_length=4, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]


class PaymentOut(BaseModel):
    id: int
    order_id: int
    provider: str
    out_trade_no: str
    amount_fen: int
    currency: str
    status: str
    pay_url: str
    qr_code: str
    paid_at: datetime | None


Sex = Literal["male", "female"]
Pregnancy = Literal["none", "pregnant", "breastfeeding", "planning"]  # planning: 备孕
Relationship = Literal["self", "spouse", "parent", "child", "other"]


class PatientIn(InputModel):
    """The person who will take the medicine (用药人), as Chinese online pharmacies collect it with every
    prescription: the pharmacist reviews against their sex, age, allergies and pregnancy. A birth date or an
    age is required; pregnancy or breastfeeding only for a woman."""

    name: Annotated[str, Field(min_length=1, max_length=32)]
    sex: Sex
    birth_date: date | None = None
    age: Annotated[int, Field(ge=0, le=130)] | None = None
    allergies: Annotated[str, Field(max_length=255)] = ""  # "" = no known drug allergies
    pregnancy: Pregnancy = "none"
    relationship: Relationship


class EPrescriptionIn(InputModel):
    hospital: Annotated[str, Field(min_length=2, max_length=128)]
    doctor: Annotated[str, Field(min_length=1, max_length=64)]
    rx_number: Annotated[str, Field(min_length=4, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]
    issued_on: date
    # 处方管理办法 Art 18: valid on the day of issue; up to 3 days when the prescriber notes a longer validity.
    validity_days: Annotated[int, Field(ge=1, le=3)] = 1
    patient: PatientIn
    diagnosis: Annotated[str, Field(max_length=255)] = ""
    items: Annotated[list[OrderItemIn], Field(min_length=1, max_length=20)]


class PrescriptionItemOut(BaseModel):
    product_id: int
    quantity: int
    name: str


class PatientOut(BaseModel):
    """The patient as the viewer may see them: for staff the name masked and the birth date left out (the age
    shows); the full values through the audited reveal. Fields are null on prescriptions submitted before the
    patient was collected."""

    name: str | None
    sex: Sex | None
    birth_date: date | None
    age: int | None
    allergies: str | None
    pregnancy: Pregnancy | None
    relationship: Relationship | None


class PrescriptionOut(BaseModel):
    id: int
    user_id: int
    kind: PrescriptionKind
    status: str
    file_name: str
    content_type: str
    size_bytes: int
    hospital: str
    doctor: str
    rx_number: str
    issued_on: date | None
    valid_until: date | None
    patient: PatientOut
    diagnosis: str | None
    reviewer_name: str
    reviewer_licence: str
    reviewed_at: datetime | None
    review_reason: str
    order_id: int | None
    created_at: datetime
    items: list[PrescriptionItemOut]
    masked: bool = False  # personal data masked (every staff view)
    duplicate: bool = False


class RxOrderLineOut(BaseModel):
    product_id: int
    name: str
    drug_class: str
    quantity: int


class RxOrderOut(BaseModel):
    """One of the buyer's earlier orders with prescription drugs, as the reviewing pharmacist sees it."""

    id: int
    number: str
    status: str
    created_at: datetime
    paid_at: datetime | None
    prescription_id: int | None
    lines: list[RxOrderLineOut]


class PrescriptionReviewOut(PrescriptionOut):
    """A prescription under review: the patient (masked) and the buyer's earlier Rx orders, newest first."""

    earlier_rx_orders: list[RxOrderOut]


class ReviewIn(InputModel):
    rating: Annotated[int, Field(ge=1, le=5)]
    body: Annotated[MultiLine, Field(max_length=1000)] = ""


class ReviewOut(BaseModel):
    id: int
    product_id: int
    user_id: int
    author: str
    rating: int
    body: str
    status: str
    moderation_reason: str
    created_at: datetime


class ModerateIn(InputModel):
    decision: Literal["approve", "reject"]
    reason: Annotated[str, Field(max_length=255)] = ""
