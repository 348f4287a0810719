"""The portal's FastAPI application factory."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from visitdesk.api.heap import settle_garbage_collector
from visitdesk.api.wire import PATIENT_PREFIX, STAFF_PREFIX
from visitdesk.portal.audit_trail import routes as audit_routes
from visitdesk.portal.audit_trail.signing import AuditSigner
from visitdesk.portal.billing.payments import PaymentGateway, TestGateway
from visitdesk.portal.codes.hashing import CodeHasher
from visitdesk.portal.links import routes as link_routes
from visitdesk.portal.myinfo import routes as myinfo_routes
from visitdesk.portal.persistence import idempotency, throttle
from visitdesk.portal.persistence.db import (
    ConnectionBudget,
    Database,
    is_database_busy,
    plan_pool,
)
from visitdesk.portal.persistence.feed import STAFF_PAYLOAD
from visitdesk.portal.persistence.longpoll import ChangeNotifier
from visitdesk.portal.staff import routes as staff_routes
from visitdesk.portal.web.bodies import (
    DEFAULT_BODY_LIMIT,
    SecurityHeaders,
    document_errors_as_error_body,
    validation_message,
)
from visitdesk.portal.web.config import (
    STRIPE_SECRET_ENV,
    STRIPE_WEBHOOK_SECRET_ENV,
    PortalConfig,
    prepare_data_dir,
    read_secret,
)
from visitdesk.portal.web.deps import PortalState, SessionMemo
from visitdesk.portal.web.errors import PortalError
from visitdesk.portal.web.notify import build_messenger
from visitdesk.portal.web.observability import BUSY, RequestMetrics, health_router, route_of
from visitdesk.portal.web.routes import (
    patient,
    patient_accounts,
    patient_billing,
    patient_messages,
    patient_registration,
    payment_events,
    staff_accounts,
    staff_billing,
    staff_changes,
    staff_checkins,
    staff_codes,
    staff_messages,
    staff_records,
    staff_registrations,
    staff_sessions,
)
from visitdesk.portal.web.security import (
    HashingGate,
    Passwords,
    Security,
    TokenSigner,
    default_hash_workers,
    make_password_hasher,
)

log = logging.getLogger(__name__)

ENV_DATA_DIR = "VISITDESK_PORTAL_DATA_DIR"
ENV_DATABASE_URL = "VISITDESK_PORTAL_DATABASE_URL"
ENV_TRUSTED_PROXIES = "VISITDESK_PORTAL_TRUSTED_PROXIES"
#: The rest of the settings a multi-worker ``serve`` hands its workers (no secrets: those stay
#: in their own variables or files).
ENV_SETTINGS = "VISITDESK_PORTAL_SETTINGS"
#: Where card processors deliver their signed events.
GATEWAY_PREFIX = "/api/gateway/v1"
#: The serving process's PortalConfig (secrets excluded), for its worker processes.
ENV_CONFIG_JSON = "VISITDESK_PORTAL_CONFIG_JSON"


def database_for(config: PortalConfig) -> Database:
    """The portal's database with its pool sized to this process's share of the server."""
    url = config.resolved_database_url
    pool = plan_pool(
        url,
        ConnectionBudget(
            processes=config.workers * config.hosts,
            budget=config.db_connection_budget,
            reserved=config.db_reserved_connections,
            # SQLite connections cost nothing on a server: one per thread, so requests queue on
            # the database lock (busy_timeout) rather than on the pool.
            pool_size=config.db_pool_size
            or (config.thread_pool_size if url.startswith("sqlite") else None),
            max_overflow=config.db_max_overflow,
            timeout=config.db_pool_timeout_seconds,
            extra_per_process=1 if config.db_listen else 0,
        ),
    )
    return Database.from_url(url, pool)


def build_gateway(config: PortalConfig) -> PaymentGateway | None:
    """The card processor the settings name; None takes no card payments at all.

    Raises ValueError when Stripe is chosen but its keys cannot be read.
    """
    if config.payment_gateway == "test":
        return TestGateway()
    if config.payment_gateway == "stripe":
        from visitdesk.portal.billing.stripe_gateway import StripeGateway, StripeSettings

        return StripeGateway(
            StripeSettings(
                secret_key=read_secret(
                    STRIPE_SECRET_ENV, config.stripe_secret_key_file, "Stripe secret key"
                ),
                webhook_secret=read_secret(
                    STRIPE_WEBHOOK_SECRET_ENV,
                    config.stripe_webhook_secret_file,
                    "Stripe webhook signing secret",
                ),
                publishable_key=config.stripe_publishable_key or None,
                currency=config.payment_currency,
                api_base=config.stripe_api_base,
            )
        )
    return None


def create_app(config: PortalConfig) -> FastAPI:
    """Build the app: database (schema created if missing), security, routes, error handling."""
    prepare_data_dir(config)
    notifier = ChangeNotifier()
    memo = SessionMemo(config.feed_session_check_seconds)

    def feed_note(payload: str) -> None:
        if payload == STAFF_PAYLOAD:
            memo.forget_all()
        else:
            notifier.notify(payload)

    def heard_again() -> None:
        # Notifications sent while the LISTEN connection was down are lost.
        memo.forget_all()
        notifier.notify_all()

    db = database_for(config)
    listener = None
    if db.dialect == "postgresql" and config.db_listen:
        from visitdesk.portal.persistence.listen import FeedListener

        # Every worker (this one included) hears each commit through LISTEN, so the in-process
        # wake-up would only double the reads.
        listener = FeedListener(config.resolved_listen_url, feed_note, heard_again)
    else:
        db.on_practice_changed = notifier.notify
    db.on_staff_changed = memo.forget_all
    db.migrate_schema()
    idempotency.prune(db, config.idempotency_retention)
    throttle.prune(db, config)
    security = Security(
        passwords=Passwords(
            make_password_hasher(config),
            HashingGate(
                config.password_hash_workers or default_hash_workers(),
                config.password_hash_queue,
                config.password_hash_wait_seconds,
            ),
        ),
        tokens=TokenSigner(config.resolved_secret_key()),
    )
    state = PortalState(
        config=config,
        db=db,
        security=security,
        notifier=notifier,
        codes=CodeHasher(config.resolved_secret_key()),
        messenger=build_messenger(config),
        audit_signer=AuditSigner.load(config.data_dir),
        feed_sessions=memo,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        notifier.bind(asyncio.get_running_loop())
        if config.switch_interval_ms is not None:
            # How long a thread may hold the interpreter before handing it over: the event loop
            # answering desks waits behind the worker threads for up to this long per hand-over.
            sys.setswitchinterval(config.switch_interval_ms / 1000)
        to_thread.current_default_thread_limiter().total_tokens = config.thread_pool_size
        if listener is not None:
            listener.start()
            # Serve once wake-ups work (or after a short wait; /health/ready tells the truth).
            await asyncio.to_thread(listener.wait_connected, 5.0)
        try:
            yield
        finally:
            notifier.close()
            if listener is not None:
                await asyncio.to_thread(listener.stop)
            db.dispose()

    app = FastAPI(
        title="VisitDesk Portal",
        version="1",
        summary="Portal service for VisitDesk: staff sync API and patient API.",
        lifespan=lifespan,
        max_body_size=DEFAULT_BODY_LIMIT,
    )
    app.add_middleware(SecurityHeaders)
    app.state.portal = state
    app.state.portal_config = config
    app.include_router(staff_sessions.router, prefix=STAFF_PREFIX)
    app.include_router(staff_records.router, prefix=STAFF_PREFIX)
    app.include_router(staff_changes.router, prefix=STAFF_PREFIX)
    app.include_router(staff_checkins.router, prefix=STAFF_PREFIX)
    app.include_router(patient.router, prefix=PATIENT_PREFIX)
    app.include_router(staff_codes.router, prefix=STAFF_PREFIX)
    app.include_router(patient_registration.router, prefix=PATIENT_PREFIX)
    app.include_router(staff_billing.router, prefix=STAFF_PREFIX)
    app.include_router(patient_billing.router, prefix=PATIENT_PREFIX)
    app.include_router(staff_registrations.router, prefix=STAFF_PREFIX)
    app.include_router(myinfo_routes.staff_router, prefix=STAFF_PREFIX)
    app.include_router(myinfo_routes.patient_router, prefix=PATIENT_PREFIX)
    app.include_router(link_routes.router, prefix=STAFF_PREFIX)
    app.include_router(audit_routes.router, prefix=STAFF_PREFIX)
    app.include_router(staff_routes.router, prefix=STAFF_PREFIX)
    app.include_router(staff_messages.router, prefix=STAFF_PREFIX)
    app.include_router(patient_messages.router, prefix=PATIENT_PREFIX)
    app.include_router(payment_events.router, prefix=GATEWAY_PREFIX)
    app.include_router(patient_accounts.router, prefix=PATIENT_PREFIX)
    app.include_router(staff_accounts.router, prefix=STAFF_PREFIX)
    app.state.payment_gateway = build_gateway(config)

    @app.exception_handler(PortalError)
    async def portal_error(_request: Request, exc: PortalError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # The default handler repeats the input (passwords, codes, megabytes of it): name only
        # the fields and what is wrong with them.
        return JSONResponse({"detail": validation_message(exc)}, 422)

    def openapi() -> dict[str, object]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            app.openapi_schema = document_errors_as_error_body(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    busy_headers = {"Retry-After": str(config.retry_after_seconds)}

    async def database_error(request: Request, exc: Exception) -> JSONResponse:
        route = route_of(request.scope)
        if is_database_busy(exc):
            # Back-pressure: the desk's outbox and the patient app retry after Retry-After.
            BUSY.labels(route).inc()
            log.warning("database busy (%s) on %s: answered 503", type(exc).__name__, route)
            return JSONResponse(
                {"detail": "The portal is busy; please retry shortly."}, 503, headers=busy_headers
            )
        log.error("database error %s on %s", type(exc).__name__, route)
        return JSONResponse({"detail": "Internal error; please try again later."}, 500)

    app.add_exception_handler(SQLAlchemyError, database_error)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        # Only the exception type and route: messages may quote patient data.
        log.error("unexpected error %s on %s", type(exc).__name__, route_of(request.scope))
        return JSONResponse({"detail": "Internal error; please try again later."}, 500)

    app.include_router(health_router(db, lambda: listener is None or listener.connected))
    app.add_middleware(RequestMetrics, db=db, worker_header=config.worker_header)

    return app


def create_app_from_env() -> FastAPI:
    """App factory for multi-worker serving (uvicorn imports it in each worker process)."""
    serialized = os.environ.get(ENV_CONFIG_JSON)
    if serialized:
        config = PortalConfig.model_validate_json(serialized)
    else:
        proxies = os.environ.get(ENV_TRUSTED_PROXIES, "")
        settings = json.loads(os.environ.get(ENV_SETTINGS) or "{}")
        config = PortalConfig(
            data_dir=Path(os.environ[ENV_DATA_DIR]),
            database_url=os.environ.get(ENV_DATABASE_URL) or None,
            trusted_proxies=tuple(proxy for proxy in proxies.split(",") if proxy),
            **settings,
        )
    return create_serving_app(config)


def create_serving_app(config: PortalConfig) -> FastAPI:
    """The app of a portal process of its own (``serve``, or one of its workers), with the
    process's garbage collector settled once the app is built. In the desk's demo the portal
    is a thread, and the desk settles the collector of the whole process itself."""
    app = create_app(config)
    settle_garbage_collector()
    return app
