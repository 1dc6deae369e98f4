"""What a call says back: the replies the dispatcher wrote for a caller, taken to be spoken.

A keypress goes through the dispatcher as the text it stands for, and the
replies are written to the outbox like any other, on the ``voice`` channel
and ``speaking`` rather than ``pending`` (carebot/outbox/write.py): the call's
answer speaks them at once, and they are kept as sent, without their words,
as a delivered text is.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebot.channels import VOICE
from carebot.domain import metrics
from carebot.outbox.policy import cancel
from carebot.outbox.write import NO_WORDS, SPEAKING, address_on
from carebot.store.crypto import lookup_hash
from carebot.store.models import Member, OutboxMessage

CALL_TRIES = 2  # a call carebot places that nobody hears is tried once more,
RETRY_AFTER = timedelta(hours=1)  # an hour later (by day: the sender still checks the member's daytime)


def _waiting(session: Session, caller: str) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).where(
        OutboxMessage.channel == VOICE, OutboxMessage.status == SPEAKING,
        OutboxMessage.address_hash == lookup_hash(caller)).order_by(OutboxMessage.id)))


def send_unspoken(session: Session, caller: str, member: Member) -> None:
    """The replies to a call that has ended (a missed call's): sent as texts on the member's channel instead."""
    for row in _waiting(session, caller):
        address = address_on(member, member.channel)
        row.channel, row.address = member.channel, address or caller
        if address:
            row.status = "pending"
        else:
            cancel(row)


def take_spoken(session: Session, caller: str) -> list[str]:
    """The replies waiting to be spoken to ``caller`` (an E.164 number), oldest first; marked said."""
    texts = []
    for row in _waiting(session, caller):
        texts.append(row.body)
        row.status, row.body = "sent", NO_WORDS
        metrics.out(VOICE, "sent")
    return texts


def placed_message(session: Session, outbox_id: str, callee: str) -> OutboxMessage | None:
    """The message a call carebot placed is for, when it is still to be said and to ``callee``."""
    row = session.get(OutboxMessage, int(outbox_id)) if outbox_id.isdigit() else None
    if row is None or row.channel != VOICE or not row.body or row.address_hash != lookup_hash(callee):
        return None
    return row


def try_again_unheard(session: Session, call_sid: str, now: datetime) -> None:
    """A call carebot placed has ended: if nobody heard its message (no answer, busy, a voicemail),
    it is placed once more an hour later, else given up; its words are kept no longer than that."""
    row = session.scalars(select(OutboxMessage).where(
        OutboxMessage.channel == VOICE, OutboxMessage.provider_id == call_sid)).first()
    if row is None or not row.body or row.status != "sent":
        return
    if row.attempts < CALL_TRIES:
        row.status, row.not_before = "pending", now + RETRY_AFTER
        metrics.out(VOICE, "retry")
    else:
        row.status, row.body = "failed", NO_WORDS
        metrics.out(VOICE, "failed")
