"""No migration loses a row, up or down, and an upgrade cut short (Ctrl-C, kill -9) finishes on a re-run.

An outside deployer found SQLite's batch rebuilds (CREATE new, copy, DROP old, RENAME) emptying
memberships, answers and consent events: the DROP of a parent table cascaded into its children,
because every carebot connection turns SQLite's foreign keys on. And a Ctrl-C in `db upgrade` left
a migration half done (pysqlite committed its DDL at once) that no re-run could finish.

The data here is built from the database's own tables as they stand at each revision (reflected),
so a table a later migration adds is filled too: every table gets rows, every foreign key points
at a row, and the numbers (and texts) that carebot keeps encrypted at that revision are encrypted.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, MetaData, create_engine, func, insert, select

from carebot.store import crypto
from carebot.store.db import MigrationLostRows, alembic_config, downgrade, known_revisions, upgrade

ROOT = Path(__file__).parent.parent
AT = datetime(2026, 3, 3, 23, 0, tzinfo=UTC)
ROWS_PER_TABLE = 2
# Tables whose rows are not the group's life but carebot's own bookkeeping: the key's fingerprint
# must be this key's (a made-up one is refused before any migration runs).
NOT_FILLED = {"alembic_version", "key_fingerprint"}
# Columns carebot keeps encrypted, and the revision from which they are (crypto.COLUMNS at 0007,
# crypto.TEXTS as each came: care maps were encrypted from their start).
ENCRYPTED_FROM = {**{(table, column): "0007" for table, pairs in crypto.COLUMNS.items() for column, _ in pairs},
                  ("care_maps", "helps"): "0016", ("care_maps", "hurts"): "0016", ("care_maps", "also"): "0016",
                  ("outbox", "body"): "0020", ("inbound_messages", "body"): "0022"}


def _engine(url: str) -> Engine:
    return create_engine(url)


def _revision(engine: Engine) -> str:
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def _value(table: str, column, n: int, revision: str):
    """A value for ``column`` in row ``n``: unique where a column is, encrypted where carebot encrypts."""
    try:
        kind = column.type.python_type
    except NotImplementedError:
        kind = str
    if kind is bool:
        return n % 2 == 0
    if kind is int:
        return n
    if kind is float:
        return float(n)
    if kind is datetime:
        return AT
    if kind is date:
        return AT.date()
    if kind in (dict, list):
        return {}
    plain = f"+1515555{n:04d}" if (table, column.name) in ENCRYPTED_FROM else f"{column.name[:8]}-{n}"
    length = getattr(column.type, "length", None)
    if length:
        plain = plain[-length:]
    since = ENCRYPTED_FROM.get((table, column.name))
    return crypto.active().encrypt(plain) if since is not None and revision >= since else plain


def fill(url: str) -> None:
    """Rows in every table still empty, parents first, each foreign key pointing at a parent's row."""
    engine = _engine(url)
    revision = _revision(engine)
    tables = MetaData()
    tables.reflect(engine)
    serial = 0
    with engine.begin() as conn:
        for table in tables.sorted_tables:
            if table.name in NOT_FILLED or conn.execute(select(func.count()).select_from(table)).scalar():
                continue
            for _ in range(ROWS_PER_TABLE):
                serial += 1
                row = {}
                for column in table.columns:
                    if column.foreign_keys:
                        target = next(iter(column.foreign_keys)).column
                        row[column.name] = conn.execute(select(target).limit(1).offset(serial % ROWS_PER_TABLE)).scalar()
                    elif column.primary_key and column.autoincrement in (True, "auto") and len(table.primary_key.columns) == 1 \
                            and column.type.python_type is int:
                        continue
                    else:
                        row[column.name] = _value(table.name, column, serial, revision)
                conn.execute(insert(table).values(**row))
    engine.dispose()


def counts(url: str) -> dict[str, int]:
    """Each table's rows, and each foreign key column's rows pointing somewhere (SET NULL loses those)."""
    engine = _engine(url)
    tables = MetaData()
    tables.reflect(engine)
    found = {}
    with engine.connect() as conn:
        for table in tables.sorted_tables:
            if table.name == "alembic_version":
                continue
            found[table.name] = conn.execute(select(func.count()).select_from(table)).scalar()
            for column in table.columns:
                if column.foreign_keys:
                    found[f"{table.name}.{column.name}"] = conn.execute(
                        select(func.count(column))).scalar()
    engine.dispose()
    return found


