"""The Alembic migrations build exactly the models' schema, and carebot refuses an old schema."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import create_engine

from carebot.cli import main
from carebot.db import SchemaOutOfDate, check_schema, upgrade
from carebot.models import Base


def test_migrations_match_the_models(database_url: str) -> None:
    url = database_url
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_an_empty_or_old_database_is_refused_with_a_clear_message(database_url: str) -> None:
    url = database_url
    engine = create_engine(url)
    with pytest.raises(SchemaOutOfDate, match="run `carebot db upgrade`"):
        check_schema(engine)
    upgrade(url)
    check_schema(engine)  # up to date: no error
    engine.dispose()


def test_db_upgrade_command_is_repeatable(database_url: str) -> None:
    url = database_url
    for _ in range(2):
        result = CliRunner().invoke(main, ["db", "upgrade", "--url", url])
        assert result.exit_code == 0, result.output
        assert "up to date" in result.output
