"""Wire models of secure messages: threads between a patient account and the practice.

A thread is about one patient; its messages are numbered 1, 2, ... within the thread. Read state
is a number per side ("read up to message N"), so an unread count is a comparison, and marking
read on one workstation reaches every other one through the change feed as a ``thread`` item.
"""

from __future__ import annotations

import string
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from visitdesk.api.wire import AwareDatetime, Wire

#: Longest message body, in characters; longer bodies are refused (413 before parsing, 422 after).
MAX_MESSAGE_CHARS = 20_000
#: Largest request body a message call accepts, in bytes (JSON escaping can triple a body).
MAX_MESSAGE_REQUEST_BYTES = 4 * MAX_MESSAGE_CHARS + 4096
#: Largest attachment, in bytes.
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
#: Most attachments one message may carry.
MAX_ATTACHMENTS_PER_MESSAGE = 5
#: Longest wait the patient's message long-poll honours, in seconds.
MAX_THREAD_WAIT_SECONDS = 30
#: Attachment types the portal accepts, recognised from the file's first bytes.
ATTACHMENT_TYPES = ("application/pdf", "image/png", "image/jpeg")


class Topic(StrEnum):
    APPOINTMENT = "appointment"
    BILLING = "billing"
    PRESCRIPTION_REFILL = "prescription_refill"
    MEDICAL_QUESTION = "medical_question"
    OTHER = "other"
    #: Begun by an I'm Here tap; patients cannot start one directly.
    ARRIVAL = "arrival"


TOPIC_LABELS: dict[Topic, str] = {
    Topic.APPOINTMENT: "Appointment",
    Topic.BILLING: "Billing",
    Topic.PRESCRIPTION_REFILL: "Prescription refill",
    Topic.MEDICAL_QUESTION: "Medical question",
    Topic.OTHER: "Other",
    Topic.ARRIVAL: "Arrival",
}


class ThreadStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class AuthorKind(StrEnum):
    PATIENT = "patient"
    STAFF = "staff"


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and no honest message needs one: refuse, do not strip.
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    return value


MessageBody = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_MESSAGE_CHARS),
    AfterValidator(_no_nul),
]
Subject = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=120), AfterValidator(_no_nul)
]
AttachmentIds = Annotated[list[str], Field(max_length=MAX_ATTACHMENTS_PER_MESSAGE)]


class AttachmentOut(Wire):
    id: str
    thread_id: str
    message_id: str | None = None
    filename: str
    content_type: str
    size: int


class MessageOut(Wire):
    id: str
    thread_id: str
    number: int
    author_kind: AuthorKind
    author_name: str
    body: str
    created_at: AwareDatetime
    attachments: list[AttachmentOut] = []
    #: The writer's own id for the message (the desk's local reply id), echoed back.
    client_id: str | None = None


class ThreadOut(Wire):
    """A thread as the desk sees it (the ``thread`` feed item)."""

    id: str
    patient_id: str
    topic: Topic
    subject: str
    status: ThreadStatus
    assigned_staff_id: str | None = None
    assigned_name: str | None = None
    checkin_id: str | None = None
    created_at: AwareDatetime
    last_message_at: AwareDatetime
    last_number: int
    #: Number of the newest message written by the patient's side (0 when none).
    last_patient_number: int
    last_staff_number: int
    staff_read_number: int
    patient_read_number: int


class PatientThreadOut(Wire):
    """A thread as the patient's app sees it: no staff-internal fields."""

    id: str
    patient_id: str
    topic: Topic
    subject: str
    status: ThreadStatus
    created_at: AwareDatetime
    last_message_at: AwareDatetime
    last_number: int
    #: Whether the practice wrote something the patient has not read yet.
    unread: bool


class PatientThreadDetail(PatientThreadOut):
    messages: list[MessageOut]


class ThreadStart(Wire):
    patient_id: Annotated[str, StringConstraints(max_length=64)]
    topic: Topic
    subject: Subject = ""
    body: MessageBody


