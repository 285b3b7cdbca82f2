"""Line and order totals in fen. The promotions capability replaces `totals` with the full pricing engine;
until then the only rule is shipping: free from 99 yuan, else 10 yuan."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from medreach.accounts.models import User
from medreach.catalog import service as catalog
from medreach.catalog.models import Product
from medreach.orders import schemas
from medreach.orders.prescriptions import approved_product_ids

FREE_SHIPPING_FROM_FEN = 9900
SHIPPING_FEN = 1000


def check_line(product: Product, quantity: int, rx_ok: bool) -> str | None:
    """Why this line cannot be bought as it is, or None."""
    if product.is_rx and not rx_ok:
        return "RX_PRESCRIPTION_REQUIRED"
    if quantity > product.max_per_order:
        return "QUANTITY_LIMIT"
    if quantity > product.stock:
        return "OUT_OF_STOCK"
    return None


def lines(session: Session, user: User | None, items: list[tuple[int, int]]) -> list[schemas.CartLineOut]:
    """Priced lines with the display rules applied; banned or withdrawn products are dropped."""
    ids = [pid for pid, _ in items]
    products = {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(ids), *catalog.visible()))}
    approved = approved_product_ids(session, user and user.id)
    out = []
    for product_id, quantity in items:
        p = products.get(product_id)
        if p is None:
            continue
        rx_ok = p.id in approved
        out.append(schemas.CartLineOut(product=catalog.card(p, rx_ok), quantity=quantity,
                                       line_total_fen=p.price_fen * quantity, problem=check_line(p, quantity, rx_ok)))
    return out


def totals(priced: list[schemas.CartLineOut]) -> dict:
    subtotal = sum(line.line_total_fen for line in priced)
    shipping = 0 if subtotal == 0 or subtotal >= FREE_SHIPPING_FROM_FEN else SHIPPING_FEN
    return {"subtotal_fen": subtotal, "shipping_fen": shipping, "total_fen": subtotal + shipping,
            "requires_rx": any(line.product.drug_class == "rx" for line in priced)}
