"""RFC 9457 problem+json errors with a stable machine `code`, a localized message and named fields."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from medreach.core.i18n import message, pick_language
from medreach.core.routes import allowed_methods

log = structlog.get_logger()
PROBLEM = "application/problem+json"


class AppError(Exception):
    """Raise anywhere below the router; becomes a problem+json response."""

    def __init__(
        self, status: int, code: str, *, field: str | None = None, headers: dict[str, str] | None = None, **params: Any
    ):
        super().__init__(code)
        self.status, self.code, self.field, self.headers, self.params = status, code, field, headers, params


class BodyTooLarge(StarletteHTTPException):
    """A streamed body passed its limit while a route read it. An HTTPException, because FastAPI turns any other
    exception raised while it reads a body into a generic 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413)
        self.limit = limit


def not_found(what: str = "resource") -> AppError:
    return AppError(404, "NOT_FOUND", resource=what)


def problem(
    request: Request,
    status: int,
    code: str,
    *,
    errors: list[dict] | None = None,
    headers: dict[str, str] | None = None,
    **params: Any,
) -> JSONResponse:
    lang = pick_language(request.headers.get("accept-language"))
    body: dict[str, Any] = {
        "type": f"https://medreach.dev/problems/{code.lower().replace('_', '-')}",
        "title": message(code, "en", **params),
        "status": status,
        "detail": message(code, lang, **params),
        "code": code,
        "instance": request.url.path,
        "request_id": getattr(request.state, "request_id", None),
    }
    body.update({k: v for k, v in params.items() if isinstance(v, (str, int, float, bool))})
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _field_of(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[-1] if loc else "body")


async def _app_error(request: Request, exc: AppError) -> JSONResponse:
    errors = None
    if exc.field:
        # A `reason` given with the error says more than the code's generic message.
        text = exc.params.get("reason") or message(
            exc.code, pick_language(request.headers.get("accept-language")), field=exc.field, **exc.params
        )
        errors = [{"field": exc.field, "code": exc.code, "message": text}]
    params = {"field": exc.field, **exc.params} if exc.field else exc.params
    return problem(request, exc.status, exc.code, errors=errors, headers=exc.headers, **params)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = []
    for e in exc.errors():
        if e.get("type") == "json_invalid":
            return problem(request, 400, "MALFORMED_BODY")
        errors.append(
            {"field": _field_of(tuple(e.get("loc", ()))), "code": e.get("type", "invalid"), "message": e.get("msg", "")}
        )
    return problem(request, 422, "VALIDATION_ERROR", errors=errors)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if isinstance(exc, BodyTooLarge):
        return problem(request, 413, "BODY_TOO_LARGE", limit=exc.limit)
    if exc.status_code == 405:  # Starlette names only the first route's methods; each method is a route
        allow = allowed_methods(request.app.routes, request.url.path)
        return problem(request, 405, "METHOD_NOT_ALLOWED", headers={"Allow": ", ".join(allow)})
    code = {
        400: "MALFORMED_BODY",  # FastAPI could not read the body (e.g. it is not UTF-8)
        404: "NOT_FOUND",
        405: "METHOD_NOT_ALLOWED",
        401: "NOT_AUTHENTICATED",
        403: "PERMISSION_DENIED",
    }.get(exc.status_code, "HTTP_ERROR")
    return problem(request, exc.status_code, code, headers=getattr(exc, "headers", None))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled_error", path=request.url.path)
    return problem(request, 500, "INTERNAL_ERROR")


Handler = Callable[[Request, Any], Awaitable[JSONResponse]]  # each takes its own kind of exception
HANDLERS: dict[type[Exception], Handler] = {
    AppError: _app_error,
    RequestValidationError: _validation_error,
    StarletteHTTPException: _http_error,
    Exception: _unexpected,
}


def install(app: FastAPI) -> None:
    for kind, handler in HANDLERS.items():
        app.add_exception_handler(kind, handler)
