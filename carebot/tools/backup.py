"""``carebot backup``: a consistent copy of the database while carebot runs, readable by its owner only.

SQLite: the library's online backup API (``sqlite3.Connection.backup``), which copies a
database in WAL mode correctly while others write (a plain ``cp`` does not). PostgreSQL:
``pg_dump -Fc``, one snapshot of the whole database. The copy is written beside its final
name and renamed when whole, so a backup cut short never looks finished. The key is never in
it: keep CAREBOT_SECRET_KEY apart. Restore steps: deploy/README.md, "Backups and restore".
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import sqlite3
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

from carebot.domain.startup import DATABASE_MISSING, Refusal
from carebot.store.db import sqlite_path

NAME = re.compile(r"^carebot-\d{4}-\d{2}-\d{2}T\d{6}Z\.(sqlite|dump)$")


class BackupProblem(Refusal):
    def __init__(self, message: str, exit_code: int = DATABASE_MISSING) -> None:
        super().__init__(f"carebot backup: {message}", exit_code)


def _cannot_write(directory: Path, error: OSError) -> BackupProblem:
    """Where the copy cannot go (the directory or the disk, not the database): one line, exit 1."""
    where = Path(error.filename) if error.filename else directory
    said = {
        errno.EACCES: f"permission denied writing in {where}: run it as the user that owns it, or choose another --to",
        errno.EPERM: f"permission denied writing in {where}: run it as the user that owns it, or choose another --to",
        errno.ENOSPC: f"the disk is full at {directory}: free some space (--keep-days deletes older copies) and "
                      "try again",
        errno.EDQUOT: f"the disk quota is used up at {directory}: free some space (--keep-days deletes older "
                      "copies) and try again",
        errno.EROFS: f"{where} is on a read-only file system: choose another --to",
        errno.ENOTDIR: f"{_the_file_in(where)} is a file, not a directory: choose another --to",
        errno.EEXIST: f"{_the_file_in(where)} is a file, not a directory: choose another --to",
    }.get(error.errno or 0, f"cannot make the directory {directory} or write in it ({error.strerror}): "
                            "choose another --to, e.g. /var/lib/carebot/backups")
    return BackupProblem(said, 1)


def _the_file_in(path: Path) -> Path:
    """The file standing where a directory of ``path`` should be (``path`` itself, or one above it)."""
    return next((p for p in (path, *path.parents) if p.is_file()), path)


def _private(path: Path) -> int:
    """A new file for the copy, readable and writable by its owner only from its first byte."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)


def _sqlite(source: Path, target: Path) -> None:
    if not source.exists():
        raise BackupProblem(f"there is no database at {source}")
    os.close(_private(target))
    # The source is opened read-only: a backup never creates or changes the database.
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
        if dst.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise BackupProblem("the copy does not check out (PRAGMA quick_check): the disk may be failing")
    src.close()
    dst.close()


def _postgresql(url: str, target: Path) -> None:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupProblem("pg_dump is missing: apt-get install postgresql-client (its major version at least "
                            "the server's)")
    parsed = make_url(url)
    # The password goes to pg_dump in its environment, never on a command line others can read (ps).
    env = {**os.environ, **({"PGPASSWORD": parsed.password} if parsed.password else {})}
    dsn = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    descriptor = _private(target)
    with os.fdopen(descriptor, "wb") as out:
        done = subprocess.run([pg_dump, "--format=custom", "--no-owner", f"--dbname={dsn}"], stdout=out,
                              stderr=subprocess.PIPE, env=env, text=False, check=False)
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().splitlines()
        raise BackupProblem(f"pg_dump failed: {said[-1] if said else 'no message'}")


def backup(url: str, directory: Path, now: datetime, *, keep_days: int | None = None) -> tuple[Path, list[Path]]:
    """Copy the database into ``directory``; the copy's path and the old copies removed past ``keep_days``.

    A directory that cannot be made or written in, or a disk that fills up, is one line (BackupProblem)
    and leaves no partial copy behind.
    """
    try:
        return _backup(url, directory, now, keep_days=keep_days)
    except OSError as error:
        raise _cannot_write(directory, error) from None
    except sqlite3.Error as error:  # the copy's writes (SQLite says "database or disk is full"), or the source
        if "full" in str(error):
            raise _cannot_write(directory, OSError(errno.ENOSPC, str(error))) from None
        raise BackupProblem(f"the copy failed: {error}") from None


def _backup(url: str, directory: Path, now: datetime, *, keep_days: int | None) -> tuple[Path, list[Path]]:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = sqlite_path(url) if url.startswith("sqlite") else None
    suffix = "sqlite" if path is not None else "dump"
    final = directory / f"carebot-{now:%Y-%m-%dT%H%M%S}Z.{suffix}"
    partial = final.with_name(final.name + ".partial")
    try:
        if path is not None:
            _sqlite(path, partial)
        elif url.startswith("postgresql"):
            _postgresql(url, partial)
        else:
            raise BackupProblem(f"cannot back up {make_url(url).drivername} databases")
        partial.replace(final)
    finally:
        partial.unlink(missing_ok=True)
    removed: list[Path] = []
    if keep_days is not None:
        cutoff = f"carebot-{now - timedelta(days=keep_days):%Y-%m-%dT%H%M%S}Z"
        for old in sorted(directory.iterdir()):
            if NAME.match(old.name) and old.name < cutoff and old != final:
                old.unlink()
                removed.append(old)
    return final, removed
