"""The webhooks' store: texts queued a batch to a commit, each answered only once its batch is committed.

``store.inserts.RowInsert`` writes the inbound queue row by row through the
driver on SQLite (one statement on PostgreSQL); these check that what it
stores is what SQLAlchemy reads back, that a retry is kept once, that a batch
commits whole or not at all, and that the writer answers a webhook only after
the commit that holds its text.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from carebot.channels import SMS, Inbound
from carebot.dispatch.dispatcher import Dispatcher
from carebot.runtime.web import InboundWriter
from carebot.store import crypto
from carebot.store.inserts import HeldConnection, RowInsert, row_insert
from carebot.store.models import InboundMessage
from tests.fakes.world import ANA, BEN, NOW
from tests.helpers import NEWCOMER, app_for, inbound_form, post, sign


def stored(db) -> list[InboundMessage]:
    with db.transaction() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def test_a_queued_text_reads_back_through_the_orm_as_it_was_sent(db):
    """Encrypted number, its keyed hash and the time in UTC, as the column types write them."""
    spanish = Inbound(SMS, "SM" + "a" * 32, ANA, "sí, 1 llamadas después de las 6 🙏", NOW + timedelta(microseconds=7))
    [row_id] = Dispatcher(db).store_inbounds([spanish])
    [row] = stored(db)
    assert row.id == row_id
    assert (row.channel, row.provider_id, row.sender, row.body) == (SMS, "SM" + "a" * 32, ANA, spanish.text)
    assert row.received_at == spanish.received_at and row.sender_uuid is None and row.handled_at is None
    assert row.sender_hash == crypto.sender_hash(ANA, None) and row.attempts == 0
    with db.engine.connect() as conn:  # at rest the number and the words are ciphertext, never the digits or the text
        raw, words = conn.exec_driver_sql("SELECT sender, body FROM inbound_messages").one()
    assert raw.startswith(crypto.PREFIX) and ANA not in raw
    assert words.startswith(crypto.PREFIX) and "llamadas" not in words


def test_a_retry_in_the_same_batch_or_a_later_one_is_stored_once(db):
    dispatcher = Dispatcher(db)
    first = Inbound(SMS, "SM1", ANA, "1", NOW)
    other = Inbound(SMS, "SM2", BEN, "5", NOW)
    ids = dispatcher.store_inbounds([first, first, other])
    assert ids[0] is not None and ids[1] is None and ids[2] is not None and ids[0] != ids[2]
    assert dispatcher.store_inbounds([Inbound(SMS, "SM1", ANA, "1 again", NOW)]) == [None]
    assert [(row.provider_id, row.body) for row in stored(db)] == [("SM1", "1"), ("SM2", "5")]


def test_a_batch_that_fails_stores_none_of_its_texts_and_says_so_as_sqlalchemy_does(db):
    """One bad row and the whole transaction is undone: the texts before it were never committed."""
    good = {"channel": SMS, "provider_id": "SM3", "received_at": NOW, "sender": ANA, "sender_uuid": None,
            "sender_hash": crypto.sender_hash(ANA, None), "body": "1"}
    with pytest.raises(IntegrityError), db.engine.begin() as conn:  # channel is NOT NULL
        insert, prepared = ready(conn.dialect, good, {**good, "channel": None, "provider_id": "SM4"})
        insert.run(conn, prepared)
    assert stored(db) == []
    with db.engine.begin() as conn:
        insert, prepared = ready(conn.dialect, good)
        assert len(insert.run(conn, prepared)) == 1
    assert [row.provider_id for row in stored(db)] == ["SM3"]


def test_a_webhook_is_answered_only_after_the_commit_that_holds_its_text(db):
    """The writer's store is held back; the answer waits for it, and the text is there when the answer comes."""
    dispatcher = Dispatcher(db)
    commit_may_run = threading.Event()
    answered_before_commit = []

    class HeldBack:
        """The dispatcher's store, its commit held back until the test lets it go."""

        prepare_inbound = dispatcher.prepare_inbound

        def store_prepared(self, prepared):
            commit_may_run.wait(timeout=60)
            return dispatcher.store_prepared(prepared)

    async def scenario():
        writer = InboundWriter(HeldBack())
        pending = asyncio.create_task(writer.store(Inbound(SMS, "SM5", NEWCOMER, "JOIN DMMA", NOW)))
        for _ in range(20):
            await asyncio.sleep(0)
        answered_before_commit.append(pending.done())
        assert stored(db) == []
        commit_may_run.set()
        try:
            return await pending
        finally:
            writer.close()

    row_id = asyncio.run(scenario())
    assert answered_before_commit == [False]
    assert [row.id for row in stored(db)] == [row_id]


