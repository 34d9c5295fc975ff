"""Orders: submission (routed by the allocation core, allocated atomically in the ledger),
shipments and their events, cancellation, backorders and parking, history and explanations."""
