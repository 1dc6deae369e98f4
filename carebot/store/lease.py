"""Which sender processes are alive: each holds a lease for its life.

A row a sender claimed (``outbox.claimed_by``) is in flight only while that
process lives. When it is gone (killed, crashed, restarted), nothing of it can
still be on its way from carebot, so its rows are settled at once (asked of
the provider, then sent or sent again) instead of after ``STUCK_AFTER``, and a
crisis reply never waits minutes behind them.

A lease lives as long as its process, whatever way the process dies:

* on PostgreSQL, a session advisory lock on a connection of its own (the
  server frees it when the connection goes);
* on SQLite, a POSIX record lock on one byte of a file beside the database
  (the kernel frees it when the process goes). An in-memory database lives in
  one process, so any other owner is gone.

A lease can also go while its process lives: the lease's connection killed
(``pg_terminate_backend``, a restarted pooler, an idle timeout) or the lease
file removed or replaced. Others then take the process for gone and may settle
its rows. So the sender checks its lease before each pass (:meth:`Lease.keep`,
a round trip) and before each request (:meth:`Lease.intact`, no round trip
unless something looks wrong), sends nothing while it is lost, and takes it
again on a new connection (or file) as soon as it can: under its own identity
when that is free, so its rows look alive again, else under a new one (its old
identity is still held, say by its own old session the server has not yet seen
die): its old rows are then another process's, settled when that lease is free.

A process that holds no lease claims rows with no owner; those are settled
only by their age, as before.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import secrets
import select
import threading
from collections.abc import Iterable

from sqlalchemy import Connection, create_engine, make_url, text
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

NAMESPACE = int.from_bytes(b"cbsn", "big")  # the advisory locks' first key: "carebot sender"
# The lease's connection: keepalives, so a connection cut off (not closed) is noticed by both ends,
# and a short connect timeout, so taking the lease again never hangs the sender long.
CONNECT_ARGS = {"application_name": "carebot-sender", "connect_timeout": 5, "keepalives": 1,
                "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}


def _key(owner: str) -> int:
    """An owner's lock key: 31 bits of its hash (a collision only makes a dead owner look alive)."""
    return int.from_bytes(hashlib.sha256(owner.encode()).digest()[:4], "big") >> 1