def test_a_burst_of_webhooks_with_retries_among_them_stores_each_text_once_and_answers_all(db):
    app = app_for(db)
    forms = [inbound_form(sid=f"SM{i % 6:032d}", sender=NEWCOMER, body=f"text {i % 6}") for i in range(18)]

    async def burst():
        return await asyncio.gather(*(post(app, "/twilio/sms", form, sign("/twilio/sms", form)) for form in forms))

    answers = asyncio.run(burst())
    assert [answer.status_code for answer in answers] == [204] * 18
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 6


def test_a_webhook_is_stored_and_answered_while_the_database_worker_is_busy(db):
    """The webhooks' texts are stored on a thread of their own: a long batch of the inbound worker (or a
    sender's pass) on the database worker does not hold a member's text, nor Twilio, waiting."""
    app = app_for(db)
    worker_may_go = threading.Event()
    form = inbound_form(sid="SM" + "7" * 32, body="1 call me")

    async def scenario():
        started = threading.Event()

        def long_batch():
            started.set()
            worker_may_go.wait(60)  # longer than the answer may take: busy all along

        busy = asyncio.create_task(app.state.in_worker(long_batch))
        await asyncio.to_thread(started.wait, 60)
        try:
            answer = await asyncio.wait_for(post(app, "/twilio/sms", form, sign("/twilio/sms", form)), 30)
            return answer.status_code, busy.done()
        finally:
            worker_may_go.set()
            await busy

    assert asyncio.run(scenario()) == (204, False)
    assert [row.provider_id for row in stored(db)] == ["SM" + "7" * 32]


def _row(sid: str, **changes) -> dict:
    return {"channel": SMS, "provider_id": sid, "received_at": NOW, "sender": ANA, "sender_uuid": None,
            "sender_hash": crypto.sender_hash(ANA, None), "body": "1", **changes}


KEYS = ("channel", "provider_id")


def ready(dialect, *rows: dict) -> tuple[RowInsert, list]:
    """The queue's insert of ``rows``, and the rows made ready for it, as the webhooks make them."""
    insert = row_insert(InboundMessage.__table__, tuple(rows[0]), KEYS, dialect)
    return insert, [insert.prepare(row) for row in rows]


def insert_held(held: HeldConnection, *rows: dict) -> list[int | None]:
    """``rows`` stored through the held connection, as the webhooks' writer stores them."""
    return held.insert_prepared(*ready(held._engine.dialect, *rows))


def test_the_held_connection_is_kept_and_after_a_failure_made_afresh(db):
    """The webhooks' connection is kept from one insert to the next; after a failure (nothing of that batch
    stored) it is given back as lost and a new one taken."""
    held = HeldConnection(db.engine)
    try:
        insert_held(held, _row("SM10"))
        first = held._conn
        assert first is not None
        driver = first.connection.dbapi_connection
        insert_held(held, _row("SM11"))
        assert held._conn is first and not first.closed
        with pytest.raises(IntegrityError):  # channel is NOT NULL
            insert_held(held, _row("SM12"), _row("SM13", channel=None))
        assert held._conn is None and first.closed
        assert insert_held(held, _row("SM11"), _row("SM14"))[0] is None
        assert held._conn is not None and held._conn.connection.dbapi_connection is not driver  # not the pool's old one
        assert [row.provider_id for row in stored(db)] == ["SM10", "SM11", "SM14"]
    finally:
        held.close()


def test_the_held_connection_serves_one_transaction_at_a_time(db):
    """Two callers at once take turns: neither sees, nor commits, the other's half-done transaction."""
    held = HeldConnection(db.engine)
    first_inside, first_may_end = threading.Event(), threading.Event()
    order = []

    insert, [first_row] = ready(db.engine.dialect, _row("SM20"))

    class Slow(list):
        """Rows read slowly: the first caller is inside its transaction meanwhile."""

        def __iter__(self):
            if not first_inside.is_set():
                order.append("first in")
                first_inside.set()
                first_may_end.wait(60)
                order.append("first out")
            return super().__iter__()

    def first():
        held.insert_prepared(insert, Slow([first_row]))

    def second():
        first_inside.wait(60)
        insert_held(held, _row("SM21"))
        order.append("second done")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    try:
        for thread in threads:
            thread.start()
        first_inside.wait(60)
        threading.Event().wait(0.05)  # time for the second caller to reach the lock, so a test without one fails
        first_may_end.set()
        for thread in threads:
            thread.join(60)
    finally:
        held.close()
    assert order == ["first in", "first out", "second done"]
    assert [row.provider_id for row in stored(db)] == ["SM20", "SM21"]
