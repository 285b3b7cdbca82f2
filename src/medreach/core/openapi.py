"""The OpenAPI document declares the error answers each operation really gives, so a client (or a fuzzer holding
the API to its contract) knows them: every error is RFC 9457 problem+json (`Problem`).

Most of them follow from a route's shape, and `declare_problems` adds them to every route of the app:

- a request body: 400 (not JSON, or nested too deeply), 413 (too large), 422 (invalid fields);
- any parameter: 422; a path parameter: 404 (no such object, or another customer's);
- a dependency marked `access` (accounts.deps): "authenticated" gives 401, a permission 401 and 403, "public"
  (an optional token: a bad one is refused) 401, and the token is declared optional.

What only the route knows (409 for a state conflict, 429 when throttled, 502 when a gateway fails, …) it declares
itself: `responses=problem_responses(409, 429)`. Each operation also says who may call it (`x-access`). A route
called with credentials other than the bearer token names them with `openapi_extra=basic_auth(...)` (the
collector's write key): the scheme joins the document, and the route gets 401.
"""

from __future__ import annotations

import http
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from medreach.core.errors import PROBLEM
from medreach.core.routes import api_routes

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details with a stable machine `code`; `errors` names the fields at fault.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code", "instance"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "code": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]*$"},
        "instance": {"type": "string"},
        "request_id": {"type": ["string", "null"]},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "code", "message"],
                "properties": {"field": {"type": "string"}, "code": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,  # the code's parameters (limit, permission, retry_after, …)
}
DESCRIPTIONS = {
    400: "Malformed body: not JSON, or nested too deeply (MALFORMED_BODY, BODY_TOO_DEEP)",
    401: "No valid access token (NOT_AUTHENTICATED, INVALID_TOKEN, TOKEN_EXPIRED)",
    403: "The caller lacks the permission (PERMISSION_DENIED)",
    404: "No such object, or not the caller's (NOT_FOUND)",
    413: "The body is too large (BODY_TOO_LARGE)",
    422: "Invalid fields (VALIDATION_ERROR, or a rule's own code), each named in `errors`",
}
_HEADERS = {
    401: {"WWW-Authenticate": {"description": "The scheme to authenticate with", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}},
}


def problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description or DESCRIPTIONS.get(status) or http.HTTPStatus(status).phrase,
        "content": {PROBLEM: {"schema": PROBLEM_REF}},
    }
    if status in _HEADERS:
        response["headers"] = _HEADERS[status]
    return response


def problem_responses(*statuses: int, **described: str) -> dict[int | str, dict[str, Any]]:
    """A route's own problem answers, for `responses=`: `problem_responses(409, 429)`, or with a description
    `problem_responses(**{"409": "The order is not awaiting payment"})`."""
    out: dict[int | str, dict[str, Any]] = {s: problem_response(s) for s in statuses}
    out.update({int(s): problem_response(int(s), text) for s, text in described.items()})
    return out


_SCHEMES = "x-security-schemes"  # in a route's openapi_extra; the document has them in its components instead


def basic_auth(name: str, description: str) -> dict[str, Any]:
    """`openapi_extra` of an operation that requires HTTP Basic credentials (security scheme `name`)."""
    return {"security": [{name: []}], _SCHEMES: {name: {"type": "http", "scheme": "basic", "description": description}}}


def access_of(route: APIRoute) -> set[str]:
    """What the route's dependencies declare (`access`): "authenticated", "public", permission codes."""
    found: set[str] = set()

    def walk(dependant) -> None:
        for dep in dependant.dependencies:
            if "access" in getattr(dep.call, "__dict__", {}):
                found.add(dep.call.access)
            walk(dep)

    walk(route.dependant)
    return found


def _parameters(dependant) -> Iterator[Any]:
    yield from (*dependant.path_params, *dependant.query_params, *dependant.header_params, *dependant.cookie_params)
    for sub in dependant.dependencies:
        yield from _parameters(sub)


def implied_statuses(route: APIRoute, access: set[str]) -> set[int]:
    """The problem answers a route gives by its shape alone."""
    statuses: set[int] = set()
    if route.body_field is not None or "requestBody" in (route.openapi_extra or {}):  # or a body it reads itself
        statuses |= {400, 413, 422}
    if any(True for _ in _parameters(route.dependant)):
        statuses.add(422)
    if "{" in route.path:
        statuses.add(404)
    if access or (route.openapi_extra or {}).get("security"):  # any declared access reads the bearer token
        statuses.add(401)  # ("public": an optional one, refused when bad); other credentials are declared
    if access - {"public", "authenticated"}:
        statuses.add(403)
    return statuses


def declare_problems(app: FastAPI) -> None:
    """Add the implied problem answers and `x-access` to every route of `app`, and the `Problem` schema to its
    document. A status a route declared itself keeps its description, and gains the problem body."""
    schemes: dict[str, Any] = {}
    for route in api_routes(app.routes):
        schemes.update((route.openapi_extra or {}).get(_SCHEMES, {}))  # routes may be shared by apps: left as they are
        access = access_of(route)
        for implied in implied_statuses(route, access):
            route.responses.setdefault(implied, problem_response(implied))
        for status, response in route.responses.items():
            if int(status) >= 400 and not response.get("content"):
                response.update(problem_response(int(status), response.get("description")))
        declared = sorted(access - {"authenticated", "public"}) or sorted(access & {"authenticated"}) or ["public"]
        extra: dict[str, Any] = {"x-access": declared[0]}
        if access == {"public"}:  # a token is optional here: the operation may be called without one too
            extra["security"] = [{}]
        route.openapi_extra = {**(route.openapi_extra or {}), **extra}

    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        components = schema.setdefault("components", {})
        components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        if schemes:
            components.setdefault("securitySchemes", {}).update(schemes)
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    if isinstance(operation, dict):
                        operation.pop(_SCHEMES, None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
