"""Wire models of patient billing: ledger lines, portal payments, balances and aging.

Money is integer cents. On a ledger line a charge is positive and a payment or adjustment is
negative, so an account's balance is the plain sum of its lines. Only lines whose responsibility is
"patient" make up what the patient owes; "insurance" lines are billed to the payer and shown to the
patient as pending insurance.

**Aging** (shared by the portal's balance and the desk's statements): amounts age by their
*posting date*, the day the amount became the responsibility shown on the line (for a patient line
that is when the insurer's share was settled and the rest transferred to the patient), which is
also when the patient could first have been billed for it. Credits (payments, adjustments) pay the
oldest charges first, so the buckets always add up to the balance; a credit balance shows in the
current bucket as a negative amount.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from visitdesk.api.wire import MAX_UPSERT_BATCH, AwareDatetime, Mrn, ShortText, StrictInt, Wire

LedgerKind = Literal["charge", "payment", "adjustment"]
Responsibility = Literal["insurance", "patient"]
LedgerSource = Literal["import", "portal"]
PaymentStatus = Literal["approved"]
#: The card processor that takes a portal's payments: Stripe, or the demo's test cards.
CardProcessor = Literal["stripe", "test"]

#: Upper bound of one ledger amount ($1,000,000.00), to catch a misplaced decimal point.
MAX_LINE_CENTS = 100_000_000
#: Aging bucket names, youngest first, and the oldest age (days) each holds.
BUCKETS = ("current", "days_31_60", "days_61_90", "days_91_120", "over_120")
BUCKET_LIMITS = (30, 60, 90, 120, None)
BUCKET_LABELS = (
    "Current",
    "31\u201360 days",
    "61\u201390 days",
    "91\u2013120 days",
    "Over 120 days",
)

LineId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
LineCode = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)]
LineDescription = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
]
LineCents = Annotated[StrictInt, Field(ge=-MAX_LINE_CENTS, le=MAX_LINE_CENTS)]


class LedgerLineRecord(Wire):
    """One line of a patient's ledger as the practice management system exports it."""

    external_id: LineId = Field(description="The practice system's id of the line.")
    mrn: Mrn = Field(description="The patient the service was for.")
    guarantor_mrn: Mrn = Field(description="The responsible party whose account the line is on.")
    kind: LedgerKind
    service_date: date | None = None
    posted_date: date
    code: LineCode = ""
    description: LineDescription
    provider: ShortText = ""
    amount_cents: LineCents
    responsibility: Responsibility = "patient"


class LedgerLineOut(LedgerLineRecord):
    id: str
    patient_id: str
    guarantor_patient_id: str
    source: LedgerSource = "import"
    payment_id: str | None = None
    updated_at: AwareDatetime


class _BatchOut(Wire):
    """What a batch feed item says of its lines besides the lines: when they were written, and
    the n-th line's portal id and patients (``ids[n]``, ``patient_ids[n]``,
    ``guarantor_patient_ids[n]``)."""

    updated_at: AwareDatetime
    ids: Annotated[list[str], Field(max_length=MAX_UPSERT_BATCH)]
    patient_ids: Annotated[list[str], Field(max_length=MAX_UPSERT_BATCH)]
    guarantor_patient_ids: Annotated[list[str], Field(max_length=MAX_UPSERT_BATCH)]

    def _require_size(self, size: int) -> None:
        if not len(self.ids) == len(self.patient_ids) == len(self.guarantor_patient_ids):
            raise ValueError("ids, patient_ids and guarantor_patient_ids differ in length")
        if len(self.ids) != size:
            raise ValueError("ids and lines differ in length")


class LedgerLinesOut(_BatchOut):
    """Data of a ``ledger_lines`` feed item: the lines one bulk upsert created or changed.

    One item stands for a whole batch (up to :data:`MAX_UPSERT_BATCH` lines), in columns: the
    n-th line is ``lines[n]`` with portal id ``ids[n]`` and the patients ``patient_ids[n]`` and
    ``guarantor_patient_ids[n]``. All were written at ``updated_at`` by the practice system's
    import (a portal payment's line comes as a ``ledger_line`` item of its own). Written as one
    item, a batch costs the portal one feed row instead of thousands, and a desk one parse.
    """

    lines: Annotated[list[LedgerLineRecord], Field(max_length=MAX_UPSERT_BATCH)]

    @model_validator(mode="after")
    def _same_length(self) -> LedgerLinesOut:
        self._require_size(len(self.lines))
        return self


