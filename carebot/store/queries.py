"""Queries several layers share, written once."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebot.store.models import Member, Membership


def coordinators_of(session: Session, group_id: int) -> list[Member]:
    """The group's coordinators who still take texts (active, not stopped)."""
    return list(session.scalars(
        select(Member).join(Membership, Membership.member_id == Member.id).where(
            Membership.group_id == group_id, Membership.role == "coordinator",
            Membership.status == "active", Member.opted_out.is_(False),
        )
    ))
