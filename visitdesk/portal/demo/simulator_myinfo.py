"""The simulator's myInfo changes: a few demo patients update their address, phone and email, or
their insurance with pictures of the card, so the desk's myInfo screen has work in the demo."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import requests

from visitdesk.portal.demo.card_image import card_png

log = logging.getLogger(__name__)

#: Sends one patient API call as the simulated account (method, path, keyword arguments).
Call = Callable[..., requests.Response]

#: The changes the simulator sends, in turn (insurance ones also get card pictures).
CHANGES: tuple[dict[str, str], ...] = (
    {
        "insurance_payer": "Pioneer Valley Health Plan",
        "insurance_member_id": "PVH4471209",
        "insurance_group": "GRP-2210",
        "insurance_relationship": "self",
    },
    {"address_line1": "48 Elm Street", "city": "Northampton", "postal_code": "01060"},
    {"phone": "(413) 555-0187", "email": "new.address@example.org"},
)
CARD_COLOURS = ((46, 111, 178), (88, 88, 96))


def send_change(call: Call, patient_id: str, number: int) -> str | None:
    """Send the `number`th change for the patient; returns the change's id (None if refused)."""
    body: dict[str, Any] = {"patient_id": patient_id, **CHANGES[number % len(CHANGES)]}
    if "insurance_payer" in body:
        for field, colour in zip(
            ("insurance_card_front", "insurance_card_back"), CARD_COLOURS, strict=True
        ):
            uploaded = call(
                "POST",
                "/insurance-cards",
                data=card_png(colour=colour),
                headers={"Content-Type": "image/png"},
            )
            if uploaded.status_code != 201:
                log.info("card picture refused: HTTP %s", uploaded.status_code)
                return None
            body[field] = uploaded.json()["id"]
    response = call(
        "POST",
        "/demographic-changes",
        json=body,
        headers={"Idempotency-Key": f"sim-myinfo-{patient_id}-{number}"},
    )
    if response.status_code != 201:
        log.info("myInfo change refused: HTTP %s", response.status_code)
        return None
    change_id: str = response.json()["id"]
    log.info("myInfo change sent: %s", change_id)
    return change_id
