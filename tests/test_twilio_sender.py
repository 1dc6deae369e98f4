"""The outbox sender with the real twilio client against a local fake of Twilio's API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from carebot.channels import SMS, Inbound, Sent
from carebot.channels.pacing import Pacer
from carebot.dispatch.dispatcher import Dispatcher
from carebot.outbox.recovery import STUCK_AFTER, recover_sending
from carebot.outbox.retry import MAX_ATTEMPTS
from carebot.outbox.sender import deliver_due
from carebot.outbox.views import undelivered_for_group
from carebot.outbox.write import REPLY
from carebot.runtime.serve import run_sender
from carebot.store.models import ConsentEvent
from tests.fakes.world import ANA, BEN, CARA, FROM, NOW, member, queue, row, with_channel


def deliver(db, fake, now=NOW, **kw):
    return with_channel(fake, lambda channel: deliver_due(db, {SMS: channel}, now, **kw))


def test_a_text_goes_once_with_its_sid_and_a_status_callback_naming_the_row(db, fake):
    row_id = queue(db, ANA, "Checking in: how are you this week?")
    assert deliver(db, fake) == 1
    assert deliver(db, fake) == 0  # nothing goes twice
    [message] = fake.sent_to(ANA)
    sent = row(db, row_id)
    assert (sent.status, sent.provider_id, sent.attempts) == ("sent", message["sid"], 1)
    request = fake.requests[0]
    assert request["From"] == FROM
    assert request["StatusCallback"] == f"https://care.example.org/twilio/status?outbox={row_id}"


def test_a_messaging_service_sends_without_a_from_number(db, fake):
    queue(db, ANA, "hello")
    service = "MG" + "ab" * 16
    with_channel(fake, lambda c: deliver_due(db, {SMS: c}, NOW), from_number=None, messaging_service_sid=service)
    assert fake.requests[0]["MessagingServiceSid"] == service
    assert "From" not in fake.requests[0]
    assert len(fake.sent_to(ANA)) == 1


def test_21610_means_the_member_opted_out_at_the_carrier(db, fake):
    fake.script(ANA, (400, 21610))
    first = queue(db, ANA, "Checking in")
    second = queue(db, ANA, "A second check-in")
    deliver(db, fake)
    failed = row(db, first)
    assert (failed.status, failed.error_code) == ("failed", "21610")
    assert member(db, ANA).opted_out
    # the second text is not even tried: consent is re-checked at send time; it keeps none of its words
    assert (row(db, second).status, row(db, second).body) == ("cancelled", "")
    assert fake.sent_to(ANA) == []
    assert len(fake.requests) == 1
    with db.transaction() as session:
        [event] = session.scalars(select(ConsentEvent).where(ConsentEvent.member_id == failed.member_id)).all()
        assert (event.kind, event.wording, event.channel) == ("opt_out", "carrier 21610", SMS)


@pytest.mark.parametrize("code", [21211, 21614])
def test_an_unusable_number_is_marked_and_not_tried_again(db, fake, code):
    fake.script(BEN, (400, code))
    first = queue(db, BEN, "Checking in")
    second = queue(db, BEN, "Again")
    deliver(db, fake)
    assert (row(db, first).status, row(db, first).error_code) == ("failed", str(code))
    assert member(db, BEN).phone_unusable
    assert not member(db, BEN).opted_out
    assert row(db, second).status == "cancelled"
    assert len(fake.requests) == 1


def test_a_member_whose_number_was_unusable_texting_in_makes_it_usable_again(db, fake):
    fake.script(BEN, (400, 21614))
    queue(db, BEN, "Checking in")
    deliver(db, fake)
    assert member(db, BEN).phone_unusable
    # The number evidently takes texts: BEN's text clears the mark, and the reply goes.
    assert Dispatcher(db).handle_inbound(Inbound(SMS, "SM" + "7" * 32, BEN, "STATUS", NOW))
    assert not member(db, BEN).phone_unusable
    assert deliver(db, fake) == 1
    assert len(fake.sent_to(BEN)) == 1


def test_a_rate_limit_is_retried_later_then_sent_once(db, fake):
    fake.script(ANA, (429, 20429))
    row_id = queue(db, ANA, "Checking in")
    assert deliver(db, fake) == 0
    waiting = row(db, row_id)
    assert (waiting.status, waiting.error_code, waiting.attempts) == ("pending", "20429", 1)
    assert waiting.not_before >= NOW + timedelta(seconds=30)  # backoff, never at once
    assert deliver(db, fake) == 0  # not yet due
    assert deliver(db, fake, now=waiting.not_before) == 1
    assert len(fake.sent_to(ANA)) == 1
    assert row(db, row_id).status == "sent"


def settle_and_deliver(db, fake, now):
    """carebot serve's pass: settle unclear rows (asking Twilio), then send what is due."""
    async def go(channel):
        await recover_sending(db, {SMS: channel}, now)
        return await deliver_due(db, {SMS: channel}, now)

    return with_channel(fake, go)


