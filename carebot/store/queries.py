"""Queries several layers share, written once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, Result, and_, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from carebot.domain.vocabulary import REACH_OUT_TO_ME, WANT_COMPANY
from carebot.store.models import Answer, Member, Membership, Pairing

OPEN_PAIRINGS = ("offered", "active")  # a request with one of these is being answered


def coordinators_of(session: Session, group_id: int) -> list[Member]:
    """The group's coordinators who still take texts (active, not stopped)."""
    return list(session.scalars(
        select(Member).join(Membership, Membership.member_id == Member.id).where(
            Membership.group_id == group_id, Membership.role == "coordinator",
            Membership.status == "active", Member.opted_out.is_(False),
        )
    ))


# The INSERT of each database carebot runs on, which has ON CONFLICT (SQLAlchemy's generic one has not).
DIALECT_INSERTS: dict[str, Callable[..., sqlite.Insert | postgresql.Insert]] = {
    "sqlite": sqlite.insert, "postgresql": postgresql.insert,
}


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed.

    ``Session.execute`` is typed as returning any ``Result``; a DML statement's is a ``CursorResult``,
    the one that counts rows.
    """
    if not isinstance(result, CursorResult):
        raise TypeError(f"{type(result).__name__} counts no rows: not the result of an UPDATE or DELETE")
    return result.rowcount


def requests_waiting(session: Session, now: datetime) -> dict[int, tuple[int, datetime]]:
    """Each group's current requests for care that no open pairing answers: how many, and the oldest's start."""
    answered = (select(Pairing.id).where(Pairing.group_id == Answer.group_id, Pairing.requester_id == Answer.member_id,
                                         Pairing.kind == Answer.option, Pairing.status.in_(OPEN_PAIRINGS))
                .exists())
    rows = session.execute(
        select(Answer.group_id, func.count(), func.min(Answer.since))
        .join(Member, Member.id == Answer.member_id)
        .join(Membership, and_(Membership.member_id == Answer.member_id, Membership.group_id == Answer.group_id))
        .where(Answer.option.in_((REACH_OUT_TO_ME, WANT_COMPANY)), Answer.current(now), ~answered,
               Membership.status == "active", Member.opted_out.is_(False))
        .group_by(Answer.group_id)).all()
    return {group_id: (count, oldest) for group_id, count, oldest in rows}
