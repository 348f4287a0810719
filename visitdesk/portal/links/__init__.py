"""Linked accounts: the office manager's list of portal accounts and the patients they may see,
the review rules, revoking links and locking accounts."""
