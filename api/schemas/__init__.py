"""The API's models, split by direction: `...In` what a client may send (extra fields refused,
every field constrained), `...Out` what the API answers."""
