"""The system of record: the engine, the schema, locations' rows and the one transaction helper."""
