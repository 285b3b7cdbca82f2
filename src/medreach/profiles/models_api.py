"""Routes of the personas, the predictive models and the health tags' truth report, under
/api/v1/admin/profiles/. Viewing needs profiles:read; running the clustering, training and promoting need
tags:write (the marketers' and analysts' permission over the tag catalogue). Thin: parse, call one service
function, shape the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam

from medreach.accounts.deps import DbSession, require
from medreach.accounts.models import User
from medreach.core.params import IdPath
from medreach.profiles import models_schemas as schemas
from medreach.profiles import models_tasks

router = APIRouter(prefix="/api/v1/admin/profiles", tags=["profile models"])
WRITE = "tags:write"
READ = "profiles:read"


def lake(request: Request):
    return request.app.state.settings.lake_path


@router.post("/personas/run", response_model=schemas.JobStarted, status_code=202)
def run_personas(
    data: schemas.PersonasIn, request: Request, session: DbSession, actor: Annotated[User, require(WRITE)]
):
    """Start find_personas in the background (409 while it runs)."""
    return models_tasks.start(session, request.app, actor, "find_personas", data.model_dump(exclude_none=True))


@router.get("/personas", response_model=schemas.PersonasOut)
def personas(request: Request, _: Annotated[User, require(READ)]):
    """The latest personas: silhouette and inertia per k, clusters with names and distinguishing features, the
    tree's rules and fidelity (404 before the first run)."""
    return models_tasks.latest_personas(lake(request))


@router.get("/models", response_model=list[schemas.ModelCard])
def model_cards(
    session: DbSession, _: Annotated[User, require(READ)], task: Annotated[schemas.TaskName | None, Query()] = None
):
    """Every version's model card, newest first."""
    return models_tasks.cards(session, task)


@router.get("/models/{version_id}", response_model=schemas.ModelCard)
def model_card(version_id: IdPath, session: DbSession, _: Annotated[User, require(READ)]):
    return models_tasks.card(session, version_id)


@router.post("/models/train", response_model=schemas.JobStarted, status_code=202)
def train(data: schemas.TrainIn, request: Request, session: DbSession, actor: Annotated[User, require(WRITE)]):
    """Start train_models for a task in the background (409 while it runs)."""
    return models_tasks.start(session, request.app, actor, "train_models", {"task": data.task, "actor": actor.id})


@router.post("/models/{version_id}/promote", response_model=schemas.ModelCard)
def promote(version_id: IdPath, request: Request, session: DbSession, actor: Annotated[User, require(WRITE)]):
    """Promote a version (the task's other versions lose the flag) and start scoring every customer with it."""
    return models_tasks.promote(session, request.app, actor, version_id)


@router.get("/models/{task}/score/{user_id}", response_model=schemas.ScoreOut)
def score(
    task: schemas.TaskName,
    user_id: Annotated[str, PathParam(pattern=r"^[0-9]{1,18}$")],
    request: Request,
    session: DbSession,
    viewer: Annotated[User, require(READ)],
):
    """One customer's score from the task's promoted model, on their row of the published store (audited)."""
    return models_tasks.score_one(session, lake(request), viewer, task, user_id)


@router.get("/truth", response_model=schemas.TruthOut)
def truth(request: Request, _: Annotated[User, require(READ)]):
    """Each health tag's precision and recall against the simulated world's truth (409 without a simulated
    world)."""
    return models_tasks.truth_report(lake(request))
