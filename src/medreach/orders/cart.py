"""Carts for customers and guests. A guest's cart is found by its token and merges into the account at login."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from medreach.catalog import service as catalog
from medreach.core.errors import AppError, not_found
from medreach.core.events import emit
from medreach.orders import pricing, schemas
from medreach.orders.models import Cart, CartItem
from medreach.orders.prescriptions import approved_product_ids
from medreach.orders.pricing import check_line
from medreach.promotions.flash import FlashStock

if TYPE_CHECKING:  # types only: users and products are read through their domains' services
    from medreach.accounts.models import User
    from medreach.catalog.models import Product


def find_cart(session: Session, user: User | None, guest_token: str | None) -> Cart | None:
    if user is not None:
        return session.scalar(select(Cart).where(Cart.user_id == user.id))
    if guest_token:
        return session.scalar(select(Cart).where(Cart.guest_token == guest_token, Cart.user_id.is_(None)))
    return None


def _cart_for_write(session: Session, user: User | None, guest_token: str | None) -> Cart:
    cart = find_cart(session, user, guest_token)
    if cart is not None:
        return cart
    cart = Cart(user_id=user.id if user else None, guest_token=None if user else secrets.token_urlsafe(24))
    session.add(cart)
    try:
        session.flush()
    except IntegrityError:  # the same user's first two adds raced: use the cart that won
        session.rollback()
        winner = find_cart(session, user, guest_token)
        if winner is None:
            raise  # some other conflict
        return winner
    return cart


def _item(cart: Cart | None, product_id: int) -> tuple[Cart, CartItem]:
    """The cart and its line for this product, or a 404."""
    item = next((i for i in cart.items if i.product_id == product_id), None) if cart else None
    if cart is None or item is None:
        raise not_found("cart item")
    return cart, item


def _refuse(problem: str, product: Product) -> AppError:
    return AppError(
        409 if problem == "OUT_OF_STOCK" else 422,
        problem,
        field="quantity" if problem != ("RX_PRESCRIPTION_REQUIRED") else "product_id",
        product=product.sku,
        limit=product.max_per_order,
        available=max(product.stock, 0),
    )


def add_item(
    session: Session,
    user: User | None,
    guest_token: str | None,
    data: schemas.CartItemIn,
    anonymous_id: str | None = None,
) -> Cart:
    product = catalog.get_visible_product(session, data.product_id)
    cart = _cart_for_write(session, user, guest_token)
    item = next((i for i in cart.items if i.product_id == product.id), None)
    quantity = (item.quantity if item else 0) + data.quantity
    problem = check_line(product, quantity, product.id in approved_product_ids(session, user.id if user else None))
    if problem:
        raise _refuse(problem, product)
    if item:
        item.quantity = quantity
    else:
        cart.items.append(CartItem(product_id=product.id, quantity=quantity))
    emit(
        session,
        "Product Added",
        user_id=user.id if user else None,
        anonymous_id=anonymous_id or cart.guest_token,
        product_id=product.id,
        sku=product.sku,
        quantity=data.quantity,
        price=product.price_fen / 100,
        cart_id=cart.id,
    )
    session.commit()
    return cart


def set_quantity(session: Session, user: User | None, guest_token: str | None, product_id: int, quantity: int) -> Cart:
    cart, item = _item(find_cart(session, user, guest_token), product_id)
    product = catalog.get_visible_product(session, product_id)
    if quantity > item.quantity:  # going down is always allowed, even below a stock that fell meanwhile
        problem = check_line(product, quantity, product.id in approved_product_ids(session, user.id if user else None))
        if problem:
            raise _refuse(problem, product)
    item.quantity = quantity
    session.commit()
    return cart


def remove_item(
    session: Session, user: User | None, guest_token: str | None, product_id: int, anonymous_id: str | None = None
) -> Cart:
    cart, item = _item(find_cart(session, user, guest_token), product_id)
    cart.items.remove(item)
    emit(
        session,
        "Product Removed",
        user_id=user.id if user else None,
        anonymous_id=anonymous_id or cart.guest_token,
        product_id=product_id,
        quantity=item.quantity,
        cart_id=cart.id,
    )
    session.commit()
    return cart


def clear(session: Session, cart: Cart | None, product_ids: set[int] | None = None) -> None:
    if cart is None:
        return
    for item in list(cart.items):
        if product_ids is None or item.product_id in product_ids:
            cart.items.remove(item)


def merge(session: Session, user: User, guest_token: str) -> Cart:
    """Move a guest cart into the user's cart: quantities add up, capped by each product's limits."""
    guest = find_cart(session, None, guest_token)
    cart = _cart_for_write(session, user, None)
    if guest is not None:
        products = catalog.products_by_id(session, [g.product_id for g in guest.items])
        for g in guest.items:
            product = products[g.product_id]
            mine = next((i for i in cart.items if i.product_id == g.product_id), None)
            quantity = min((mine.quantity if mine else 0) + g.quantity, product.max_per_order, max(product.stock, 1))
            if mine:
                mine.quantity = quantity
            else:
                cart.items.append(CartItem(product_id=g.product_id, quantity=quantity))
        session.delete(guest)
    session.commit()
    return cart


def show(
    session: Session, user: User | None, guest_token: str | None, anonymous_id: str | None, flash: FlashStock
) -> schemas.CartOut:
    """The caller's cart, priced; records Cart Viewed when it holds anything."""
    cart = find_cart(session, user, guest_token)
    if cart is not None and cart.items:
        emit(
            session,
            "Cart Viewed",
            user_id=user.id if user else None,
            anonymous_id=anonymous_id or cart.guest_token,
            cart_id=cart.id,
            products=[{"product_id": i.product_id, "quantity": i.quantity} for i in cart.items],
        )
        session.commit()
    return view(session, user, cart, flash)


def view(session: Session, user: User | None, cart: Cart | None, flash: FlashStock | None = None) -> schemas.CartOut:
    items = [(i.product_id, i.quantity) for i in cart.items] if cart else []
    lines, b = pricing.priced(session, user, items, flash=flash)
    return schemas.CartOut(
        guest_token=cart.guest_token if cart else None,
        lines=lines,
        item_count=sum(q for _, q in items),
        subtotal_fen=b.subtotal_fen,
        discount_fen=b.discount_fen + b.points_fen,
        shipping_fen=b.shipping_fen,
        total_fen=b.total_fen,
        requires_rx=any(line.product.drug_class == "rx" for line in lines),
        breakdown=b,
    )
