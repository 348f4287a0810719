"""The card processor's webhook: signed events that confirm or fail pending payments.

The processor, not a user, calls this; the signature is the only credential. An event for a
payment this portal has not recorded yet (its transaction may still be committing) gets 409, and
the processor delivers it again later.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from visitdesk.api.wire import ErrorBody
from visitdesk.portal.billing import payments
from visitdesk.portal.billing.stripe_gateway import BadSignature, StripeGateway
from visitdesk.portal.web.bodies import PortalRoute
from visitdesk.portal.web.deps import State
from visitdesk.portal.web.errors import BadRequest, Conflict, NotFound

log = logging.getLogger(__name__)

#: Stripe's events are a few kilobytes; nothing larger is read.
EVENT_BODY_LIMIT = 256 * 1024

router = APIRouter(route_class=PortalRoute, tags=["payment processor"])


@router.post(
    "/stripe/events",
    responses={
        200: {"description": "Received"},
        400: {"model": ErrorBody, "description": "Not signed with the endpoint's secret"},
        404: {"model": ErrorBody, "description": "Stripe is not this portal's processor"},
        409: {"model": ErrorBody, "description": "Unknown payment; deliver again later"},
    },
    max_body_size=EVENT_BODY_LIMIT,
)
async def stripe_event(
    request: Request,
    state: State,
    stripe_signature: str | None = Header(default=None, alias="Stripe-Signature"),
) -> JSONResponse:
    """Confirm or fail a pending payment from a signed Stripe event."""
    gateway = request.app.state.payment_gateway
    if not isinstance(gateway, StripeGateway):
        raise NotFound("This portal does not take payments through Stripe.")
    payload = await request.body()
    try:
        settlement = gateway.verify_event(payload, stripe_signature)
    except BadSignature:
        log.warning("a payment event with a bad or stale signature was refused")
        raise BadRequest("The event's signature is not valid.") from None
    if settlement is None:
        return JSONResponse({"received": True})

    def apply() -> bool:
        with state.db.write() as session:
            return payments.settle(session, settlement)

    # The database work runs off the event loop, as a plain (sync) route's would.
    if not await run_in_threadpool(apply):
        raise Conflict("No payment with this reference yet.")
    return JSONResponse({"received": True})
