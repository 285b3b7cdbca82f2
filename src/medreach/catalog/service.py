"""Catalog logic: categories, products (with the negative list applied on every save), import and export,
bulk updates, stock reservation, the storefront's display rules, and keeping the search index in step.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING, cast

from pydantic import ValidationError
from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.orm import Session

from medreach.catalog import schemas
from medreach.catalog.models import DRUG_CLASS_NAMES, MEDICINE_CLASSES, Category, Product, StockMovement
from medreach.catalog.search import SearchDoc, SearchIndex, SearchQuery
from medreach.compliance import ingredients as knowledge
from medreach.compliance import negative_list
from medreach.core.db import get_or_404
from medreach.core.errors import AppError, not_found
from medreach.core.events import emit
from medreach.core.exports import unescape_cell, write_csv, write_xlsx
from medreach.core.pagination import PageParams, paginate
from medreach.core.schemas import FROM_TEXT
from medreach.ops.service import audit

if TYPE_CHECKING:  # types only: users are read through their domain's service
    from medreach.accounts.models import User

LOW_STOCK = 10
MAX_IMPORT_ROWS = 20_000
EXPORT_COLUMNS = list(schemas.ProductIn.model_fields)


# --- categories -----------------------------------------------------------------------------------


def upsert_categories(session: Session, rows: Iterable[dict]) -> int:
    """Create or update categories from rows of code, parent_code, name_zh, name_en, sort (parents first)."""
    by_code = {c.code: c for c in session.scalars(select(Category))}
    count = 0
    for row in rows:
        cat = by_code.get(row["code"]) or Category(code=row["code"])
        parent = by_code.get(row.get("parent_code") or "")
        cat.parent_id = parent.id if parent else None
        cat.name_zh, cat.name_en, cat.sort = row["name_zh"], row.get("name_en", ""), int(row.get("sort") or 0)
        session.add(cat)
        session.flush()
        by_code[cat.code] = cat
        count += 1
    session.commit()
    return count


def save_category(session: Session, actor: User, data: schemas.CategoryIn) -> Category:
    """Create a category or rename/move an existing one (no cycles: a parent cannot be its own descendant)."""
    cat = session.scalar(select(Category).where(Category.code == data.code)) or Category(code=data.code)
    parent = get_category(session, data.parent_code, field="parent_code") if data.parent_code else None
    if parent is not None and cat.id is not None and parent.id in subtree_ids(session, cat.code):
        raise AppError(422, "CATEGORY_CYCLE", field="parent_code", category=data.parent_code)
    cat.parent, cat.name_zh, cat.name_en, cat.sort = parent, data.name_zh, data.name_en, data.sort
    session.add(cat)
    audit(
        session,
        actor_id=actor.id,
        actor_login=actor.login,
        action="categories.save",
        subject_type="category",
        subject_id=data.code,
        detail=data.model_dump(),
    )
    session.commit()
    return cat


def category_path(category: Category) -> list[str]:
    path = []
    node: Category | None = category
    while node is not None:
        path.append(node.code)
        node = node.parent
    return list(reversed(path))


def category_tree(session: Session) -> list[schemas.CategoryOut]:
    cats = list(session.scalars(select(Category).order_by(Category.sort, Category.id)))
    counts = dict(
        session.execute(select(Product.category_id, func.count()).where(*visible()).group_by(Product.category_id)).all()
    )
    nodes = {
        c.id: schemas.CategoryOut(
            id=c.id,
            code=c.code,
            parent_code=c.parent.code if c.parent else None,
            name_zh=c.name_zh,
            name_en=c.name_en,
            product_count=counts.get(c.id, 0),
        )
        for c in cats
    }
    roots = []
    for c in cats:
        if c.parent_id in nodes:
            nodes[c.parent_id].children.append(nodes[c.id])
        else:
            roots.append(nodes[c.id])

    def total(node: schemas.CategoryOut) -> int:
        node.product_count += sum(total(child) for child in node.children)
        return node.product_count

    for r in roots:
        total(r)
    return roots


def get_category(session: Session, code: str, field: str = "category_code") -> Category:
    cat = session.scalar(select(Category).where(Category.code == code))
    if cat is None:
        raise AppError(422, "CATEGORY_UNKNOWN", field=field, category=code)
    return cat


def subtree_ids(session: Session, code: str) -> list[int]:
    cats = list(session.scalars(select(Category)))
    root = next((c for c in cats if c.code == code), None)
    if root is None:
        return []
    ids, frontier = {root.id}, [root.id]
    while frontier:
        frontier = [c.id for c in cats if c.parent_id in frontier]
        ids.update(frontier)
    return sorted(ids)


# --- products --------------------------------------------------------------------------------------


def visible():
    """What a customer may ever see: active and not banned from online sale."""
    return (Product.is_active.is_(True), Product.online_banned.is_(False))


def verdict_of(product: Product) -> negative_list.Verdict:
    """The negative list's verdict on a product: from its ingredients, generic name and form, and its flags."""
    return negative_list.check(
        generic_name=product.generic_name,
        dosage_form=product.dosage_form,
        special_flags=product.special_flags or [],
        atc_code=product.atc_code,
        drug_class=product.drug_class,
        ingredients=product.ingredient_codes,
    )


