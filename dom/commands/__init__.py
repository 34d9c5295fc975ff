"""Sub-commands of `dom`; each module exposes `register(app)`."""
