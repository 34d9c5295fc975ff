"""Returns: registered with their lines' condition and drop-off, each line routed by the
allocation core's return routing, and received at its destination, where sellable units re-enter
the ledger."""
