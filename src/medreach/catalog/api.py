"""Routes for the catalog: the storefront's categories, suggestions and package images; the console's product
management, import/export, bulk updates and inventory. The product list and page show prices, ratings and Rx
approval, which only the domains above catalog know: their routes live in orders/api.py (orders.storefront)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, Request, Response, UploadFile

from medreach.accounts.deps import DbSession, require
from medreach.accounts.models import User
from medreach.catalog import schemas, service
from medreach.catalog.search import SearchIndex
from medreach.core.errors import AppError
from medreach.core.pagination import Page, Paging
from medreach.core.params import IdPath

router = APIRouter(prefix="/api/v1")


def index_of(request: Request) -> SearchIndex:
    return request.app.state.search


# --- storefront -----------------------------------------------------------------------------------------


@router.get("/categories", response_model=list[schemas.CategoryOut], tags=["catalog"])
def categories(session: DbSession):
    return service.category_tree(session)


@router.get("/products/suggest", response_model=list[str], tags=["catalog"])
def suggest(request: Request, q: Annotated[str, Query(min_length=1, max_length=50)]):
    return index_of(request).suggest(q.strip(), limit=8)


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
    drug_class: schemas.DrugClass | None = None,
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
    return service.import_file(session, actor, content, file.filename or "", dry_run=dry_run, index=index_of(request))


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
