"""JSON logs with a request id, Prometheus metrics per route, and the request body limit.

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
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medreach.core.context import ClientInfo, client_info
from medreach.core.errors import problem

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
    """Request id, access log, metrics and body limit for every HTTP request."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        max_body_bytes: int,
        max_upload_bytes: int = 0,
        upload_paths: tuple[str, ...] = (),
    ) -> None:
        self.app, self.metrics, self.max_body = app, metrics, max_body_bytes
        self.max_upload, self.upload_paths = max(max_upload_bytes, max_body_bytes), upload_paths
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

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        limit = self.max_upload if scope["path"].startswith(self.upload_paths) and self.upload_paths else self.max_body
        declared = headers.get("content-length", "")
        too_big = declared.isdigit() and int(declared) > limit
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413)
            return message

        try:
            if too_big:
                await problem(Request(scope), 413, "BODY_TOO_LARGE", limit=limit)(scope, receive, send_with_id)
            else:
                await self.app(scope, limited_receive, send_with_id)
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
