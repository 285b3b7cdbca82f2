"""The app factory: settings, database, cache, search, payments, middleware, error handling, routers and the
scheduler of every periodic task (`medreach.schedule`)."""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from medreach import schedule, web
from medreach.accounts.api import router as accounts_router
from medreach.catalog import service as catalog
from medreach.catalog.api import router as catalog_router
from medreach.catalog.search import SearchIndex
from medreach.catalog.synonyms import load_synonyms
from medreach.core import errors
from medreach.core.cache import Cache, make_cache
from medreach.core.db import Database
from medreach.core.http import SecurityHeaders
from medreach.core.observability import Metrics, RequestContextMiddleware, configure_logging
from medreach.core.openapi import declare_problems
from medreach.core.scheduler import Scheduler
from medreach.core.settings import Settings, get_settings
from medreach.ops.api import router as ops_router
from medreach.orders.api import router as orders_router
from medreach.orders.payments import PaymentProvider, SandboxProvider
from medreach.orders.sandbox_gateway import SandboxGateway
from medreach.pipeline import jobs
from medreach.pipeline.api import router as pipeline_router
from medreach.profiles import tasks as profile_tasks
from medreach.profiles.api import IMPORT_PATH as TAG_IMPORTS
from medreach.profiles.api import router as profiles_router
from medreach.profiles.behaviour_api import router as behaviour_router
from medreach.profiles.models_api import router as profile_models_router
from medreach.profiles.segments_api import router as segments_router
from medreach.promotions.api import router as promotions_router
from medreach.promotions.flash import FlashStock, SaleCache, make_flash_stock
from medreach.tracking.api import router as tracking_router
from medreach.tracking.log import EventLog
from medreach.tracking.service import KeyRing, make_deduper, make_live_window

UPLOAD_PATHS = ("/api/v1/prescriptions", "/api/v1/admin/products/import", TAG_IMPORTS)


def create_app(
    settings: Settings | None = None,
    db: Database | None = None,
    cache: Cache | None = None,
    search: SearchIndex | None = None,
    payments: PaymentProvider | None = None,
    gateway: SandboxGateway | None = None,
    flash: FlashStock | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    settings.ensure_dirs()
    configure_logging(settings.log_json, settings.log_level)
    db = db or Database(settings.db_url)
    cache = cache or make_cache(settings.redis_url, settings.redis_prefix)
    search = search or SearchIndex(settings.search_path, synonyms=load_synonyms())
    if gateway is None and not settings.payment_gateway_url:
        gateway = SandboxGateway(
            settings.var_dir / "sandbox-gateway.db",
            {settings.payment_merchant_id: settings.merchant_key},
            public_url=settings.gateway_url,
        )
    payments = payments or SandboxProvider(
        settings.gateway_url, settings.payment_merchant_id, settings.merchant_key, httpx.Client(timeout=10)
    )
    flash = flash or make_flash_stock(settings.redis_url, settings.redis_prefix)
    jobs.register_sources(settings)
    profile_tasks.install(settings)  # its jobs into the pipeline's registry, its consent listener into accounts

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        with db.session() as s:
            catalog.ensure_index(s, search)
        app.state.event_log = EventLog(settings.events_path, fsync=settings.events_fsync)
        app.state.dedupe = make_deduper(app.state.event_log, cache, settings.dedupe_window_seconds)
        if settings.jobs_enabled:
            app.state.scheduler.start()
        if settings.gc_freeze:
            # What exists after start-up lives as long as the process: keep the cyclic GC from walking it
            # again and again (full collections were the collector's slowest requests); run it less often.
            gc.collect()
            gc.freeze()
            gc.set_threshold(50_000, 20, 50)
        yield
        app.state.scheduler.stop()
        app.state.event_log.close()
        db.dispose()

    app = FastAPI(
        title="MedReach API",
        version="0.1.0",
        lifespan=lifespan,
        description="医药电商精准营销平台 — online pharmacy and precision marketing. "
        "Errors are RFC 9457 problem+json with a stable `code`.",
    )
    app.state.settings, app.state.db, app.state.cache = settings, db, cache
    app.state.search, app.state.payments, app.state.gateway, app.state.flash = search, payments, gateway, flash
    app.state.flash_sales = SaleCache()
    app.state.keyring = KeyRing()
    app.state.live = make_live_window(cache)  # the console's live view (every process's, with Redis)
    app.state.metrics = Metrics()
    app.state.scheduler = Scheduler(schedule.tasks(settings, app.state), lock_dir=settings.var_dir / "locks")
    app.add_middleware(
        RequestContextMiddleware,
        metrics=app.state.metrics,
        max_body_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        upload_paths=UPLOAD_PATHS,
        max_json_depth=settings.max_json_depth,
        security_headers=SecurityHeaders(public_https=settings.base_url.startswith("https://")),
    )
    errors.install(app)
    # The collector first: its /v1/* routes take the most requests, and routes are matched in order.
    for router in (
        tracking_router,
        accounts_router,
        catalog_router,
        orders_router,
        promotions_router,
        pipeline_router,
        profiles_router,
        behaviour_router,
        profile_models_router,
        segments_router,
        ops_router,
    ):
        app.include_router(router)
    declare_problems(app)  # the OpenAPI document names each operation's problem answers
    if gateway is not None:  # the stand-in for the bank, reached over HTTP like a real gateway
        app.mount("/sandbox-gateway", gateway.app)
    web.mount(app)  # last: its catch-all route serves the single-page app
    return app
