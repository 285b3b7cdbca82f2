"""Routes for promotions: the console's editing, review and results; the storefront's coupons, flash
sales, membership and points."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Request, Response

from medreach.accounts.deps import CurrentUser, DbSession, require
from medreach.accounts.models import User
from medreach.core.db import retrying
from medreach.core.errors import AppError
from medreach.core.params import IdPath
from medreach.orders import schemas as order_schemas
from medreach.orders import service as orders
from medreach.orders.pricing import breakdown_out
from medreach.promotions import membership, schemas, service
from medreach.promotions.models import FlashSale

router = APIRouter(prefix="/api/v1")


def flash_of(request: Request):
    return request.app.state.flash


# --- console: promotions ----------------------------------------------------------------------------------


@router.get("/admin/promotions", response_model=list[schemas.PromotionOut], tags=["promotions admin"])
def list_promotions(
    request: Request,
    session: DbSession,
    _: Annotated[User, require("promotions:write")],
    kind: schemas.Kind | None = None,
    status: Literal["draft", "in_review", "published", "paused", "ended"] | None = None,
):
    return [
        service.promotion_view(session, p, flash_of(request)) for p in service.list_promotions(session, kind, status)
    ]


@router.post("/admin/promotions", response_model=schemas.PromotionOut, status_code=201, tags=["promotions admin"])
def create_promotion(
    data: schemas.PromotionIn, request: Request, session: DbSession, actor: Annotated[User, require("promotions:write")]
):
    return service.promotion_view(session, service.create_promotion(session, actor, data), flash_of(request))


@router.get("/admin/promotions/{promo_id}", response_model=schemas.PromotionOut, tags=["promotions admin"])
def get_promotion(
    promo_id: IdPath, request: Request, session: DbSession, _: Annotated[User, require("promotions:write")]
):
    return service.promotion_view(session, service.get_promotion(session, promo_id), flash_of(request))


@router.patch("/admin/promotions/{promo_id}", response_model=schemas.PromotionOut, tags=["promotions admin"])
def update_promotion(
    promo_id: IdPath,
    data: schemas.PromotionPatch,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("promotions:write")],
):
    return service.promotion_view(session, service.update_promotion(session, actor, promo_id, data), flash_of(request))


@router.post("/admin/promotions/{promo_id}/actions", response_model=schemas.PromotionOut, tags=["promotions admin"])
def promotion_action(
    promo_id: IdPath,
    data: schemas.ActionIn,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("promotions:write")],
):
    """submit for review, pause, resume or end."""
    promo = service.get_promotion(session, promo_id)
    service.act(session, actor, promo, data.action)
    return service.promotion_view(session, promo, flash_of(request))


@router.post("/admin/promotions/{promo_id}/review", response_model=schemas.PromotionOut, tags=["promotions admin"])
def review_promotion(
    promo_id: IdPath,
    data: schemas.ReviewIn,
    request: Request,
    session: DbSession,
    reviewer: Annotated[User, require("promotions:approve")],
):
    promo = service.get_promotion(session, promo_id)
    service.review(session, reviewer, promo, data.decision, data.note)
    return service.promotion_view(session, promo, flash_of(request))


@router.get("/admin/promotions/{promo_id}/results", response_model=schemas.PromotionResults, tags=["promotions admin"])
def promotion_results(promo_id: IdPath, session: DbSession, _: Annotated[User, require("promotions:write")]):
    return service.results(session, promo_id)


@router.post("/admin/pricing/preview", response_model=schemas.BreakdownOut, tags=["promotions admin"])
def pricing_preview(data: schemas.PreviewIn, session: DbSession, _: Annotated[User, require("promotions:write")]):
    """What a sample cart would cost: running promotions plus any drafts named in include_promotion_ids."""
    extra = [service.get_promotion(session, i) for i in data.include_promotion_ids]
    b = service.preview_for_level(
        session,
        [(i.product_id, i.quantity) for i in data.items],
        data.member_level,
        coupon_id=data.coupon_id,
        at=data.at,
        extra=extra,
    )
    return breakdown_out(b)


# --- console: coupons ------------------------------------------------------------------------------------------


@router.get("/admin/coupons", response_model=list[schemas.CouponOut], tags=["promotions admin"])
def list_coupons(session: DbSession, _: Annotated[User, require("promotions:write")]):
    return [service.coupon_view(c) for c in service.list_coupons(session)]


@router.post("/admin/coupons", response_model=schemas.CouponOut, status_code=201, tags=["promotions admin"])
def create_coupon(data: schemas.CouponIn, session: DbSession, actor: Annotated[User, require("promotions:write")]):
    return service.coupon_view(service.create_coupon(session, actor, data))


@router.post("/admin/coupons/{coupon_id}/actions", response_model=schemas.CouponOut, tags=["promotions admin"])
def coupon_action(
    coupon_id: IdPath, data: schemas.ActionIn, session: DbSession, actor: Annotated[User, require("promotions:write")]
):
    coupon = service.get_coupon(session, coupon_id)
    service.act(session, actor, coupon, data.action)
    return service.coupon_view(coupon)


@router.post("/admin/coupons/{coupon_id}/review", response_model=schemas.CouponOut, tags=["promotions admin"])
def review_coupon(
    coupon_id: IdPath,
    data: schemas.ReviewIn,
    session: DbSession,
    reviewer: Annotated[User, require("promotions:approve")],
):
    coupon = service.get_coupon(session, coupon_id)
    service.review(session, reviewer, coupon, data.decision, data.note)
    return service.coupon_view(coupon)


@router.post("/admin/coupons/{coupon_id}/codes", tags=["promotions admin"], response_class=Response)
def coupon_codes(
    coupon_id: IdPath,
    data: schemas.BulkCodesIn,
    session: DbSession,
    actor: Annotated[User, require("promotions:write")],
):
    """Single-use codes in bulk, as a CSV download (one code per line)."""
    codes = service.bulk_codes(session, actor, coupon_id, data.count)
    return Response(
        "code\n" + "\n".join(codes) + "\n",
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="coupon-{coupon_id}-codes.csv"'},
    )


@router.post("/admin/coupons/{coupon_id}/issue", tags=["promotions admin"])
def issue_coupon(
    coupon_id: IdPath, data: schemas.IssueIn, session: DbSession, actor: Annotated[User, require("promotions:write")]
):
    return {"issued": service.issue(session, actor, coupon_id, data.user_ids)}


# --- storefront ---------------------------------------------------------------------------------------------------


@router.get("/coupons/claimable", response_model=list[schemas.CouponOut], tags=["coupons"])
def claimable(session: DbSession):
    return [service.coupon_view(c) for c in service.claimable(session)]


def _grant_out(grant, coupon) -> schemas.GrantOut:
    return schemas.GrantOut(
        id=grant.id,
        coupon=service.coupon_view(coupon),
        status=grant.status,
        code=grant.code,
        granted_at=grant.granted_at,
        usable_now=grant.status == "available" and service.state_of(coupon) == "running",
    )


@router.get("/me/coupons", response_model=list[schemas.GrantOut], tags=["coupons"])
def my_coupons(session: DbSession, user: CurrentUser):
    return [_grant_out(g, c) for g, c in service.wallet(session, user)]


@router.post("/coupons/{coupon_id}/claim", response_model=schemas.GrantOut, status_code=201, tags=["coupons"])
def claim_coupon(coupon_id: IdPath, session: DbSession, user: CurrentUser):
    grant = retrying(session, lambda: service.claim(session, user, coupon_id))
    return _grant_out(grant, service.get_coupon(session, grant.coupon_id))


@router.post("/coupons/redeem", response_model=schemas.GrantOut, status_code=201, tags=["coupons"])
def redeem_code(data: schemas.RedeemIn, session: DbSession, user: CurrentUser):
    grant = retrying(session, lambda: service.redeem(session, user, data.code))
    return _grant_out(grant, service.get_coupon(session, grant.coupon_id))


@router.get("/flash-sales", response_model=list[schemas.PromotionOut], tags=["flash sales"])
def flash_sales(request: Request, session: DbSession):
    """Running and upcoming flash sales with their remaining stock."""
    return [
        service.promotion_view(session, p, flash_of(request))
        for p in service.list_promotions(session, "flash_sale", "published")
        if service.state_of(p) in ("running", "scheduled")
    ]


def not_sold_out(promo_id: IdPath, request: Request) -> None:
    """Under a rush most requests find the sale sold out: answer them from the sale cache and the stock
    counter alone, before authentication and before any database work."""
    sale = request.app.state.flash_sales.get(promo_id)
    if sale is not None and flash_of(request).known_sold_out(sale):
        raise AppError(409, "FLASH_SOLD_OUT")


@router.post(
    "/flash-sales/{promo_id}/orders",
    response_model=order_schemas.OrderOut,
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
    promo = service.get_promotion(session, promo_id)
    if promo.kind != "flash_sale" or service.state_of(promo) != "running":
        raise AppError(409, "FLASH_NOT_RUNNING")
    sale = session.get(FlashSale, promo.id)
    request.app.state.flash_sales.put(sale)
    if flash_of(request).remaining(session, sale) <= 0:
        raise AppError(409, "FLASH_SOLD_OUT")
    checkout = order_schemas.CheckoutIn(
        address_id=data.address_id,
        items=[order_schemas.OrderItemIn(product_id=promo.rules["product_id"], quantity=data.quantity)],
    )
    order, created = retrying(
        session,
        lambda: orders.place_order(
            session, user, checkout, idempotency_key, flash_of(request), flash_promotion=promo.id
        ),
    )
    if not created:
        response.status_code = 200
    return orders.view(session, order)


@router.get("/me/membership", response_model=schemas.MembershipOut, tags=["membership"])
def my_membership(session: DbSession, user: CurrentUser):
    return membership.summary(session, user.id)


@router.get("/me/points", response_model=list[schemas.PointsEntryOut], tags=["membership"])
def my_points(session: DbSession, user: CurrentUser):
    return [schemas.PointsEntryOut.model_validate(e, from_attributes=True) for e in membership.ledger(session, user.id)]
