"""The Alembic migrations build exactly the models' schema, and carebot refuses an old schema."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import create_engine

from carebot.cli import main
from carebot.domain import startup
from carebot.store.db import SchemaOutOfDate, alembic_config, check_schema, upgrade
from carebot.store.models import Base

ROOT = Path(__file__).parent.parent


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


def _alembic(url: str, *args: str) -> subprocess.CompletedProcess:
    """Alembic's own command line on the shipped alembic.ini, the database from CAREBOT_DATABASE_URL."""
    env = {**os.environ, "CAREBOT_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "alembic", "-c", str(ROOT / "migrations" / "alembic.ini"), *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


def test_alembics_own_check_finds_the_schema_equal_to_the_models(database_url: str) -> None:
    behind = _alembic(database_url, "check")  # an empty database is not up to date; a SQLite file not made yet, not there
    said = behind.stdout + behind.stderr
    assert behind.returncode != 0 and ("not up to date" in said or "there is no database at" in said), said[-2000:]
    upgrade(database_url)
    done = _alembic(database_url, "check")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "No new upgrade operations detected" in done.stdout + done.stderr


def test_db_current_check_and_downgrade(database_url: str) -> None:
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    runner = CliRunner()
    made = runner.invoke(main, ["db", "upgrade", "--url", database_url])
    assert made.exit_code == 0, made.output
    current = runner.invoke(main, ["db", "current", "--url", database_url])
    assert current.exit_code == 0 and f"at {head}; this carebot needs {head} (up to date)" in current.output
    assert runner.invoke(main, ["db", "check", "--url", database_url]).exit_code == 0
    down = runner.invoke(main, ["db", "downgrade", "0008", "--url", database_url])
    assert down.exit_code == 0 and "back at 0008" in down.output, down.output
    behind = runner.invoke(main, ["db", "check", "--url", database_url])
    assert behind.exit_code == startup.SCHEMA and "(0008, needs" in behind.output
    assert "run `carebot db upgrade --url" in runner.invoke(main, ["db", "current", "--url", database_url]).output
    assert runner.invoke(main, ["db", "upgrade", "--url", database_url]).exit_code == 0
    assert runner.invoke(main, ["db", "check", "--url", database_url]).exit_code == 0


def test_0020_encrypts_the_texts_waiting_in_the_outbox_and_its_downgrade_puts_them_back(database_url: str) -> None:
    """A text already waiting when carebot is upgraded is encrypted by the upgrade, and read as it was."""
    from datetime import UTC, datetime

    from sqlalchemy import select, text

    from carebot.store import crypto
    from carebot.store.db import Database

    crypto.configure(crypto.configured_secret() or crypto.new_secret())
    upgrade(database_url, "0019")
    engine = create_engine(database_url)
    body = "Ana's care map - helps: the quiet of the early bus"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO outbox (channel, address, body, purpose, status, not_before, attempts, "
                          "created_at) VALUES ('sms', :address, :body, 'push', 'pending', :at, 0, :at)"),
                     {"address": crypto.active().encrypt("+15155550101"), "body": body,
                      "at": datetime(2026, 3, 3, 23, 0, tzinfo=UTC)})
    upgrade(database_url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT body FROM outbox")).scalar()
    assert stored != body and "early bus" not in stored
    db = Database(database_url)
    from carebot.store.models import OutboxMessage

    with db.transaction() as session:
        assert session.scalar(select(OutboxMessage.body)) == body
    db.dispose()
    assert CliRunner().invoke(main, ["db", "downgrade", "0019", "--url", database_url]).exit_code == 0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT body FROM outbox")).scalar() == body
    engine.dispose()


def test_0022_encrypts_the_texts_waiting_in_the_inbound_queue_and_its_downgrade_puts_them_back(database_url: str) -> None:
    """A member's text stored but not yet handled when carebot is upgraded is encrypted, and handled as it was."""
    from datetime import UTC, datetime

    from sqlalchemy import select, text

    from carebot.store import crypto
    from carebot.store.db import Database
    from carebot.store.models import InboundMessage

    crypto.configure(crypto.configured_secret() or crypto.new_secret())
    upgrade(database_url, "0021")
    engine = create_engine(database_url)
    words = "1 llamame despues de las 6, ando triste"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO inbound_messages (channel, provider_id, received_at, sender, sender_hash, body, "
                          "attempts) VALUES ('sms', 'SM1', :at, :sender, :hash, :body, 0), "
                          "('sms', 'SM2', :at, NULL, NULL, NULL, 0)"),
                     {"sender": crypto.active().encrypt("+15155550101"),
                      "hash": crypto.sender_hash("+15155550101", None), "body": words,
                      "at": datetime(2026, 3, 3, 23, 0, tzinfo=UTC)})
    upgrade(database_url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT body FROM inbound_messages ORDER BY provider_id")).scalars().all()
    assert stored[0].startswith(crypto.PREFIX) and "triste" not in stored[0] and stored[1] is None
    db = Database(database_url)
    with db.transaction() as session:
        assert session.scalars(select(InboundMessage.body).order_by(InboundMessage.provider_id)).all() == [words, None]
    db.dispose()
    assert CliRunner().invoke(main, ["db", "downgrade", "0021", "--url", database_url]).exit_code == 0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT body FROM inbound_messages WHERE provider_id = 'SM1'")).scalar() == words
    engine.dispose()


def _one_line(result) -> str:
    """A refusal as the deployer sees it: a non-zero exit and one line, never a traceback."""
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1, result.output
    return result.output


@pytest.mark.parametrize("target, said", [
    ("9999", "there is no revision 9999: the revisions are 0001 to "),
    ("-99", "-99 goes back past the first revision (0001)"),
    ("+1", "+1 is not back from 0008"),
    ("0009", "0009 is not back from 0008"),
    ("0005:0003", "name one revision"),
])
def test_a_downgrade_to_a_revision_there_is_not_is_one_line(database_url: str, target: str, said: str) -> None:
    runner = CliRunner()
    upgrade(database_url, "0008")  # at 0008 in eight steps (a whole upgrade and downgrade to it: the tests above)
    refused = runner.invoke(main, ["db", "downgrade", target, "--url", database_url])
    assert refused.exit_code == startup.SCHEMA and said in _one_line(refused), refused.output
    assert "`carebot db current`" in refused.output or "0008" in refused.output
    # Nothing moved.
    assert "The database is at 0008" in runner.invoke(main, ["db", "current", "--url", database_url]).output


def test_a_relative_downgrade_says_where_it_landed(database_url: str) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade", "--url", database_url]).exit_code == 0
    assert runner.invoke(main, ["db", "downgrade", "0008", "--url", database_url]).exit_code == 0
    down = runner.invoke(main, ["db", "downgrade", "-1", "--url", database_url])
    assert down.exit_code == 0 and down.output.strip() == "The database schema is back at 0007.", down.output


def test_a_database_a_newer_carebot_made_is_one_line_for_every_db_command(database_url: str) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade", "--url", database_url]).exit_code == 0
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0099'")
    engine.dispose()
    for args in (["db", "upgrade"], ["db", "downgrade", "0008"], ["db", "check"]):
        refused = runner.invoke(main, [*args, "--url", database_url])
        line = _one_line(refused)
        assert refused.exit_code == startup.SCHEMA, (args, line)
        assert "0099, which this carebot does not know (it knows 0001 to" in line and "newer carebot" in line, line


def test_alembics_own_check_where_there_is_no_database_says_so_and_makes_none(tmp_path) -> None:
    # Walked from the README ("Alembic's own command line works too"), run from the checkout: it made an
    # empty carebot.sqlite there and said the schema was not up to date.
    missing = tmp_path / "carebot.sqlite"
    done = _alembic(f"sqlite:///{missing}", "check")
    assert done.returncode != 0 and not missing.exists(), done.stderr[-2000:]
    assert "Traceback" not in done.stderr and f"there is no database at {missing}" in done.stderr, done.stderr
    made = _alembic(f"sqlite:///{missing}", "upgrade", "head")  # as `carebot db upgrade`, upgrade makes it
    assert made.returncode == 0 and missing.exists(), made.stderr[-2000:]
