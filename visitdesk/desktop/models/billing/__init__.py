"""Patient billing in the local store: ledgers, guarantor accounts, aging, statements, holds.

**Accounts.** Every ledger line names the patient the service was for and the *guarantor*, the
person responsible for the bill (the ledger CSV's `guarantor_mrn`, by default the patient). A
guarantor's account is all lines naming them; statements go to the guarantor, and the account
number printed on them is the guarantor's MRN.

**Balances and aging** count patient-responsibility lines only (insurance lines are shown as
pending insurance) and age by posting date, credits paying the oldest charges first; see
`visitdesk.api.wire_billing` for why. The queries in `accounts` do this in SQL for every account
at once.

**Statement archive.** A statement's PDF is archived as a file beside the database with its
SHA-256 in `statements`; a reprint returns those exact bytes after checking the hash. A run's rows
are written in one transaction once all its PDFs exist, so a cancelled run leaves no trace.

The modules: `tables` (the six tables), `settings` (what a statement says, message templates),
`feed` (the change feed's ledger lines and payments), `accounts` (aging SQL, run previews),
`holds` (holds and the portal payments list), `statement_data` (what one statement shows, gathered
for any number of accounts by one function) and `archive` (run history and recorded
statements). Like the rest of the store, every function here takes the caller's `Session`; the
desk's billing operations (`visitdesk.desktop.ops.billing`) open the transactions.
"""

from visitdesk.desktop.models.billing.accounts import (
    AccountRow,
    RunPreview,
    StatementFilters,
    account_aging,
    accounts,
    balance_through,
    guarantor_of,
    iter_accounts,
    ledger,
    preview,
    recent_portal_payments,
)
from visitdesk.desktop.models.billing.archive import (
    RunSummary,
    StatementSummary,
    run_row,
    runs,
    sha256_of,
    statement_row,
    statements,
)
from visitdesk.desktop.models.billing.feed import LINE_FIELDS, line_row
from visitdesk.desktop.models.billing.holds import (
    HoldRow,
    HoldTarget,
    PaymentRow,
    hold_target,
    holds,
    place_hold,
    portal_payment_rows,
    release_hold,
)
from visitdesk.desktop.models.billing.settings import (
    DEFAULT_MESSAGES,
    MESSAGE_KEYS,
    PLACEHOLDERS,
    StatementSettings,
    check_template,
    fill_template,
    load_settings,
    save_settings,
)
from visitdesk.desktop.models.billing.tables import (
    AccountHold,
    BillingSetting,
    LedgerLine,
    PortalPayment,
    Statement,
    StatementRun,
)

__all__ = [
    "DEFAULT_MESSAGES",
    "LINE_FIELDS",
    "MESSAGE_KEYS",
    "PLACEHOLDERS",
    "AccountHold",
    "AccountRow",
    "BillingSetting",
    "HoldRow",
    "HoldTarget",
    "LedgerLine",
    "PaymentRow",
    "PortalPayment",
    "RunPreview",
    "RunSummary",
    "Statement",
    "StatementFilters",
    "StatementRun",
    "StatementSettings",
    "StatementSummary",
    "account_aging",
    "accounts",
    "balance_through",
    "check_template",
    "fill_template",
    "guarantor_of",
    "hold_target",
    "holds",
    "iter_accounts",
    "ledger",
    "line_row",
    "load_settings",
    "place_hold",
    "portal_payment_rows",
    "preview",
    "recent_portal_payments",
    "release_hold",
    "run_row",
    "runs",
    "save_settings",
    "sha256_of",
    "statement_row",
    "statements",
]
