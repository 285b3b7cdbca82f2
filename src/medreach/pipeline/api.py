"""The console's view of the lake tables: their declared schemas, sync state and snapshots; sync on demand."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from medreach.accounts.deps import DbSession, require
from medreach.accounts.models import User
from medreach.ops.service import audit
from medreach.pipeline import snapshots
from medreach.pipeline.tables import TABLES

router = APIRouter(prefix="/api/v1/admin/pipeline", tags=["pipeline"])
TableName = Annotated[str, Field(pattern="^(" + "|".join(TABLES) + ")$")]


class SyncIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tables: list[TableName] = Field(default_factory=list, max_length=len(TABLES))


@router.get("/tables")
def list_tables(request: Request, _: Annotated[User, require("analytics:read")]):
    """Every lake table synced from the database: columns and types, watermark, last sync, snapshot days."""
    lake_dir = request.app.state.settings.lake_path
    synced = snapshots.state(lake_dir)
    return [{"name": t.name, "watermark_column": t.watermark, "key": t.key,
             "columns": [{"name": f.name, "type": str(f.type)} for f in t.schema],
             "state": synced.get(t.name),
             "snapshots": [p.parent.name.removeprefix("date=") for p in snapshots.snapshots(lake_dir, t.name)]}
            for t in TABLES.values()]


@router.post("/sync")
async def sync_now(data: SyncIn, request: Request, session: DbSession,
                   actor: Annotated[User, require("pipeline:run")]):
    """Sync the chosen tables (default: all) into today's snapshots now (it also runs on a schedule)."""
    lake_dir = request.app.state.settings.lake_path
    results = await run_in_threadpool(snapshots.sync_all, session, lake_dir, data.tables or None)
    audit(session, actor_id=actor.id, actor_login=actor.login, action="pipeline.sync", subject_type="lake",
          subject_id=",".join(data.tables) or "all", detail={r.table: r.upserts + r.deletes for r in results})
    session.commit()
    return snapshots.as_dicts(results)
