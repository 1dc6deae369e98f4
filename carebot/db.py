"""The database: engine, sessions and the schema check at start-up."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from carebot.lease import Lease


class SchemaOutOfDate(RuntimeError):
    """The database is not at the schema this version of carebot needs."""


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    # What is deleted or cleared (a handled text, a forgotten member) is overwritten, not left in
    # free pages. Some builds (Debian's) do this by default; others (python.org's, for one) do not.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def normalize_url(url: str) -> str:
    """``postgresql://`` (and Heroku-style ``postgres://``) as carebot's driver, psycopg 3."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return url


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and a busy timeout."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        in_memory = url in ("sqlite://", "sqlite:///:memory:")
        # An in-memory database lives in one connection, so every session shares it.
        engine = create_engine(url, connect_args={"check_same_thread": False},
                               poolclass=StaticPool if in_memory else None)
        event.listen(engine, "connect", _sqlite_pragmas)
        if not in_memory:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        return engine
    return create_engine(url, pool_pre_ping=True)


class Database:
    """An engine and the way to open one transaction on it."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # This process's sender lease (carebot.lease), when it sends: serve takes one at start.
        self.lease: Lease | None = None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed when the block ends, rolled back if it raises."""
        with self._sessions() as session, session.begin():
            yield session

    def check_writes(self) -> None:
        """Raise when no write could start now (the busy timeout at most).

        On SQLite a read proves nothing: readers still read while another
        process (a backup, a stray ``sqlite3`` shell) holds the write lock and
        every webhook's write fails. So the write lock is taken and let go at
        once. On PostgreSQL any statement shows whether the server answers.
        """
        with self.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                conn.exec_driver_sql("ROLLBACK")
            else:
                conn.exec_driver_sql("SELECT 1")

    def checkpoint(self) -> None:
        """SQLite: copy the write-ahead log into the file and empty it; elsewhere nothing.

        secure_delete overwrites a cleared text in the file, but the log keeps
        the pages as they were until it is emptied. carebot serve's ticker runs
        this every minute, so a handled text leaves the disk within a minute.
        """
        if self.url.startswith("sqlite"):
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str) -> Config:
    """Alembic's configuration, pointing at the migrations that ship with carebot."""
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("carebot.migrations")))
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database schema up to ``revision`` (``carebot db upgrade``)."""
    command.upgrade(alembic_config(url), revision)


def check_schema(engine: Engine) -> None:
    """Refuse to run on a database whose schema is not the one this code expects."""
    head = ScriptDirectory.from_config(alembic_config(str(engine.url))).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current != head:
        found = current or "empty"
        raise SchemaOutOfDate(
            f"The database schema is out of date ({found}, needs {head}): "
            "run `carebot db upgrade` first."
        )
