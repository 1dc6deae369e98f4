"""The inbound queue: a webhook stores a text, the worker handles it, once, in order, keeping little.

Real SQLite files throughout; the only fault injected is an exception (or a
killed process) in the middle of handling, where a crash would land.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

import carebot.dispatch.dispatcher as dispatcher_module
import carebot.dispatch.transition as transition_module
from carebot.channels import SMS, Inbound
from carebot.dispatch.dispatcher import MAX_INBOUND_ATTEMPTS, Dispatcher
from carebot.runtime.serve import run_inbound
from carebot.runtime.web import InboundWriter
from carebot.store.crypto import lookup_hash
from carebot.store.db import Database
from carebot.store.models import InboundMessage, Member, OutboxMessage
from tests.fakes.world import ANA, NOW
from tests.helpers import LOG_WATCH

NEWCOMER = "+15155550199"


def text(body: str, sid: str, sender: str = NEWCOMER, at=NOW) -> Inbound:
    return Inbound(SMS, sid, sender, body, at)


def inbound_rows(db) -> list[InboundMessage]:
    with db.transaction() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def replies_to(db, phone: str) -> list[str]:
    with db.transaction() as session:
        return list(session.scalars(
            select(OutboxMessage.body).where(OutboxMessage.address_hash == lookup_hash(phone)).order_by(OutboxMessage.id)))


def members(db) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(Member))


def name_of(db, phone: str) -> str | None:
    with db.transaction() as session:
        return Member.by_phone(session, phone).name


def test_storing_keeps_the_text_until_it_is_handled_and_not_after(db):
    dispatcher = Dispatcher(db)
    row_id = dispatcher.store_inbound(text("JOIN DMMA", "SM1"))
    [row] = inbound_rows(db)
    assert (row.id, row.body, row.sender, row.handled_at, row.member_id) == (row_id, "JOIN DMMA", NEWCOMER, None, None)
    assert members(db) == 3 and replies_to(db, NEWCOMER) == []  # stored only

    assert dispatcher.process_pending() == 1
    [row] = inbound_rows(db)
    assert row.handled_at is not None and row.member_id is not None
    assert (row.body, row.sender, row.sender_uuid) == (None, None, None)  # nothing of the text is kept
    assert (row.channel, row.provider_id) == (SMS, "SM1")  # the dedupe key stays
    assert members(db) == 4 and len(replies_to(db, NEWCOMER)) == 1


def test_the_same_text_stored_five_times_at_once_is_one_row_one_effect_one_reply(db):
    dispatcher = Dispatcher(db)
    message = text("JOIN DMMA", "SM5")
    ids: list[int | None] = []
    start = threading.Barrier(5)

    def store() -> None:
        start.wait()
        ids.append(dispatcher.store_inbound(message))

    threads = [threading.Thread(target=store) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ids) == 5 and len([i for i in ids if i is not None]) == 1
    assert dispatcher.process_pending() == 1
    assert dispatcher.process_pending() == 0
    assert len(inbound_rows(db)) == 1 and members(db) == 4 and len(replies_to(db, NEWCOMER)) == 1


def test_the_writer_stores_a_burst_in_one_batch_and_spots_duplicates_within_it(db):
    dispatcher = Dispatcher(db)
    batches = []

    class Counted:
        prepare_inbound = dispatcher.prepare_inbound

        def store_prepared(self, prepared):
            batches.append(len(prepared))
            return dispatcher.store_prepared(prepared)

    async def burst():
        writer = InboundWriter(Counted())
        same = text("JOIN DMMA", "SM7")
        try:
            return await asyncio.gather(
                writer.store(text("HELP", "SM6", sender=ANA)), *(writer.store(same) for _ in range(4)))
        finally:
            writer.close()

    first, *same = asyncio.run(burst())
    assert first is not None and len([i for i in same if i is not None]) == 1
    assert sum(batches) == 5 and len(batches) <= 2  # the first text at once; the rest, given meanwhile, in one
    assert dispatcher.process_pending() == 2
    assert len(replies_to(db, NEWCOMER)) == 1


def test_a_stored_text_survives_a_restart_and_is_handled_once(db, tmp_path):
    url = db.url
    # The process that stored the text dies before handling it.
    script = textwrap.dedent(f"""
        import os
        from datetime import datetime
        from carebot.channels import Inbound
        from carebot.store.db import Database
        from carebot.dispatch.dispatcher import Dispatcher
        Dispatcher(Database({url!r})).store_inbound(
            Inbound("sms", "SM8", {NEWCOMER!r}, "JOIN DMMA", datetime.fromisoformat({NOW.isoformat()!r})))
        os._exit(137)
    """)
    died = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    LOG_WATCH.output("a process that dies after storing a text", died.stdout + died.stderr)
    assert died.returncode == 137, died.stderr
    restarted = Database(url)
    try:
        dispatcher = Dispatcher(restarted)
        assert dispatcher.process_pending() == 1
        assert dispatcher.process_pending() == 0
        assert dispatcher.store_inbound(text("JOIN DMMA", "SM8")) is None  # Twilio's retry: no second act
        assert dispatcher.process_pending() == 0
    finally:
        restarted.dispose()
    assert members(db) == 4 and len(replies_to(db, NEWCOMER)) == 1


def test_the_worker_loop_takes_up_stored_texts_at_start_up_and_wakes_the_sender(db):
    dispatcher = Dispatcher(db)
    dispatcher.store_inbound(text("JOIN DMMA", "SM9"))  # left by a crash before this start

    async def serve_briefly():
        wake, replies = asyncio.Event(), asyncio.Event()
        worker = asyncio.create_task(run_inbound(dispatcher, asyncio.to_thread, wake, replies, idle=3600))
        await asyncio.wait_for(replies.wait(), 30)  # the first pass, before anything woke it
        replies.clear()
        dispatcher.store_inbound(text("HELP", "SM10", sender=ANA))
        wake.set()
        await asyncio.wait_for(replies.wait(), 30)
        worker.cancel()

    asyncio.run(serve_briefly())
    assert [row.handled_at is not None for row in inbound_rows(db)] == [True, True]
    assert len(replies_to(db, NEWCOMER)) == 1 and len(replies_to(db, ANA)) == 1


def test_a_members_later_text_never_overtakes_an_earlier_one(db):
    dispatcher = Dispatcher(db)
    first = dispatcher.store_inbound(text("NAME Bea", "SM11", sender=ANA))
    later = dispatcher.store_inbound(text("NAME Cleo", "SM12", sender=ANA))
    other = dispatcher.store_inbound(text("HELP", "SM13"))
    # Asked for the later one first (say, by a second worker): the earlier goes before it.
    assert dispatcher.process_inbound(later) is True
    assert name_of(db, ANA) == "Cleo"
    assert dispatcher.process_inbound(first) is False  # already handled, in its turn
    assert [row.handled_at is not None for row in inbound_rows(db)] == [True, True, False]
    assert dispatcher.process_inbound(other) is True


def test_the_queue_is_worked_oldest_first(db):
    dispatcher = Dispatcher(db)
    for number, name in enumerate(["Bea", "Cleo", "Dee"]):
        dispatcher.store_inbound(text(f"NAME {name}", f"SM2{number}", sender=ANA))
    assert dispatcher.process_pending() == 3
    assert name_of(db, ANA) == "Dee"
    handled = [row.handled_at for row in inbound_rows(db)]
    assert handled == sorted(handled)


def test_a_text_handled_twice_acts_once(db):
    dispatcher = Dispatcher(db)
    row_id = dispatcher.store_inbound(text("JOIN DMMA", "SM30"))
    results: list[bool] = []
    start = threading.Barrier(4)

    def handle() -> None:
        start.wait()
        results.append(Dispatcher(db).process_inbound(row_id))

    threads = [threading.Thread(target=handle) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
    assert members(db) == 4 and len(replies_to(db, NEWCOMER)) == 1


def test_a_failure_mid_handling_applies_nothing_and_leaves_the_text_queued(db, monkeypatch):
    dispatcher = Dispatcher(db)
    dispatcher.store_inbound(text("JOIN DMMA", "SM40"))
    later = dispatcher.store_inbound(text("HELP", "SM41"))

    def crash(*args, **kwargs):
        raise RuntimeError("the process dies here")

    # The last step of handling, after the member, the membership and the consent were written.
    monkeypatch.setattr(transition_module, "enqueue", crash)
    assert dispatcher.process_pending() == 0  # the pass stops: the later text must not overtake it
    rows = inbound_rows(db)
    assert [(r.handled_at, r.attempts, r.body) for r in rows] == [(None, 1, "JOIN DMMA"), (None, 0, "HELP")]
    assert members(db) == 3 and replies_to(db, NEWCOMER) == []  # nothing half-applied
    with pytest.raises(RuntimeError):
        dispatcher.process_inbound(later)  # handling it handles the earlier one first
    assert members(db) == 3

    monkeypatch.undo()
    assert dispatcher.process_pending() == 2
    assert members(db) == 4 and len(replies_to(db, NEWCOMER)) == 2


def test_a_text_that_always_fails_is_given_up_and_the_queue_moves_on(db, monkeypatch, caplog):
    dispatcher = Dispatcher(db)
    dispatcher.store_inbound(text("NAME Bea", "SM50", sender=ANA))
    dispatcher.store_inbound(text("JOIN DMMA", "SM51"))
    real = dispatcher_module.router.respond

    def respond(ctx, said):
        if said.raw.startswith("NAME"):
            raise ValueError(f"a bug that quotes the text: {said.raw} from {ANA}")
        return real(ctx, said)

    monkeypatch.setattr(dispatcher_module.router, "respond", respond)
    for _ in range(MAX_INBOUND_ATTEMPTS - 1):
        assert dispatcher.process_pending() == 0
    assert dispatcher.process_pending() == 2  # given up, then the next one handled
    given_up, handled = inbound_rows(db)
    assert (given_up.attempts, given_up.body, given_up.sender) == (MAX_INBOUND_ATTEMPTS, None, None)
    assert given_up.handled_at is not None and name_of(db, ANA) == "Ana"
    assert handled.member_id is not None and len(replies_to(db, NEWCOMER)) == 1
    assert "given up" in caplog.text
    assert ANA not in caplog.text and "Bea" not in caplog.text  # never numbers or texts in the logs


def test_handle_inbound_is_still_store_then_handle(db):
    dispatcher = Dispatcher(db)
    later = NOW + timedelta(minutes=1)
    assert dispatcher.handle_inbound(text("JOIN DMMA", "SM60", at=later)) is True
    assert dispatcher.handle_inbound(text("JOIN DMMA", "SM60", at=later)) is False  # a duplicate
    [row] = inbound_rows(db)
    assert row.received_at == later and row.body is None and row.handled_at is not None


def test_a_batch_is_one_commit_for_many_senders_and_keeps_each_senders_order(db):
    dispatcher = Dispatcher(db)
    dispatcher.store_inbound(text("NAME Bea", "SM70", sender=ANA))
    dispatcher.store_inbound(text("join dmma", "SM71"))
    dispatcher.store_inbound(text("NAME Cleo", "SM72", sender=ANA))
    dispatcher.store_inbound(text("name Dee", "SM73", sender=ANA))
    commits = []
    with pytest.MonkeyPatch.context() as patch:
        real = dispatcher._batch

        def counted(limit, deadline=None):
            result = real(limit, deadline)
            commits.append(result)
            return result

        patch.setattr(dispatcher, "_batch", counted)
        assert dispatcher.process_pending() == 4
    # Ana's three texts go one a batch, in order; the newcomer's shares the first batch with Ana's first.
    assert commits == [(2, False), (1, False), (1, False), (0, False)]
    assert name_of(db, ANA) == "Dee" and members(db) == 4


def test_a_crash_mid_batch_applies_nothing_of_the_batch(db, monkeypatch):
    dispatcher = Dispatcher(db)
    dispatcher.store_inbound(text("NAME Bea", "SM80", sender=ANA))
    dispatcher.store_inbound(text("JOIN DMMA", "SM81"))
    dispatcher.store_inbound(text("HELP", "SM82", sender="+15155550198"))
    real = dispatcher_module.router.respond
    seen = []

    def respond(ctx, said):
        seen.append(said.raw)
        if len(seen) == 3:  # the process is killed while the third text of the batch is being handled
            raise KeyboardInterrupt
        return real(ctx, said)

    monkeypatch.setattr(dispatcher_module.router, "respond", respond)
    with pytest.raises(KeyboardInterrupt):
        dispatcher.process_pending()
    assert seen == ["NAME Bea", "JOIN DMMA", "HELP"]
    # Nothing committed: the first two texts' effects are gone with the third's, all three still queued.
    assert [(r.handled_at, r.attempts, r.body is not None) for r in inbound_rows(db)] == [(None, 0, True)] * 3
    assert name_of(db, ANA) == "Ana" and members(db) == 3 and replies_to(db, NEWCOMER) == []

    monkeypatch.undo()
    assert dispatcher.process_pending() == 3
    assert name_of(db, ANA) == "Bea" and members(db) == 5 and len(replies_to(db, NEWCOMER)) == 1


def test_a_failing_text_mid_batch_applies_nothing_of_itself_and_keeps_what_came_before(db, monkeypatch):
    dispatcher = Dispatcher(db)
    dispatcher.store_inbound(text("NAME Bea", "SM90", sender=ANA))
    dispatcher.store_inbound(text("JOIN DMMA", "SM91"))
    dispatcher.store_inbound(text("HELP", "SM92", sender="+15155550198"))
    real = transition_module.enqueue

    def enqueue(session, **kwargs):
        if kwargs["address"] == NEWCOMER:
            raise RuntimeError("a bug while writing the reply")
        return real(session, **kwargs)

    monkeypatch.setattr(transition_module, "enqueue", enqueue)
    assert dispatcher.process_pending() == 1  # Ana's, before it; the pass ends at the failure
    first, failed, after = inbound_rows(db)
    assert first.handled_at is not None and name_of(db, ANA) == "Bea"
    assert (failed.handled_at, failed.attempts, failed.body) == (None, 1, "JOIN DMMA")
    assert members(db) == 3  # the newcomer's member row, written before the failure, is gone with it
    assert (after.handled_at, after.attempts, after.body) == (None, 0, "HELP")


def test_two_workers_at_once_handle_each_text_once_and_each_senders_texts_in_order(db):
    from tests.fakes.world import BEN, CARA

    dispatcher = Dispatcher(db)
    for turn in range(3):
        for sender, name in ((ANA, "Ana"), (BEN, "Ben"), (CARA, "Cara")):
            dispatcher.store_inbound(text(f"name {name}{turn}", f"SM1{turn}{name}", sender=sender))
    handled: list[int] = []
    start = threading.Barrier(2)

    def work() -> None:
        start.wait()
        worker = Dispatcher(db)
        while True:
            done = worker.process_pending(2, batch=2)
            handled.append(done)
            if not done and all(row.handled_at is not None for row in inbound_rows(db)):
                return

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(handled) == 9  # each text once, between them
    assert [name_of(db, p) for p in (ANA, BEN, CARA)] == ["Ana2", "Ben2", "Cara2"]  # the last of each, last


def test_a_pass_with_its_time_spent_begins_no_more_texts_and_leaves_them_untouched(db):
    dispatcher = Dispatcher(db)
    dispatcher.store_inbound(text("NAME Bea", "SM100", sender=ANA))
    dispatcher.store_inbound(text("JOIN DMMA", "SM101"))
    dispatcher.store_inbound(text("HELP", "SM102", sender="+15155550198"))
    assert dispatcher.process_pending(16, 16, budget=0) == 1  # the first text always goes: no pass is empty
    assert [(r.handled_at is not None, r.attempts, r.body) for r in inbound_rows(db)] == [
        (True, 0, None), (False, 0, "JOIN DMMA"), (False, 0, "HELP")]
    assert dispatcher.process_pending(16, 16, budget=60) == 2
