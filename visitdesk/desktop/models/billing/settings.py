"""What a statement says: the practice's remit-to details, the due days and the messages chosen
by the age of the account, kept as one JSON value in `billing_settings`."""

from __future__ import annotations

import json
import string
from dataclasses import asdict, dataclass, field

from sqlalchemy import select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from visitdesk.api.wire_billing import BUCKETS, AgingBuckets
from visitdesk.desktop.models.billing.tables import BillingSetting

DEFAULT_MESSAGES: dict[str, str] = {
    "current": (
        "Thank you for choosing {practice}. This statement shows what your insurance has "
        "processed and the part that is yours to pay. Please pay {amount_due} by {due_date}."
    ),
    "days_31_60": (
        "Your account has a balance more than 30 days old. Please pay {amount_due} by "
        "{due_date}, or call {billing_phone} if you have questions about your bill."
    ),
    "days_61_90": (
        "Your account is more than 60 days past due. Please pay {amount_due} by {due_date}. "
        "If you cannot pay in full, call {billing_phone} to set up a payment plan."
    ),
    "days_91_120": (
        "PAST DUE: your account is more than 90 days past due. Please pay {amount_due} now, or "
        "call {billing_phone} today to arrange payment."
    ),
    "over_120": (
        "FINAL NOTICE: your account is more than 120 days past due. If we do not receive "
        "{amount_due} by {due_date}, your account may be referred to a collection agency. "
        "Call {billing_phone} today."
    ),
    "credit": (
        "Your account has a credit of {credit}. No payment is due; the credit will be applied to "
        "future visits unless you ask us for a refund at {billing_phone}."
    ),
}
MESSAGE_KEYS = (*BUCKETS, "credit")
PLACEHOLDERS = ("practice", "amount_due", "due_date", "billing_phone", "credit", "account")


@dataclass
class StatementSettings:
    """What a statement says about the practice, and the messages chosen by account age."""

    practice_name: str = ""
    practice_address: list[str] = field(default_factory=list)
    practice_phone: str = ""
    billing_phone: str = ""
    remit_to: list[str] = field(default_factory=list)
    pay_url: str = ""
    due_days: int = 21
    messages: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_MESSAGES))

    @property
    def ready(self) -> bool:
        """Statements need somewhere to send the money: a remit-to address."""
        return bool(self.practice_name and len(self.remit_to) >= 2)

    def message_for(self, aging: AgingBuckets) -> str:
        if aging.total < 0:
            return self.messages.get("credit") or DEFAULT_MESSAGES["credit"]
        key = aging.oldest_due() or "current"
        return self.messages.get(key) or DEFAULT_MESSAGES[key]


def check_template(template: str) -> str | None:
    """A plain-words problem with a message template, or None when it can be used."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError:
        return "A brace { or } is not closed; write {{ or }} for a literal brace."
    unknown = [name for name in names if name not in PLACEHOLDERS]
    if unknown:
        return f"Unknown placeholder {{{unknown[0]}}}; use {', '.join('{' + p + '}' for p in PLACEHOLDERS)}."
    return None


def fill_template(template: str, values: dict[str, str]) -> str:
    if check_template(template) is not None:
        return template
    return template.format(**{name: values.get(name, "") for name in PLACEHOLDERS})


_SETTINGS_KEY = "statement_settings"


def load_settings(
    session: Session, practice_name: str = "", portal_url: str = ""
) -> StatementSettings:
    raw = session.scalar(select(BillingSetting.value).where(BillingSetting.key == _SETTINGS_KEY))
    settings = StatementSettings(practice_name=practice_name)
    if portal_url:
        settings.pay_url = portal_url.rstrip("/") + "/pay"
    if raw:
        stored = json.loads(raw)
        for name, value in stored.items():
            if name == "messages":
                settings.messages.update({k: v for k, v in value.items() if k in MESSAGE_KEYS})
            elif hasattr(settings, name):
                setattr(settings, name, value)
    return settings


def save_settings(session: Session, settings: StatementSettings) -> None:
    for key in MESSAGE_KEYS:
        problem = check_template(settings.messages.get(key, ""))
        if problem:
            raise ValueError(problem)
    value = json.dumps(asdict(settings))
    statement = sqlite_insert(BillingSetting).values(key=_SETTINGS_KEY, value=value)
    session.execute(statement.on_conflict_do_update(index_elements=["key"], set_={"value": value}))
