"""Patient and staff accounts: staff sessions, patient sign-in, registration by email or by
username, connecting an account to a practice's records, and the account rules (passwords,
security questions, names)."""
