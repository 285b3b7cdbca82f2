"""Product reviews: only buyers of a product review it; every review passes moderation before it shows.

Text is stored as written and escaped where it is rendered (the UI renders it as text, never as HTML).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from medreach.accounts import service as accounts
from medreach.catalog import service as catalog
from medreach.core.db import get_or_404
from medreach.core.errors import AppError
from medreach.core.events import emit
from medreach.core.pagination import PageParams, paginate
from medreach.core.security import mask_name
from medreach.ops.service import audit
from medreach.orders import schemas, state
from medreach.orders.models import Order, OrderLine, Review

if TYPE_CHECKING:  # types only: users are read through their domain's service
    from medreach.accounts.models import User

REVIEWABLE = (state.COMPLETED, state.SHIPPED)


def post(session: Session, user: User, product_id: int, data: schemas.ReviewIn) -> Review:
    product = catalog.get_visible_product(session, product_id)
    order_id = session.scalar(
        select(Order.id)
        .join(OrderLine)
        .where(Order.user_id == user.id, OrderLine.product_id == product.id, Order.status.in_(REVIEWABLE))
        .where(~Order.id.in_(select(Review.order_id).where(Review.user_id == user.id, Review.product_id == product.id)))
        .order_by(Order.id)
    )
    if order_id is None:
        raise AppError(403, "REVIEW_NOT_A_BUYER", product=product.sku)
    review = Review(
        product_id=product.id, user_id=user.id, order_id=order_id, rating=data.rating, body=data.body.strip()
    )
    session.add(review)
    try:
        session.flush()
    except IntegrityError as e:
        session.rollback()
        raise AppError(409, "REVIEW_EXISTS") from e
    emit(session, "Product Reviewed", user_id=user.id, product_id=product.id, review_id=review.id, rating=data.rating)
    session.commit()
    return review


def view(review: Review, author: str) -> schemas.ReviewOut:
    return schemas.ReviewOut(
        id=review.id,
        product_id=review.product_id,
        user_id=review.user_id,
        author=mask_name(author) or "匿名用户",
        rating=review.rating,
        body=review.body,
        status=review.status,
        moderation_reason=review.moderation_reason,
        created_at=review.created_at,
    )


def _with_authors(session: Session, reviews: list[Review]) -> list[tuple[Review, str]]:
    names = accounts.names_of(session, [r.user_id for r in reviews])
    return [(r, names.get(r.user_id, "")) for r in reviews]


def approved_for(session: Session, product_id: int, params: PageParams) -> tuple[list[tuple[Review, str]], int]:
    """A product's approved reviews, newest first, each with its author's name."""
    rows, total = paginate(
        session,
        select(Review).where(Review.product_id == product_id, Review.status == "approved").order_by(Review.id.desc()),
        params,
    )
    return _with_authors(session, rows), total


def ratings(session: Session, product_ids: list[int]) -> dict[int, tuple[float, int]]:
    """Average rating and count of approved reviews per product."""
    if not product_ids:
        return {}
    rows = session.execute(
        select(Review.product_id, func.avg(Review.rating), func.count())
        .where(Review.product_id.in_(product_ids), Review.status == "approved")
        .group_by(Review.product_id)
    )
    return {pid: (round(float(avg), 1), n) for pid, avg, n in rows}


def rating_totals(session: Session, product_ids: list[int]) -> dict[int, tuple[int, int]]:
    """The sum of the ratings and the count of approved reviews per product (to join with other reviews)."""
    if not product_ids:
        return {}
    rows = session.execute(
        select(Review.product_id, func.sum(Review.rating), func.count())
        .where(Review.product_id.in_(product_ids), Review.status == "approved")
        .group_by(Review.product_id)
    )
    return {pid: (int(total), n) for pid, total, n in rows}


def queue(session: Session, params: PageParams, status: str = "pending") -> tuple[list[tuple[Review, str]], int]:
    """The moderation queue, oldest first, each review with its author's name."""
    rows, total = paginate(session, select(Review).where(Review.status == status).order_by(Review.id), params)
    return _with_authors(session, rows), total


def moderate(session: Session, moderator: User, review_id: int, data: schemas.ModerateIn) -> tuple[Review, str]:
    """Approve or reject a pending review (a reason is required to reject); the review and its author's name."""
    review = get_or_404(session, Review, review_id, "review")
    if review.status != "pending":
        raise AppError(409, "REVIEW_ALREADY_MODERATED", current=review.status)
    if data.decision == "reject" and not data.reason.strip():
        raise AppError(422, "VALIDATION_ERROR", field="reason")
    review.status = "approved" if data.decision == "approve" else "rejected"
    review.moderator_id, review.moderation_reason = moderator.id, data.reason
    review.moderated_at = datetime.now(UTC)
    audit(
        session,
        actor_id=moderator.id,
        actor_login=moderator.login,
        action=f"reviews.{data.decision}",
        subject_type="review",
        subject_id=review.id,
        detail={"reason": data.reason},
    )
    session.commit()
    return review, accounts.names_of(session, [review.user_id]).get(review.user_id, "")


def mine(session: Session, user: User, params: PageParams):
    return paginate(session, select(Review).where(Review.user_id == user.id).order_by(Review.id.desc()), params)
