"""The portal service: the patient portal's rules and API, and the staff API the desk syncs with.

Packages, outermost first:

- `web/`: the FastAPI app, routes (one module per domain and side), dependencies, TLS, the
  command line, settings, HTTP errors, logging, password/token security, outgoing mail and text.
- one package per domain: `accounts/`, `codes/`, `checkins/`, `records/`, `billing/`,
  `registrations/`: the rules of the portal, free of HTTP.
- `persistence/`: database, tables, migrations, change feed, idempotency, throttles, audit trail.
- `demo/`: seeding and the patient simulator; the service never imports it.

**Transaction rule.** A domain function takes a SQLAlchemy `Session` and works inside it: it
never begins, commits or rolls back. The web layer owns the transaction: a route opens
`state.db.read()` for a read, and every write runs in the idempotent writer a dependency gives it
(`web/deps.py`: one transaction per call, replayed for a repeated Idempotency-Key), which commits
the domain's changes, their change-feed items and their audit events together.

The one exception is a *flow*: a patient or sign-in step that must commit more than once within a
single request, because a failed attempt has to stay recorded although the request fails
(throttles and attempt counters), because slow password hashing must not hold a write lock, or
because mail and text go out only once the change is committed. A flow takes the `Database`,
says so in its docstring, and opens each of its transactions itself with `db.read()` / `db.write()`;
it never calls another flow. The flows live in `accounts/` (sessions, patient_side, registration,
connect); `billing.ledger.balances` is a read served the same way.
"""
