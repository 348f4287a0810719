"""The portal service: the patient portal's rules and API, and the staff API the desk syncs with.

Packages, outermost first:

- `web/`: the FastAPI app, routes (one module per domain and side), dependencies, TLS, the
  command line, settings, HTTP errors, logging, password/token security, outgoing mail and text.
- one package per domain: `accounts/`, `codes/`, `checkins/`, `records/`, `billing/`,
  `registrations/`: the rules of the portal, free of HTTP.
- `persistence/`: database, tables, migrations, change feed, idempotency, throttles, audit trail.
- `demo/`: seeding and the patient simulator, run as tools that take the `Database`; the
  service never imports it.

**Transaction rule.** A domain function takes a SQLAlchemy `Session` and works inside it: it
never begins, commits or rolls back. The web layer owns the transaction: a route opens
`state.db.read()` for a read and `state.db.write()` for a plain write, and every write that may
carry an Idempotency-Key runs in the idempotent writer a dependency gives it (`web/deps.py`: one
write transaction per call, replayed for a repeated key), which commits the domain's changes,
their change-feed items and their audit events together.

**The one exception: flows**, all in `accounts/flows/`. A flow is a patient or sign-in step that
must commit more than once within a single request: a failed attempt has to stay recorded
although the request fails (throttles and attempt counters), slow password hashing must not hold
a write lock, and mail and text go out only once the change is committed. A flow takes the
`Database` and opens each of its short transactions itself; it never calls another flow, and the
rules it shares with the rest of the portal take a `Session`. No other package has flows.
"""
