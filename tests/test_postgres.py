"""What only PostgreSQL does: rows locked and skipped, and the benchmarks run there too."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from sqlalchemy import func, select

from carebot.bench import round as bench_round
from carebot.channels import SMS, Sent
from carebot.outbox.sender import claimable
from carebot.store.db import Database, normalize_url
from carebot.store.models import OutboxMessage
from tests.fakes.world import ANA, make_db, queue

pytestmark = pytest.mark.postgresql


def test_a_row_another_sender_is_claiming_is_skipped_at_once_not_waited_for(migrated_url):
    db = make_db(migrated_url)
    other = Database(migrated_url)
    try:
        row_id = queue(db, ANA, "hello")
        with db.transaction() as first:
            assert first.scalars(claimable(first, row_id)).first() is not None  # locked by this sender
            seen = []
            # Another sender, on its own connection, meanwhile: SKIP LOCKED answers at once.
            worker = threading.Thread(target=lambda: seen.append(_claim(other, row_id)))
            worker.start()
            worker.join(60)  # a sender waiting for the lock would wait until the block ends
            assert not worker.is_alive(), "the second sender waited for the lock"
            assert seen == [None]
        assert _claim(other, row_id) == row_id  # free again once the first transaction ends
    finally:
        other.dispose()
        db.dispose()


def _claim(db: Database, row_id: int) -> int | None:
    with db.transaction() as session:
        row = session.scalars(claimable(session, row_id)).first()
        return row.id if row else None


def test_claimable_locks_only_on_postgresql(migrated_url, tmp_path):
    pg = Database(migrated_url)
    lite = Database(f"sqlite:///{tmp_path / 'x.sqlite'}")
    try:
        with pg.transaction() as session:
            assert "FOR UPDATE SKIP LOCKED" in str(claimable(session, 1).compile(pg.engine))
        with lite.transaction() as session:
            assert "FOR UPDATE" not in str(claimable(session, 1).compile(lite.engine))
    finally:
        pg.dispose()
        lite.dispose()


def test_plain_postgresql_urls_use_psycopg_3():
    assert normalize_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:///x.sqlite") == "sqlite:///x.sqlite"


def test_the_round_benchmark_runs_on_postgresql_next_to_sqlite(backend, capsys):
    server = backend.server_url.render_as_string(hide_password=False)
    assert bench_round.main(["--members", "500", "--groups", "5", "--target", "600", "--postgresql", server]) == 0
    output = capsys.readouterr().out
    assert "groups (SQLite)" in output and "groups (PostgreSQL)" in output
    assert output.count("texts written:      450") == 2
    with Database(normalize_url(server)).engine.connect() as conn:  # its throwaway database is gone
        from sqlalchemy import text

        names = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE 'carebot_bench%'")).all()
    assert names == []


def test_outbox_rows_are_unique_after_two_sessions_race_to_claim(migrated_url):
    """Two senders racing on one member's texts: each text sent once, in the order written.

    A row one sender is looking at is skipped by the other (SKIP LOCKED), and a text behind one in
    flight is put off (BASE_BACKOFF), so a pass may leave texts for a later one: the member waits a
    little, but never gets a text twice or out of order. Passes run, each when the next text is due,
    until nothing waits; then the whole promise is checked.
    """
    import asyncio

    from carebot.outbox.sender import deliver_due
    from tests.fakes.world import NOW

    db = make_db(migrated_url)
    try:
        ids = [queue(db, ANA, f"text {n}") for n in range(20)]
        sent: list[int] = []

        async def race(now):
            senders = [Database(migrated_url) for _ in range(2)]
            try:
                await asyncio.gather(*(asyncio.to_thread(lambda d=d: asyncio.run(deliver_due(d, {SMS: _Recording(sent)}, now)))
                                       for d in senders))
            finally:
                for d in senders:
                    d.dispose()

        now = NOW
        for _ in ids:  # each pass sends at least the oldest text still waiting, once it is due
            asyncio.run(race(now))
            waiting = _next_due(db)
            if waiting is None:
                break
            now = max(now, waiting)  # the next pass when the next text is due (one put off behind another)
        assert sent == ids  # once each (claimed before each request), in the order written
        with db.transaction() as session:
            assert set(session.scalars(select(OutboxMessage.status))) == {"sent"}
    finally:
        db.dispose()


def test_a_text_held_behind_one_in_flight_is_not_overtaken_once_that_one_is_sent(migrated_url):
    """The race above, one step at a time: another sender's text in flight holds up the member's
    next texts; once it is sent, they go in the order written (the first held up goes first)."""
    import asyncio

    from sqlalchemy import update

    from carebot.outbox.sender import deliver_due
    from tests.fakes.world import NOW

    db = make_db(migrated_url)
    try:
        first, second = (queue(db, ANA, f"text {n}") for n in range(2))
        sent: list[int] = []
        channels = {SMS: _Recording(sent)}

        def mark_first(status: str) -> None:
            with db.transaction() as session:
                session.execute(update(OutboxMessage).where(OutboxMessage.id == first).values(status=status))

        mark_first("sending")  # another sender claimed it: its request is on its way
        assert asyncio.run(deliver_due(db, channels, NOW)) == 0  # the second waits for it
        mark_first("sent")  # Twilio took it
        third = queue(db, ANA, "text 2")  # (or the other sender listed the third before the first was sent)
        asyncio.run(deliver_due(db, channels, NOW))
        assert sent == []  # not the third alone, the second left behind it
        asyncio.run(deliver_due(db, channels, _next_due(db)))
        assert sent == [second, third]
    finally:
        db.dispose()


class _Recording:
    """An SMS channel that takes every text at once, noting the outbox rows in the order asked."""

    def __init__(self, sent: list[int]) -> None:
        self.sent = sent

    async def send(self, address, body, row_id):
        import asyncio

        self.sent.append(row_id)
        await asyncio.sleep(0)
        return Sent(f"SM{row_id}")


def _next_due(db: Database) -> datetime | None:
    """When the earliest text still waiting is due; None when none waits."""
    with db.transaction() as session:
        return session.scalar(select(func.min(OutboxMessage.not_before)).where(OutboxMessage.status == "pending"))
