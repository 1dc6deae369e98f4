"""The database unavailable while Twilio's webhooks come in, and while the inbound worker handles a text.

Faults are real, not simulated exceptions:

* PostgreSQL: the database refuses connections (``ALLOW_CONNECTIONS false``) and
  every connection to it is terminated by the server, as in a restart or a
  failover; the app's pooled connections die under it.
* SQLite: another connection holds the write lock (``BEGIN EXCLUSIVE``) past the
  app's busy timeout, as a backup, a migration or a stray ``sqlite3`` shell does.
  Each refused write waits out the real 5 s timeout, so these runs take longer.

What must hold: Twilio gets 503 (so it tries the fallback URL, or again), nothing is half handled
(no stored text, no member, no reply from a refused webhook), and when the database is back Twilio's retry of the same
MessageSid is stored once, handled once, with exactly one reply. A text stored
before the database went away stays stored, unhandled, for a later pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3

import pytest
from sqlalchemy import create_engine, event, func, make_url, select, text

from carebot.dispatch.dispatcher import Dispatcher
from carebot.store.models import InboundMessage, Member, OutboxMessage
from tests.fakes.world import ANA, NOW, queue, row
from tests.helpers import NEWCOMER, app_for, client_for, inbound_form, signed_post

SID = "SM" + "7" * 32
# A member's own words: each test's log check (tests/conftest.py) looks for them in every log.
WORDS = "JOIN DMMA please, I need company tonight"


@contextlib.contextmanager
def database_down(backend, url: str):
    """The database at ``url`` is unavailable inside the block, and back after it."""
    if url.startswith("sqlite"):
        holder = sqlite3.connect(make_url(url).database, isolation_level=None, timeout=30)
        holder.execute("BEGIN EXCLUSIVE")  # the write lock, held past carebot's busy timeout
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    name = make_url(url).database
    admin = create_engine(backend.server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
        yield
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()


def counts(db):
    with db.transaction() as session:
        return {
            "inbound": session.scalar(select(func.count()).select_from(InboundMessage)),
            "unhandled": session.scalar(select(func.count()).select_from(InboundMessage)
                                        .where(InboundMessage.handled_at.is_(None))),
            "outbox": session.scalar(select(func.count()).select_from(OutboxMessage)),
            "members": session.scalar(select(func.count()).select_from(Member)),
        }


def assert_refused(response):
    """What Twilio must get while the database is away: 503, and nothing of the text in the answer."""
    assert response.status_code == 503, response.text
    assert "+1" not in response.text and "JOIN" not in response.text


def test_a_webhook_while_the_database_is_down_gets_503_and_twilios_retry_acts_once(backend, db):
    before = counts(db)
    woken = []
    app = app_for(db, woken=woken)
    form = inbound_form(SID, body=WORDS)

    async def go():
        async with client_for(app) as client:
            with database_down(backend, db.url):
                refused = await signed_post(client, "/twilio/sms", form)
                # SQLite still reads under another's write lock; health is whether a text could be stored
                health = await client.get("/healthz")
                assert health.status_code == 503
                # SQLite: another's write lock past the busy timeout; PostgreSQL: no connection at all
                assert health.json()["database"] == ("locked" if db.url.startswith("sqlite") else "unavailable")
            # the database is back: Twilio's retry, then its fallback URL, with the same MessageSid
            retried = await signed_post(client, "/twilio/sms", form)
            fallback = await signed_post(client, "/twilio/sms", form)
            return refused, retried, fallback

    refused, retried, fallback = asyncio.run(go())
    print(f"webhook while the database is down: {refused.status_code}; Twilio's retry {retried.status_code}, "
          f"its fallback {fallback.status_code}; stored {counts(db)['inbound']}")
    assert_refused(refused)
    assert woken == [1]  # the inbound worker was woken for the stored retry only
    for response in (retried, fallback):
        assert response.status_code == 204 and response.content == b""  # taken: Twilio's answer for no reply
    after = counts(db)
    assert after == {**before, "inbound": 1, "unhandled": 1}  # stored once, nothing handled yet

    dispatcher = Dispatcher(db)
    assert dispatcher.process_pending() == 1
    assert dispatcher.process_pending() == 0  # handled once
    handled = counts(db)
    assert handled == {**before, "inbound": 1, "unhandled": 0, "outbox": 1, "members": before["members"] + 1}
    with db.transaction() as session:
        [reply] = session.scalars(select(OutboxMessage)).all()
        assert (reply.address, reply.status) == (NEWCOMER, "pending")
        [stored] = session.scalars(select(InboundMessage)).all()
        assert stored.provider_id == SID and stored.body is None  # kept only until handled


def test_the_refused_webhook_leaves_nothing_half_done(backend, db):
    """While the database is away nothing is stored, so nothing can be half handled."""
    before = counts(db)
    app = app_for(db)

    async def go():
        async with client_for(app) as client:
            with database_down(backend, db.url):
                return await signed_post(client, "/twilio/sms", inbound_form(SID, body="STOP"))

    assert_refused(asyncio.run(go()))
    assert counts(db) == before
    assert Dispatcher(db).process_pending() == 0  # no text was left behind to act on later
    assert counts(db) == before


def test_a_status_callback_while_the_database_is_down_gets_503_and_its_retry_applies(backend, db):
    row_id = queue(db, ANA, "Checking in")
    sid = "SM" + "8" * 32
    path = f"/twilio/status?outbox={row_id}"
    form = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": "delivered", "SmsStatus": "delivered",
            "AccountSid": "AC" + "0" * 32, "From": "+15155550100", "To": ANA, "ApiVersion": "2010-04-01"}
    with db.transaction() as session:  # sent: Twilio's id recorded, its report to come
        sent = session.get(OutboxMessage, row_id)
        sent.status, sent.provider_id = "sent", sid
    app = app_for(db)

    async def go():
        async with client_for(app) as client:
            with database_down(backend, db.url):
                refused = await signed_post(client, path, form)
            return refused, await signed_post(client, path, form)

    refused, retried = asyncio.run(go())
    assert_refused(refused)
    assert retried.status_code == 204
    settled = row(db, row_id)
    assert (settled.status, settled.provider_id, settled.provider_status) == ("sent", sid, "delivered")


def test_the_inbound_worker_losing_the_database_between_store_and_handling_keeps_the_text(backend, db):
    dispatcher = Dispatcher(db)
    app = app_for(db)

    async def store():
        async with client_for(app) as client:
            return await signed_post(client, "/twilio/sms", inbound_form(SID, body=WORDS))

    assert asyncio.run(store()).status_code == 204
    before = counts(db)
    with database_down(backend, db.url), pytest.raises(Exception) as failed:
        dispatcher.process_pending()
    assert "OperationalError" in type(failed.value).__name__
    assert counts(db) == before  # stored, unhandled, no member, no reply
    with db.transaction() as session:
        [waiting] = session.scalars(select(InboundMessage)).all()
        assert waiting.handled_at is None and waiting.body == WORDS
    assert dispatcher.process_pending() == 1  # a later pass takes it up
    assert counts(db) == {**before, "unhandled": 0, "outbox": 1, "members": before["members"] + 1}


@contextlib.contextmanager
def killed_while_replying(backend, db, *, stay_down: bool):
    """Each time the dispatcher writes a reply, the server kills that connection first.

    With ``stay_down`` the database also refuses new connections until the block
    ends (an outage); without it the database is back at once (a failover, a
    restart of the pooler). Yields the list of killed backends.
    """
    name = make_url(db.url).database
    admin = create_engine(backend.server_url, isolation_level="AUTOCOMMIT")
    struck: list[int] = []

    def strike(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO OUTBOX "):
            struck.append(conn.connection.dbapi_connection.info.backend_pid)
            with admin.connect() as other:
                if stay_down:
                    other.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
                # waits (up to 10 s) until the backend is gone, so the insert meets a dead connection
                other.execute(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": struck[-1]})

    event.listen(db.engine, "before_cursor_execute", strike)
    try:
        yield struck
    finally:
        event.remove(db.engine, "before_cursor_execute", strike)
        with admin.connect() as other:
            other.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()


def waiting_text(db):
    with db.transaction() as session:
        [waiting] = session.scalars(select(InboundMessage)).all()
        return waiting.handled_at, waiting.body, waiting.attempts


@pytest.mark.postgresql
def test_the_database_gone_in_the_middle_of_handling_a_text_undoes_all_of_it(backend, db):
    """The server goes away after the text is claimed and the member made, as the reply is written."""
    dispatcher = Dispatcher(db)
    assert dispatcher.store_inbound(_inbound()) is not None
    before = counts(db)
    with killed_while_replying(backend, db, stay_down=True) as struck, pytest.raises(Exception) as failed:
        dispatcher.process_pending()
    assert len(struck) == 1, "the text was never handled as far as its reply"
    assert "OperationalError" in type(failed.value).__name__
    assert counts(db) == before  # the claim, the new member and the reply are all undone
    assert waiting_text(db) == (None, WORDS, 0)
    assert dispatcher.process_pending() == 1
    assert counts(db) == {**before, "unhandled": 0, "outbox": 1, "members": before["members"] + 1}
    with db.transaction() as session:
        [reply] = session.scalars(select(OutboxMessage)).all()
        assert reply.address == NEWCOMER


@pytest.mark.postgresql
def test_a_text_is_not_given_up_because_the_database_kept_failing_under_it(backend, db):
    """Lost connections are the database's fault, not the text's: they never count towards giving it up."""
    from carebot.dispatch.dispatcher import MAX_INBOUND_ATTEMPTS

    dispatcher = Dispatcher(db)
    assert dispatcher.store_inbound(_inbound()) is not None
    before = counts(db)
    with killed_while_replying(backend, db, stay_down=False) as struck:
        for _ in range(MAX_INBOUND_ATTEMPTS + 1):
            with contextlib.suppress(Exception):  # the inbound worker logs the failed pass and tries again
                dispatcher.process_pending()
    assert len(struck) == MAX_INBOUND_ATTEMPTS + 1
    assert counts(db) == before
    assert waiting_text(db) == (None, WORDS, 0)
    assert dispatcher.process_pending() == 1  # the connection holds now: handled, once, with its reply
    assert counts(db) == {**before, "unhandled": 0, "outbox": 1, "members": before["members"] + 1}


def _inbound():
    from carebot.channels.twilio import parse_inbound

    return parse_inbound(inbound_form(SID, body=WORDS), NOW)
