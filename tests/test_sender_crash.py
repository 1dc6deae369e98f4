"""A sender that dies mid-send loses nothing and, where Twilio answered, sends nothing twice.

The sender runs in a real subprocess that is killed (``os._exit``: no cleanup,
no rollback handlers, an uncommitted transaction simply vanishes) at the worst
moments; a fresh sender then recovers against the same database and the same
local fake of Twilio.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from carebot.channels import SMS, StatusUpdate
from carebot.outbox.recovery import STUCK_AFTER, recover_sending
from carebot.outbox.sender import deliver_due
from carebot.outbox.status import apply_status
from tests.fakes.twilio_api import DROP_AFTER, DROP_BEFORE
from tests.fakes.world import ANA, BEN, NOW, queue, row, with_channel
from tests.helpers import KILLED, LOG_WATCH, sender_process

LATER = NOW + STUCK_AFTER + timedelta(seconds=1)


def crash_sender(db, fake, moment: str) -> None:
    process = sender_process(db, fake, moment, lease=False)
    out, err = process.communicate(timeout=60)
    LOG_WATCH.output("a sender killed mid-send", out + err)
    assert process.returncode == KILLED, err


def restart(db, fake, now=LATER) -> None:
    """What ``carebot serve`` does each pass: settle stuck rows, then send what is due."""

    async def go(channel):
        await recover_sending(db, {SMS: channel}, now)
        await deliver_due(db, {SMS: channel}, now)

    with_channel(fake, go)


def test_killed_between_twilios_answer_and_the_commit(db, fake):
    row_id = queue(db, ANA, "Checking in")
    crash_sender(db, fake, "after-answer")
    [message] = fake.sent_to(ANA)
    assert row(db, row_id).status == "sending"  # the answer was never committed
    restart(db, fake)
    recovered = row(db, row_id)
    assert (recovered.status, recovered.provider_id) == ("sent", message["sid"])
    restart(db, fake, LATER + timedelta(hours=1))
    assert len(fake.sent_to(ANA)) == 1  # never twice


def test_killed_after_the_claim_before_twilio_is_asked(db, fake):
    row_id = queue(db, ANA, "Checking in")
    crash_sender(db, fake, "before-request")
    assert fake.sent_to(ANA) == [] and row(db, row_id).status == "sending"
    restart(db, fake)
    [message] = fake.sent_to(ANA)  # not lost: sent now, once
    assert (row(db, row_id).status, row(db, row_id).provider_id) == ("sent", message["sid"])


def test_a_status_callback_naming_the_row_alone_does_not_settle_it_twilio_is_asked(db, fake):
    """The callback's ?outbox= is no proof (issue 15, case 1): the row stays until Twilio is asked."""
    row_id = queue(db, ANA, "Checking in")
    crash_sender(db, fake, "after-answer")
    [message] = fake.sent_to(ANA)
    assert not apply_status(db, StatusUpdate(message["sid"], "sent"))
    assert (row(db, row_id).status, row(db, row_id).provider_id) == ("sending", None)
    restart(db, fake)
    assert (row(db, row_id).status, row(db, row_id).provider_id) == ("sent", message["sid"])
    assert len(fake.sent_to(ANA)) == 1  # never twice


def test_a_row_is_not_judged_stuck_while_it_may_still_be_in_flight(db, fake):
    row_id = queue(db, ANA, "Checking in")
    crash_sender(db, fake, "before-request")
    restart(db, fake, now=NOW + timedelta(seconds=30))
    assert row(db, row_id).status == "sending" and fake.sent_to(ANA) == []


def test_recovery_waits_while_twilio_cannot_be_asked(db, fake):
    row_id = queue(db, ANA, "Checking in")
    crash_sender(db, fake, "after-answer")

    async def go(channel):
        await recover_sending(db, {SMS: channel}, LATER)

    fake.__exit__()  # Twilio unreachable: the connection is refused
    with_channel(fake, go)
    assert row(db, row_id).status == "sending"  # neither resent nor given up


@pytest.mark.parametrize("drop, twilio_has_it", [(DROP_AFTER, True), (DROP_BEFORE, False)])
def test_no_answer_is_asked_about_before_any_resend(db, fake, drop, twilio_has_it):
    row_id = queue(db, BEN, "Checking in")
    fake.script(BEN, drop)
    with_channel(fake, lambda channel: deliver_due(db, {SMS: channel}, NOW))
    assert (row(db, row_id).status, row(db, row_id).error_code) == ("sending", "no-answer")
    assert len(fake.sent_to(BEN)) == (1 if twilio_has_it else 0)
    restart(db, fake)
    restart(db, fake, LATER + timedelta(minutes=1))  # not found at Twilio: sent again after its backoff
    [message] = fake.sent_to(BEN)  # exactly once either way
    assert (row(db, row_id).status, row(db, row_id).provider_id) == ("sent", message["sid"])


def test_an_identical_earlier_text_is_not_mistaken_for_the_lost_one(db, fake):
    earlier = queue(db, ANA, "Checking in")
    with_channel(fake, lambda channel: deliver_due(db, {SMS: channel}, NOW))
    row_id = queue(db, ANA, "Checking in")
    crash_sender(db, fake, "before-request")
    restart(db, fake)
    first, second = fake.sent_to(ANA)
    assert row(db, earlier).provider_id == first["sid"]
    assert row(db, row_id).provider_id == second["sid"]
