"""Serves the built front end (frontend/ -> web/dist) as a single-page app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from medreach.core.errors import AppError

DIST = Path(__file__).parent / "dist"

_NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>MedReach</title>
<p>The web UI is not built yet: run <code>make build-ui</code> (or <code>make run</code>).</p>"""
_API_PREFIXES = ("api/", "v1/", "healthz", "readyz", "metrics", "openapi.json", "docs", "redoc")


def mount(app: FastAPI) -> None:
    if (DIST / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=DIST / "assets"), name="assets")

    @app.get("/{path:path}", include_in_schema=False)
    def spa(path: str, request: Request):  # public: no auth dependency (tests/accounts/test_rbac.py lists it)
        if path.startswith(_API_PREFIXES):
            raise AppError(404, "NOT_FOUND")
        candidate = (DIST / path).resolve()
        if path and candidate.is_file() and DIST.resolve() in candidate.parents:
            return FileResponse(candidate)
        index = DIST / "index.html"
        if not index.is_file():
            return HTMLResponse(_NOT_BUILT)
        # index.html must never be cached: it names the current hashed assets.
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