@pytest.mark.parametrize("answer", [(500, 20500), (503, 20503)])
def test_an_outage_is_asked_about_then_retried_later_then_sent_once(db, fake, answer):
    """A 5xx does not say whether Twilio took the text: it is looked up before any resend."""
    fake.script(ANA, answer)
    row_id = queue(db, ANA, "Checking in")
    assert deliver(db, fake) == 0
    unclear = row(db, row_id)
    assert (unclear.status, unclear.error_code, unclear.attempts) == ("sending", str(answer[1]), 1)
    assert settle_and_deliver(db, fake, NOW + STUCK_AFTER) == 0  # not at Twilio: pending, after a backoff
    waiting = row(db, row_id)
    assert waiting.status == "pending" and waiting.not_before >= NOW + STUCK_AFTER + timedelta(seconds=30)
    assert settle_and_deliver(db, fake, waiting.not_before) == 1
    assert len(fake.sent_to(ANA)) == 1
    assert row(db, row_id).status == "sent"


def test_after_the_last_retry_the_row_fails_and_coordinators_see_it(db, fake):
    fake.script(CARA, *[(500, 20500)] * MAX_ATTEMPTS)
    row_id = queue(db, CARA, "Checking in")
    now = NOW
    for _ in range(2 * MAX_ATTEMPTS):  # each try: sent and unclear, then asked about and backed off
        settle_and_deliver(db, fake, now)
        now = max(now + STUCK_AFTER, row(db, row_id).not_before) + timedelta(seconds=1)
    failed = row(db, row_id)
    assert (failed.status, failed.attempts) == ("failed", MAX_ATTEMPTS)
    assert fake.sent_to(CARA) == []
    with db.transaction() as session:
        assert [r.id for r in undelivered_for_group(session, failed.group_id)] == [row_id]


def test_a_stop_between_queueing_and_sending_wins(db, fake):
    row_id = queue(db, ANA, "Checking in")
    with db.transaction() as session:
        session.merge(member(db, ANA)).opted_out = True
    deliver(db, fake)
    assert row(db, row_id).status == "cancelled"
    assert fake.requests == []


def test_quiet_hours_are_rechecked_at_send_time(db, fake):
    row_id = queue(db, ANA, "Checking in")
    night = NOW + timedelta(hours=12)  # 22:00 in Des Moines
    deliver(db, fake, now=night)
    waiting = row(db, row_id)
    assert waiting.status == "pending" and waiting.not_before > night
    assert fake.requests == []


def test_parallel_lanes_keep_each_members_texts_in_order(db, fake):
    for i in range(4):
        for phone in (ANA, BEN, CARA):
            queue(db, phone, f"text {i}")
    assert deliver(db, fake, concurrency=3) == 12
    for phone in (ANA, BEN, CARA):
        assert [m["body"] for m in fake.sent_to(phone)] == [f"text {i}" for i in range(4)]


