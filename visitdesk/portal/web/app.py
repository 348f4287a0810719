"""The portal's FastAPI application factory."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from visitdesk.api.wire import PATIENT_PREFIX, STAFF_PREFIX
from visitdesk.portal.billing.payments import TestGateway
from visitdesk.portal.codes.hashing import CodeHasher
from visitdesk.portal.persistence import idempotency, throttle
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.persistence.feed import ChangeNotifier
from visitdesk.portal.web.config import PortalConfig
from visitdesk.portal.web.deps import PortalState
from visitdesk.portal.web.errors import PortalError
from visitdesk.portal.web.notify import build_messenger
from visitdesk.portal.web.routes import (
    patient,
    patient_billing,
    patient_messages,
    patient_registration,
    staff_billing,
    staff_changes,
    staff_checkins,
    staff_codes,
    staff_messages,
    staff_records,
    staff_registrations,
    staff_sessions,
)
from visitdesk.portal.web.security import Passwords, Security, TokenSigner, make_password_hasher

log = logging.getLogger(__name__)

ENV_DATA_DIR = "VISITDESK_PORTAL_DATA_DIR"
ENV_DATABASE_URL = "VISITDESK_PORTAL_DATABASE_URL"


def create_app(config: PortalConfig) -> FastAPI:
    """Build the app: database (schema created if missing), security, routes, error handling."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    notifier = ChangeNotifier()
    db = Database.from_url(config.resolved_database_url)
    db.on_practice_changed = notifier.notify
    db.migrate_schema()
    idempotency.prune(db, config.idempotency_retention)
    throttle.prune(db, config)
    security = Security(
        passwords=Passwords(make_password_hasher(config)),
        tokens=TokenSigner(config.resolved_secret_key()),
    )
    state = PortalState(
        config=config,
        db=db,
        security=security,
        notifier=notifier,
        codes=CodeHasher(config.resolved_secret_key()),
        messenger=build_messenger(config),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        notifier.bind(asyncio.get_running_loop())
        try:
            yield
        finally:
            notifier.close()
            db.dispose()

    app = FastAPI(
        title="VisitDesk Portal",
        version="1",
        summary="Portal service for VisitDesk: staff sync API and patient API.",
        lifespan=lifespan,
    )
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
    app.include_router(staff_messages.router, prefix=STAFF_PREFIX)
    app.include_router(patient_messages.router, prefix=PATIENT_PREFIX)
    # The card processor; only the test gateway exists until a real processor is contracted.
    app.state.payment_gateway = TestGateway()

    @app.exception_handler(PortalError)
    async def portal_error(_request: Request, exc: PortalError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
        # Only the exception type: messages may quote patient data.
        log.error("unexpected error: %s", type(exc).__name__)
        return JSONResponse({"detail": "Internal error; please try again later."}, 500)

    return app


def create_app_from_env() -> FastAPI:
    """App factory for multi-worker serving (uvicorn imports it in each worker process)."""
    data_dir = Path(os.environ[ENV_DATA_DIR])
    return create_app(
        PortalConfig(data_dir=data_dir, database_url=os.environ.get(ENV_DATABASE_URL) or None)
    )
