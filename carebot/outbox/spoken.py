"""What a call says back: the replies the dispatcher wrote for a caller, taken to be spoken.

A keypress goes through the dispatcher as the text it stands for, and the
replies are written to the outbox like any other, on the ``voice`` channel
and ``speaking`` rather than ``pending`` (carebot/outbox/write.py): the call's
answer speaks them at once, and they are kept as sent, without their words,
as a delivered text is.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebot.channels import VOICE
from carebot.domain import metrics
from carebot.outbox.write import SPEAKING, address_on
from carebot.store.crypto import lookup_hash
from carebot.store.models import Member, OutboxMessage

SAID_BODY = ""  # what a spoken reply's body becomes


def _waiting(session: Session, caller: str) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).where(
        OutboxMessage.channel == VOICE, OutboxMessage.status == SPEAKING,
        OutboxMessage.address_hash == lookup_hash(caller)).order_by(OutboxMessage.id)))


def send_unspoken(session: Session, caller: str, member: Member) -> None:
    """The replies to a call that has ended (a missed call's): sent as texts on the member's channel instead."""
    for row in _waiting(session, caller):
        address = address_on(member, member.channel)
        row.channel, row.address, row.status = member.channel, address or caller, "pending" if address else "cancelled"


def take_spoken(session: Session, caller: str) -> list[str]:
    """The replies waiting to be spoken to ``caller`` (an E.164 number), oldest first; marked said."""
    texts = []
    for row in _waiting(session, caller):
        texts.append(row.body)
        row.status, row.body = "sent", SAID_BODY
        metrics.out(VOICE, "sent")
    return texts
