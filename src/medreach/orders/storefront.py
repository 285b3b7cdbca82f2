"""The storefront's product list and product page. Catalog owns the products and their display rules
(catalog.service.card/detail); what a card shows beyond the product itself is known only up here, where
catalog, promotions and this domain's prescriptions and reviews meet, and is handed down as CardFacts. Ratings
count the reviews that exist only in the lake (the simulated world's) beside the database's approved ones
(`lake_figures`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from medreach.catalog import schemas as catalog_schemas
from medreach.catalog import service as catalog
from medreach.catalog.search import SearchIndex, SearchQuery
from medreach.orders import lake_figures, prescriptions, reviews
from medreach.promotions import service as promotions

if TYPE_CHECKING:  # types only: users and products are read through their domains' services
    from medreach.accounts.models import User
    from medreach.catalog.models import Product


def facts_for(session: Session, viewer: User | None, lake_dir: Path) -> catalog.FactsOf:
    """The facts of products as this viewer sees them: the Rx products they may buy now (an approved
    prescription not yet used) and those whose images and instructions they may read (any approved one, used
    or not), ratings from approved reviews and the lake's, and the running promotions' prices."""
    user_id = viewer.id if viewer else None

    def of(products: list[Product]) -> catalog.CardFacts:
        ids = [p.id for p in products]
        return catalog.CardFacts(
            rx_unlocked=frozenset(prescriptions.usable_product_ids(session, user_id)),
            rx_shown=frozenset(prescriptions.approved_product_ids(session, user_id)),
            ratings=lake_figures.with_ratings(reviews.rating_totals(session, ids), lake_figures.read(lake_dir), ids),
            promo_prices=promotions.unit_prices(session, products),
        )

    return of


def search(
    session: Session,
    index: SearchIndex,
    query: SearchQuery,
    viewer: User | None,
    anonymous_id: str | None,
    lake_dir: Path,
) -> catalog_schemas.SearchOut:
    return catalog.search_page(
        session,
        index,
        query,
        user_id=viewer.id if viewer else None,
        anonymous_id=anonymous_id,
        facts_of=facts_for(session, viewer, lake_dir),
    )


def product_page(
    session: Session, product_id: int, viewer: User | None, anonymous_id: str | None, lake_dir: Path
) -> catalog_schemas.ProductDetail:
    return catalog.product_page(
        session,
        product_id,
        user_id=viewer.id if viewer else None,
        anonymous_id=anonymous_id,
        facts_of=facts_for(session, viewer, lake_dir),
    )