class Lease:
    """This process's lease on the database at ``url``, and the check of others' leases."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.owner = secrets.token_hex(16)
        self.in_flight: set[int] = set()  # rows this process has claimed and not yet recorded
        self.lost = False  # the lease went while this process lived and is not taken again yet
        self._conn: Connection | None = None
        self._file: int | None = None
        self._file_id: tuple[int, int] | None = None  # the lease file's device and inode when it was locked
        self._memory = False
        # The lease's connection serves one thread at a time (the sender's steps run on several).
        self._guard = threading.RLock()

    @property
    def held(self) -> bool:
        return self._conn is not None or self._file is not None or self._memory

    @property
    def _path(self) -> str | None:
        database = make_url(self.url).database
        return None if not database or database == ":memory:" else f"{database}-senders"

    def hold(self) -> None:
        """Take this process's lease (once; later calls do nothing)."""
        with self._guard:
            if self.held:
                return
            if self.url.startswith("postgresql"):
                self._conn = self._connect()
                self._conn.execute(text("SELECT pg_advisory_lock(:ns, :key)"),
                                   {"ns": NAMESPACE, "key": _key(self.owner)})
                return
            if self._path is None:
                self._memory = True
                return
            if not self._lock_file():
                raise BlockingIOError(f"the sender lease of {self.owner} is held by another process")

    def _connect(self) -> Connection:
        engine = create_engine(self.url, poolclass=NullPool, isolation_level="AUTOCOMMIT", hide_parameters=True,
                               connect_args=CONNECT_ARGS)
        return engine.connect()

    def _lock_file(self) -> bool:
        """Lock this owner's byte of the lease file; whether it could (else nothing is kept open)."""
        assert self._path is not None
        # One file for every sender of this database; each locks its own byte. The file stays
        # open for the lease's life: closing any descriptor of it would drop the lock.
        handle = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _key(self.owner))
        except OSError:
            os.close(handle)
            return False
        found = os.fstat(handle)
        self._file, self._file_id = handle, (found.st_dev, found.st_ino)
        return True

    # --- is it still held? -------------------------------------------------

    def intact(self) -> bool:
        """Whether the lease still looks held, cheaply (no round trip, no wait): before each request.

        On PostgreSQL, whether the server has said nothing on the lease's idle
        connection (a killed backend says FATAL, then closes; a query of
        ``dead`` under way also makes it speak, so False is confirmed with
        :meth:`check`); on SQLite, whether the lease file is still the one
        locked (not removed or replaced, its descriptor not closed).
        """
        if self._memory:
            return True
        if self.lost or not self.held:
            return False
        return self._socket_quiet() if self._conn is not None else self._file_is_ours()

    def check(self) -> bool:
        """Whether the lease is held, asked of the database (a round trip); a lease found lost is let go."""
        with self._guard:
            if self._memory:
                return True
            if self._conn is not None:
                try:
                    self._conn.execute(text("SELECT 1"))
                    return True
                except Exception as error:
                    self._lose(error)
                    return False
            if self._file is not None and not self._file_is_ours():
                self._lose(None)
            return self.held

    def _socket_quiet(self) -> bool:
        """Nothing waits to be read on the lease's idle connection (a query under way aside)."""
        conn = self._conn  # (another thread may let it go meanwhile)
        try:
            assert conn is not None
            descriptor = conn.connection.dbapi_connection.fileno()  # type: ignore[union-attr]
            readable, _, _ = select.select([descriptor], [], [], 0)
        except Exception:  # closed already
            return False
        return not readable

    def _file_is_ours(self) -> bool:
        """The descriptor is the lease file's, and the file is still at its path."""
        if self._file is None or self._path is None:
            return False
        try:
            held, named = os.fstat(self._file), os.stat(self._path)
        except OSError:  # the descriptor closed, or the file removed
            return False
        return (held.st_dev, held.st_ino) == self._file_id == (named.st_dev, named.st_ino)

    def _lose(self, error: Exception | None) -> None:
        if not self.lost:
            how = "its database connection went" if error is not None else "its lease file went"
            log.warning("sender: lost its lease (%s%s): it sends nothing until it takes its lease again",
                        how, f", {type(error).__name__}" if error is not None else "")
        self.lost = True
        self._let_go()

    # --- taking it again -------------------------------------------------------

    def keep(self) -> bool:
        """Whether this process holds its lease now, checked with a round trip: before each pass.

        A lease found lost is taken again when it can be, on a new connection
        (or a new descriptor of the lease file): under this process's identity
        when its key is free; else (held by this process's own old session the
        server has not seen die, or a collision) under a new identity, whose
        key nobody holds. Never two senders under one identity.
        """
        with self._guard:
            if self.check():
                return True
            if not self.lost:
                return False  # never held (released, or never taken)
            try:
                again = self._take_again()
            except Exception as error:  # the database is away: try again next time
                log.debug("sender: cannot take its lease again yet (%s)", type(error).__name__)
                self._let_go()
                return False
            return again

    def _take_again(self) -> bool:
        old = self.owner
        for owner in (old, secrets.token_hex(16)):
            self.owner = owner
            if self._try_take():
                self.lost = False
                log.warning("sender: took its lease again%s; sending again",
                            "" if owner == old else " under a new identity (the old one is still held)")
                return True
        self.owner = old
        return False

    def _try_take(self) -> bool:
        if self._path is not None and not self.url.startswith("postgresql"):
            return self._lock_file()
        conn = self._connect()
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:ns, :key)"),
                               {"ns": NAMESPACE, "key": _key(self.owner)}).scalar()
        except Exception:
            _close(conn)
            raise
        if not got:
            _close(conn)
            return False
        self._conn = conn
        return True

    # --- others' leases --------------------------------------------------------

    def dead(self, owners: Iterable[str]) -> set[str]:
        """Which of ``owners`` are known gone: their lease is free. Never this process.

        While this process's own lease is lost nothing is known: a lease is
        looked at only through a held one.
        """
        # An owner whose key is this process's own looks alive: its byte is this process's lock.
        others = {owner for owner in owners if _key(owner) != _key(self.owner)}
        with self._guard:
            if not others or not self.held or self.lost:
                return set()
            if self._memory:
                return others
            if self._conn is not None:
                try:
                    return {owner for owner in others if self._free(owner)}
                except Exception as error:
                    self._lose(error)
                    return set()
            if not self._file_is_ours():
                self._lose(None)
                return set()
            return {owner for owner in others if self._file_byte_free(owner)}

    def _free(self, owner: str) -> bool:
        assert self._conn is not None
        params = {"ns": NAMESPACE, "key": _key(owner)}
        if self._conn.execute(text("SELECT pg_try_advisory_lock(:ns, :key)"), params).scalar():
            self._conn.execute(text("SELECT pg_advisory_unlock(:ns, :key)"), params)
            return True
        return False

    def _file_byte_free(self, owner: str) -> bool:
        assert self._file is not None
        try:
            fcntl.lockf(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _key(owner))
        except OSError:
            return False  # held: that process lives
        fcntl.lockf(self._file, fcntl.LOCK_UN, 1, _key(owner))
        return True

    def release(self) -> None:
        """Give the lease up (at shutdown); safe to repeat."""
        with self._guard:
            self._let_go()
            self._memory = False
            self.lost = False

    def _let_go(self) -> None:
        if self._conn is not None:
            _close(self._conn)
            self._conn = None
        if self._file is not None:
            # Closed only while it is still the lease file's: a descriptor closed elsewhere may have
            # been given to another file since (the database's own, say).
            with contextlib.suppress(OSError):
                found = os.fstat(self._file)
                if (found.st_dev, found.st_ino) == self._file_id:
                    os.close(self._file)
            self._file, self._file_id = None, None


def _close(conn: Connection) -> None:
    with contextlib.suppress(Exception):
        engine = conn.engine
        conn.close()
        engine.dispose()
