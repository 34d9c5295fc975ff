"""The unified inventory ledger: locations, stock events, positions, availability, reservations."""
