"""The app factory: settings, database, cache, middleware, error handling and every domain's router."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from medreach import web
from medreach.accounts.api import router as accounts_router
from medreach.core import errors
from medreach.core.cache import Cache, make_cache
from medreach.core.db import Database
from medreach.core.observability import Metrics, RequestContextMiddleware, configure_logging
from medreach.core.settings import Settings, get_settings
from medreach.ops.api import router as ops_router


def create_app(settings: Settings | None = None, db: Database | None = None, cache: Cache | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.ensure_dirs()
    configure_logging(settings.log_json, settings.log_level)
    db = db or Database(settings.db_url)
    cache = cache or make_cache(settings.redis_url, settings.redis_prefix)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        db.dispose()

    app = FastAPI(title="MedReach API", version="0.1.0", lifespan=lifespan,
                  description="医药电商精准营销平台 — online pharmacy and precision marketing. "
                              "Errors are RFC 9457 problem+json with a stable `code`.")
    app.state.settings, app.state.db, app.state.cache = settings, db, cache
    app.state.metrics = Metrics()
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics, max_body_bytes=settings.max_body_bytes)
    errors.install(app)
    app.include_router(accounts_router)
    app.include_router(ops_router)
    web.mount(app)  # last: its catch-all route serves the single-page app
    return app
