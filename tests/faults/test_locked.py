"""SQLite's database locked by another process (a backup, a stray ``sqlite3`` shell) past Twilio's 15 s.

Twilio waits 15 s for a webhook's answer. While the lock is held, a webhook
must answer 503 well within that (so Twilio tries again or its fallback URL),
``/healthz`` says "locked", and a text stored before the lock must not be given
up however many passes of the inbound worker meet the lock: a lock is never
the text's fault. Once the lock goes, Twilio's retry is stored once and both
texts are handled once, each with its reply. PostgreSQL has no database-wide
write lock: its "database away" faults are tests/faults/test_database_down.py.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time

from sqlalchemy import event, func, make_url, select

from carebot.dispatch.dispatcher import MAX_INBOUND_ATTEMPTS, Dispatcher
from carebot.store.models import InboundMessage, OutboxMessage
from tests.fakes.world import make_db
from tests.helpers import app_for, client_for, inbound_form, signed_post

TWILIO_WAITS = 15.0


def test_a_lock_past_twilios_timeout_loses_nothing_and_answers_in_time(tmp_path):
    db = make_db(f"sqlite:///{tmp_path}/carebot.sqlite")
    dispatcher = Dispatcher(db)
    app = app_for(db)
    before = inbound_form(sid="SM" + "1" * 32, sender="+15155550198", body="1 call evenings")
    during = inbound_form(sid="SM" + "2" * 32, sender="+15155550197", body="JOIN DMMA")

    async def webhook(form):
        async with client_for(app) as client:
            started = time.monotonic()
            answer = await signed_post(client, "/twilio/sms", form)
            return answer.status_code, time.monotonic() - started

    async def health():
        async with client_for(app) as client:
            answer = await client.get("/healthz")
            return answer.status_code, answer.json()

    assert asyncio.run(webhook(before))[0] == 204
    holder = sqlite3.connect(make_url(db.url).database, isolation_level=None, timeout=30)
    holder.execute("BEGIN EXCLUSIVE")
    locked_at = time.monotonic()
    try:
        status, took = asyncio.run(webhook(during))
        checked = asyncio.run(health())
        # The worker's passes meet the lock again and again; a short busy timeout stands for the
        # lock's minutes, so the test need not wait them out.
        db.engine.dispose()
        event.listen(db.engine, "connect", lambda conn, _: conn.execute("PRAGMA busy_timeout=50"))
        raised = 0
        for _ in range(MAX_INBOUND_ATTEMPTS + 2):
            try:
                dispatcher.process_pending()
            except Exception:
                raised += 1
    finally:
        held = time.monotonic() - locked_at
        holder.execute("ROLLBACK")
        holder.close()
    retried = asyncio.run(webhook(during))[0]
    handled = dispatcher.process_pending(10)
    with db.transaction() as session:
        rows = session.execute(select(InboundMessage.provider_id, InboundMessage.attempts,
                                      InboundMessage.handled_at.is_not(None))).all()
        replies = session.scalar(select(func.count()).select_from(OutboxMessage))
    print(f"lock held {held:.1f} s: webhook answered {status} in {took:.1f} s (Twilio waits {TWILIO_WAITS:.0f}); "
          f"/healthz {checked}; {raised} worker passes raised; after: retry {retried}, handled {handled}, "
          f"rows {[(sid[-4:], attempts, done) for sid, attempts, done in rows]}, replies {replies}")
    assert status == 503 and took < TWILIO_WAITS
    assert checked[0] == 503 and checked[1]["database"] == "locked"
    assert retried == 204
    assert sorted((attempts, done) for _, attempts, done in rows) == [(0, True), (0, True)], "a text was given up"
    assert replies == 2
    db.dispose()
