"""The patient's billing calls: balances of linked patients and card payments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from visitdesk.api.wire import ErrorBody
from visitdesk.api.wire_billing import PatientBalance, PaymentCreate, PaymentOut
from visitdesk.portal.billing import ledger, payments
from visitdesk.portal.persistence.idempotency import Outcome
from visitdesk.portal.web.deps import CurrentPatient, PatientWriter, State, patient_writer

router = APIRouter(tags=["patient billing"])


def get_gateway(request: Request) -> payments.PaymentGateway:
    gateway: payments.PaymentGateway = request.app.state.payment_gateway
    return gateway


Gateway = Annotated[payments.PaymentGateway, Depends(get_gateway)]


@router.get("/balance", response_model=list[PatientBalance], responses={401: {"model": ErrorBody}})
def list_balances(state: State, patient: CurrentPatient) -> list[PatientBalance]:
    """What each linked patient owes, with its aging and any insurance still pending."""
    with state.db.read() as session:
        return ledger.balances(session, patient.account_id)


@router.post(
    "/payments",
    status_code=201,
    response_model=PaymentOut,
    responses={
        401: {"model": ErrorBody},
        402: {"model": ErrorBody, "description": "The card was declined"},
        404: {"model": ErrorBody},
        422: {"model": ErrorBody},
    },
)
def pay(
    body: PaymentCreate,
    gateway: Gateway,
    writer: Annotated[PatientWriter, Depends(patient_writer)],
) -> Response:
    """Pay toward a linked patient's balance with a card token from the gateway's card form."""

    def apply(session: Session) -> Outcome:
        return Outcome(
            201, payments.make_payment(session, gateway, writer.patient.account_id, body)
        )

    return writer.run(body, apply)
