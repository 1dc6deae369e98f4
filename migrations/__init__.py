"""Alembic migrations for carebot's database (shipped as carebot.migrations)."""