def apply_negative_list(product: Product) -> None:
    """Derive online_banned on every save. No value given by staff takes part but the product's own data, so a
    derived ban (ingredients, generic name, form) cannot be cleared or overridden by editing the flags."""
    verdict = verdict_of(product)
    product.online_banned, product.banned_reason = verdict.banned, verdict.reason
    product.negative_list_version = verdict.version


def recheck_negative_list(session: Session, index: SearchIndex | None = None) -> int:
    """Re-derive every product's ban (after the rules or the ingredient knowledge changed); the number changed."""
    changed = []
    for product in session.scalars(select(Product)):
        before = (product.online_banned, product.banned_reason, product.negative_list_version)
        apply_negative_list(product)
        if before != (product.online_banned, product.banned_reason, product.negative_list_version):
            changed.append(product)
    session.commit()
    sync_index(index, changed)
    return len(changed)


def missing_ingredients(drug_class: str, items: list | None) -> bool:
    """A drug (rx, OTC) needs its active ingredients; devices, health food and other goods do not."""
    return drug_class in MEDICINE_CLASSES and not items


def _require_ingredients(product: Product) -> None:
    if missing_ingredients(product.drug_class, product.active_ingredients):
        raise AppError(422, "INGREDIENTS_REQUIRED", field="active_ingredients", drug_class=product.drug_class)


def _assign(session: Session, product: Product, values: dict) -> None:
    if "category_code" in values:
        product.category = get_category(session, values.pop("category_code"))
    for field, value in values.items():
        setattr(product, field, value)
    apply_negative_list(product)


def ingredients_view(items: list[dict] | None) -> list[schemas.ActiveIngredientOut]:
    out = []
    for item in items or []:
        known = knowledge.get(item["code"])
        out.append(
            schemas.ActiveIngredientOut(
                code=item["code"],
                amount=item.get("amount"),
                unit=item.get("unit", ""),
                name_zh=known.name_zh if known else item["code"],
                name_en=known.name_en if known else item["code"],
            )
        )
    return out


def admin_view(p: Product) -> schemas.ProductAdminOut:
    skip = ("category_code", "active_ingredients")
    data = {f: getattr(p, f) for f in schemas.ProductIn.model_fields if f not in skip}
    verdict = verdict_of(p)
    return schemas.ProductAdminOut(
        **data,
        active_ingredients=ingredients_view(p.active_ingredients),
        category_code=p.category.code,
        id=p.id,
        category_name=p.category.name_zh,
        online_banned=p.online_banned,
        banned_reason=p.banned_reason,
        ban_findings=[
            schemas.BanFinding(
                flag=f.flag, label=f.label, ingredients=list(f.ingredients), generic=f.generic, derived=f.derived
            )
            for f in verdict.findings
        ],
        ban_derived=verdict.derived,
        negative_list_version=p.negative_list_version,
        sales=p.sales,
        days_of_supply=p.days_of_supply,
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


def get_product(session: Session, product_id: int) -> Product:
    return get_or_404(session, Product, product_id, "product")


def products_by_id(session: Session, ids: Iterable[int]) -> dict[int, Product]:
    """These products by id, whatever their state (the caller checks what it needs: a gift, an order line)."""
    wanted = set(ids)
    return {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(wanted)))} if wanted else {}


