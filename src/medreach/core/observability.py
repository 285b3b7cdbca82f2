"""JSON logs with a request id, Prometheus metrics per route, the request body limits (size and nesting) and
the security headers of every response.

Written as plain ASGI middleware: it sees every request, including the ones no route matches.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medreach.core.context import ClientInfo, client_info
from medreach.core.errors import BodyTooLarge, problem
from medreach.core.http import SecurityHeaders, json_too_deep

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def configure_logging(json: bool = True, level: str = "INFO") -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stdout, level=level.upper(), force=True)
    renderer = structlog.processors.JSONRenderer(ensure_ascii=False) if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=False,
    )


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "medreach_http_requests_total",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "medreach_http_request_duration_seconds",
            "HTTP request latency by route",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )


class RequestContextMiddleware:
    """Request id, access log, metrics, body limits and security headers for every HTTP request.

    A body is read whole before the route runs (it is small: the limit holds) and checked for nesting, unless it
    is multipart (uploads: streamed to the form parser under the larger upload limit) or content-encoded (the
    route that accepts gzip checks what it unpacks, `core.http.check_json_depth`)."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        max_body_bytes: int,
        max_upload_bytes: int = 0,
        upload_paths: tuple[str, ...] = (),
        max_json_depth: int = 32,
        security_headers: SecurityHeaders | None = None,
    ) -> None:
        self.app, self.metrics, self.max_body = app, metrics, max_body_bytes
        self.max_upload, self.upload_paths = max(max_upload_bytes, max_body_bytes), upload_paths
        self.max_depth = max_json_depth
        self.security = security_headers or SecurityHeaders()
        self.log = structlog.get_logger("medreach.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        given = headers.get("x-request-id", "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        client = scope.get("client")
        opt_out = "1" in (headers.get("x-tracking-opt-out"), headers.get("dnt"), headers.get("sec-gpc"))
        client_info.set(ClientInfo(ip=client[0] if client else "", request_id=request_id, tracking_opt_out=opt_out))
        status = 500
        start = time.perf_counter()
        added = [
            *self.security.for_request(scope["path"], scope.get("scheme", "http")),
            (b"x-request-id", request_id.encode()),
        ]

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), *added]
            await send(message)

        limit = self.max_upload if scope["path"].startswith(self.upload_paths) and self.upload_paths else self.max_body
        declared = headers.get("content-length", "")
        streamed = headers.get("content-type", "").startswith("multipart/")
        try:
            if declared.isdigit() and int(declared) > limit:
                await self._refuse(scope, receive, send_with_id, 413, "BODY_TOO_LARGE", limit)
            elif streamed:
                await self.app(scope, _limited(receive, limit), send_with_id)
            else:
                body = await _read_body(receive, limit)
                if body is _GONE:
                    return  # the client left before its body arrived: nothing to answer
                if body is None:
                    await self._refuse(scope, receive, send_with_id, 413, "BODY_TOO_LARGE", limit)
                elif headers.get("content-encoding", "identity") == "identity" and json_too_deep(body, self.max_depth):
                    await self._refuse(scope, receive, send_with_id, 400, "BODY_TOO_DEEP", self.max_depth)
                else:
                    await self.app(scope, _replay(body, receive), send_with_id)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            template = getattr(route, "path", None) or ("static" if status < 400 else "unmatched")
            self.metrics.requests.labels(scope["method"], template, str(status)).inc()
            self.metrics.latency.labels(scope["method"], template).observe(elapsed)
            self.log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                route=template,
                status=status,
                ms=round(elapsed * 1000, 2),
            )

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, code: str, limit: int) -> None:
        await problem(Request(scope), status, code, limit=limit)(scope, receive, send)


_GONE = b"<disconnected>"  # a sentinel: compared by identity


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body; None once it passes `limit` bytes (the rest is not read); `_GONE` if the client
    disconnected first."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return _GONE
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body once, as one message; after it, whatever the server says next (a disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


def _limited(receive: Receive, limit: int) -> Receive:
    """The body as it streams, refused once it passes `limit` bytes (no Content-Length, or a wrong one)."""
    received = 0

    async def limited() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
        return message

    return limited
