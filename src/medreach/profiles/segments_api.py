"""Routes of segments (用户分群): list, preview a tree's size while it is edited, create/edit/delete, compute now,
members, membership history, overlap and the masked CSV export. Viewing needs profiles:read; building and
exporting tags:write (the marketers' and analysts' permission for the tag catalogue). Thin: parse, call one
service function, shape the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response

from medreach.accounts.deps import DbSession, require
from medreach.accounts.models import User
from medreach.core.pagination import Page, Paging
from medreach.core.params import IdPath
from medreach.profiles import segments
from medreach.profiles import segments_schemas as schemas

router = APIRouter(prefix="/api/v1/admin/segments", tags=["segments"])
WRITE = "tags:write"


def lake(request: Request):
    return request.app.state.settings.lake_path


@router.get("", response_model=list[schemas.SegmentOut])
def list_segments(session: DbSession, _: Annotated[User, require("profiles:read")]):
    return segments.list_segments(session)


@router.post("/preview", response_model=schemas.PreviewOut)
def preview(
    data: schemas.PreviewIn, request: Request, session: DbSession, viewer: Annotated[User, require("profiles:read")]
):
    """The audience size of a tree as it is being edited, with a masked sample (409 before the first build)."""
    return segments.preview(session, lake(request), viewer, data)


@router.post("/overlap", response_model=schemas.OverlapOut)
def overlap(data: schemas.OverlapIn, session: DbSession, _: Annotated[User, require("profiles:read")]):
    """Customers shared by each pair of 2 to 6 segments, and by all of them."""
    return segments.overlap(session, data)


@router.post("", response_model=schemas.SegmentOut, status_code=201)
def create_segment(
    data: schemas.SegmentIn, request: Request, session: DbSession, actor: Annotated[User, require(WRITE)]
):
    """Create a segment and compute it (a tree that reads health data needs an impact assessment id)."""
    return segments.create_segment(session, lake(request), actor, data)


@router.get("/{segment_id}", response_model=schemas.SegmentOut)
def segment_detail(segment_id: IdPath, session: DbSession, _: Annotated[User, require("profiles:read")]):
    return segments.segment_detail(session, segment_id)


@router.patch("/{segment_id}", response_model=schemas.SegmentOut)
def update_segment(
    segment_id: IdPath,
    data: schemas.SegmentPatch,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require(WRITE)],
):
    return segments.update_segment(session, lake(request), actor, segment_id, data)


@router.delete("/{segment_id}", status_code=204, response_class=Response)
def delete_segment(segment_id: IdPath, session: DbSession, actor: Annotated[User, require(WRITE)]):
    segments.delete_segment(session, actor, segment_id)
    return Response(status_code=204)


@router.post("/{segment_id}/compute", response_model=schemas.SegmentOut)
def compute_segment(segment_id: IdPath, request: Request, session: DbSession, actor: Annotated[User, require(WRITE)]):
    """Compute the segment now (a static segment takes a new snapshot)."""
    return segments.compute_now(session, lake(request), actor, segment_id)


@router.get("/{segment_id}/members", response_model=Page[schemas.MemberOut])
def segment_members(
    segment_id: IdPath,
    request: Request,
    session: DbSession,
    paging: Paging,
    viewer: Annotated[User, require("profiles:read")],
):
    """Members, masked, newest first (a sensitive segment's need profiles:read_health; audited)."""
    items, total = segments.members(session, lake(request), viewer, segment_id, paging.limit, paging.offset)
    return Page(items=items, total=total, **paging.model_dump())


@router.get("/{segment_id}/history", response_model=schemas.HistoryOut)
def segment_history(segment_id: IdPath, session: DbSession, _: Annotated[User, require("profiles:read")]):
    """Entries and exits per Shanghai day with the size at each day's end, and the latest changes."""
    return segments.history(session, segment_id)


@router.get("/{segment_id}/export", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def export_segment(segment_id: IdPath, request: Request, session: DbSession, viewer: Annotated[User, require(WRITE)]):
    """Every member as CSV, masked; audited."""
    name, content = segments.export_csv(session, lake(request), viewer, segment_id)
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