def test_the_pacer_spaces_sends_at_the_configured_rate():
    slept: list[float] = []
    clock = [100.0]

    async def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))

    async def go() -> None:
        pacer = Pacer(4, time=lambda: clock[0], sleep=sleep)
        await asyncio.gather(*(pacer.wait() for _ in range(4)))
        clock[0] += 10  # a quiet spell: the next send goes at once
        await pacer.wait()
        await pacer.wait()

    asyncio.run(go())
    # concurrent callers each reserve their own slot: 0, 0.25, 0.5, 0.75 s from now
    # then, after the quiet spell: at once, and the next a quarter second later
    assert slept == [0.25, 0.5, 0.75, 0.25]


def test_the_channel_is_paced(db, fake):
    slept: list[float] = []

    async def go(channel):
        clock = [0.0]

        async def sleep(seconds):
            slept.append(seconds)
            clock[0] += seconds

        channel.pacer = Pacer(75, time=lambda: clock[0], sleep=sleep)
        return await deliver_due(db, {SMS: channel}, NOW)

    for i in range(3):
        queue(db, ANA, f"text {i}")
    assert with_channel(fake, go) == 3
    assert [round(s, 6) for s in slept] == [round(1 / 75, 6)] * 2


def test_a_stop_that_comes_in_while_the_sender_waits_for_its_slot_wins(db):
    row_id = queue(db, ANA, "Checking in")
    sent = []

    class StopDuringTheWait:
        """A channel whose pacer's wait is when ANA's STOP arrives."""

        name = SMS

        def __init__(self) -> None:
            self.pacer = self

        async def wait(self) -> bool:
            Dispatcher(db).handle_inbound(Inbound(SMS, "SM" + "5" * 32, ANA, "STOP", NOW))
            return True  # it waited

        async def send(self, address, body, outbox_id):
            sent.append(outbox_id)

    assert asyncio.run(deliver_due(db, {SMS: StopDuringTheWait()}, NOW)) == 0
    assert sent == []
    assert row(db, row_id).status == "cancelled"


def test_a_reply_held_up_past_half_an_hour_by_an_outage_waits_for_daytime(db, fake):
    evening = datetime(2026, 3, 2, 3, 30, tzinfo=UTC)  # 21:30 in Des Moines, the day before NOW
    stale = queue(db, ANA, "You are on the list for Thursday", now=evening, purpose=REPLY)
    fake.script(ANA, (429, 20429))  # Twilio refuses it for now when it is first tried
    deliver(db, fake, now=evening)
    # Back up at 22:30 and past: an hour-old reply no longer answers a text just sent.
    late = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)
    fresh = queue(db, BEN, "STATUS: you offered to call, evenings", now=late, purpose=REPLY)
    deliver(db, fake, now=late)
    assert len(fake.sent_to(BEN)) == 1  # a fresh reply goes at once, at night too
    assert row(db, fresh).status == "sent"
    assert fake.sent_to(ANA) == [] and row(db, stale).status == "pending"
    morning = row(db, stale).not_before
    assert morning.astimezone(ZoneInfo("America/Chicago")).hour == 9
    deliver(db, fake, now=morning)
    assert len(fake.sent_to(ANA)) == 1


class Recording:
    """A channel that takes every text at once and remembers the order."""

    name = SMS

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, address, body, outbox_id):
        self.sent.append(body)
        return Sent(f"SM{outbox_id:032d}")


def test_a_reply_goes_before_a_rounds_waiting_texts(db):
    for n in range(30):
        queue(db, BEN if n % 2 else CARA, f"round text {n}")
    queue(db, ANA, "You are on the list for Thursday", purpose=REPLY)  # written last
    channel = Recording()
    assert asyncio.run(deliver_due(db, {SMS: channel}, NOW, limit=5)) == 5
    assert channel.sent[0] == "You are on the list for Thursday"


def test_the_sender_goes_straight_on_to_the_next_pass_while_texts_are_due(db):
    for n in range(25):
        queue(db, (ANA, BEN, CARA)[n % 3], f"text {n}")
    channel = Recording()

    async def go() -> None:
        wake = asyncio.Event()
        # Passes of ten texts (the least) and an idle wait far longer than the test: only going
        # straight on after a pass that sent something delivers all 25.
        sender = asyncio.create_task(run_sender(db, {SMS: channel}, wake, rate=1, now=lambda: NOW, idle=3600))
        while len(channel.sent) < 25:
            await asyncio.sleep(0.01)
        sender.cancel()

    asyncio.run(asyncio.wait_for(go(), 60))
    assert sorted(channel.sent, key=lambda body: int(body.split()[1])) == [f"text {n}" for n in range(25)]


