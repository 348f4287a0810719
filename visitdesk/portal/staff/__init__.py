"""Staff accounts: the office manager adds staff, sets roles, disables and enables them; a
practice always keeps at least one active manager."""
