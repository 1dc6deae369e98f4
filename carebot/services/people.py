"""Members as the services see them: their names and language, finding them, telling them.

A text carebot starts for another member's sake (``tell``) goes by day, through the
outbox, with consent re-checked; nobody who sent STOP hears anything.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebot.domain.i18n import DEFAULT_LANGUAGE, render
from carebot.flows.how_to_reach import shown_how
from carebot.outbox.notify import tell_coordinators
from carebot.outbox.write import push
from carebot.store.models import Answer, Member


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
    # Only how to be reached reaches another member, never a story kept with an older answer (outside7).
    how = shown_how(answer.how) if answer is not None else None
    return f" ({how})" if how else ""


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
