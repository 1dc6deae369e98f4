"""Queries several layers share, written once."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import CursorResult, Result, and_, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from carebot.domain.vocabulary import OPEN_PAIRINGS, REQUESTS, SERVES, UNAVAILABLE, MembershipStatus, Role
from carebot.store.models import Answer, Member, Membership, Pairing

Row = TypeVar("Row")


def existing(session: Session, model: type[Row], key: Any) -> Row:
    """The row ``key`` of ``model`` that a foreign key or an earlier read vouches for.

    Its absence is a broken invariant, not an input to answer kindly: it raises, and the
    transaction rolls back whole rather than going on with nothing.
    """
    row = session.get(model, key)
    if row is None:
        raise LookupError(f"{model.__name__} {key} is gone, though a row points at it")
    return row


def members_by_id(session: Session, member_ids: Iterable[int]) -> dict[int, Member]:
    """The members of ``member_ids``, read in one statement (a view listing many names reads them so)."""
    wanted = set(member_ids)
    if not wanted:
        return {}
    return {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(wanted)))}


def coordinators_of(session: Session, group_id: int) -> list[Member]:
    """The group's coordinators who still take texts (active, not stopped)."""
    return list(session.scalars(
        select(Member).join(Membership, Membership.member_id == Member.id).where(
            Membership.group_id == group_id, Membership.role == Role.COORDINATOR,
            Membership.status == MembershipStatus.ACTIVE, Member.opted_out.is_(False),
        )
    ))


def is_coordinator(session: Session, member_id: int, group_id: int) -> bool:
    """Whether the member is an active coordinator of the group."""
    return session.scalar(select(Membership.id).where(
        Membership.member_id == member_id, Membership.group_id == group_id,
        Membership.role == Role.COORDINATOR, Membership.status == MembershipStatus.ACTIVE)) is not None


def active_members_of(session: Session, group_id: int) -> list[Member]:
    """The group's active members who still take texts (not stopped)."""
    return list(session.scalars(
        select(Member).join(Membership, Membership.member_id == Member.id)
        .where(Membership.group_id == group_id, Membership.status == MembershipStatus.ACTIVE, Member.opted_out.is_(False))
    ))


def active_groups_of(session: Session, member_id: int) -> list[int]:
    """The ids of the groups the member is an active member of."""
    return list(session.scalars(select(Membership.group_id).where(
        Membership.member_id == member_id, Membership.status == MembershipStatus.ACTIVE)))


def current_answers(session: Session, member_id: int, now: datetime, group_id: int | None = None) -> list[Answer]:
    """The member's answers that have neither ended nor lapsed."""
    query = select(Answer).where(
        Answer.member_id == member_id,
        Answer.current(now),
    )
    if group_id is not None:
        query = query.where(Answer.group_id == group_id)
    return list(session.scalars(query.order_by(Answer.option)))


def current_options(session: Session, member_id: int, group_id: int, now: datetime) -> set[int]:
    """The go-around options a member currently holds in a group."""
    return {option for option, _ in holdings(session, member_id, group_id, now)}


def open_requests(session: Session, group_id: int, now: datetime) -> list[tuple[int, int]]:
    """(member, option) for every current request for care in the group, oldest first."""
    return [(member_id, option) for member_id, option in session.execute(
        select(Answer.member_id, Answer.option).join(Member, Member.id == Answer.member_id).where(
            Answer.group_id == group_id, Answer.option.in_(REQUESTS),
            Answer.current(now), Member.opted_out.is_(False)).order_by(Answer.since))]


def holdings(session: Session, member_id: int, group_id: int, now: datetime) -> list[tuple[int, int | None]]:
    """(option, capacity) of each go-around answer a member currently holds in a group."""
    return [(option, capacity) for option, capacity in session.execute(select(Answer.option, Answer.capacity).where(
        Answer.member_id == member_id, Answer.group_id == group_id, Answer.current(now)))]


def room_in(held: list[tuple[int, int | None]]) -> dict[int, int]:
    """How many people answers ``held`` (option, capacity) offer to support, by the kind of request (none when
    resting)."""
    if any(option == UNAVAILABLE for option, _ in held):
        return {}
    return {SERVES[option]: capacity or 1 for option, capacity in held if option in SERVES}


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
        .where(Answer.option.in_(REQUESTS), Answer.current(now), ~answered,
               Membership.status == MembershipStatus.ACTIVE, Member.opted_out.is_(False))
        .group_by(Answer.group_id)).all()
    return {group_id: (count, oldest) for group_id, count, oldest in rows}
