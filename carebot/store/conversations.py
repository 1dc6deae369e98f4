"""The one question each member is asked at a time, so a YES is never ambiguous (see carebot.services.questions)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from carebot.flows.base import Waiting
from carebot.store.models import Conversation


def set_waiting(session: Session, member_id: int, waiting: Waiting, now: datetime) -> None:
    """Make ``waiting`` the member's open question (replacing any other)."""
    conversation = session.scalars(select(Conversation).where(Conversation.member_id == member_id)).first()
    if conversation is None:
        conversation = Conversation(member_id=member_id)
        session.add(conversation)
    conversation.flow = waiting.flow
    conversation.step = waiting.step
    conversation.data = dict(waiting.data)
    conversation.wait_until = waiting.until
    conversation.updated_at = now


def end_waiting(session: Session, member_id: int) -> None:
    """The member is no longer waiting on any question."""
    session.execute(delete(Conversation).where(Conversation.member_id == member_id))


def busy(session: Session, member_ids: Iterable[int], now: datetime, *, rank: int | None = None) -> set[int]:
    """Which of ``member_ids`` already have a question open (so nothing new is asked of them).

    With ``rank`` (carebot.services.questions), only those whose open question a question of that
    rank would not push aside: care is never held back by an unanswered invitation.
    """
    ids = list(member_ids)
    found: set[int] = set()
    for start in range(0, len(ids), 500):
        for member_id, data in session.execute(
            select(Conversation.member_id, Conversation.data).where(
                Conversation.member_id.in_(ids[start:start + 500]),
                or_(Conversation.wait_until.is_(None), Conversation.wait_until > now),
            )
        ):
            if rank is None or int((data or {}).get("_rank", 0)) <= rank:
                found.add(member_id)
    return found
