"""Flood control: past a limit of texts in a few minutes, carebot stops answering a member
(only the final replies still go) and passes nothing of theirs on; coordinators hear once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from carebot.services.people import display_name, tell_group_coordinators
from carebot.store.facts import FLOOD_WINDOW
from carebot.store.models import Group, Member
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
