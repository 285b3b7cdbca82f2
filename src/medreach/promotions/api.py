"""Routes for promotions: the console's editing, review and pricing preview; the storefront's coupons, flash
sales, membership and points. A promotion's results (paid orders) and buying at a flash sale (placing an
order) meet the orders domain, above this one: their routes live in orders/api.py."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Request, Response

from medreach.accounts.deps import AppCache, CurrentUser, DbSession, require
from medreach.accounts.models import User
from medreach.core.db import retrying
from medreach.core.openapi import problem_responses
from medreach.core.params import IdPath
from medreach.promotions import membership, schemas, service

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
    return service.breakdown_out(b)


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


@router.post(
    "/coupons/redeem",
    response_model=schemas.GrantOut,
    status_code=201,
    tags=["coupons"],
    responses=problem_responses(
        **{
            "404": "No coupon has this code (COUPON_CODE_UNKNOWN)",
            "409": "The code was used, its coupon is over or its limit reached",
            "429": "Too many codes tried by this customer or from this address (COUPON_CODE_RATE_LIMITED)",
        }
    ),
)
def redeem_code(data: schemas.RedeemIn, session: DbSession, cache: AppCache, user: CurrentUser):
    """Redeem a coupon code: a public one or a single-use one made in bulk. Tries are limited per customer and
    per client IP in a window (429 with Retry-After)."""
    grant = service.redeem_code(session, cache, user, data.code)
    return _grant_out(grant, service.get_coupon(session, grant.coupon_id))


@router.get("/shipping", response_model=schemas.ShippingTermsOut, tags=["promotions"])
def shipping_terms(session: DbSession):
    """The shipping fee and the free-shipping threshold in force now (the storefront's 满X元包邮)."""
    return service.shipping_terms(session)


@router.get("/flash-sales", response_model=list[schemas.PromotionOut], tags=["flash sales"])
def flash_sales(request: Request, session: DbSession):
    """Running and upcoming flash sales with their remaining stock."""
    return [
        service.promotion_view(session, p, flash_of(request))
        for p in service.list_promotions(session, "flash_sale", "published")
        if service.state_of(p) in ("running", "scheduled")
    ]


@router.get("/me/membership", response_model=schemas.MembershipOut, tags=["membership"])
def my_membership(session: DbSession, user: CurrentUser):
    return membership.summary(session, user.id)


@router.get("/me/points", response_model=list[schemas.PointsEntryOut], tags=["membership"])
def my_points(session: DbSession, user: CurrentUser):
    return [schemas.PointsEntryOut.model_validate(e, from_attributes=True) for e in membership.ledger(session, user.id)]
