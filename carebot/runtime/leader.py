"""Which process holds the Signal connection and the ticker: the leader.

On PostgreSQL the leader is whoever holds one advisory lock
(``pg_try_advisory_lock``) on a connection of its own, kept open for the
process's life. The lock goes when that connection does, so when the leader
dies, however it dies, PostgreSQL frees the lock and a standby that polls for
it takes over within ``poll`` seconds. The leader checks its connection as
often; if the connection is lost, it stops leading at once (its lock is gone).

On SQLite there is one process, and it always leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

# One number for "carebot's leader" (the bytes of 'carebot', as a bigint); a
# deployment's other applications are unlikely to pick the same key.
LOCK_KEY = int.from_bytes(b"carebot", "big")
# Held (shared) by whoever is attached to the Signal service: the old leader lets go only once the
# new one holds it (the hand-over: deploy/signal.md, "Start and stop order").
LISTEN_KEY = int.from_bytes(b"cb-sgnl", "big")
POLL_SECONDS = 2.0

Hook = Callable[[], Awaitable[None]]


class _Election:
    """What both kinds share: ``lead`` on taking the lead, ``follow`` on giving it up."""

    def __init__(self, lead: Hook, follow: Hook) -> None:
        self.lead, self.follow = lead, follow
        self.leading = False

    async def listening(self, attached: bool) -> None:
        """Whether this process is attached to the Signal service (a leader stepping down waits on it)."""

    async def hand_over(self) -> None:
        """Let another process lead while this one still listens to Signal."""

    async def other_listens(self) -> bool:
        """Whether another process is attached to the Signal service."""
        return False

    async def _step_down(self) -> None:
        if self.leading:
            self.leading = False
            await self.follow()


class Leadership(_Election):
    """Runs ``lead`` while this process holds the lock and ``follow`` when it loses it."""

    def __init__(self, url: str, lead: Hook, follow: Hook, *, poll: float = POLL_SECONDS,
                 key: int = LOCK_KEY) -> None:
        super().__init__(lead, follow)
        self.url = url
        self.poll = poll
        self.key = key
        self._conn: Connection | None = None
        self._listen: Connection | None = None  # holds LISTEN_KEY while attached to Signal
        # Its own engine and no pool: the lock's connection is never lent to anything else.
        # Keepalives, so a leader cut off from the server is noticed by the server too.
        self._engine = create_engine(
            url, poolclass=NullPool, isolation_level="AUTOCOMMIT", hide_parameters=True,
            connect_args={"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
                          "keepalives_count": 3, "application_name": "carebot-leader"},
        )

    def _try(self) -> bool:
        """Take the lock if it is free; the connection stays open while it is held."""
        if self._conn is None:
            self._conn = self._engine.connect()
        got = bool(self._conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar())
        if not got:
            self._close()  # a standby holds no connection while it waits
        return got

    def _still_held(self) -> bool:
        """Whether the lock's connection is alive (the lock lives exactly as long)."""
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
            return True
        except Exception:
            self._close()
            return False

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    # --- the Signal hand-over ----------------------------------------------
    # In json-rpc mode the service drops what arrives while nobody is attached. So a leader that
    # steps down frees the lock first, keeps listening, and lets go once the new leader says (by a
    # shared advisory lock on a connection of its own) that it is attached. Both attached for a
    # moment is harmless: each text is stored once, under its Signal id.

    async def listening(self, attached: bool) -> None:
        if not attached or not self.leading:  # a leader handing over never marks itself again
            await asyncio.to_thread(self._unmark)
            return

        def mark() -> None:
            if self._listen is None:
                self._listen = self._engine.connect()
                self._listen.execute(text("SELECT pg_advisory_lock_shared(:key)"), {"key": LISTEN_KEY})
        try:
            await asyncio.to_thread(mark)
        except Exception as error:
            log.warning("leader election: cannot mark Signal as attached (%s)", type(error).__name__)

    async def hand_over(self) -> None:
        await asyncio.to_thread(self._unmark)
        await asyncio.to_thread(self._close)  # the lock goes with its connection: a standby may lead

    async def other_listens(self) -> bool:
        def ask() -> bool:
            with self._engine.connect() as conn:
                return bool(conn.execute(text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND ((classid::bigint << 32) | objid::bigint) = :key"), {"key": LISTEN_KEY}).scalar())
        try:
            return await asyncio.to_thread(ask)
        except Exception:  # the database is away: nobody can be seen taking over
            return False

    def _unmark(self) -> None:
        if self._listen is not None:
            with contextlib.suppress(Exception):
                self._listen.close()
            self._listen = None

    async def try_once(self) -> bool:
        """Take the lock if it is free, and lead; whether this process leads now."""
        if not self.leading:
            try:
                got = await asyncio.to_thread(self._try)
            except Exception as error:  # the database is away: try again later
                log.warning("leader election: cannot reach the database (%s)", type(error).__name__)
                await asyncio.to_thread(self._close)
                got = False
            if got:
                self.leading = True
                log.warning("this process now holds the Signal connection and the ticker")
                await self.lead()
        return self.leading

    async def run(self) -> None:
        """Poll for the lock until cancelled; lead while it is held."""
        try:
            while True:
                if not self.leading:
                    await self.try_once()
                elif not await asyncio.to_thread(self._still_held):
                    log.warning("lost the leader's database connection: stepping down")
                    await self._step_down()
                await asyncio.sleep(self.poll)
        finally:
            await self.release()

    async def release(self) -> None:
        """Stop leading and free the lock (closing its connection frees it at once); safe to repeat."""
        await self._step_down()
        await asyncio.to_thread(self._unmark)
        await asyncio.to_thread(self._close)
        self._engine.dispose()


class SoleLeadership(_Election):
    """SQLite's: the one process leads from the start."""

    async def try_once(self) -> bool:
        if not self.leading:
            self.leading = True
            await self.lead()
        return True

    async def run(self) -> None:
        await self.try_once()
        try:
            await asyncio.Event().wait()
        finally:
            await self.release()

    async def release(self) -> None:
        await self._step_down()


def leadership(url: str, lead: Hook, follow: Hook, *, poll: float = POLL_SECONDS) -> Leadership | SoleLeadership:
    """An advisory-lock election on PostgreSQL; on SQLite the one process leads."""
    if url.startswith("postgresql"):
        return Leadership(url, lead, follow, poll=poll)
    return SoleLeadership(lead, follow)
