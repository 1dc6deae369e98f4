"""Queries several layers share, written once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import CursorResult, Result, select
from sqlalchemy.dialects import postgresql, sqlite
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
