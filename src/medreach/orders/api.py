"""Routes for carts, checkout, orders, payments, prescriptions and reviews (storefront and console), and the
storefront's product list and page, where catalog, promotions and orders meet (orders.storefront)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, Response
from fastapi.responses import FileResponse, PlainTextResponse
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from medreach.accounts.deps import CurrentUser, DbSession, MaybeUser, anonymous_id, require
from medreach.accounts.models import User
from medreach.accounts.schemas import RevealIn, RevealOut
from medreach.catalog import schemas as catalog_schemas
from medreach.catalog.search import SearchIndex, SearchQuery
from medreach.core.db import retrying
from medreach.core.errors import PROBLEM, AppError
from medreach.core.openapi import PROBLEM_REF, problem_responses
from medreach.core.pagination import Page, Paging
from medreach.core.params import IdPath, Moment
from medreach.orders import cart as carts
from medreach.orders import payments, prescriptions, reviews, schemas, service, state, storefront
from medreach.orders.models import Payment
from medreach.promotions import schemas as promotion_schemas

router = APIRouter(prefix="/api/v1")
CartToken = Annotated[str | None, Header(alias="X-Cart-Token", max_length=64)]
Status = Literal[state.STATUSES]  # type: ignore[valid-type]


def provider(request: Request) -> payments.PaymentProvider:
    return request.app.state.payments


def flash_of(request: Request):
    return request.app.state.flash


def uploads(request: Request) -> Path:
    return request.app.state.settings.uploads_path / "prescriptions"


def index_of(request: Request) -> SearchIndex:
    return request.app.state.search


def lake_of(request: Request) -> Path:
    return request.app.state.settings.lake_path


# --- the storefront's product list and page --------------------------------------------------------------


@router.get("/products", response_model=catalog_schemas.SearchOut, tags=["catalog"])
def search_products(
    request: Request,
    session: DbSession,
    user: MaybeUser,
    paging: Paging,
    q: Annotated[str, Query(max_length=100)] = "",
    category: Annotated[str | None, Query(max_length=32)] = None,
    drug_class: Annotated[list[catalog_schemas.DrugClass] | None, Query()] = None,
    price_min: Annotated[int | None, Query(ge=0, le=100_000_000)] = None,
    price_max: Annotated[int | None, Query(ge=0, le=100_000_000)] = None,
    brand: Annotated[str | None, Query(max_length=64)] = None,
    manufacturer: Annotated[str | None, Query(max_length=128)] = None,
    sort: catalog_schemas.SearchSort = "relevance",
):
    """Search and browse (Chinese, pinyin, initials, synonyms), with filters, sorting and facet counts.
    Only products that may be sold online are ever returned."""
    query = SearchQuery(
        text=q.strip(),
        category=category,
        drug_classes=drug_class,
        price_min=price_min,
        price_max=price_max,
        brand=brand,
        manufacturer=manufacturer,
        sort=sort,
        limit=paging.limit,
        offset=paging.offset,
    )
    return storefront.search(session, index_of(request), query, user, anonymous_id(request), lake_of(request))


@router.get("/products/{product_id}", response_model=catalog_schemas.ProductDetail, tags=["catalog"])
def product_page(product_id: IdPath, request: Request, session: DbSession, user: MaybeUser):
    return storefront.product_page(session, product_id, user, anonymous_id(request), lake_of(request))


# --- cart ------------------------------------------------------------------------------------------------


@router.get("/cart", response_model=schemas.CartOut, tags=["cart"])
def get_cart(request: Request, session: DbSession, user: MaybeUser, token: CartToken = None):
    return carts.show(session, user, token, anonymous_id(request), flash_of(request))


@router.post(
    "/cart/items",
    response_model=schemas.CartOut,
    tags=["cart"],
    responses=problem_responses(**{"404": "No such product on sale (NOT_FOUND)"}),
)
def add_to_cart(
    data: schemas.CartItemIn, request: Request, session: DbSession, user: MaybeUser, token: CartToken = None
):
    """Add to the caller's cart; a guest without a token gets a new cart and its token in the answer."""
    return carts.view(
        session, user, carts.add_item(session, user, token, data, anonymous_id(request)), flash_of(request)
    )