def orphans(url: str) -> list:
    """SQLite's own check of every foreign key (PostgreSQL never lets one dangle)."""
    if not url.startswith("sqlite"):
        return []
    with sqlite3.connect(Path(url.removeprefix("sqlite:///"))) as conn:
        return conn.execute("PRAGMA foreign_key_check").fetchall()


def kept(before: dict[str, int], after: dict[str, int]) -> dict[str, tuple[int, int]]:
    """What changed in the tables (and foreign keys) both sides have."""
    return {name: (before[name], after[name]) for name in before.keys() & after.keys() if before[name] != after[name]}


def test_every_migration_up_and_down_keeps_every_row(database_url: str) -> None:
    """Step by step from the first revision to the last, with rows in every table: each step up, then back
    down and up again, leaves every row (and every row's foreign keys) where it was."""
    revisions = known_revisions(database_url)
    upgrade(database_url, revisions[0])
    fill(database_url)
    for previous, revision in zip(revisions, revisions[1:], strict=False):
        before = counts(database_url)
        upgrade(database_url, revision)
        assert kept(before, counts(database_url)) == {}, f"upgrade {previous} -> {revision}"
        assert orphans(database_url) == [], f"upgrade {previous} -> {revision}"
        fill(database_url)  # the tables this revision made get rows too, for its way down
        full = counts(database_url)
        downgrade(database_url, previous)
        down = counts(database_url)  # less only the tables (and columns) the revision made
        assert kept(full, down) == {}, f"downgrade {revision} -> {previous}"
        assert orphans(database_url) == [], f"downgrade {revision} -> {previous}"
        upgrade(database_url, revision)
        assert kept(down, counts(database_url)) == {}, f"upgrade {previous} -> {revision} again"


def test_an_early_database_upgraded_at_once_keeps_every_row_and_a_step_back_too(database_url: str) -> None:
    """The deployer's two cases: a database at 0006 (before encryption) with its members, memberships,
    answers and consent events, `db upgrade` to the last revision; then `db downgrade -1` and up again."""
    upgrade(database_url, "0006")
    fill(database_url)
    before = counts(database_url)
    assert before["memberships"] and before["answers"] and before["consent_events"]
    upgrade(database_url)
    assert kept(before, counts(database_url)) == {}
    assert orphans(database_url) == []
    fill(database_url)
    full = counts(database_url)
    downgrade(database_url, "-1")
    down = counts(database_url)
    assert kept(full, down) == {}
    upgrade(database_url)
    assert kept(down, counts(database_url)) == {}
    assert orphans(database_url) == []


def _sqlite_only(url: str) -> Path:
    if not url.startswith("sqlite"):
        pytest.skip("SQLite's own: PostgreSQL runs a whole upgrade in one transaction and keeps foreign keys on")
    return Path(url.removeprefix("sqlite:///"))


def test_a_migration_that_would_leave_rows_pointing_nowhere_is_refused_and_undone(database_url: str,
                                                                                  tmp_path: Path) -> None:
    """With foreign keys off while migrating, a migration that orphans a row would go unseen: carebot
    checks every foreign key after each one, and one that left a row pointing nowhere is rolled back."""
    _sqlite_only(database_url)
    scripts = tmp_path / "migrations"
    shutil.copytree(ROOT / "migrations", scripts, ignore=shutil.ignore_patterns("__pycache__"))
    head = known_revisions(database_url)[-1]
    (scripts / "versions" / "9000_bad.py").write_text(
        f'"""a wrong migration"""\nfrom alembic import op\n\nrevision = "9000"\ndown_revision = "{head}"\n'
        "branch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n    op.execute('DELETE FROM groups')\n\n\n"
        "def downgrade():\n    pass\n")
    upgrade(database_url)
    fill(database_url)
    before = counts(database_url)
    config = alembic_config(database_url)
    config.set_main_option("script_location", str(scripts))
    with pytest.raises(MigrationLostRows, match=r"9000 would leave \d+ rows? of \w+ pointing at no groups"):
        command.upgrade(config, "head")
    assert _revision(_engine(database_url)) == head
    assert counts(database_url) == before and orphans(database_url) == []