class Stepping:
    """``in_db`` that lets the event loop run before each database step, as serve's worker thread
    does, and keeps each transaction's steps by name."""

    def __init__(self) -> None:
        self.transactions: list[list[str]] = []

    async def __call__(self, function, *args):
        await asyncio.sleep(0)
        if getattr(function, "func", function).__name__ == "_in_one_transaction":  # (a partial, given the db)
            self.transactions.append([step.__name__ for step, _ in args[0]])
        return function(*args)

    def steps(self) -> list[str]:
        return [step for transaction in self.transactions for step in transaction]


class AtOnce:
    """A pacer whose slot is always free: the text may go at once."""

    async def wait(self) -> bool:
        return False


def test_texts_that_may_go_at_once_share_their_claims_and_records_commits(db):
    for name, who in (("ana", ANA), ("ben", BEN), ("cara", CARA)):
        queue(db, who, f"hello {name}")
    channel = Recording()
    channel.pacer = AtOnce()
    in_db = Stepping()
    assert asyncio.run(deliver_due(db, {SMS: channel}, NOW, concurrency=3, in_db=in_db)) == 3
    assert sorted(channel.sent) == ["hello ana", "hello ben", "hello cara"]
    # No look again after a pacer that did not wait (nothing can have changed since the claim);
    # lanes that ask while the database is busy share a transaction.
    assert sorted(in_db.steps()) == ["_claim"] * 3 + ["_record_sent"] * 3
    assert len(in_db.transactions) < 6
    assert all(row(db, n).status == "sent" and row(db, n).body == "" for n in (1, 2, 3))


def test_a_members_texts_still_go_in_order_when_steps_are_shared(db):
    for n in range(12):
        queue(db, (ANA, BEN, CARA)[n % 3], f"text {n}")
    channel = Recording()
    assert asyncio.run(deliver_due(db, {SMS: channel}, NOW, concurrency=3, in_db=Stepping())) == 12
    for who in range(3):
        mine = [body for body in channel.sent if int(body.split()[1]) % 3 == who]
        assert mine == [f"text {n}" for n in range(who, 12, 3)]


def test_a_text_claimed_then_held_by_a_paused_channel_is_not_counted_as_tried(db):
    row_id = queue(db, ANA, "Checking in")

    class PausedDuringTheWait(Recording):
        def __init__(self) -> None:
            super().__init__()
            self.pacer = self
            self.paused_until = None

        async def wait(self) -> bool:
            self.paused_until = NOW + timedelta(minutes=1)  # another lane's send met a rate limit
            return True

    channel = PausedDuringTheWait()
    assert asyncio.run(deliver_due(db, {SMS: channel}, NOW)) == 0
    assert channel.sent == []
    assert row(db, row_id).status == "pending" and row(db, row_id).attempts == 0


def test_a_text_whose_claim_raises_holds_up_no_other(db, monkeypatch, caplog):
    # The sender's steps share transactions: one bad row must not take the others' claims and
    # records down with it, pass after pass.
    from carebot.outbox import sender

    for name, who in (("ana", ANA), ("ben", BEN), ("cara", CARA)):
        queue(db, who, f"hello {name}")
    real_ready = sender.ready

    def ready(session, row, *args):
        if row is not None and row.id == 1:
            raise RuntimeError("a row carebot cannot read")
        return real_ready(session, row, *args)

    monkeypatch.setattr(sender, "ready", ready)
    channel = Recording()
    in_db = Stepping()
    assert asyncio.run(deliver_due(db, {SMS: channel}, NOW, concurrency=3, in_db=in_db)) == 2
    assert sorted(channel.sent) == ["hello ben", "hello cara"]
    assert row(db, 1).status == "pending" and row(db, 2).status == "sent" and row(db, 3).status == "sent"
    assert "1 of 3 lanes failed: RuntimeError" in caplog.text
