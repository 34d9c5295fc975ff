"""Plain values of the ledger, shared by every part: no I/O, no database or Redis import."""
