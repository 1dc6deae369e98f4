"""``carebot backup``: a consistent copy of the database while carebot runs, readable by its owner only.

SQLite: the library's online backup API (``sqlite3.Connection.backup``), which copies a
database in WAL mode correctly while others write (a plain ``cp`` does not). PostgreSQL:
``pg_dump -Fc``, one snapshot of the whole database. The copy is written beside its final
name and renamed when whole, so a backup cut short never looks finished. The key is never in
it: keep CAREBOT_SECRET_KEY apart. Restore steps: deploy/README.md, "Backups and restore".
"""

from __future__ import annotations

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
    def __init__(self, message: str) -> None:
        super().__init__(f"carebot backup: {message}", DATABASE_MISSING)


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
    """Copy the database into ``directory``; the copy's path and the old copies removed past ``keep_days``."""
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