def test_only_migrations_run_with_foreign_keys_off(migrated_url: str) -> None:
    """Serving keeps SQLite's foreign keys on (a forgotten member's rows go with them); only the engine
    migrations run on turns them off, and it begins real transactions."""
    from carebot.store.db import make_engine

    _sqlite_only(migrated_url)
    serving, migrating = make_engine(migrated_url), make_engine(migrated_url, migrating=True)
    try:
        with serving.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        with migrating.begin() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 0
            assert conn.connection.dbapi_connection.in_transaction  # BEGIN IMMEDIATE, not pysqlite's later one
    finally:
        serving.dispose()
        migrating.dispose()


def _carebot(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "carebot", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}, cwd=ROOT)


def _at_or_past(path: Path, revision: str) -> bool:
    """Whether the upgrade has committed ``revision`` (seen from another connection, as an operator would)."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.05) as conn:
            found = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # locked for a moment, or no version table yet
        return False
    return found is not None and found[0] >= revision


def _schema(path: Path) -> dict[str, tuple]:
    """Each table's columns, indexes (by their columns: a rebuild may order unique constraints otherwise)
    and foreign keys, as SQLite itself reads them."""
    with sqlite3.connect(path) as conn:
        tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]

        def indexed(table: str) -> list[tuple]:
            return sorted((unique, origin, tuple(column for *_, column in conn.execute(f'PRAGMA index_info("{name}")')),
                           name if origin == "c" else None)
                          for _, name, unique, origin, _ in conn.execute(f'PRAGMA index_list("{table}")'))

        return {table: (conn.execute(f'PRAGMA table_info("{table}")').fetchall(), indexed(table),
                        sorted(row[2:] for row in conn.execute(f'PRAGMA foreign_key_list("{table}")')))
                for table in tables}


# Where each run of `carebot db upgrade` is stopped: once the migration named has been committed (so the
# next one is running), by Ctrl-C or by kill -9. 0007 encrypts numbers and rebuilds members; 0009 and
# 0017 rebuild the outbox and groups, the parents of most rows.
CUTS = [("0006", signal.SIGINT), ("0008", signal.SIGKILL), ("0009", signal.SIGINT), ("0014", signal.SIGKILL),
        ("0016", signal.SIGINT), ("0018", signal.SIGKILL)]


def test_an_upgrade_cut_short_again_and_again_finishes_on_a_rerun_with_every_row(database_url: str,
                                                                                 tmp_path: Path) -> None:
    """`carebot db upgrade` stopped while a migration runs, again and again, by Ctrl-C (without a word) and
    by kill -9: each time the database is left exactly at a revision (its schema that of a database
    migrated there whole), never between two, and `carebot db upgrade` again brings it to the last
    revision with every row."""
    path = _sqlite_only(database_url)
    upgrade(database_url, "0006")
    fill(database_url)
    before = counts(database_url)
    reference = f"sqlite:///{tmp_path / 'reference.sqlite'}"
    for after, stop in CUTS:
        running = _carebot("db", "upgrade", "--url", database_url)
        deadline = time.monotonic() + 60
        while not _at_or_past(path, after) and running.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        running.send_signal(stop)
        _, said = running.communicate(timeout=60)
        assert running.returncode == -stop, (after, running.returncode, said[-3000:])  # cut short, not done
        assert said == "", said  # Ctrl-C ends it without a word (kill -9 leaves none to say)
        cut_at = _revision(_engine(database_url))
        assert after <= cut_at < known_revisions(database_url)[-1]
        upgrade(reference, cut_at)
        assert _schema(path) == _schema(Path(reference.removeprefix("sqlite:///"))), cut_at
        assert kept(before, counts(database_url)) == {}, cut_at
        assert orphans(database_url) == []
    again = _carebot("db", "upgrade", "--url", database_url)
    out, said = again.communicate(timeout=120)
    assert again.returncode == 0, said[-3000:]
    assert "up to date" in out
    assert _revision(_engine(database_url)) == known_revisions(database_url)[-1]
    assert kept(before, counts(database_url)) == {}
    assert orphans(database_url) == []
