"""Patient and staff accounts.

- `account_rules`: passwords, security questions, names, masking (pure rules).
- `patient_side`: what a signed-in patient reads, and its single-step changes (confirm an email,
  cancel a connect request); every function takes the caller's `Session`.
- `sessions`: the staff sessions the web layer reads and ends, in the caller's `Session`.
- `flows/`: the steps that must commit more than once per request (sign-in, registration,
  connect, linking a family member); the one exception to the transaction rule, see
  `visitdesk.portal`.
"""
