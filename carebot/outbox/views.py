"""Read-only queries of the outbox for the coordinators' views."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from carebot.domain.vocabulary import OutboxStatus
from carebot.outbox.status import UNDELIVERED
from carebot.store.models import Membership, OutboxMessage


def undelivered_for_group(session: Session, group_id: int) -> list[OutboxMessage]:
    """Texts for the group's members that did not arrive, for its coordinators to see."""
    members = select(Membership.member_id).where(Membership.group_id == group_id)
    return list(session.scalars(
        select(OutboxMessage)
        .where(
            or_(OutboxMessage.provider_status.in_(UNDELIVERED), OutboxMessage.status == OutboxStatus.FAILED),
            or_(OutboxMessage.group_id == group_id,
                OutboxMessage.group_id.is_(None) & OutboxMessage.member_id.in_(members)),
        )
        .order_by(OutboxMessage.id)
    ))
