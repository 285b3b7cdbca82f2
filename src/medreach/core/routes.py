"""The app's API routes, flat: FastAPI keeps an included router's routes nested under it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from fastapi.routing import APIRoute


def api_routes(routes: Iterable) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)


def allowed_methods(routes: Iterable, path: str) -> list[str]:
    """Every method some route serves at `path` (for a 405's Allow: each method is a route of its own)."""
    return sorted(
        {m for r in api_routes(routes) if r.include_in_schema and r.path_regex.match(path) for m in (r.methods or ())}
    )
