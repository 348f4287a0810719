"""Reading the audit trail: the manager's filtered list, signed checkpoints of the chain head,
and verification of the whole chain."""
