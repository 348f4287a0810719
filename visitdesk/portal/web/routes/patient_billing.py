"""The patient's billing calls: balances of linked patients, payment options and card payments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from visitdesk.api.wire import ErrorBody
from visitdesk.api.wire_billing import (
    PatientBalance,
    PaymentCreate,
    PaymentOptions,
    PaymentOut,
    PaymentPending,
)
from visitdesk.portal.billing import ledger, payments
from visitdesk.portal.persistence.idempotency import Outcome
from visitdesk.portal.web.bodies import PortalRoute
from visitdesk.portal.web.deps import (
    DashboardPatient,
    PatientWriter,
    State,
    patient_writer,
)

router = APIRouter(route_class=PortalRoute, tags=["patient billing"])


def get_gateway(request: Request) -> payments.PaymentGateway | None:
    gateway: payments.PaymentGateway | None = request.app.state.payment_gateway
    return gateway


Gateway = Annotated[payments.PaymentGateway | None, Depends(get_gateway)]


@router.get("/balance", response_model=list[PatientBalance], responses={401: {"model": ErrorBody}})
def list_balances(
    state: State, patient: DashboardPatient, gateway: Gateway
) -> list[PatientBalance]:
    """What each linked patient owes, with its aging, pending insurance and how to pay it."""
    with state.db.read() as session:
        return ledger.balances(session, patient.account_id, online_payment=gateway is not None)


@router.get(
    "/payment-options", response_model=PaymentOptions, responses={401: {"model": ErrorBody}}
)
def payment_options(_patient: DashboardPatient, gateway: Gateway) -> PaymentOptions:
    """Whether card payment is available here, and whose card form collects the card."""
    return payments.payment_options(gateway)


@router.post(
    "/payments",
    status_code=201,
    response_model=PaymentOut,
    responses={
        202: {"model": PaymentPending, "description": "Taken; posts once the processor confirms"},
        401: {"model": ErrorBody},
        402: {"model": ErrorBody, "description": "The card was declined"},
        404: {"model": ErrorBody},
        409: {"model": ErrorBody, "description": "Online payment is not available: how to pay"},
        422: {"model": ErrorBody},
        503: {"model": ErrorBody, "description": "The card processor could not be reached"},
    },
)
def pay(
    body: PaymentCreate,
    gateway: Gateway,
    writer: Annotated[PatientWriter, Depends(patient_writer)],
) -> Response:
    """Pay toward a linked patient's balance with what the processor's card form returned."""

    def apply(session: Session) -> Outcome:
        result = payments.make_payment(
            session,
            gateway,
            writer.patient.account_id,
            body,
            scope=writer.scope,
            request_key=writer.key,
        )
        return Outcome(202 if isinstance(result, PaymentPending) else 201, result)

    return writer.run(body, apply)