class MessageCreate(Wire):
    body: MessageBody
    attachment_ids: AttachmentIds = []
    client_id: Annotated[str, StringConstraints(max_length=64)] | None = None


class ThreadAssign(Wire):
    #: None returns the thread to the Unassigned pool.
    staff_id: Annotated[str, StringConstraints(max_length=64)] | None = None


class ThreadRead(Wire):
    up_to: Annotated[int, Field(ge=0)]


class MessagesPage(Wire):
    """Messages after a number, for the patient's long-poll."""

    thread: PatientThreadOut
    messages: list[MessageOut]


class Colleague(Wire):
    """A staff member a thread can be assigned to."""

    id: str
    name: str
    role: str


# --------------------------------------------------------------------------- quick texts
# The practice's reply templates: a manager edits them once for every workstation (kept by the
# portal as a practice setting, sent to desks as one ``quick_texts`` feed item).

#: Placeholders a quick text may use, with what each stands for.
PLACEHOLDERS = {
    "patient_first_name": "the patient's first name",
    "patient_last_name": "the patient's last name",
    "practice_name": "the practice's name",
    "practice_phone": "the practice's phone number",
    "staff_name": "your name",
}
MAX_QUICK_TEXTS = 40
MAX_QUICK_TEXT_CHARS = 2_000

#: What a practice offers until a manager saves its own set.
DEFAULT_QUICK_TEXTS = (
    (
        "Thanks, we're on it",
        "Hi {patient_first_name}, thank you for your message. "
        "We are looking into it and will reply soon.",
    ),
    (
        "Please call us",
        "Hi {patient_first_name}, please call us at {practice_phone} so we can help you with this.",
    ),
    (
        "Arrival: have a seat",
        "Hi {patient_first_name}, we know you are here. Please take a seat; we will call you "
        "shortly.",
    ),
    (
        "Refill sent",
        "Hi {patient_first_name}, your refill request has been sent to the provider for review.",
    ),
)


#: The default sent in the arrival chat when the desk acknowledges an arrival (a title above).
DEFAULT_ACKNOWLEDGEMENT = "Arrival: have a seat"


def unknown_placeholders(body: str) -> list[str]:
    """Names in ``{braces}`` that are not :data:`PLACEHOLDERS`; ValueError for an unpaired brace."""
    names = [
        name for _lit, name, _spec, _conv in string.Formatter().parse(body) if name is not None
    ]
    return [name for name in names if name not in PLACEHOLDERS]


class QuickText(Wire):
    title: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=80),
        AfterValidator(_no_nul),
    ]
    body: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUICK_TEXT_CHARS),
        AfterValidator(_no_nul),
    ]
    on_acknowledge: bool = Field(
        default=False,
        description="Sent, filled in, in the arrival chat when the desk acknowledges an arrival "
        "(one text of a set at most).",
    )

    @model_validator(mode="after")
    def _known_placeholders(self) -> QuickText:
        try:
            unknown = unknown_placeholders(self.body)
        except ValueError:
            raise ValueError(
                f"A brace without its pair in “{self.title}”: write {{name}}."
            ) from None
        if unknown:
            raise ValueError(f"Unknown placeholder {{{unknown[0]}}} in “{self.title}”.")
        return self


class QuickTextSet(Wire):
    texts: Annotated[list[QuickText], Field(max_length=MAX_QUICK_TEXTS)]

    @model_validator(mode="after")
    def _one_acknowledgement(self) -> QuickTextSet:
        if sum(1 for text in self.texts if text.on_acknowledge) > 1:
            raise ValueError("Only one quick text can be sent when an arrival is acknowledged.")
        return self

    @classmethod
    def defaults(cls) -> QuickTextSet:
        return cls(
            texts=[
                QuickText(title=t, body=b, on_acknowledge=t == DEFAULT_ACKNOWLEDGEMENT)
                for t, b in DEFAULT_QUICK_TEXTS
            ]
        )
