"""Flood control: past a limit of texts in a few minutes, carebot stops answering a member
(only the final replies still go) and passes nothing of theirs on; coordinators hear once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carebot.flows.base import Reply
from carebot.outbox.write import FINAL
from carebot.services.people import display_name, tell_group_coordinators
from carebot.store.facts import FLOOD_WINDOW
from carebot.store.models import ConsentEvent, Group, Member, OutboxMessage
from carebot.store.queries import active_groups_of

log = logging.getLogger(__name__)

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
    reply), and of those answering about the member's own data after STOP only one a flood window."""
    # Answered already: a final reply since the window began, not counting STOP's own confirmation.
    stopped_at = session.scalar(select(func.max(ConsentEvent.at)).where(
        ConsentEvent.member_id == member.id, ConsentEvent.kind == "opt_out"))
    since = max(now - FLOOD_WINDOW, stopped_at) if stopped_at is not None else now - FLOOD_WINDOW
    answered = session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.member_id == member.id, OutboxMessage.purpose == FINAL,
        OutboxMessage.created_at > since).limit(1)) is not None
    kept = []
    for reply in replies:
        if reply.purpose != FINAL or (reply.once_in_a_flood and answered):
            continue
        answered = answered or reply.once_in_a_flood
        kept.append(reply)
    return kept
