"""The database: engine, models, encryption at rest, shared queries, retention."""
