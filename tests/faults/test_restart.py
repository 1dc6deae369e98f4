"""Case 3 of issue 15: a crisis reply is never held behind rows a dead process left in ``sending``.

A sender holding its lease (carebot/lease.py) is killed (``os._exit``) after
claiming a text; a reply is written for the same member; carebot restarts ten
seconds later. The dead process's row is asked of Twilio and settled at once,
and the reply goes in that same pass, not five minutes later. A row whose
sender still lives is left alone: it may be on its way.
"""

from __future__ import annotations

import subprocess
import time
from datetime import timedelta

import pytest

from carebot.channels import SMS
from carebot.outbox.recovery import recover_sending
from carebot.outbox.sender import deliver_due
from carebot.outbox.write import REPLY
from carebot.store.lease import Lease
from carebot.store.models import OutboxMessage
from tests.fakes.world import ANA, NOW, queue, row, with_channel
from tests.helpers import KILLED, LOG_WATCH, sender_process


def sender(db, fake, moment: str, **popen) -> subprocess.Popen:
    return sender_process(db, fake, moment, lease=True, **popen)


def restart(db, fake, now) -> float:
    """A restarted carebot serve's first sender pass, with its own lease; how long it took."""
    db.lease = Lease(db.url)
    db.lease.hold()

    async def go(channel):
        await recover_sending(db, {SMS: channel}, now)
        await deliver_due(db, {SMS: channel}, now)

    started = time.monotonic()
    try:
        with_channel(fake, go)
    finally:
        db.lease.release()
        db.lease = None
    return time.monotonic() - started


@pytest.mark.parametrize("moment", ["before-request", "after-answer"])
def test_a_crisis_reply_goes_at_once_after_a_restart(db, fake, moment):
    checkin = queue(db, ANA, "Checking in")
    dead = sender(db, fake, moment)
    out, err = dead.communicate(timeout=60)
    LOG_WATCH.output("a sender killed mid-send", out + err)
    assert dead.returncode == KILLED, err
    assert row(db, checkin).status == "sending"
    reply = queue(db, ANA, "You're not alone. Rosa from the group can call you tonight.",
                  now=NOW + timedelta(seconds=5), purpose=REPLY)
    took = restart(db, fake, NOW + timedelta(seconds=10))
    bodies = [message["body"] for message in fake.sent_to(ANA)]
    print(f"killed {moment}; restart 10 s later: Twilio has {bodies}, pass took {took:.2f} s")
    assert bodies == ["Checking in", "You're not alone. Rosa from the group can call you tonight."]
    assert (row(db, checkin).status, row(db, reply).status) == ("sent", "sent")


def test_a_row_whose_sender_lives_is_left_alone_until_it_is_gone(db, fake):
    checkin = queue(db, ANA, "Checking in")
    alive = sender(db, fake, "alive", stdin=subprocess.PIPE)
    try:
        owner = alive.stdout.readline().strip()
        assert owner, alive.stderr.read()
        with db.transaction() as session:  # claimed by the live sender, its request on its way
            claimed = session.get(OutboxMessage, checkin)
            claimed.status, claimed.claimed_by, claimed.claimed_at, claimed.attempts = "sending", owner, NOW, 1
        restart(db, fake, NOW + timedelta(seconds=10))
        assert row(db, checkin).status == "sending" and fake.sent_to(ANA) == []
    finally:
        alive.kill()
        alive.communicate(timeout=30)
    restart(db, fake, NOW + timedelta(seconds=20))  # gone now: settled at once
    print(f"live sender's row: left alone while it lived; after it died: {row(db, checkin).status}")
    assert row(db, checkin).status == "sent" and len(fake.sent_to(ANA)) == 1
