"""Ambiguous send outcomes (issue 15): a 5xx or a timeout after Twilio may have taken the text.

A gateway's 502 after Twilio took a round's texts made carebot send every one
of them again (40 of 40 members got it twice). An answer that does not say
whether Twilio has the text is looked up at Twilio before any resend.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from carebot.channels import SMS
from carebot.outbox.recovery import recover_sending
from carebot.outbox.sender import deliver_due
from carebot.store.lease import Lease
from carebot.store.models import Group, Member, Membership, OutboxMessage
from tests.fakes.twilio_api import DROP_AFTER, GATEWAY_AFTER
from tests.fakes.world import NOW, queue, with_channel

MEMBERS = [f"+1515555{n:04d}" for n in range(2000, 2040)]


def forty(db) -> None:
    with db.transaction() as session:
        group = session.scalars(select(Group)).one()
        for phone in MEMBERS:
            member = Member(phone=phone, created_at=NOW)
            session.add(member)
            session.flush()
            session.add(Membership(group_id=group.id, member_id=member.id, status="active",
                                   consented_at=NOW, created_at=NOW))
    for phone in MEMBERS:
        queue(db, phone, "Round: how are you this week? Reply 1-5")


def passes(db, fake, moments) -> None:
    """carebot serve's sender passes (settle, then send) at these moments."""
    async def go(channel):
        for moment in moments:
            await recover_sending(db, {SMS: channel}, moment)
            await deliver_due(db, {SMS: channel}, moment, limit=100, concurrency=8)

    with_channel(fake, go)


# Twilio's own 5xx, a gateway's 502 after Twilio took the texts, a hang-up after; the "before" cases
# (nothing taken) are tests/test_sender_crash.py's and tests/test_twilio_sender.py's.
@pytest.mark.parametrize("answer", [GATEWAY_AFTER, (500, 20500), DROP_AFTER])
def test_forty_members_a_round_and_an_unclear_answer_each_gets_it_once(db, fake, answer):
    db.lease = Lease(db.url)
    db.lease.hold()
    try:
        forty(db)
        fake.outage(answer)
        passes(db, fake, [NOW])
        fake.outage()  # Twilio (or the way to it) is back
        passes(db, fake, [NOW + timedelta(seconds=s) for s in (5, 35, 70, 120, 300, 900)])
    finally:
        db.lease.release()
    counts = {phone: len(fake.sent_to(phone)) for phone in MEMBERS}
    twice = sum(1 for n in counts.values() if n > 1)
    lost = sum(1 for n in counts.values() if n == 0)
    with db.transaction() as session:
        states = sorted(set(session.scalars(select(OutboxMessage.status))))
    print(f"Twilio answered {answer!r} to a round of {len(MEMBERS)} texts: "
          f"sent {sum(1 for n in counts.values() if n == 1)}, lost {lost}, twice {twice}; rows {states}")
    assert (lost, twice) == (0, 0)
    assert states == ["sent"]
