"""Per-domain operations the views call: each runs its blocking part on the task runner."""
