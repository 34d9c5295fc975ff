"""The API's routes, one module per user: checkout, feeds, network, operations, health."""
