"""The demo simulator's messaging: patients write to the office, answer replies, and chat after
I'm Here. Logs ids only."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

import requests

from visitdesk.api.wire_messages import PatientThreadOut, Topic

log = logging.getLogger(__name__)

#: (topic, text) pairs a demo patient might write; synthetic, no real person's words.
OPENERS: tuple[tuple[Topic, str], ...] = (
    (Topic.APPOINTMENT, "Could I move my appointment to later in the week?"),
    (Topic.BILLING, "I think my last statement counted the copay twice. Can you check?"),
    (Topic.PRESCRIPTION_REFILL, "I am almost out of my prescription. Can it be refilled?"),
    (Topic.MEDICAL_QUESTION, "Is it normal to feel tired after the new dose?"),
    (Topic.OTHER, "Do you have parking near the entrance?"),
)
ANSWERS = ("Thank you!", "That works for me.", "Great, see you then.", "Understood, thanks.")
ARRIVAL_CHAT = (
    "I'm in the blue car by the entrance.",
    "Should I come in now?",
    "I'm in the lobby.",
)

#: ``call(method, path, **kwargs)`` on the patient API as one account.
Call = Callable[..., requests.Response]


class MessageChats:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def write(self, call: Call, patient_id: str) -> str | None:
        """Start a thread about ``patient_id``; returns its id."""
        topic, text = self.rng.choice(OPENERS)
        response = call(
            "POST", "/threads", json={"patient_id": patient_id, "topic": topic.value, "body": text}
        )
        if response.status_code != 201:
            return None
        thread_id = str(response.json()["id"])
        log.info("simulator started thread %s", thread_id)
        return thread_id

    def answer_replies(self, call: Call) -> int:
        """Read every thread with an unread reply and answer it; returns how many."""
        response = call("GET", "/threads")
        if response.status_code != 200:
            return 0
        answered = 0
        for thread in (PatientThreadOut.model_validate(item) for item in response.json()):
            if not thread.unread:
                continue
            call("POST", f"/threads/{thread.id}/read", json={"up_to": thread.last_number})
            body: dict[str, Any] = {"body": self.rng.choice(ANSWERS)}
            if call("POST", f"/threads/{thread.id}/messages", json=body).status_code == 201:
                answered += 1
                log.info("simulator answered thread %s", thread.id)
        return answered

    def chat_after_arrival(self, call: Call, thread_id: str | None) -> bool:
        if thread_id is None:
            return False
        body = {"body": self.rng.choice(ARRIVAL_CHAT)}
        return call("POST", f"/threads/{thread_id}/messages", json=body).status_code == 201
