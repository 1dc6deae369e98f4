"""``carebot backup`` and the restore steps of deploy/README.md (issue 20), on both databases.

A group with an invited member is backed up, the database is lost (written over), the copy is
restored as the README says, and carebot reads the group and its member again under the same key.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from carebot.cli import main
from carebot.domain import clock
from carebot.store import crypto
from tests.databases import SQLITE

NOW = datetime(2026, 3, 2, 3, 30, tzinfo=UTC)
README = Path(__file__).parent.parent / "deploy" / "README.md"


def carebot(*args: str, ok: bool = True) -> str:
    result = CliRunner().invoke(main, list(args))
    if ok:
        assert result.exit_code == 0, (result.output, result.exception)
    return result.output


@pytest.fixture
def deployment(migrated_url, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CAREBOT_DATABASE_URL", migrated_url)
    monkeypatch.setenv("CAREBOT_SYSTEM_ENV_FILE", str(tmp_path / "none.env"))
    monkeypatch.setattr(clock, "now", lambda: NOW)
    carebot("group", "add", "circle", "--name", "Eastside Care")
    (tmp_path / "roster.csv").write_text("phone,name\n+15155550123,Ana\n")
    carebot("roster", "import", "roster.csv", "--group", "CIRCLE")
    return migrated_url


def test_a_sqlite_backup_is_consistent_private_and_restores(deployment, backend, tmp_path) -> None:
    if backend.name != SQLITE:
        pytest.skip("the SQLite path")
    database = Path(deployment.removeprefix("sqlite:///"))
    # Another process in the middle of a write: the copy holds what was committed, nothing half-done.
    writer = sqlite3.connect(database)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE groups SET name = 'half-done'")
    said = carebot("backup", "--to", "backups")
    writer.rollback()
    writer.close()
    [copy] = (tmp_path / "backups").iterdir()
    assert said.strip() == f"Backed up to backups/{copy.name}."
    assert copy.name == "carebot-2026-03-02T033000Z.sqlite"
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600 and stat.S_IMODE(copy.parent.stat().st_mode) == 0o700
    # The database is lost: written over.
    database.write_bytes(b"not a database any more")
    # Restore, as deploy/README.md says: copy it over, no -wal or -shm beside it, db upgrade.
    readme = README.read_text()
    assert "cp /var/lib/carebot/backups/carebot-" in readme and "rm -f /var/lib/carebot/carebot.sqlite-wal" in readme
    shutil.copy(copy, database)
    for leftover in (database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")):
        leftover.unlink(missing_ok=True)
    # As the operator would, in new processes (the commands above keep their connections in this one).
    said = {}
    for args in (["db", "upgrade"], ["group", "list"], ["status"]):  # the suite's key is in the environment
        done = subprocess.run([sys.executable, "-m", "carebot", *args], capture_output=True, text=True,
                              cwd=tmp_path, timeout=120)
        assert done.returncode == 0, done.stderr
        said[args[0]] = done.stdout
    assert "CIRCLE" in said["group"] and "Eastside Care" in said["group"] and "half-done" not in said["group"]
    assert "1 invited" in said["status"]


def test_old_copies_go_after_keep_days(deployment, backend, tmp_path, monkeypatch) -> None:
    if backend.name != SQLITE:
        pytest.skip("the same on both: what is kept is a matter of names")
    backups = tmp_path / "backups"
    backups.mkdir()
    for name in ("carebot-2026-02-20T033000Z.sqlite", "carebot-2026-02-26T033000Z.sqlite", "notes.txt"):
        (backups / name).write_text("x")
    said = carebot("backup", "--to", str(backups), "--keep-days", "7")
    assert "1 older copy deleted" in said
    assert sorted(p.name for p in backups.iterdir()) == [
        "carebot-2026-02-26T033000Z.sqlite", "carebot-2026-03-02T033000Z.sqlite", "notes.txt"]


def test_a_postgresql_backup_restores_into_an_empty_database(deployment, backend, tmp_path, monkeypatch) -> None:
    if backend.name == SQLITE:
        pytest.skip("the PostgreSQL path")
    if shutil.which("pg_restore") is None:
        pytest.skip("pg_restore is missing (apt-get install postgresql-client)")
    carebot("backup", "--to", "backups")
    [copy] = (tmp_path / "backups").iterdir()
    assert copy.suffix == ".dump" and stat.S_IMODE(copy.stat().st_mode) == 0o600
    empty = backend.url(migrated=False)
    try:
        from sqlalchemy.engine import make_url

        target = make_url(empty)
        env = {**os.environ, "PGPASSWORD": target.password or ""}
        dsn = target.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
        restored = subprocess.run(["pg_restore", "--no-owner", f"--dbname={dsn}", str(copy)], env=env,
                                  capture_output=True, text=True, timeout=120)
        assert restored.returncode == 0, restored.stderr
        monkeypatch.setenv("CAREBOT_DATABASE_URL", empty)
        carebot("db", "upgrade")
        assert "Eastside Care" in carebot("group", "list") and "1 invited" in carebot("status")
    finally:
        backend.drop(empty)


def test_a_backup_under_another_key_is_refused_in_one_line(deployment, monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(crypto, "_active", None)
    monkeypatch.setenv(crypto.ENV, crypto.new_secret())
    result = CliRunner().invoke(main, ["backup", "--to", "backups"])
    assert result.exit_code == 9 and "not the key" in result.output and not (tmp_path / "backups").exists()


def test_roster_import_reads_stdin(deployment) -> None:
    result = CliRunner().invoke(main, ["roster", "import", "-", "--group", "circle"],
                                input="phone,name\n+15155550124,Luis\n515 555 0125,Mar\nnot a number,X\n")
    assert result.exit_code == 0, result.output
    assert "2 invited to CIRCLE" in result.output and "line 4" in result.output
    bad = CliRunner().invoke(main, ["roster", "import", "-", "--group", "circle"], input=b"phone,name\n\xff\xfe\x00x\n")
    assert bad.exit_code == 1 and "not UTF-8" in bad.output and "Traceback" not in bad.output


def _refused_in_one_line(result, *words: str) -> None:
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), (result.output, result.exception)
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1, result.output
    for word in words:
        assert word in result.output, result.output


@pytest.mark.parametrize("where, said", [
    ("/proc/nope", "cannot make the directory /proc/nope"),  # a directory that cannot be created
    ("roster.csv", "roster.csv is a file, not a directory"),
    ("roster.csv/backups", "roster.csv is a file, not a directory"),
])
def test_a_backup_directory_that_cannot_be_made_is_one_line(deployment, backend, tmp_path, where, said) -> None:
    if backend.name != SQLITE:
        pytest.skip("the same on both: the directory is made before either copies")
    _refused_in_one_line(CliRunner().invoke(main, ["backup", "--to", where]), said, "--to")


def test_a_backup_directory_carebot_may_not_write_in_is_one_line(deployment, backend, tmp_path) -> None:
    if backend.name != SQLITE:
        pytest.skip("the same on both")
    if os.geteuid() == 0:
        pytest.skip("root may write anywhere: the injected refusal below stands in for it")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        _refused_in_one_line(CliRunner().invoke(main, ["backup", "--to", str(locked / "backups")]),
                             "permission denied", str(locked / "backups"))
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize("error, said", [
    (OSError(errno.EACCES, "Permission denied"), "permission denied"),
    (OSError(errno.ENOSPC, "No space left on device"), "the disk is full"),
    (OSError(errno.EROFS, "Read-only file system"), "read-only"),
    (sqlite3.OperationalError("database or disk is full"), "the disk is full"),
])
def test_a_copy_that_cannot_be_written_is_one_line_and_leaves_nothing(deployment, backend, tmp_path, monkeypatch,
                                                                      error, said) -> None:
    if backend.name != SQLITE:
        pytest.skip("the SQLite copy; pg_dump's own failures are its last line")
    from carebot.tools import backup as tool

    def fails(source, target) -> None:
        target.write_bytes(b"half a copy")  # as a disk that fills up midway leaves it
        raise error

    monkeypatch.setattr(tool, "_sqlite", fails)
    _refused_in_one_line(CliRunner().invoke(main, ["backup", "--to", "backups"]), said)
    assert list((tmp_path / "backups").iterdir()) == []  # nothing half-written looks like a backup


def test_one_older_copy_deleted_is_said_in_the_singular(deployment, backend, tmp_path) -> None:
    if backend.name != SQLITE:
        pytest.skip("a matter of names")
    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / "carebot-2026-02-20T033000Z.sqlite").write_text("x")
    assert "; 1 older copy deleted." in carebot("backup", "--to", "backups", "--keep-days", "7")
