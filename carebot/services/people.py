"""Members as the services see them: their names and language, finding them, telling them.

A text carebot starts for another member's sake (``tell``) goes by day, through the
outbox, with consent re-checked; nobody who sent STOP hears anything.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebot.domain.i18n import DEFAULT_LANGUAGE, render
from carebot.domain.phone import normalize_phone
from carebot.domain.vocabulary import MembershipStatus
from carebot.flows.base import PersonInfo
from carebot.outbox.notify import tell_coordinators
from carebot.outbox.write import push
from carebot.store.crypto import lookup_hash
from carebot.store.models import Answer, Member, Membership


def display_name(member: Member | None, language: str) -> str:
    """The name a member goes by, or a kind stand-in when they gave none."""
    if member is not None and member.name:
        return member.name
    return render("care.someone", language)


def language_of(member: Member) -> str:
    """The language a member is written to in."""
    return member.language or DEFAULT_LANGUAGE


def how_of(session: Session, member_id: int, group_id: int, option: int, now: datetime) -> str:
    answer = session.scalars(
        select(Answer).where(
            Answer.member_id == member_id, Answer.group_id == group_id, Answer.option == option,
            Answer.current(now),
        )
    ).first()
    return f" ({answer.how})" if answer is not None and answer.how else ""


def cadence_text(days: int, language: str) -> str:
    return render("care.days", language, n=days)


def tell(session: Session, member: Member | None, key: str, now: datetime, group_id: int | None, **params) -> None:
    """A text carebot starts for another member's sake: by day, with consent re-checked."""
    if member is not None:
        tell_text(session, member, render(key, language_of(member), **params), now, group_id)


def tell_text(session: Session, member: Member | None, text: str, now: datetime, group_id: int | None) -> None:
    """Like :func:`tell`, with the text already written in the member's language."""
    if member is not None and not member.opted_out:
        push(session, member, text, now, group_id)


def tell_group_coordinators(session: Session, group_id: int, key: str, now: datetime, **params: Any) -> None:
    """Catalog message ``key`` to each of the group's coordinators, in their language, by day."""
    tell_coordinators(session, group_id, now, lambda coordinator: render(key, language_of(coordinator), **params))


def _named(people: list[PersonInfo], name: str) -> tuple[PersonInfo, ...]:
    """Who goes by exactly ``name`` (any case), else whose name begins with it."""
    wanted = name.strip().casefold()
    exact = [p for p in people if p.name.casefold() == wanted]
    return tuple(exact or [p for p in people if p.name.casefold().startswith(wanted)])


def people_finder(session: Session, member: Member, group_ids: list[int]) -> Callable[[str], tuple[PersonInfo, ...]]:
    """A lookup of people in the member's groups by name prefix (never the member themselves)."""

    def find(name: str) -> tuple[PersonInfo, ...]:
        wanted = name.strip().casefold()
        if not wanted or not group_ids:
            return ()
        rows = session.execute(
            select(Member.id, Member.name, Membership.group_id)
            .join(Membership, Membership.member_id == Member.id)
            .where(Membership.group_id.in_(group_ids), Membership.status == MembershipStatus.ACTIVE,
                   Member.id != member.id, Member.name.is_not(None))
        ).all()
        return _named([PersonInfo(i, n, g) for i, n, g in rows if n], wanted)

    return find


def group_finder(session: Session) -> Callable[[int, str], tuple[PersonInfo, ...]]:
    """A lookup of people in one group by name prefix or by phone number."""

    def find(group_id: int, token: str) -> tuple[PersonInfo, ...]:
        number = normalize_phone(token) if any(ch.isdigit() for ch in token) else None
        query = (select(Member.id, Member.name)
                 .join(Membership, Membership.member_id == Member.id)
                 .where(Membership.group_id == group_id, Membership.status == MembershipStatus.ACTIVE))
        if number is not None:
            found = session.execute(query.where(Member.phone_hash == lookup_hash(number))).all()
            return tuple(PersonInfo(i, n or number, group_id) for i, n in found)
        return _named([PersonInfo(i, n, group_id) for i, n in session.execute(query) if n], token)

    return find