@router.patch("/cart/items/{product_id}", response_model=schemas.CartOut, tags=["cart"])
def change_quantity(
    product_id: IdPath,
    data: schemas.CartQuantityIn,
    request: Request,
    session: DbSession,
    user: MaybeUser,
    token: CartToken = None,
):
    return carts.view(
        session, user, carts.set_quantity(session, user, token, product_id, data.quantity), flash_of(request)
    )


@router.delete("/cart/items/{product_id}", response_model=schemas.CartOut, tags=["cart"])
def remove_from_cart(
    product_id: IdPath, request: Request, session: DbSession, user: MaybeUser, token: CartToken = None
):
    return carts.view(
        session, user, carts.remove_item(session, user, token, product_id, anonymous_id(request)), flash_of(request)
    )


@router.post("/cart/merge", response_model=schemas.CartOut, tags=["cart"])
def merge_cart(data: schemas.MergeIn, request: Request, session: DbSession, user: CurrentUser):
    """After login: move the guest cart (by its token) into the account's cart."""
    return carts.view(session, user, carts.merge(session, user, data.guest_token), flash_of(request))


# --- checkout and orders ---------------------------------------------------------------------------------


@router.post("/checkout/preview", response_model=schemas.PreviewOut, tags=["orders"])
def checkout_preview(data: schemas.PreviewIn, request: Request, session: DbSession, user: CurrentUser):
    """The exact price breakdown the order would get (every discount with its source, shipping, points)."""
    return service.preview(session, user, data, flash_of(request))


