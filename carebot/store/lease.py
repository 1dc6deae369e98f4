"""Which sender processes are alive: each holds a lease for its life.

A row a sender claimed (``outbox.claimed_by``) is in flight only while that
process lives. When it is gone (killed, crashed, restarted), nothing of it can
still be on its way from carebot, so its rows are settled at once (asked of
the provider, then sent or sent again) instead of after ``STUCK_AFTER``, and a
crisis reply never waits minutes behind them.

A lease lives exactly as long as its process, whatever way the process dies:

* on PostgreSQL, a session advisory lock on a connection of its own (the
  server frees it when the connection goes);
* on SQLite, a POSIX record lock on one byte of a file beside the database
  (the kernel frees it when the process goes). An in-memory database lives in
  one process, so any other owner is gone.

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
from collections.abc import Iterable

from sqlalchemy import Connection, create_engine, make_url, text
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

NAMESPACE = int.from_bytes(b"cbsn", "big")  # the advisory locks' first key: "carebot sender"


def _key(owner: str) -> int:
    """An owner's lock key: 31 bits of its hash (a collision only makes a dead owner look alive)."""
    return int.from_bytes(hashlib.sha256(owner.encode()).digest()[:4], "big") >> 1


class Lease:
    """This process's lease on the database at ``url``, and the check of others' leases."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.owner = secrets.token_hex(16)
        self.in_flight: set[int] = set()  # rows this process has claimed and not yet recorded
        self._conn: Connection | None = None
        self._file: int | None = None
        self._memory = False

    @property
    def held(self) -> bool:
        return self._conn is not None or self._file is not None or self._memory

    def hold(self) -> None:
        """Take this process's lease (once; later calls do nothing)."""
        if self.held:
            return
        if self.url.startswith("postgresql"):
            engine = create_engine(self.url, poolclass=NullPool, isolation_level="AUTOCOMMIT", hide_parameters=True,
                                   connect_args={"application_name": "carebot-sender"})
            self._conn = engine.connect()
            self._conn.execute(text("SELECT pg_advisory_lock(:ns, :key)"),
                               {"ns": NAMESPACE, "key": _key(self.owner)})
            return
        database = make_url(self.url).database
        if not database or database == ":memory:":
            self._memory = True
            return
        # One file for every sender of this database; each locks its own byte. The file stays
        # open for the process's life: closing any descriptor of it would drop the lock.
        self._file = os.open(f"{database}-senders", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.lockf(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _key(self.owner))

    def dead(self, owners: Iterable[str]) -> set[str]:
        """Which of ``owners`` are known gone: their lease is free. Never this process."""
        # An owner whose key is this process's own looks alive: its byte is this process's lock.
        others = {owner for owner in owners if _key(owner) != _key(self.owner)}
        if not others or not self.held:
            return set()
        if self._memory:
            return others
        gone = set()
        for owner in others:
            if self._conn is not None:
                params = {"ns": NAMESPACE, "key": _key(owner)}
                if self._conn.execute(text("SELECT pg_try_advisory_lock(:ns, :key)"), params).scalar():
                    self._conn.execute(text("SELECT pg_advisory_unlock(:ns, :key)"), params)
                    gone.add(owner)
                continue
            # Held, not in memory and without a connection: the lease is the file's byte.
            assert self._file is not None
            try:
                fcntl.lockf(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _key(owner))
            except OSError:
                continue  # held: that process lives
            fcntl.lockf(self._file, fcntl.LOCK_UN, 1, _key(owner))
            gone.add(owner)
        return gone

    def release(self) -> None:
        """Give the lease up (at shutdown); safe to repeat."""
        if self._conn is not None:
            with contextlib.suppress(Exception):
                engine = self._conn.engine
                self._conn.close()
                engine.dispose()
            self._conn = None
        if self._file is not None:
            os.close(self._file)
            self._file = None
        self._memory = False
