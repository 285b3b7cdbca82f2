"""Routes for the catalog: the storefront's categories, search and product pages; the console's product
management, import/export, bulk updates and inventory."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, Request, Response, UploadFile

from medreach.accounts.deps import DbSession, MaybeUser, anonymous_id, require
from medreach.accounts.models import User
from medreach.catalog import schemas, service
from medreach.catalog.search import SearchIndex, SearchQuery
from medreach.core.errors import AppError
from medreach.core.events import emit
from medreach.core.pagination import Page, Paging
from medreach.core.params import IdPath
from medreach.orders import reviews
from medreach.orders.prescriptions import approved_product_ids
from medreach.promotions import service as promotions

router = APIRouter(prefix="/api/v1")
Sort = Literal["relevance", "price_asc", "price_desc", "sales", "newest"]
Classes = Literal["rx", "otc_a", "otc_b", "device", "health_food", "other"]


def index_of(request: Request) -> SearchIndex:
    return request.app.state.search


# --- storefront -----------------------------------------------------------------------------------------


@router.get("/categories", response_model=list[schemas.CategoryOut], tags=["catalog"])
def categories(session: DbSession):
    return service.category_tree(session)


@router.get("/products", response_model=schemas.SearchOut, tags=["catalog"])
def search_products(
    request: Request,
    session: DbSession,
    user: MaybeUser,
    paging: Paging,
    q: Annotated[str, Query(max_length=100)] = "",
    category: Annotated[str | None, Query(max_length=32)] = None,
    drug_class: Annotated[list[Classes] | None, Query()] = None,
    price_min: Annotated[int | None, Query(ge=0, le=100_000_000)] = None,
    price_max: Annotated[int | None, Query(ge=0, le=100_000_000)] = None,
    brand: Annotated[str | None, Query(max_length=64)] = None,
    manufacturer: Annotated[str | None, Query(max_length=128)] = None,
    sort: Sort = "relevance",
):
    """Search and browse (Chinese, pinyin, initials, synonyms), with filters, sorting and facet counts.
    Only products that may be sold online are ever returned."""
    result = index_of(request).search(
        SearchQuery(
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
    )
    products = {p.id: p for p in service.visible_by_ids(session, result.ids)}
    approved = approved_product_ids(session, user and user.id)
    rated = reviews.ratings(session, list(products))
    promo = promotions.unit_prices(session, list(products.values()))
    items = [
        _with_promo(service.card(products[i], i in approved, rated.get(i, (None, 0))), promo)
        for i in result.ids
        if i in products
    ]
    if q.strip():
        emit(
            session,
            "Products Searched",
            user_id=user and user.id,
            anonymous_id=anonymous_id(request),
            query=q.strip(),
            results=result.total,
            filters={"category": category, "drug_class": drug_class, "sort": sort},
        )
    else:
        emit(
            session,
            "Product List Viewed",
            user_id=user and user.id,
            anonymous_id=anonymous_id(request),
            category=category or "",
            products=[{"product_id": i.id} for i in items],
        )
    session.commit()
    return schemas.SearchOut(
        items=items,
        total=result.total,
        limit=paging.limit,
        offset=paging.offset,
        facets=result.facets,
        corrected=result.corrected,
    )


@router.get("/products/suggest", response_model=list[str], tags=["catalog"])
def suggest(request: Request, q: Annotated[str, Query(min_length=1, max_length=50)]):
    return index_of(request).suggest(q.strip(), limit=8)


@router.get("/products/{product_id}", response_model=schemas.ProductDetail, tags=["catalog"])
def product_page(product_id: IdPath, request: Request, session: DbSession, user: MaybeUser):
    product = service.get_visible_product(session, product_id)
    approved = product.id in approved_product_ids(session, user and user.id)
    emit(
        session,
        "Product Viewed",
        user_id=user and user.id,
        anonymous_id=anonymous_id(request),
        product_id=product.id,
        sku=product.sku,
        name=product.generic_name,
        brand=product.brand_name,
        category=product.category.code,
        price=product.price_fen / 100,
        drug_class=product.drug_class,
    )
    session.commit()
    page = service.detail(product, approved, reviews.ratings(session, [product.id]).get(product.id, (None, 0)))
    return _with_promo(page, promotions.unit_prices(session, [product]))


def _with_promo(card, prices: dict[int, tuple[int, str]]):
    """Show the running promotion's price next to the list price (never for Rx: no drug marketing)."""
    if card.id in prices:
        price, label = prices[card.id]
        return card.model_copy(update={"promo_price_fen": price, "promo_label": label})
    return card