def visible_by_ids(session: Session, ids: list[int]) -> list[Product]:
    return list(session.scalars(select(Product).where(Product.id.in_(ids), *visible()))) if ids else []


def get_visible_product(session: Session, product_id: int) -> Product:
    """A product a customer may see; banned and inactive ones do not exist for customers."""
    product = get_or_404(session, Product, product_id, "product")
    if not product.is_active or product.online_banned:
        raise not_found("product")
    return product


def create_product(session: Session, actor: User, data: schemas.ProductIn, index: SearchIndex | None) -> Product:
    if session.scalar(select(Product.id).where(Product.sku == data.sku)):
        raise AppError(409, "SKU_TAKEN", field="sku", sku=data.sku)
    product = Product()
    _assign(session, product, data.model_dump())
    _require_ingredients(product)
    session.add(product)
    session.flush()
    _movement(session, product.id, product.stock, "initial", actor_id=actor.id)
    audit(
        session,
        actor_id=actor.id,
        actor_login=actor.login,
        action="products.create",
        subject_type="product",
        subject_id=product.id,
        detail={"sku": product.sku, "online_banned": product.online_banned},
    )
    session.commit()
    sync_index(index, [product])
    return product


def update_product(
    session: Session, actor: User, product_id: int, data: schemas.ProductPatch, index: SearchIndex | None
) -> Product:
    product = get_product(session, product_id)
    changes = data.model_dump(exclude_unset=True)
    nullable = {"daily_dose", "expiry_date"}
    changes = {k: v for k, v in changes.items() if v is not None or k in nullable}
    old_stock = product.stock
    _assign(session, product, dict(changes))
    if {"active_ingredients", "drug_class"} & set(changes):
        _require_ingredients(product)
    if "stock" in changes and changes["stock"] != old_stock:
        _movement(session, product.id, changes["stock"] - old_stock, "manual", actor_id=actor.id)
    audit(
        session,
        actor_id=actor.id,
        actor_login=actor.login,
        action="products.update",
        subject_type="product",
        subject_id=product.id,
        detail={"changed": sorted(changes), "online_banned": product.online_banned},
    )
    session.commit()
    sync_index(index, [product])
    return product


def search_admin(
    session: Session,
    params: PageParams,
    *,
    q: str | None = None,
    category: str | None = None,
    drug_class: str | None = None,
    banned: bool | None = None,
    low_stock: bool = False,
    active: bool | None = None,
) -> tuple[list[Product], int]:
    query = select(Product)
    if q:
        like = q.strip()
        query = query.where(
            or_(
                Product.sku == like,
                Product.generic_name.contains(like, autoescape=True),
                Product.brand_name.contains(like, autoescape=True),
                Product.manufacturer.contains(like, autoescape=True),
            )
        )
    if category:
        query = query.where(Product.category_id.in_(subtree_ids(session, category)))
    if drug_class:
        query = query.where(Product.drug_class == drug_class)
    if banned is not None:
        query = query.where(Product.online_banned.is_(banned))
    if active is not None:
        query = query.where(Product.is_active.is_(active))
    if low_stock:
        query = query.where(Product.stock <= LOW_STOCK)
    return paginate(session, query.order_by(Product.id), params)


# --- import, export, bulk updates ---------------------------------------------------------------------