class LedgerUpsert(Wire):
    lines: Annotated[list[LedgerLineRecord], Field(max_length=MAX_UPSERT_BATCH)]


class LedgerColumns(Wire):
    """A batch of ledger lines in columns: the n-th line is made of the n-th value of every
    column, each checked as the field of the same name of :class:`LedgerLineRecord` (here every
    column is given, defaults included).

    The desk uploads an import's lines this way, and a batch's feed item carries them this way.
    As one object per line, a 5,000-line batch was twice the bytes, and building and checking
    5,000 objects cost the portal six times as long as checking eleven lists of plain values."""

    external_id: Annotated[list[LineId], Field(max_length=MAX_UPSERT_BATCH)]
    mrn: Annotated[list[Mrn], Field(max_length=MAX_UPSERT_BATCH)]
    guarantor_mrn: Annotated[list[Mrn], Field(max_length=MAX_UPSERT_BATCH)]
    kind: Annotated[list[LedgerKind], Field(max_length=MAX_UPSERT_BATCH)]
    service_date: Annotated[list[date | None], Field(max_length=MAX_UPSERT_BATCH)]
    posted_date: Annotated[list[date], Field(max_length=MAX_UPSERT_BATCH)]
    code: Annotated[list[LineCode], Field(max_length=MAX_UPSERT_BATCH)]
    description: Annotated[list[LineDescription], Field(max_length=MAX_UPSERT_BATCH)]
    provider: Annotated[list[ShortText], Field(max_length=MAX_UPSERT_BATCH)]
    amount_cents: Annotated[list[LineCents], Field(max_length=MAX_UPSERT_BATCH)]
    responsibility: Annotated[list[Responsibility], Field(max_length=MAX_UPSERT_BATCH)]

    @model_validator(mode="after")
    def _same_length(self) -> LedgerColumns:
        if len({len(getattr(self, name)) for name in LEDGER_COLUMNS}) > 1:
            raise ValueError("the columns of a batch differ in length")
        return self

    @property
    def size(self) -> int:
        """How many lines the batch holds."""
        return len(self.external_id)

    @classmethod
    def of(cls, records: Sequence[LedgerLineRecord]) -> LedgerColumns:
        """The same lines in columns."""
        columns: dict[str, Any] = {
            name: [getattr(r, name) for r in records] for name in LEDGER_COLUMNS
        }
        return cls.model_construct(**columns)

    def take(self, at: Sequence[int]) -> LedgerColumns:
        """The lines at the positions `at`, in that order (already checked: not checked again)."""
        columns: dict[str, Any] = {
            name: [column[n] for n in at] for name, column in self.columns().items()
        }
        return LedgerColumns.model_construct(**columns)

    def columns(self) -> dict[str, list[Any]]:
        """Each column by its field name, in :data:`LEDGER_COLUMNS` order."""
        return {name: getattr(self, name) for name in LEDGER_COLUMNS}


#: The columns of a :class:`LedgerColumns` batch: the fields of a line.
LEDGER_COLUMNS: tuple[str, ...] = tuple(LedgerLineRecord.model_fields)


class LedgerColumnsOut(_BatchOut):
    """Data of a ``ledger_columns`` feed item (feed level 3): the lines one bulk upsert created
    or changed, as :class:`LedgerLinesOut` but with the lines in columns
    (:class:`LedgerColumns`). The n-th line has portal id ``ids[n]``."""

    lines: LedgerColumns

    @model_validator(mode="after")
    def _same_length(self) -> LedgerColumnsOut:
        self._require_size(self.lines.size)
        return self


