"""The database: engine, sessions and the checks at start-up (reachable, there, the schema, the key)."""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from carebot.domain import clock, startup
from carebot.domain.startup import Refusal
from carebot.store.lease import Lease

CONNECT_TIMEOUT = 10  # seconds a PostgreSQL server has to answer, so a silent host is not a hang


class SchemaOutOfDate(Refusal):
    """The database is not at the schema this version of carebot needs."""

    exit_code = startup.SCHEMA


class MigrationLostRows(Refusal):
    """A migration would have left rows pointing at rows no longer there: it was undone."""

    exit_code = startup.SCHEMA


class DatabaseProblem(Refusal):
    """The database cannot be used: its URL, its server, its login, or it is not there."""


def shown(url: str) -> str:
    """The URL as logs and messages show it: without its password."""
    try:
        parsed = make_url(normalize_url(url))
    except ArgumentError:
        # Unreadable: shown as written only where no login can be in it (a password comes before an "@").
        return url if "@" not in url else "(an unreadable URL)"
    if parsed.host and "@" in parsed.host:
        # A password holding an "@" not written as %40: the URL's first "@" ends the password early, and
        # the rest of it would be shown as the host. Show the server only, after the last "@".
        parsed = parsed.set(password="***", host=parsed.host.rsplit("@", 1)[1])
    return parsed.render_as_string(hide_password=True)


