"""Cart and checkout prices, from the one pricing engine (promotions.engine via promotions.service),
with the storefront's display rules applied to each line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from medreach.catalog import service as catalog
from medreach.orders import prescriptions, schemas
from medreach.promotions import schemas as promotion_schemas
from medreach.promotions import service as promotions
from medreach.promotions.flash import FlashStock

if TYPE_CHECKING:  # types only: users and products are read through their domains' services
    from medreach.accounts.models import User
    from medreach.catalog.models import Product


def check_line(product: Product, quantity: int, rx_ok: bool) -> str | None:
    """Why this line cannot be bought as it is, or None."""
    if product.is_rx and not rx_ok:
        return "RX_PRESCRIPTION_REQUIRED"
    if quantity > product.max_per_order:
        return "QUANTITY_LIMIT"
    if quantity > product.stock:
        return "OUT_OF_STOCK"
    return None


def priced(
    session: Session,
    user: User | None,
    items: list[tuple[int, int]],
    *,
    coupon_grant_id: int | None = None,
    points: int = 0,
    flash: FlashStock | None = None,
) -> tuple[list[schemas.CartLineOut], promotion_schemas.BreakdownOut]:
    """Priced lines with the display rules applied, and the engine's breakdown; banned or withdrawn
    products are dropped."""
    products = {p.id: p for p in catalog.visible_by_ids(session, [pid for pid, _ in items])}
    items = [(pid, q) for pid, q in items if pid in products]
    b = promotions.quote(session, user, items, coupon_grant_id=coupon_grant_id, points=points, flash=flash)
    user_id = user.id if user else None
    usable = frozenset(prescriptions.usable_product_ids(session, user_id))
    facts = catalog.CardFacts(
        rx_unlocked=usable, rx_shown=frozenset(prescriptions.approved_product_ids(session, user_id))
    )
    lines = []
    for line in b.lines:
        p = products[line.product_id]
        rx_ok = p.id in usable
        lines.append(
            schemas.CartLineOut(
                product=catalog.card(p, facts),
                quantity=line.quantity,
                line_total_fen=line.list_total_fen,
                discount_fen=line.discount_fen,
                final_fen=line.final_fen,
                flash_units=line.flash_units,
                problem=check_line(p, line.quantity, rx_ok),
            )
        )
    return lines, promotions.breakdown_out(b)
