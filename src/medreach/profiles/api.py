"""Routes of the profile store and the tag catalogue: the console's customers and customer 360 page, the tag
catalogue (list, detail, create/edit/delete, refresh, CSV import), the store's status and build, and a customer's
own tags. Thin: parse, call one service function, shape the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from fastapi import Path as PathParam

from medreach.accounts.deps import CurrentUser, DbSession, require
from medreach.accounts.models import User
from medreach.core.pagination import Page, Paging
from medreach.core.params import IdPath
from medreach.profiles import schemas, service
from medreach.profiles.models import FAMILIES

router = APIRouter(prefix="/api/v1", tags=["profiles"])
TagPath = Annotated[str, PathParam(pattern=schemas.TAG_CODE)]
IMPORT_PATH = "/api/v1/admin/tag-imports"  # uploads: the app factory gives this prefix the upload body limit


def lake(request: Request):
    return request.app.state.settings.lake_path


@router.get("/admin/profiles/status", response_model=schemas.ProfilesStatusOut)
def profiles_status(request: Request, _: Annotated[User, require("profiles:read")]):
    """The published build: when, as of when, on which engine, rows per table, seconds per step."""
    return service.status(lake(request))


@router.post("/admin/profiles/build", response_model=schemas.RunOut, status_code=202)
def build_profiles(request: Request, session: DbSession, actor: Annotated[User, require("pipeline:run")]):
    """Run build_profiles now, in the background (409 while it runs)."""
    return service.build_now(session, request.app.state.db, request.app.state.settings, actor)


@router.get("/admin/profiles/customers", response_model=Page[schemas.CustomerRow])
def customers(
    request: Request,
    session: DbSession,
    paging: Paging,
    viewer: Annotated[User, require("profiles:read")],
    q: Annotated[str | None, Query(max_length=100, description="id, phone, e-mail or name")] = None,
    rfm_group: Annotated[
        str | None, Query(pattern="^(" + "|".join(schemas.RFM_GROUP_NAMES) + ")$", description="one of the 8 groups")
    ] = None,
    city_tier: Annotated[int | None, Query(ge=1, le=4)] = None,
    age_band: Annotated[
        str | None, Query(pattern="^(" + "|".join(b.replace("+", r"\+") for b in schemas.AGE_BAND_NAMES) + ")$")
    ] = None,
    min_orders: Annotated[int | None, Query(ge=0, le=100_000, description="at least this many paid orders")] = None,
):
    """Customers found by id, phone, e-mail or name, and/or filtered by their profile (masked; audited)."""
    filters = schemas.CustomerFilters(
        rfm_group=rfm_group, city_tier=city_tier, age_band=age_band, min_orders=min_orders
    )
    rows, total = service.search_customers(session, lake(request), viewer, paging, q, filters)
    return Page(items=rows, total=total, **paging.model_dump())


@router.get("/admin/profiles/customers/{user_id}", response_model=schemas.CustomerProfileOut)
def customer_profile(
    user_id: IdPath, request: Request, session: DbSession, viewer: Annotated[User, require("profiles:read")]
):
    """The customer 360 (personal data masked for every viewer, as accounts masks it; health tags apart)."""
    return service.customer_profile(session, lake(request), viewer, user_id)


@router.get("/admin/profiles/customers/{user_id}/health", response_model=schemas.CustomerHealthOut)
def customer_health(
    user_id: IdPath, request: Request, session: DbSession, viewer: Annotated[User, require("profiles:read_health")]
):
    """The customer's health tags, only while their health_profile consent is in force; every read audited."""
    return service.customer_health(session, lake(request), viewer, user_id)


@router.get("/admin/tags", response_model=list[schemas.TagOut])
def list_tags(
    session: DbSession,
    _: Annotated[User, require("profiles:read")],
    family: Annotated[str | None, Query(pattern="^(" + "|".join(FAMILIES) + ")$")] = None,
):
    return service.catalogue(session, family)


@router.post("/admin/tags", response_model=schemas.TagOut, status_code=201)
def create_tag(data: schemas.TagIn, session: DbSession, actor: Annotated[User, require("tags:write")]):
    return service.create_tag(session, actor, data)


@router.get("/admin/tags/{code}", response_model=schemas.TagDetailOut)
def tag_detail(code: TagPath, request: Request, session: DbSession, viewer: Annotated[User, require("profiles:read")]):
    """Coverage and how the values are spread (a sensitive tag's need profiles:read_health, audited)."""
    return service.tag_detail(session, lake(request), viewer, code)


@router.patch("/admin/tags/{code}", response_model=schemas.TagOut)
def update_tag(
    code: TagPath, data: schemas.TagPatch, session: DbSession, actor: Annotated[User, require("tags:write")]
):
    return service.update_tag(session, actor, code, data)


@router.delete("/admin/tags/{code}", status_code=204, response_class=Response)
def delete_tag(code: TagPath, request: Request, session: DbSession, actor: Annotated[User, require("tags:write")]):
    service.delete_tag(session, lake(request), actor, code)
    return Response(status_code=204)


@router.post("/admin/tags/{code}/refresh", response_model=schemas.RunOut, status_code=202)
def refresh_tag(code: TagPath, request: Request, session: DbSession, actor: Annotated[User, require("tags:write")]):
    """Recompute the tag now, in the background; returns the job run to follow."""
    return service.refresh_tag(session, request.app.state.db, request.app.state.settings, actor, code)


@router.post("/admin/tag-imports/{code}", response_model=schemas.ImportReport)
def import_tag(
    code: TagPath,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("tags:write")],
    file: Annotated[UploadFile, File(description="CSV in UTF-8 with the header user_id,value")],
):
    """An imported tag's values: replaces them at once; unknown ids are reported and left out."""
    content = file.file.read()
    return service.import_tag(session, lake(request), actor, code, file.filename or "import.csv", content)


@router.get("/me/tags", response_model=list[schemas.MyTagOut], tags=["me"])
def my_tags(user: CurrentUser, request: Request, session: DbSession):
    """The tags about me, health tags included while my health_profile consent is in force."""
    return service.my_tags(session, lake(request), user)