def read_table(content: bytes, filename: str) -> list[dict]:
    """Rows of a CSV (UTF-8, with or without BOM; or GBK) or XLSX file as dicts keyed by the header."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
        except Exception as e:  # openpyxl raises many types for a damaged file
            raise AppError(422, "IMPORT_UNREADABLE", field="file", reason=type(e).__name__) from e
        rows = sheet.iter_rows(values_only=True)
        header = [str(h or "").strip() for h in next(rows, [])]
        return [
            {h: ("" if v is None else v) for h, v in zip(header, r, strict=False)}
            for r in rows
            if any(v not in (None, "") for v in r)
        ]
    if name.endswith(".csv"):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = content.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise AppError(422, "IMPORT_UNREADABLE", field="file", reason="encoding")
        return [
            {(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))
        ]
    raise AppError(415, "IMPORT_UNSUPPORTED", field="file", reason="use .csv or .xlsx")


def _clean(row: dict) -> dict:
    out = {}
    for k, v in row.items():
        if k not in schemas.ProductIn.model_fields or v is None or (isinstance(v, str) and v.strip() == ""):
            continue
        if k in ("sku", "atc_code", "category_code") and isinstance(v, (int, float)):
            v = str(v)
        v = unescape_cell(v)  # a cell our own export escaped
        out[k] = v.strip() if isinstance(v, str) else v
    return out


def import_products(
    session: Session,
    actor: User | None,
    rows: list[dict],
    *,
    dry_run: bool = False,
    index: SearchIndex | None = None,
    progress: Callable[[int], None] | None = None,
) -> schemas.ImportReport:
    """Create or update products by SKU. Valid rows are applied together; each bad row is reported by
    row number and field, and none of it is written."""
    categories = {c.code: c for c in session.scalars(select(Category))}
    existing = {p.sku: p for p in session.scalars(select(Product))}
    errors: list[schemas.ImportRowError] = []
    created = updated = banned = 0
    seen: set[str] = set()
    touched: list[tuple[Product, int]] = []  # with the stock it gained
    for i, raw in enumerate(rows, start=2):  # row 1 is the header
        sku = str(raw.get("sku", "")).strip()
        try:
            data = schemas.ProductIn.model_validate(_clean(raw), context=FROM_TEXT)  # CSV cells are text
        except ValidationError as e:
            for err in e.errors():
                errors.append(
                    schemas.ImportRowError(
                        row=i, sku=sku, field=".".join(map(str, err["loc"])) or "row", message=err["msg"]
                    )
                )
            continue
        if data.category_code not in categories:
            errors.append(
                schemas.ImportRowError(
                    row=i, sku=sku, field="category_code", message=f"unknown category {data.category_code}"
                )
            )
            continue
        if data.sku in seen:
            errors.append(schemas.ImportRowError(row=i, sku=sku, field="sku", message="duplicate SKU in the file"))
            continue
        if missing_ingredients(data.drug_class, data.active_ingredients):
            errors.append(
                schemas.ImportRowError(
                    row=i,
                    sku=sku,
                    field="active_ingredients",
                    message="a drug (rx, otc_a, otc_b) needs its active ingredients, e.g. pseudoephedrine:90mg;…",
                )
            )
            continue
        seen.add(data.sku)
        values = data.model_dump()
        product = existing.get(data.sku)
        if product is None:
            product, old_stock = Product(), 0
            session.add(product)
            created += 1
        else:
            old_stock = product.stock
            updated += 1
        product.category = categories[values.pop("category_code")]
        for field, value in values.items():
            setattr(product, field, value)
        apply_negative_list(product)
        banned += product.online_banned
        touched.append((product, product.stock - old_stock))
        if progress:
            progress(i - 1)
    if dry_run:
        session.rollback()
    else:
        session.flush()
        for product, delta in touched:
            if delta:
                _movement(session, product.id, delta, "import", actor_id=actor.id if actor else None)
        audit(
            session,
            actor_id=actor.id if actor else None,
            actor_login=actor.login if actor else "cli",
            action="products.import",
            subject_type="product",
            detail={
                "rows": len(rows),
                "created": created,
                "updated": updated,
                "rejected": len({e.row for e in errors}),
            },
        )
        session.commit()
        sync_index(index, [p for p, _ in touched])
    return schemas.ImportReport(
        rows=len(rows),
        created=created,
        updated=updated,
        rejected=len({e.row for e in errors}),
        banned=banned,
        dry_run=dry_run,
        errors=errors,
    )


def import_file(
    session: Session, actor: User, content: bytes, filename: str, *, dry_run: bool, index: SearchIndex | None
) -> schemas.ImportReport:
    """An uploaded CSV or XLSX file through import_products, at most MAX_IMPORT_ROWS rows."""
    rows = read_table(content, filename)
    if len(rows) > MAX_IMPORT_ROWS:
        raise AppError(422, "IMPORT_TOO_MANY_ROWS", field="file", limit=MAX_IMPORT_ROWS)
    return import_products(session, actor, rows, dry_run=dry_run, index=index)


def export_products(session: Session, fmt: str) -> bytes:
    """All products in the import format, as CSV or XLSX; cells are written through core.exports, so no text
    staff typed becomes a formula in a spreadsheet."""
    rows = []
    for p in session.scalars(select(Product).order_by(Product.id)):
        row = {f: getattr(p, f, "") for f in EXPORT_COLUMNS if f != "category_code"}
        row["category_code"] = p.category.code
        row["special_flags"] = ";".join(p.special_flags or [])
        row["active_ingredients"] = schemas.format_ingredients(p.active_ingredients or [])
        row["tags"] = ";".join(p.tags or [])
        rows.append(row)
    if fmt == "xlsx":
        return write_xlsx(EXPORT_COLUMNS, rows, title="products")
    return write_csv(EXPORT_COLUMNS, rows)


def bulk_update(
    session: Session, actor: User, data: schemas.BulkUpdateIn, index: SearchIndex | None
) -> schemas.BulkUpdateOut:
    """Set prices and stock by SKU (absolute stock or a delta). All valid items apply in one transaction."""
    skus = [i.sku for i in data.items]
    products = {p.sku: p for p in session.scalars(select(Product).where(Product.sku.in_(skus)))}
    errors: list[schemas.ImportRowError] = []
    touched = []
    for n, item in enumerate(data.items):
        product = products.get(item.sku)
        if product is None:
            errors.append(schemas.ImportRowError(row=n, sku=item.sku, field="sku", message="unknown SKU"))
            continue
        if item.stock is not None and item.stock_delta is not None:
            errors.append(
                schemas.ImportRowError(
                    row=n, sku=item.sku, field="stock_delta", message="give stock or stock_delta, not both"
                )
            )
            continue
        if item.price_fen is not None:
            product.price_fen = item.price_fen
        delta = (
            item.stock_delta
            if item.stock_delta is not None
            else (item.stock - product.stock if item.stock is not None else 0)
        )
        if delta:
            if product.stock + delta < 0:
                errors.append(
                    schemas.ImportRowError(
                        row=n, sku=item.sku, field="stock_delta", message="stock would fall below zero"
                    )
                )
                continue
            product.stock += delta
            _movement(session, product.id, delta, "bulk", actor_id=actor.id)
        touched.append(product)
    audit(
        session,
        actor_id=actor.id,
        actor_login=actor.login,
        action="products.bulk_update",
        subject_type="product",
        detail={"updated": len(touched), "errors": len(errors)},
    )
    session.commit()
    sync_index(index, touched)
    return schemas.BulkUpdateOut(updated=len(touched), errors=errors)


# --- stock ----------------------------------------------------------------------------------------------


def _movement(
    session: Session, product_id: int, delta: int, reason: str, ref: str = "", actor_id: int | None = None
) -> None:
    session.add(
        StockMovement(
            product_id=product_id, delta=delta, reason=reason, ref=ref, actor_id=actor_id, at=datetime.now(UTC)
        )
    )


def reserve_stock(session: Session, product_id: int, quantity: int, ref: str) -> bool:
    """Take `quantity` units if that many are left, in one conditional UPDATE (no oversell under races)."""
    taken = cast(
        CursorResult,
        session.execute(
            update(Product)
            .where(Product.id == product_id, Product.stock >= quantity)
            .values(stock=Product.stock - quantity, sales=Product.sales + quantity)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    if taken:
        _movement(session, product_id, -quantity, "order_reserve", ref)
    return bool(taken)


def release_stock(session: Session, product_id: int, quantity: int, ref: str) -> None:
    session.execute(
        update(Product)
        .where(Product.id == product_id)
        .values(stock=Product.stock + quantity, sales=Product.sales - quantity)
        .execution_options(synchronize_session=False)
    )
    _movement(session, product_id, quantity, "order_release", ref)


def movements(session: Session, product_id: int, params: PageParams) -> tuple[list[StockMovement], int]:
    return paginate(
        session,
        select(StockMovement).where(StockMovement.product_id == product_id).order_by(StockMovement.id.desc()),
        params,
    )


# --- what customers see ----------------------------------------------------------------------------------


def display_name(p: Product) -> str:
    brand = f"{p.brand_name} " if p.brand_name and p.brand_name not in p.generic_name else ""
    return f"{brand}{p.generic_name} {p.specification}".strip()


def stock_status(p: Product) -> schemas.StockStatus:
    return "out" if p.stock <= 0 else "low" if p.stock <= LOW_STOCK else "in_stock"


def notice_for(p: Product) -> str:
    if p.drug_class == "rx":
        return schemas.RX_NOTICE
    if p.drug_class in ("otc_a", "otc_b"):
        return schemas.OTC_NOTICE
    return ""


@dataclass(frozen=True)
class CardFacts:
    """What only the domains above catalog know about the products on a card, handed in by them: the Rx
    products the viewer may buy now (an approved prescription not yet used) and those whose package image and
    instructions the viewer may see (an approved prescription, used or not), average ratings and counts from
    reviews, and the running promotions' one-unit prices with their labels."""

    rx_unlocked: frozenset[int] = frozenset()
    rx_shown: frozenset[int] = frozenset()
    ratings: Mapping[int, tuple[float, int]] = dataclass_field(default_factory=dict)
    promo_prices: Mapping[int, tuple[int, str]] = dataclass_field(default_factory=dict)


