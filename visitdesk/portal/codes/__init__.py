"""Security codes (issued by the desk, redeemed by patients) and Safe Health Codes: generation,
keyed hashing, and the staff operations on codes."""