@router.get("/products/{product_id}/image.svg", tags=["catalog"], response_class=Response)
def product_image(product_id: IdPath, session: DbSession):
    product = service.get_visible_product(session, product_id)
    return Response(
        service.package_svg(product), media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=3600"}
    )


# --- console ------------------------------------------------------------------------------------------------


@router.get("/admin/products", response_model=Page[schemas.ProductAdminOut], tags=["catalog admin"])
def admin_products(
    session: DbSession,
    paging: Paging,
    _: Annotated[User, require("catalog:read")],
    q: Annotated[str | None, Query(max_length=100)] = None,
    category: Annotated[str | None, Query(max_length=32)] = None,
    drug_class: Classes | None = None,
    banned: bool | None = None,
    active: bool | None = None,
    low_stock: bool = False,
):
    rows, total = service.search_admin(
        session,
        paging,
        q=q,
        category=category,
        drug_class=drug_class,
        banned=banned,
        low_stock=low_stock,
        active=active,
    )
    return Page(items=[service.admin_view(p) for p in rows], total=total, **paging.model_dump())


@router.post("/admin/products", response_model=schemas.ProductAdminOut, status_code=201, tags=["catalog admin"])
def create_product(
    data: schemas.ProductIn, request: Request, session: DbSession, actor: Annotated[User, require("catalog:write")]
):
    return service.admin_view(service.create_product(session, actor, data, index_of(request)))


@router.get("/admin/products/export", tags=["catalog admin"], response_class=Response)
def export_products(
    session: DbSession, _: Annotated[User, require("catalog:read")], format: Literal["csv", "xlsx"] = "csv"
):
    media = {
        "csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }[format]
    return Response(
        service.export_products(session, format),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="products.{format}"'},
    )


@router.post("/admin/products/import", response_model=schemas.ImportReport, tags=["catalog admin"])
def import_products(
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("catalog:write")],
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GBK) or XLSX with the export's columns")],
    dry_run: bool = False,
):
    content = file.file.read(request.app.state.settings.max_upload_bytes + 1)
    if len(content) > request.app.state.settings.max_upload_bytes:
        raise AppError(413, "BODY_TOO_LARGE", field="file", limit=request.app.state.settings.max_upload_bytes)
    rows = service.read_table(content, file.filename or "")
    if len(rows) > 20_000:
        raise AppError(422, "IMPORT_TOO_MANY_ROWS", field="file", limit=20_000)
    return service.import_products(session, actor, rows, dry_run=dry_run, index=index_of(request))


@router.post("/admin/products/bulk", response_model=schemas.BulkUpdateOut, tags=["catalog admin"])
def bulk_update(
    data: schemas.BulkUpdateIn, request: Request, session: DbSession, actor: Annotated[User, require("catalog:write")]
):
    return service.bulk_update(session, actor, data, index_of(request))


@router.get("/admin/products/{product_id}", response_model=schemas.ProductAdminOut, tags=["catalog admin"])
def admin_product(product_id: IdPath, session: DbSession, _: Annotated[User, require("catalog:read")]):
    return service.admin_view(service.get_product(session, product_id))


@router.patch("/admin/products/{product_id}", response_model=schemas.ProductAdminOut, tags=["catalog admin"])
def update_product(
    product_id: IdPath,
    data: schemas.ProductPatch,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("catalog:write")],
):
    return service.admin_view(service.update_product(session, actor, product_id, data, index_of(request)))


@router.get(
    "/admin/products/{product_id}/stock-movements",
    response_model=Page[schemas.StockMovementOut],
    tags=["catalog admin"],
)
def stock_movements(
    product_id: IdPath, session: DbSession, paging: Paging, _: Annotated[User, require("catalog:read")]
):
    rows, total = service.movements(session, product_id, paging)
    return Page(
        items=[schemas.StockMovementOut.model_validate(m, from_attributes=True) for m in rows],
        total=total,
        **paging.model_dump(),
    )


@router.post("/admin/categories", response_model=list[schemas.CategoryOut], status_code=201, tags=["catalog admin"])
def upsert_category(data: schemas.CategoryIn, session: DbSession, actor: Annotated[User, require("catalog:write")]):
    service.save_category(session, actor, data)
    return service.category_tree(session)


@router.post("/admin/search/reindex", tags=["catalog admin"])
def reindex(request: Request, session: DbSession, _: Annotated[User, require("catalog:write")]):
    return {"indexed": service.rebuild_index(session, index_of(request))}