NO_FACTS = CardFacts()
FactsOf = Callable[[list[Product]], CardFacts]  # the facts for these products, as the viewer sees them


def card(p: Product, facts: CardFacts = NO_FACTS) -> schemas.ProductCard:
    """The display rules (COMPLIANCE A3/A4) in one place: an Rx product shows no package image until the viewer's
    prescription for it is approved, and no add-to-cart without an approved one not yet used; a promotional price
    shows beside the list price (the promotions never price Rx products)."""
    locked = p.is_rx and p.id not in facts.rx_unlocked
    hidden = p.is_rx and p.id not in facts.rx_shown | facts.rx_unlocked
    mode: schemas.PurchaseMode = "unavailable" if p.stock <= 0 else "prescription" if locked else "cart"
    rating, review_count = facts.ratings.get(p.id, (None, 0))
    promo_price, promo_label = facts.promo_prices.get(p.id, (None, ""))
    return schemas.ProductCard(
        id=p.id,
        sku=p.sku,
        name=display_name(p),
        generic_name=p.generic_name,
        brand_name=p.brand_name,
        specification=p.specification,
        drug_class=p.drug_class,
        class_label=DRUG_CLASS_NAMES[p.drug_class],
        price_fen=p.price_fen,
        image_url=None if hidden else image_url(p),
        stock_status=stock_status(p),
        purchase_mode=mode,
        notice=notice_for(p),
        rating=rating,
        review_count=review_count,
        promo_price_fen=promo_price,
        promo_label=promo_label,
    )