class AgingBuckets(Wire):
    current: int = 0
    days_31_60: int = 0
    days_61_90: int = 0
    days_91_120: int = 0
    over_120: int = 0

    @property
    def total(self) -> int:
        return self.current + self.days_31_60 + self.days_61_90 + self.days_91_120 + self.over_120

    def values(self) -> tuple[int, int, int, int, int]:
        return (self.current, self.days_31_60, self.days_61_90, self.days_91_120, self.over_120)

    def oldest_due(self) -> str | None:
        """Name of the oldest bucket holding a positive amount (None when nothing is owed)."""
        for name, value in zip(reversed(BUCKETS), reversed(self.values()), strict=True):
            if value > 0:
                return name
        return None

    @classmethod
    def from_bucket_charges(cls, charges: Iterable[int], credits: int) -> AgingBuckets:
        """Apply `credits` (a positive number) to the charges per bucket, oldest first.

        `charges` are the positive amounts per bucket, youngest first (see BUCKETS)."""
        amounts = list(charges)
        remaining = credits
        for index in range(len(amounts) - 1, -1, -1):
            applied = min(amounts[index], remaining)
            amounts[index] -= applied
            remaining -= applied
        amounts[0] -= remaining  # a credit left over is a credit balance
        return cls(**dict(zip(BUCKETS, amounts, strict=True)))

    @classmethod
    def of_lines(cls, lines: Iterable[tuple[date, int]], as_of: date) -> AgingBuckets:
        """Age (posting date, amount) pairs as of `as_of`."""
        charges = [0] * len(BUCKETS)
        credits = 0
        for posted, amount in lines:
            if amount < 0:
                credits -= amount
                continue
            age = (as_of - posted).days
            charges[bucket_index(age)] += amount
        return cls.from_bucket_charges(charges, credits)


def bucket_index(age_days: int) -> int:
    for index, limit in enumerate(BUCKET_LIMITS):
        if limit is None or age_days <= limit:
            return index
    return len(BUCKETS) - 1


class PatientBalance(Wire):
    """What one linked patient owes the practice (patient responsibility), and its aging."""

    patient_id: str
    practice_id: str
    practice_name: str
    first_name: str
    last_name: str
    balance_cents: int
    pending_insurance_cents: int
    aging: AgingBuckets
    allow_prepayment: bool = False
    last_payment_at: AwareDatetime | None = None
    online_payment_available: bool = Field(
        default=False, description="Whether a card payment can be made on the portal."
    )
    how_to_pay: str = Field(
        default="", description="When online payment is not available: how to pay instead."
    )


CardToken = Annotated[
    str,
    StringConstraints(min_length=5, max_length=64, pattern=r"^(tok|pm)_[A-Za-z0-9_]+$"),
]


class PaymentCreate(Wire):
    """A card payment: the card itself stays with the payment gateway, we only see its token."""

    patient_id: str
    amount_cents: Annotated[StrictInt, Field(gt=0, le=MAX_LINE_CENTS)]
    card_token: CardToken = Field(
        description="What the processor's card form returned: a card token (tok_...) or a "
        "Stripe PaymentMethod id (pm_...); never a card number."
    )


class PaymentOut(Wire):
    id: str
    patient_id: str
    mrn: str
    amount_cents: int
    status: PaymentStatus = "approved"
    card_brand: str
    card_last4: str
    gateway_reference: str
    created_at: AwareDatetime
    ledger_line_id: str
    balance_after_cents: int


class PaymentPending(Wire):
    """A payment the processor accepted but has not yet confirmed; it posts once it does.

    ``client_secret`` is set when the card needs the patient's bank to confirm (3-D Secure): the
    processor's card form completes that step with it.
    """

    id: str
    patient_id: str
    amount_cents: int
    status: Literal["pending"] = "pending"
    gateway_reference: str
    client_secret: str | None = None
    message: str


class PaymentOptions(Wire):
    """Whether the portal takes card payments, and if not, how patients can pay instead."""

    online_payment_available: bool
    processor: CardProcessor | None = Field(
        default=None, description="Whose card form to show (its token goes to POST /payments)."
    )
    publishable_key: str | None = Field(
        default=None, description="The processor's public key for its card form (Stripe)."
    )
    message: str = Field(description="Plain words for the patient.")