def _password_unencoded(url: str) -> bool:
    """Whether ``url``'s password holds a character that must be percent-encoded ("@" as %40)."""
    try:
        host = make_url(normalize_url(url)).host
    except ArgumentError:
        return False
    return host is not None and "@" in host


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for another database, an in-memory one, or a URL that cannot be read
    (``sqlite//carebot.sqlite``: connecting to it then gives the one line that says so)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _named_by(option: bool) -> str:
    """Where the URL came from: a command's --url, or the settings."""
    return "--url" if option else "CAREBOT_DATABASE_URL"


def upgrade_command(url: str, *, option: bool = False) -> str:
    """The command that makes (or brings up to date) the database at ``url``: ``carebot db upgrade`` reads
    CAREBOT_DATABASE_URL, so a database named with ``--url`` needs that URL again (never a password shown)."""
    if not option:
        return "`carebot db upgrade`"
    try:
        secret = make_url(normalize_url(url)).password is not None
    except ArgumentError:
        secret = True
    return "`carebot db upgrade --url` with the same URL" if secret else f"`carebot db upgrade --url {url}`"


def refusal(error: Exception, url: str, *, option: bool = False) -> DatabaseProblem:
    """What an error connecting to ``url`` means for the operator, in one line with its exit code
    (``option``: the URL came from the command's --url, not from CAREBOT_DATABASE_URL)."""
    where = shown(url)
    if isinstance(error, (ArgumentError, NoSuchModuleError, ImportError)):
        # In the operator's words, not SQLAlchemy's ("Can't load plugin: sqlalchemy.dialects:sqlte").
        scheme = url.split("://", 1)[0] if "://" in url else None
        why = ("it is not a database URL" if scheme is None
               else f"carebot knows no database called {scheme!r}" if isinstance(error, NoSuchModuleError)
               else f"{scheme!r} needs a driver carebot does not use" if isinstance(error, ImportError)
               else "it is not a database URL")
        return DatabaseProblem(f"carebot: {_named_by(option)} {where} cannot be used ({why}); write "
                               "sqlite:///path/carebot.sqlite or postgresql+psycopg://user:password@host:5432/carebot",
                               startup.DATABASE_URL)
    if _password_unencoded(url):
        return DatabaseProblem(f"carebot: {_named_by(option)} {where} cannot be used: its password holds an '@', "
                               "which a URL must write as %40 (and ':' as %3A, '/' as %2F, '%' as %25)",
                               startup.DATABASE_URL)
    original = getattr(error, "orig", None) or error
    state = getattr(original, "sqlstate", None) or ""
    said = str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    # The server's SQLSTATE when psycopg has it; libpq's connection errors carry only its words.
    if not state and re.search(r"password authentication failed|role \"[^\"]*\" does not exist", said):
        state = "28000"
    elif not state and re.search(r"database \"[^\"]*\" does not exist", said):
        state = "3D000"
    if state.startswith("28"):  # invalid authorization: a wrong password or an unknown user
        return DatabaseProblem(f"carebot: the database at {where} refused the login ({said}): check the user "
                               f"and password in {_named_by(option)}", startup.DATABASE_LOGIN)
    if state == "3D000":  # invalid catalog name: no such database
        return DatabaseProblem(f"carebot: there is no database {make_url(normalize_url(url)).database!r} at "
                               f"{where}: create it (createdb), then run {upgrade_command(url, option=option)}",
                               startup.DATABASE_MISSING)
    if url.startswith("sqlite"):
        return DatabaseProblem(f"carebot: the SQLite database {where} cannot be opened ({said}): check the "
                               "path and that this user may write there", startup.DATABASE_MISSING)
    return DatabaseProblem(f"carebot: no database server answers at {where} ({said}): is it running, and "
                           "are the host and port right?", startup.DATABASE_UNREACHABLE)


DISK_FULL, READ_ONLY, LOCKED, UNAVAILABLE = "disk full", "read-only", "locked", "unavailable"
# SQLite's primary result codes for a database that cannot take a write (or be opened at all):
# FULL, READONLY, BUSY (another process's write lock past the busy timeout), CANTOPEN, IOERR.
_SQLITE_STORAGE = {13: DISK_FULL, 8: READ_ONLY, 5: LOCKED, 14: UNAVAILABLE, 10: UNAVAILABLE}
# PostgreSQL's SQLSTATEs for the same: disk full, read-only; out of resources, shutting down.
_POSTGRES_STORAGE = {"53100": DISK_FULL, "25006": READ_ONLY}
_POSTGRES_AWAY = ("53", "57P", "08")
# Free space below which SQLite's disk is called full: a commit needs a few pages of log.
MIN_FREE_BYTES = 1 << 20
# How long a write that failed for want of storage keeps /healthz at 503 (each new failure renews it).
TROUBLE_FOR = timedelta(minutes=1)


class StorageTrouble(RuntimeError):
    """The database cannot take writes: its disk is full, it is read-only, or it cannot be opened."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def storage_trouble(error: BaseException) -> str | None:
    """What ``error`` says keeps the database from taking writes (DISK_FULL, READ_ONLY, LOCKED,
    UNAVAILABLE), if anything.

    None for anything else: a constraint, a bad statement, a lost connection
    (which dispatcher.database_away knows) are not the storage's doing.
    """
    if isinstance(error, StorageTrouble):
        return error.kind
    original = getattr(error, "orig", None)
    code = getattr(original, "sqlite_errorcode", None)
    if code is not None:
        return _SQLITE_STORAGE.get(code & 0xFF)
    sqlstate = getattr(original, "sqlstate", None) or ""
    if sqlstate in _POSTGRES_STORAGE:
        return _POSTGRES_STORAGE[sqlstate]
    return UNAVAILABLE if sqlstate.startswith(_POSTGRES_AWAY) else None


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    # What is deleted or cleared (a handled text, a forgotten member) is overwritten, not left in
    # free pages. Some builds (Debian's) do this by default; others (python.org's, for one) do not.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _sqlite_migrating(dbapi_connection, _record) -> None:
    """A connection that migrates: foreign keys off, and pysqlite's own transaction handling off.

    A migration's batch rebuild (CREATE new, copy, DROP old, RENAME) with foreign keys on made the
    DROP of a parent cascade into its children: memberships, answers, consent events were emptied.
    SQLite's own way to change a table is with them off, then ``PRAGMA foreign_key_check`` (see
    no_rows_lost); the pragma does nothing inside a transaction, so it is set here, before any.
    pysqlite begins a transaction only before an INSERT or UPDATE and commits DDL as it runs: a
    migration cut short stayed half done. With its handling off, _begin_at_once makes each migration
    one real transaction (SQLite's DDL is transactional): done whole, or not at all.
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.close()


def _begin_at_once(connection) -> None:
    # IMMEDIATE: the write lock from the first statement, so a migration never finds, half-way, that
    # a running carebot wrote since it read.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def normalize_url(url: str) -> str:
    """``postgresql://`` (and Heroku-style ``postgres://``) as carebot's driver, psycopg 3."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return url


def make_engine(url: str, *, migrating: bool = False) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and a busy timeout.

    ``hide_parameters``: an error's text never quotes a statement's parameters
    (bodies, ciphertexts, address hashes), wherever it ends up being logged.
    ``migrating``: the engine migrations run on (migrations/env.py); on SQLite
    its foreign keys are off and each transaction is a real one (_sqlite_migrating).
    """
    url = normalize_url(url)
    if url.startswith("sqlite"):
        in_memory = url in ("sqlite://", "sqlite:///:memory:")
        # An in-memory database lives in one connection, so every session shares it.
        engine = create_engine(url, connect_args={"check_same_thread": False},
                               poolclass=StaticPool if in_memory else None, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        if migrating:
            event.listen(engine, "connect", _sqlite_migrating)  # after _sqlite_pragmas: foreign keys end off
            event.listen(engine, "begin", _begin_at_once)
        if not in_memory:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        return engine
    connect_args = {"connect_timeout": CONNECT_TIMEOUT} if url.startswith("postgresql+psycopg") else {}
    return create_engine(url, pool_pre_ping=True, hide_parameters=True, connect_args=connect_args)


def open_database(url: str, *, create: bool = False, option: bool = False) -> Database:
    """The database at ``url``, connected once, or a DatabaseProblem in one line.

    A SQLite file that is not there is made only when ``create`` (``db upgrade``
    given an explicit URL): a command run in the wrong place says so instead of
    working on a new, empty database. ``option``: the URL came from the command's
    ``--url``, which is what the line then names (and how to make it).
    """
    try:
        path = sqlite_path(normalize_url(url))
    except (ArgumentError, NoSuchModuleError) as error:
        raise refusal(error, url, option=option) from None
    if path is None and url.startswith("sqlite"):
        try:
            make_url(normalize_url(url))
        except ArgumentError as error:
            raise refusal(error, url, option=option) from None
        # "sqlite:///" with the path left out is SQLite's in-memory database: it would work, and lose
        # everything when the process ends (each connection even gets its own).
        raise DatabaseProblem(f"carebot: {_named_by(option)} {url} names no file (an in-memory database loses "
                              "everything when carebot stops): write sqlite:///path/carebot.sqlite",
                              startup.DATABASE_URL)
    if path is not None and not path.exists():
        if not path.parent.is_dir():
            raise DatabaseProblem(f"carebot: the directory {path.parent.resolve()} of {_named_by(option)} is "
                                  "not there: create it, or fix the path", startup.DATABASE_MISSING)
        if not create:
            raise DatabaseProblem(f"carebot: there is no database at {path.resolve()}: make it with "
                                  f"{upgrade_command(url, option=option)}, or fix {_named_by(option)} "
                                  "(is this the right directory?)", startup.DATABASE_MISSING)
    try:
        db = Database(url)
        with db.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except (ArgumentError, NoSuchModuleError, ImportError, DBAPIError) as error:
        raise refusal(error, url, option=option) from None
    return db


def check_key(db: Database, *, record: bool = True) -> str:
    """Refuse (WrongKey) a CAREBOT_SECRET_KEY that is not the one this database was encrypted with.

    See carebot.store.crypto.verify; MissingKey when no key is set.
    """
    from carebot.store import crypto

    keyring = crypto.require_key()
    with db.engine.begin() as conn:
        return crypto.verify(conn, keyring, record=record)


def _wrote(session: Session, _context) -> None:
    session.info["wrote"] = True


def _wrote_by_statement(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info["wrote"] = True


class Database:
    """An engine and the way to open one transaction on it."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self._sessions, "after_flush", _wrote)
        event.listen(self._sessions, "do_orm_execute", _wrote_by_statement)
        # This process's sender lease (carebot.store.lease), when it sends: serve takes one at start.
        self.lease: Lease | None = None
        self.trouble: tuple[str, datetime] | None = None  # the last storage failure: its kind and when

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed when the block ends, rolled back if it raises.

        A failure for want of storage (a full disk, a read-only database) is
        remembered for ``TROUBLE_FOR``, so that /healthz reports it.
        """
        try:
            with self._sessions() as session, session.begin():
                yield session
        except Exception as error:
            kind = storage_trouble(error)
            if kind in (DISK_FULL, READ_ONLY):
                self.trouble = (kind, clock.now())
            raise
        if session.info.get("wrote"):
            self.trouble = None  # a write went through: the storage takes writes again

    def check_writes(self) -> None:
        """Raise when no write could be made now (the busy timeout at most).

        On SQLite a read proves nothing: readers still read while another
        process (a backup, a stray ``sqlite3`` shell) holds the write lock and
        every webhook's write fails. So the write lock is taken and let go at
        once, after a look at the file's disk: full, or mounted read-only, is
        StorageTrouble. On PostgreSQL a read-only server (or database) is said
        so; a full disk shows only when a write fails, so a storage failure in
        the last ``TROUBLE_FOR`` is StorageTrouble too, on both.
        """
        if self.trouble is not None and clock.now() - self.trouble[1] < TROUBLE_FOR:
            raise StorageTrouble(self.trouble[0])
        path = make_url(self.url).database if self.url.startswith("sqlite") else None
        if path and path != ":memory:":
            disk = os.statvfs(os.path.dirname(os.path.abspath(path)))
            if disk.f_flag & os.ST_RDONLY:
                raise StorageTrouble(READ_ONLY)
            if disk.f_bavail * disk.f_frsize < MIN_FREE_BYTES:
                raise StorageTrouble(DISK_FULL)
        with self.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                conn.exec_driver_sql("ROLLBACK")
            elif conn.exec_driver_sql("SHOW transaction_read_only").scalar() == "on":
                raise StorageTrouble(READ_ONLY)

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
    """Bring the database schema up to ``revision`` (``carebot db upgrade``); a schema this carebot
    does not know is one line (SchemaOutOfDate), not Alembic's traceback."""
    _migrate(command.upgrade, url, revision)


def downgrade(url: str, revision: str) -> None:
    """Take the database schema back to ``revision`` (``carebot db downgrade``: a revision like 0008,
    ``-1`` for one step, ``base`` for none); a target that is not there or not back is one line."""
    _migrate(command.downgrade, url, revision)


def known_revisions(url: str) -> list[str]:
    """The revisions this carebot ships, oldest first."""
    return [script.revision for script in reversed(list(ScriptDirectory.from_config(alembic_config(url)).walk_revisions()))]


def _migrate(step, url: str, revision: str) -> None:
    """Run one Alembic step; what Alembic would refuse with a traceback is said first, in one line."""
    config = alembic_config(url)
    known = known_revisions(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
    refuse_an_unknown_schema(current, known)
    going_back = step is command.downgrade
    where = f"the revisions are {known[0]} to {known[-1]}, and the database is at {current or 'none (empty)'}"
    not_back = (f"carebot db downgrade: {revision} is not back from {current}: downgrade only goes back "
                "(`carebot db upgrade` goes forward)")
    if going_back:
        relative = re.fullmatch(r"([-+])(\d+)", revision)
        steps = known.index(current) + 1 if current else 0
        if ":" in revision:
            raise SchemaOutOfDate(f"carebot db downgrade: name one revision to go back to, like 0008 or -1 "
                                  f"({where})")
        if relative and relative[1] == "-" and int(relative[2]) > steps:
            raise SchemaOutOfDate(f"carebot db downgrade: {revision} goes back past the first revision "
                                  f"({known[0]}): {where}, {steps} steps from empty (`base` empties it)")
        if relative and relative[1] == "+":
            raise SchemaOutOfDate(not_back)
    try:
        step(config, revision)
    except CommandError as error:
        said = str(error)
        if "not a valid downgrade target" in said:
            raise SchemaOutOfDate(not_back) from None
        if "locate revision" in said or "No such revision" in said or "Multiple revisions" in said:
            raise SchemaOutOfDate(f"carebot db {step.__name__}: there is no revision {revision}: {where}") from None
        raise SchemaOutOfDate(f"carebot db {step.__name__} {revision}: {said} ({where})") from None


def dangling(connection) -> Counter[tuple[str, str]]:
    """SQLite's rows pointing at a row not there, counted by (table, the table it points at)."""
    return Counter((row[0], row[2]) for row in connection.exec_driver_sql("PRAGMA foreign_key_check"))


def no_rows_lost(connection) -> Callable[..., None]:
    """On SQLite, for Alembic's ``on_version_apply``: after each migration, inside its transaction, every
    foreign key is checked (they are off while migrating); a migration that left a row pointing nowhere
    is refused with one line, and its transaction rolled back. A row that pointed nowhere before (a
    database written with foreign keys off) is not the migration's doing, and does not stop it."""
    seen = dangling(connection)
    connection.commit()  # the look's own transaction ended: Alembic takes one it began for its own (not an outer one)

    def checked(*, ctx, step, heads, run_args) -> None:
        nonlocal seen
        now = dangling(ctx.connection)
        lost = now - seen
        if lost:
            (table, parent), rows = lost.most_common(1)[0]
            way = "upgrade" if step.is_upgrade else "downgrade"
            raise MigrationLostRows(
                f"carebot db {way}: migration {step.up_revision_id} would leave {rows} row{'s' * (rows != 1)} of "
                f"{table} pointing at no {parent}: it was undone, nothing was lost, and the database is still at "
                f"{(step.source_revision_ids or ('none (empty)',))[0]} (please report this)")
        seen = now

    return checked


def refuse_an_unknown_schema(current: str | None, known: list[str]) -> None:
    """A database a newer carebot migrated: nothing here can move it, and nothing here should run on it."""
    if current is not None and current not in known:
        raise SchemaOutOfDate(f"The database is at {unknown_schema(current, known)}.")


def unknown_schema(current: str, known: list[str]) -> str:
    """What is said of a revision a newer carebot migrated to (``check`` says it on its own line)."""
    return (f"{current}, which this carebot does not know (it knows {known[0]} to {known[-1]}): a newer carebot "
            "made it; run that one, or restore a backup made before it")


def revisions(engine: Engine) -> tuple[str | None, str]:
    """The database's schema revision (None: empty) and the one this code needs."""
    head = ScriptDirectory.from_config(alembic_config(engine.url.render_as_string(hide_password=False))).get_current_head()
    if head is None:  # only a broken install ships without its migrations
        raise SchemaOutOfDate("carebot's database migrations are missing: reinstall carebot")
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision(), head


def start_up(url: str) -> Database:
    """The database every command but ``db upgrade`` works on, checked in order, each refusal one line:
    the key is set, the database is there and answers, its schema is current, the key is its own."""
    from carebot.store.crypto import require_key

    require_key()
    db = open_database(url)
    try:
        check_schema(db.engine)
        check_key(db)
    except BaseException:
        db.dispose()
        raise
    return db


def check_schema(engine: Engine, *, option: bool = False) -> None:
    """Refuse to run on a database whose schema is not the one this code expects (``option``: named with --url)."""
    current, head = revisions(engine)
    if current != head:
        refuse_an_unknown_schema(current, known_revisions(engine.url.render_as_string(hide_password=False)))
        found = current or "empty"
        command = upgrade_command(engine.url.render_as_string(hide_password=False), option=option)
        raise SchemaOutOfDate(f"The database schema is out of date ({found}, needs {head}): run {command} first.")