def detail(p: Product, facts: CardFacts = NO_FACTS) -> schemas.ProductDetail:
    rx_approved = p.id in facts.rx_unlocked
    shown = not p.is_rx or p.id in facts.rx_shown | facts.rx_unlocked
    return schemas.ProductDetail(
        **card(p, facts).model_dump(),
        dosage_form=p.dosage_form,
        manufacturer=p.manufacturer,
        approval_number=p.approval_number,
        category_code=p.category.code,
        category_path=category_path(p.category),
        pack_size=p.pack_size,
        pack_unit=p.pack_unit,
        days_of_supply=p.days_of_supply,
        max_per_order=p.max_per_order,
        rx_approved=rx_approved,
        expiry_date=p.expiry_date,
        indications=p.indications if shown else None,
        contraindications=p.contraindications if shown else None,
        pregnancy=p.pregnancy if shown else None,
        children=p.children if shown else None,
        elderly=p.elderly if shown else None,
        usage_dosage=p.usage_dosage if shown else None,
    )


def search_page(
    session: Session,
    index: SearchIndex,
    query: SearchQuery,
    *,
    user_id: int | None,
    anonymous_id: str | None,
    facts_of: FactsOf,
) -> schemas.SearchOut:
    """Search and browse: visible products only, in the index's order, as cards; records Products Searched
    (with a query) or Product List Viewed."""
    result = index.search(query)
    by_id = {p.id: p for p in visible_by_ids(session, result.ids)}
    products = [by_id[i] for i in result.ids if i in by_id]
    facts = facts_of(products)
    items = [card(p, facts) for p in products]
    if query.text:
        emit(
            session,
            "Products Searched",
            user_id=user_id,
            anonymous_id=anonymous_id,
            query=query.text,
            results=result.total,
            filters={"category": query.category, "drug_class": query.drug_classes, "sort": query.sort},
        )
    else:
        emit(
            session,
            "Product List Viewed",
            user_id=user_id,
            anonymous_id=anonymous_id,
            category=query.category or "",
            products=[{"product_id": p.id} for p in products],
        )
    session.commit()
    return schemas.SearchOut(
        items=items,
        total=result.total,
        limit=query.limit,
        offset=query.offset,
        facets=result.facets,
        corrected=result.corrected,
    )


