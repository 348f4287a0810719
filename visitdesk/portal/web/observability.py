"""Health endpoints, Prometheus metrics and the per-request context of structured logs.

- ``GET /health/live``: the process answers (no database).
- ``GET /health/ready``: the database answers within a second and, on PostgreSQL, the worker's
  LISTEN connection is up; a load balancer sends traffic only to ready workers.
- ``GET /metrics``: Prometheus text. With several workers uvicorn's processes share one
  ``PROMETHEUS_MULTIPROC_DIR`` (the CLI sets it), so any worker answers for all of them.

Metric labels carry route templates and practice ids only, never a patient's data.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from visitdesk.api.wire import PATIENT_PREFIX, STAFF_PREFIX
from visitdesk.portal.persistence.db import Database
from visitdesk.portal.persistence.feed import FeedRow
from visitdesk.portal.web.logs import current_route

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: Response header naming the worker process (when the worker_header setting is on).
WORKER_HEADER = "X-VisitDesk-Worker"

REQUEST_SECONDS = Histogram(
    "visitdesk_request_seconds",
    "Time to answer a request, by route template and status class.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
LONGPOLLS = Gauge(
    "visitdesk_longpolls_open",
    "GET /changes calls in progress (most of them waiting, without a database connection).",
    multiprocess_mode="livesum",
)
POOL_IN_USE = Gauge(
    "visitdesk_db_pool_in_use",
    "Pooled database connections checked out, per worker (pid label), at its last request.",
    multiprocess_mode="liveall",
)
POOL_SIZE = Gauge(
    "visitdesk_db_pool_size",
    "Pooled database connections a worker may hold (pool size plus overflow).",
    multiprocess_mode="liveall",
)
FEED_LAG = Histogram(
    "visitdesk_feed_lag_seconds",
    "From a change's commit to the long-poll answer that carries it to a desk.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 30, 300),
)
OUTBOX_DEPTH = Gauge(
    "visitdesk_desk_outbox_depth",
    "Changes waiting in a desk's outbox, as its last GET /changes reported (largest per practice).",
    ["practice"],
    multiprocess_mode="mostrecent",
)
BUSY = Counter(
    "visitdesk_busy_total", "Requests answered 503 because the database was saturated.", ["route"]
)


def route_of(scope: MutableMapping[str, Any]) -> str:
    """The route template (``/api/staff/v1/checkins/{checkin_id}/status``): no ids, no query."""
    template = getattr(scope.get("route"), "path", None)
    if not template:
        return "unmatched"
    # FastAPI records the router's own route, without the prefix it was included under.
    path = str(scope.get("path", ""))
    for prefix in (STAFF_PREFIX, PATIENT_PREFIX):
        if path.startswith(prefix) and not str(template).startswith(prefix):
            return prefix + str(template)
    return str(template)


class RequestMetrics:
    """Pure ASGI middleware: latency histogram, pool gauge and the route for log records."""

    def __init__(self, app: Any, db: Database, worker_header: bool = False) -> None:
        self.app = app
        self.db = db
        self.worker = [(WORKER_HEADER.lower().encode(), str(os.getpid()).encode())]
        self.worker_header = worker_header
        pool = db.engine.pool
        size = getattr(pool, "size", lambda: 0)() + max(0, getattr(pool, "_max_overflow", 0))
        POOL_SIZE.set(size)

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        holder: dict[str, str] = {}
        current_route.set(holder)  # same task as uvicorn's error log, which reads it afterwards
        status = {"code": 500}

        async def send_with_status(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
                if self.worker_header:
                    message["headers"] = [*message.get("headers", []), *self.worker]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = route_of(scope)
            holder["route"] = route
            REQUEST_SECONDS.labels(
                scope.get("method", ""), route, f"{status['code'] // 100}xx"
            ).observe(time.perf_counter() - started)
            checked_out = getattr(self.db.engine.pool, "checkedout", None)
            if checked_out is not None:
                POOL_IN_USE.set(checked_out())


def observe_delivery(items: list[FeedRow]) -> None:
    """Feed lag of a long-poll answer: the newest item's age."""
    written = items[-1].written_at if items else None
    if written is not None:
        lag = (datetime.now(UTC) - written).total_seconds()
        FEED_LAG.observe(max(0.0, lag))


def record_outbox_depth(practice_id: str, header: str | None) -> None:
    if header is None:
        return
    try:
        depth = int(header)
    except ValueError:
        return  # a malformed report is ignored; the call itself is unaffected
    if 0 <= depth <= 10_000_000:
        OUTBOX_DEPTH.labels(practice_id).set(depth)


def metrics_payload() -> bytes:
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()


def health_router(db: Database, listener_ok: Callable[[], bool]) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health/live", summary="The process answers.")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/health/ready",
        summary="The database answers and wake-ups are connected.",
        responses={503: {"description": "Not ready: keep traffic away for now."}},
    )
    async def ready() -> JSONResponse:
        def ping() -> None:
            with db.read() as session:
                session.execute(text("SELECT 1"))

        checks = {"database": "ok", "wakeups": "ok" if listener_ok() else "down"}
        try:
            await run_in_threadpool(ping)
        except Exception as exc:  # any failure means "not ready"; the class is enough
            checks["database"] = type(exc).__name__
        ok = all(value == "ok" for value in checks.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "checks": checks},
            200 if ok else 503,
            headers=None if ok else {"Retry-After": "5"},
        )

    @router.get("/metrics", summary="Prometheus metrics.", include_in_schema=False)
    async def metrics(_request: Request) -> Response:
        return Response(metrics_payload(), media_type=CONTENT_TYPE_LATEST)

    return router