@router.post(
    "/orders",
    response_model=schemas.OrderOut,
    status_code=201,
    tags=["orders"],
    responses=problem_responses(
        **{
            "404": "No such product or address of the caller's (NOT_FOUND)",
            "409": "Out of stock, or the prescription was used (OUT_OF_STOCK, PRESCRIPTION_USED)",
        }
    ),
)
def place_order(
    data: schemas.CheckoutIn,
    request: Request,
    response: Response,
    session: DbSession,
    user: CurrentUser,
    idempotency_key: Annotated[
        str, Header(alias="Idempotency-Key", min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    ],
):
    """Place an order from the cart (or the given items). Repeating the same Idempotency-Key returns the
    first order (200) instead of placing a second one."""
    order, created = retrying(
        session, lambda: service.place_order(session, user, data, idempotency_key, flash_of(request))
    )
    if not created:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return service.view(session, order)


@router.get("/orders", response_model=Page[schemas.OrderOut], tags=["orders"])
def my_orders(session: DbSession, user: CurrentUser, paging: Paging, status: Status | None = None):
    rows, total = service.list_own(session, user, paging, status)
    return Page(items=[service.view(session, o) for o in rows], total=total, **paging.model_dump())


@router.get("/orders/{order_id}", response_model=schemas.OrderOut, tags=["orders"])
def my_order(order_id: IdPath, session: DbSession, user: CurrentUser):
    return service.view(session, service.get_own(session, user, order_id))


@router.post("/orders/{order_id}/cancel", response_model=schemas.OrderOut, tags=["orders"])
def cancel_order(
    order_id: IdPath, data: schemas.OptionalReasonIn, request: Request, session: DbSession, user: CurrentUser
):
    order = service.get_own(session, user, order_id)
    return service.view(
        session,
        service.cancel(session, order, actor_id=user.id, reason=data.reason or "customer", flash=flash_of(request)),
    )


@router.post("/orders/{order_id}/confirm-receipt", response_model=schemas.OrderOut, tags=["orders"])
def confirm_receipt(order_id: IdPath, session: DbSession, user: CurrentUser):
    return service.view(session, service.confirm_receipt(session, user, service.get_own(session, user, order_id)))


@router.post("/orders/{order_id}/refund-request", response_model=schemas.OrderOut, tags=["orders"])
def request_refund(order_id: IdPath, data: schemas.ReasonIn, session: DbSession, user: CurrentUser):
    return service.view(
        session, service.request_refund(session, user, service.get_own(session, user, order_id), data.reason)
    )


def _payment_out(payment: Payment, qr: str = "") -> schemas.PaymentOut:
    return schemas.PaymentOut(
        id=payment.id,
        order_id=payment.order_id,
        provider=payment.provider,
        out_trade_no=payment.out_trade_no,
        amount_fen=payment.amount_fen,
        currency=payment.currency,
        status=payment.status,
        pay_url=payment.pay_url,
        qr_code=qr or f"sandboxpay://pay?trade_no={payment.gateway_trade_no}",
        paid_at=payment.paid_at,
    )


@router.post("/orders/{order_id}/pay", response_model=schemas.PaymentOut, tags=["payments"])
def pay_order(order_id: IdPath, request: Request, session: DbSession, user: CurrentUser):
    """Open (or reopen) the order's payment: answers the gateway's cashier URL and QR payload."""
    order = service.get_own(session, user, order_id)
    base = request.app.state.settings.base_url
    payment, created = payments.open_payment(
        session,
        provider(request),
        order,
        notify_url=f"{base}/api/v1/payments/sandbox/notify",
        return_url=f"{base}/orders/{order.id}",
    )
    return _payment_out(payment, created.qr_code if created else "")


@router.get("/orders/{order_id}/payment", response_model=schemas.PaymentOut, tags=["payments"])
def order_payment(order_id: IdPath, request: Request, session: DbSession, user: CurrentUser):
    """The latest payment; if the gateway says it is paid but no notification came, it is applied now."""
    return _payment_out(service.current_payment(session, provider(request), user, order_id))


NOTIFY_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "description": "The gateway's signed notification (notify_id, out_trade_no, amount_fen, currency, "
                "timestamp, sign, …); at most 8 KB",
            }
        }
    },
}
NOTIFY_ANSWERS = {
    200: {"description": "Applied, or applied before: `success`", "content": {"text/plain": {}}},
    400: {
        "description": "`fail` (text/plain): not verified, or not for a payment of ours; or a body nested too "
        "deeply (problem+json, BODY_TOO_DEEP)",
        "content": {"text/plain": {"schema": {"type": "string"}}, PROBLEM: {"schema": PROBLEM_REF}},
    },
    **problem_responses(413),
}


@router.post(
    "/payments/sandbox/notify",
    tags=["payments"],
    response_class=PlainTextResponse,
    responses=NOTIFY_ANSWERS,
    openapi_extra={"requestBody": NOTIFY_BODY},
)
async def payment_notification(request: Request):
    """The gateway's asynchronous notification (at most 8 KB). Answers `success` (stop retrying) or `fail`; only
    a verified notification is stored."""
    p = provider(request)
    raw = await payments.read_body(request)
    ok = await run_in_threadpool(payments.receive_notification, request.app.state.db, p, raw, service.on_paid(p))
    return PlainTextResponse("success" if ok else "fail", status_code=200 if ok else 400)


# --- flash sales: buying places an order ---------------------------------------------------------------------


def not_sold_out(promo_id: IdPath, request: Request) -> None:
    """Under a rush most requests find the sale sold out: answer them from the sale cache and the stock
    counter alone, before authentication and before any database work."""
    sale = request.app.state.flash_sales.get(promo_id)
    if sale is not None and flash_of(request).known_sold_out(sale):
        raise AppError(409, "FLASH_SOLD_OUT")