def product_page(
    session: Session, product_id: int, *, user_id: int | None, anonymous_id: str | None, facts_of: FactsOf
) -> schemas.ProductDetail:
    """A visible product's page; records Product Viewed."""
    product = get_visible_product(session, product_id)
    emit(
        session,
        "Product Viewed",
        user_id=user_id,
        anonymous_id=anonymous_id,
        product_id=product.id,
        sku=product.sku,
        name=product.generic_name,
        brand=product.brand_name,
        category=product.category.code,
        price=product.price_fen / 100,
        drug_class=product.drug_class,
    )
    session.commit()
    return detail(product, facts_of([product]))


def image_url(p: Product) -> str:
    return p.image_url or f"/api/v1/products/{p.id}/image.svg"


_CLASS_COLORS = {
    "rx": "#c0392b",
    "otc_a": "#d35400",
    "otc_b": "#27ae60",
    "device": "#2c7be5",
    "health_food": "#8e44ad",
    "other": "#7f8c8d",
}


def package_svg(p: Product) -> str:
    """A drawn package for products without a photo: brand, generic name, specification, class mark."""
    color = _CLASS_COLORS[p.drug_class]
    label = {"rx": "Rx", "otc_a": "OTC 甲", "otc_b": "OTC 乙"}.get(p.drug_class, DRUG_CLASS_NAMES[p.drug_class])
    lines = [
        escape(p.brand_name or ""),
        escape(p.generic_name[:12]),
        escape(p.generic_name[12:24]),
        escape(p.specification[:16]),
    ]
    texts = "".join(
        f'<text x="160" y="{120 + 34 * i}" font-size="{26 if i < 3 else 18}" text-anchor="middle" '
        f'fill="#1f2d3d">{t}</text>'
        for i, t in enumerate(lines)
        if t
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="320" height="320" viewBox="0 0 320 320">'
        f'<rect width="320" height="320" rx="18" fill="#f7f9fc"/><rect x="20" y="40" width="280" height="240" '
        f'rx="12" fill="#fff" stroke="{color}" stroke-width="4"/><rect x="20" y="40" width="280" height="40" '
        f'rx="12" fill="{color}"/><text x="160" y="68" font-size="20" fill="#fff" text-anchor="middle" '
        f'font-weight="bold">{escape(label)}</text>{texts}<text x="160" y="268" font-size="13" fill="#8492a6" '
        f'text-anchor="middle">{escape(p.manufacturer[:20])}</text></svg>'
    )


# --- search index -------------------------------------------------------------------------------------------


def search_doc(p: Product) -> SearchDoc:
    return SearchDoc(
        id=p.id,
        generic_name=p.generic_name,
        brand_name=p.brand_name,
        manufacturer=p.manufacturer,
        indications=p.indications,
        tags=list(p.tags or []),
        category_code=p.category.code,
        category_path=category_path(p.category),
        drug_class=p.drug_class,
        price_fen=p.price_fen,
        sales=p.sales,
        created_ts=int(p.created_at.timestamp()),
    )


def sync_index(index: SearchIndex | None, products: Iterable[Product]) -> None:
    """Visible products are (re)indexed; banned or inactive ones leave the index."""
    if index is None:
        return
    products = list(products)
    index.upsert([search_doc(p) for p in products if p.is_active and not p.online_banned])
    gone = [p.id for p in products if not p.is_active or p.online_banned]
    if gone:
        index.delete(gone)


def rebuild_index(session: Session, index: SearchIndex, progress: Callable[[int], None] | None = None) -> int:
    products = session.scalars(select(Product).where(*visible()).order_by(Product.id)).yield_per(2000)
    return index.rebuild((search_doc(p) for p in products), progress=progress)


def ensure_index(session: Session, index: SearchIndex) -> int:
    """Rebuild the index when it does not hold exactly the visible products (first start, a restore)."""
    visible_count = session.scalar(select(func.count()).select_from(Product).where(*visible())) or 0
    if index.search(SearchQuery(limit=1)).total != visible_count:
        return rebuild_index(session, index)
    return 0
