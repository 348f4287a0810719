"""Patient billing: ledger lines from the practice system, balances and aging, card payments."""
