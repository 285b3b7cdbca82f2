"""Serves the built front end (frontend/ -> web/dist) as a single-page app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.routing import Match
from starlette.types import Scope

DIST = Path(__file__).parent / "dist"

_NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>MedReach</title>
<p>The web UI is not built yet: run <code>make build-ui</code> (or <code>make run</code>).</p>"""
_API_PREFIXES = ("api/", "v1/", "healthz", "readyz", "metrics", "openapi.json", "docs", "redoc")


class _AppRoute(APIRoute):
    """The single-page app's catch-all, which leaves the API's paths alone: an API path no route serves is a
    404 problem, and one served only for other methods a 405 with `Allow` (the catch-all would answer GET)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["path"].lstrip("/").startswith(_API_PREFIXES):
            return Match.NONE, {}
        return super().matches(scope)


def mount(app: FastAPI) -> None:
    if (DIST / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=DIST / "assets"), name="assets")
    app.router.add_api_route(
        "/{path:path}", _spa, methods=["GET"], include_in_schema=False, route_class_override=_AppRoute
    )


def _spa(path: str, request: Request):  # public: no auth dependency (tests/accounts/test_rbac.py lists it)
    candidate = (DIST / path).resolve()
    if path and candidate.is_file() and DIST.resolve() in candidate.parents:
        return FileResponse(candidate)
    index = DIST / "index.html"
    if not index.is_file():
        return HTMLResponse(_NOT_BUILT)
    # index.html must never be cached: it names the current hashed assets.
    return FileResponse(index, headers={"Cache-Control": "no-cache"})
