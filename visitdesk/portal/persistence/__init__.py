"""The portal's database: engine and sessions, tables, Alembic migrations, the change feed,
idempotency records, sign-in throttles, the hash-chained audit trail, and rows turned into wire
models. Domain code reads and writes through these; nothing here knows about HTTP."""
