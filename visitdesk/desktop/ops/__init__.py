"""The desk's operations, one module per domain; the only API the views call besides the task runner.

Each domain's ops object is built once, by the composition root (`visitdesk.desktop.app`), from
the session's `LocalStore`, `PortalClient` and `SyncEngine`, and handed to the views inside a
`DeskOps` (`desk.py`). Every method that touches the store, the portal or a PDF returns an `Op`
from the session's `TaskRunner`: the view attaches `success` / `failure` callbacks and runs it,
and the blocking part happens off the GUI thread.

Ops open the store's read and write transactions (the store's own functions take a `Session`),
kick the sync engine after queueing a change for the portal, and keep the registration match index
current. Apart from `Op`, nothing here is Qt.

    checkins        the check-in board and status changes
    codes           security codes: search, list, issue, revoke, reissue, code slips
    registrations   the registration queue, candidate ranking and decisions
    myinfo          patients' myInfo changes: the queue, field decisions, card pictures, export
    billing         statement settings, previews, runs, reprints, holds, portal payments
    statement_run   the statement run and on-demand statement workflow (blocking, Qt-free)
    imports         practice-system CSV imports (patients, appointments, ledgers)
    messages        the shared inbox: pools, threads, replies, assignment, attachments, quick texts
    outbox          changes the portal did not accept: list, send again, discard
    desk            who is signed in (roles, time zone, lock screen) and the `DeskOps` bundle
"""
