"""Flood control: past a limit of texts in a few minutes, carebot stops answering a member
(only the final replies still go) and passes nothing of theirs on; coordinators hear once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebot.domain.vocabulary import GO_AFTER_STOP, Purpose
from carebot.flows.base import Reply
from carebot.services.people import display_name, tell_group_coordinators
from carebot.store.facts import FLOOD_WINDOW
from carebot.store.models import Group, Member, OutboxMessage
from carebot.store.queries import active_groups_of

log = logging.getLogger(__name__)

AFTER_STOP = Purpose.AFTER_STOP
FLOOD_LIMIT = 15  # texts from one member in FLOOD_WINDOW before carebot stops answering them


def flooding(session: Session, member: Member, now: datetime, recent: int) -> bool:
    """True when the member, ``recent`` texts in the flood window, is past the flood limit; coordinators
    hear of it once."""
    if recent <= FLOOD_LIMIT:
        return False
    if member.flood_told_at is None or member.flood_told_at <= now - FLOOD_WINDOW:
        for group_id in active_groups_of(session, member.id):
            group = session.get(Group, group_id)
            if group is not None:
                tell_group_coordinators(session, group_id, "flood.coordinators", now, keyword=group.keyword,
                                        name=display_name(member, group.language))
        log.warning("member %s is past the flood limit; replies held", member.id)
    member.flood_told_at = now
    return True


def past_the_limit(session: Session, member: Member, now: datetime, replies: list[Reply]) -> list[Reply]:
    """The replies that still go past the flood limit: the final ones (a change of consent, a crisis
    reply), and of those answering about the member's own data after STOP only one a flood window.

    Told apart by what they are (their purpose, kept on the outbox row), not by when they were
    written: STOP's confirmation and a crisis reply never count as that one answer."""
    answered = session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.member_id == member.id, OutboxMessage.purpose == AFTER_STOP,
        OutboxMessage.created_at > now - FLOOD_WINDOW).limit(1)) is not None
    kept = []
    for reply in replies:
        if reply.purpose not in GO_AFTER_STOP or (reply.purpose == AFTER_STOP and answered):
            continue
        answered = answered or reply.purpose == AFTER_STOP
        kept.append(reply)
    return kept