@router.post(
    "/flash-sales/{promo_id}/orders",
    response_model=schemas.OrderOut,
    status_code=201,
    tags=["flash sales"],
    dependencies=[Depends(not_sold_out)],
)
def buy_flash(
    promo_id: IdPath,
    data: schemas.FlashBuyIn,
    request: Request,
    response: Response,
    session: DbSession,
    user: CurrentUser,
    idempotency_key: Annotated[
        str, Header(alias="Idempotency-Key", min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    ],
):
    """Buy now at the sale price: refused at once when sold out or over the per-user limit."""
    order, created = retrying(
        session,
        lambda: service.buy_flash(
            session, user, promo_id, data, idempotency_key, flash_of(request), request.app.state.flash_sales
        ),
    )
    if not created:
        response.status_code = 200
    return service.view(session, order)


# --- prescriptions -------------------------------------------------------------------------------------------

_items_adapter = TypeAdapter(list[schemas.OrderItemIn])
_patient_adapter = TypeAdapter(schemas.PatientIn)


def _form_json(adapter: TypeAdapter, text: str, field: str):
    """A multipart field holding JSON, validated; a refusal names the field (and the part inside it)."""
    try:
        return adapter.validate_json(text)
    except ValidationError as e:
        inner = [str(part) for part in e.errors()[0]["loc"]] if e.errors() else []
        raise AppError(422, "VALIDATION_ERROR", field=".".join([field, *inner])) from e


@router.post(
    "/prescriptions",
    response_model=schemas.PrescriptionOut,
    status_code=201,
    tags=["prescriptions"],
    responses={
        200: {"model": schemas.PrescriptionOut, "description": "The caller sent this file before: that prescription"},
        **problem_responses(
            **{
                "409": "The same file was uploaded by another customer (PRESCRIPTION_DUPLICATE)",
                "413": "The file is larger than 5 MB (PRESCRIPTION_FILE_TOO_LARGE, BODY_TOO_LARGE)",
                "415": "Not a JPEG, PNG or PDF (PRESCRIPTION_FILE_TYPE)",
            }
        ),
    },
)
def upload_prescription(
    request: Request,
    response: Response,
    session: DbSession,
    user: CurrentUser,
    file: Annotated[bytes, File(description="JPEG, PNG or PDF, at most 5 MB")],
    items: Annotated[str, Form(max_length=2000, description='JSON: [{"product_id": 1, "quantity": 1}]')],
    patient: Annotated[
        str,
        Form(
            max_length=2000,
            description='JSON, the patient (用药人): {"name": "张三", "sex": "female", "birth_date": "1990-01-01" or '
            '"age": 36, "allergies": "", "pregnancy": "none", "relationship": "self"}',
        ),
    ],
    filename: Annotated[str, Form(max_length=128)] = "prescription",
):
    parsed = _form_json(_items_adapter, items, "items")
    if not parsed:
        raise AppError(422, "VALIDATION_ERROR", field="items")
    rx, duplicate = prescriptions.submit_upload(
        session, user, file, filename, parsed, _form_json(_patient_adapter, patient, "patient"), uploads(request)
    )
    if duplicate:
        response.status_code = 200
    return prescriptions.view(session, rx, masked=False).model_copy(update={"duplicate": duplicate})


@router.post("/prescriptions/e-rx", response_model=schemas.PrescriptionOut, status_code=201, tags=["prescriptions"])
def submit_e_prescription(data: schemas.EPrescriptionIn, response: Response, session: DbSession, user: CurrentUser):
    rx, duplicate = prescriptions.submit_e_rx(session, user, data)
    if duplicate:
        response.status_code = 200
    return prescriptions.view(session, rx, masked=False).model_copy(update={"duplicate": duplicate})


@router.get("/prescriptions", response_model=list[schemas.PrescriptionOut], tags=["prescriptions"])
def my_prescriptions(session: DbSession, user: CurrentUser):
    return [prescriptions.view(session, rx, masked=False) for rx in prescriptions.list_own(session, user)]


@router.get("/prescriptions/{rx_id}", response_model=schemas.PrescriptionOut, tags=["prescriptions"])
def my_prescription(rx_id: IdPath, session: DbSession, user: CurrentUser):
    return prescriptions.view(session, prescriptions.get_own(session, user, rx_id), masked=False)


def _file(rx, request: Request) -> FileResponse:
    path = prescriptions.file_path(rx, uploads(request))
    if path is None or not path.exists():
        raise AppError(404, "NOT_FOUND", resource="prescription file")
    return FileResponse(path, media_type=rx.content_type, headers={"Cache-Control": "private, no-store"})


@router.get("/prescriptions/{rx_id}/file", tags=["prescriptions"], response_class=Response)
def my_prescription_file(rx_id: IdPath, request: Request, session: DbSession, user: CurrentUser):
    return _file(prescriptions.get_own(session, user, rx_id), request)


@router.get("/admin/prescriptions", response_model=Page[schemas.PrescriptionOut], tags=["pharmacist"])
def review_queue(
    session: DbSession,
    paging: Paging,
    viewer: Annotated[User, require("rx:review")],
    status: Literal["pending", "approved", "rejected", "consumed", "all"] = "pending",
):
    rows, total = prescriptions.queue(session, viewer, paging, None if status == "all" else status)
    return Page(items=[prescriptions.view(session, rx, masked=True) for rx in rows], total=total, **paging.model_dump())


@router.get("/admin/prescriptions/{rx_id}", response_model=schemas.PrescriptionReviewOut, tags=["pharmacist"])
def review_detail(rx_id: IdPath, session: DbSession, viewer: Annotated[User, require("rx:review")]):
    """The prescription with its patient (name masked, age shown) and the buyer's earlier Rx orders."""
    return prescriptions.review_view(session, prescriptions.read_for_review(session, viewer, rx_id))


@router.post("/admin/prescriptions/{rx_id}/reveal", response_model=RevealOut, tags=["pharmacist"])
def reveal_patient(rx_id: IdPath, data: RevealIn, session: DbSession, viewer: Annotated[User, require("pii:reveal")]):
    """The patient's name and birth date in full, for the stated purpose (audited)."""
    return prescriptions.reveal_patient(session, viewer, rx_id, data.purpose)


@router.get("/admin/prescriptions/{rx_id}/file", tags=["pharmacist"], response_class=Response)
def review_file(rx_id: IdPath, request: Request, session: DbSession, viewer: Annotated[User, require("rx:review")]):
    return _file(prescriptions.read_for_review(session, viewer, rx_id), request)


@router.post("/admin/prescriptions/{rx_id}/review", response_model=schemas.PrescriptionReviewOut, tags=["pharmacist"])
def review_prescription(
    rx_id: IdPath,
    data: schemas.ModerateIn,
    request: Request,
    session: DbSession,
    pharmacist: Annotated[User, require("rx:review")],
):
    rx = prescriptions.review(
        session,
        pharmacist,
        rx_id,
        data.decision == "approve",
        data.reason,
        on_decided=service.on_prescription_decided(flash_of(request)),
    )
    return prescriptions.review_view(session, rx)


# --- service agents -------------------------------------------------------------------------------------------


@router.get("/admin/orders", response_model=Page[schemas.OrderOut], tags=["orders admin"])
def search_orders(
    session: DbSession,
    paging: Paging,
    viewer: Annotated[User, require("orders:read_all")],
    q: Annotated[str | None, Query(max_length=64)] = None,
    status: Status | None = None,
    user_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    since: Moment | None = None,
    until: Moment | None = None,
    requires_rx: bool | None = None,
):
    rows, total = service.search(
        session, viewer, paging, q=q, status=status, user_id=user_id, since=since, until=until, requires_rx=requires_rx
    )
    return Page(items=[service.view(session, o, staff=True) for o in rows], total=total, **paging.model_dump())


@router.get("/admin/orders/{order_id}", response_model=schemas.OrderOut, tags=["orders admin"])
def order_detail(order_id: IdPath, session: DbSession, _: Annotated[User, require("orders:read_all")]):
    return service.view(session, service.get_any(session, order_id), staff=True)


@router.post("/admin/orders/{order_id}/reveal", response_model=RevealOut, tags=["orders admin"])
def reveal_address(
    order_id: IdPath, data: RevealIn, session: DbSession, viewer: Annotated[User, require("pii:reveal")]
):
    """The shipping address's recipient, phone and street in full, for the stated purpose (audited)."""
    return service.reveal_address(session, viewer, order_id, data.purpose)


@router.post("/admin/orders/{order_id}/ship", response_model=schemas.OrderOut, tags=["orders admin"])
def ship_order(
    order_id: IdPath, data: schemas.ShipIn, session: DbSession, agent: Annotated[User, require("orders:write")]
):
    return service.view(
        session, service.ship(session, agent, service.get_any(session, order_id), data.tracking_no), staff=True
    )


@router.post("/admin/orders/{order_id}/refund", response_model=schemas.OrderOut, tags=["orders admin"])
def decide_refund(
    order_id: IdPath,
    data: schemas.ModerateIn,
    request: Request,
    session: DbSession,
    agent: Annotated[User, require("orders:write")],
):
    order = service.get_any(session, order_id)
    return service.view(
        session,
        service.decide_refund(session, agent, order, data.decision == "approve", data.reason, provider(request)),
        staff=True,
    )


@router.post("/admin/orders/{order_id}/cancel", response_model=schemas.OrderOut, tags=["orders admin"])
def staff_cancel(
    order_id: IdPath,
    data: schemas.ReasonIn,
    request: Request,
    session: DbSession,
    agent: Annotated[User, require("orders:write")],
):
    return service.view(
        session,
        service.cancel(
            session, service.get_any(session, order_id), actor_id=agent.id, reason=data.reason, flash=flash_of(request)
        ),
        staff=True,
    )


# --- promotions' results: the paid orders they touched -------------------------------------------------------


@router.get(
    "/admin/promotions/{promo_id}/results",
    response_model=promotion_schemas.PromotionResults,
    tags=["promotions admin"],
)
def promotion_results(promo_id: IdPath, session: DbSession, _: Annotated[User, require("promotions:write")]):
    """Orders, GMV, discount cost and units of the paid orders this promotion touched."""
    return service.promotion_results(session, promo_id)


# --- reviews ---------------------------------------------------------------------------------------------------


@router.get("/products/{product_id}/reviews", response_model=Page[schemas.ReviewOut], tags=["reviews"])
def product_reviews(product_id: IdPath, session: DbSession, paging: Paging):
    rows, total = reviews.approved_for(session, product_id, paging)
    return Page(items=[reviews.view(r, name) for r, name in rows], total=total, **paging.model_dump())


@router.post(
    "/products/{product_id}/reviews",
    response_model=schemas.ReviewOut,
    status_code=201,
    tags=["reviews"],
    responses=problem_responses(
        **{
            "403": "Only a buyer of the product reviews it (REVIEW_NOT_A_BUYER)",
            "409": "The caller reviewed it already (REVIEW_EXISTS)",
        }
    ),
)
def post_review(product_id: IdPath, data: schemas.ReviewIn, session: DbSession, user: CurrentUser):
    return reviews.view(reviews.post(session, user, product_id, data), user.name)


@router.get("/admin/reviews", response_model=Page[schemas.ReviewOut], tags=["reviews"])
def moderation_queue(
    session: DbSession,
    paging: Paging,
    _: Annotated[User, require("reviews:moderate")],
    status: Literal["pending", "approved", "rejected"] = "pending",
):
    rows, total = reviews.queue(session, paging, status)
    return Page(items=[reviews.view(r, name) for r, name in rows], total=total, **paging.model_dump())


@router.post("/admin/reviews/{review_id}/moderate", response_model=schemas.ReviewOut, tags=["reviews"])
def moderate_review(
    review_id: IdPath,
    data: schemas.ModerateIn,
    session: DbSession,
    moderator: Annotated[User, require("reviews:moderate")],
):
    return reviews.view(*reviews.moderate(session, moderator, review_id, data))
