"""Flows: the patient and sign-in steps that commit more than once within one request.

Each flow takes the `Database` and opens its own short transactions, because

- a failed attempt (wrong password, wrong code, unknown security code) must stay recorded
  although the request fails, so it is committed on its own before the error is raised;
- password hashing (argon2, tens of milliseconds) must not run while a write lock is held, so a
  flow reads, hashes outside any transaction, then writes;
- mail and text go out only after the change they announce is committed, never from inside the
  transaction that could still roll back.

A flow never calls another flow, and everything it shares with the rest of the portal takes a
`Session`. Modules: `sign_in` (staff sign-in and refresh, patient sign-in), `registration`
(register by email or username, resend the confirmation, set the security questions), `connect`
(connect to a practice with a Safe Health Code, link a family member).
"""
