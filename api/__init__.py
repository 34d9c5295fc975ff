"""The HTTP layer over `dom` and `inventory`."""
