"""The care itself: go-around answers, pairings, "not with", care flags and care maps,
and the questions carebot is asking or has yet to ask a member."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    or_,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carebot.store.crypto import EncryptedString
from carebot.store.models.base import Base
from carebot.store.models.groups import Member


class Answer(Base):
    """One go-around answer of a member in a group, current until ended or lapsed."""

    __tablename__ = "answers"
    __table_args__ = (
        Index("ix_answers_current", "group_id", "member_id", "ended_at"),
        Index("ix_answers_until", "until", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    option: Mapped[int] = mapped_column(Integer)
    since: Mapped[datetime]
    until: Mapped[datetime | None]  # None: ongoing
    how: Mapped[str | None] = mapped_column(String(160))
    capacity: Mapped[int | None] = mapped_column(Integer)  # options 2 and 5: how many people
    ended_at: Mapped[datetime | None]  # replaced, lapsed or withdrawn
    # A request nobody could take yet: when the member was told the group has been asked.
    told_waiting_at: Mapped[datetime | None]
    # A request's number stays with carebot (True), may be shared (False), or as the group says (None).
    private: Mapped[bool | None] = mapped_column(Boolean)
    # The network question: when the member was asked whether sister groups may be asked, and their answer
    # (None: not answered; True: YES, sister groups' supporters are considered; False: NO, it stays local).
    network_asked_at: Mapped[datetime | None]
    network_consent: Mapped[bool | None] = mapped_column(Boolean)

    @classmethod
    def current(cls, now: datetime) -> ColumnElement[bool]:
        """The SQL condition for an answer that has neither ended nor lapsed by ``now``."""
        return and_(cls.ended_at.is_(None), or_(cls.until.is_(None), cls.until > now))


class Conversation(Base):
    """The one conversation a member is in the middle of, if any."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), unique=True
    )
    flow: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    wait_until: Mapped[datetime | None] = mapped_column(index=True)
    updated_at: Mapped[datetime]


class QueuedQuestion(Base):
    """A question carebot has for a member but has not asked yet (carebot.services.questions).

    The member's one *asked* question is their :class:`Conversation`; the others
    wait here, text and all, and are asked in turn (care first) once it is settled.
    """

    __tablename__ = "queued_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    flow: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rank: Mapped[int] = mapped_column(Integer)  # 0 care, 1 consent, 2 low stakes: lower is asked first
    prompt: Mapped[str] = mapped_column(Text)  # the question's text, sent when it is asked
    expires_at: Mapped[datetime | None] = mapped_column(index=True)  # its answer no longer matters after
    created_at: Mapped[datetime]


class Pairing(Base):
    """A member who asked for care and a member who offered it, from offer to end.

    ``offered`` waits for the supporter's YES (until ``respond_by``); ``active`` keeps
    check-ins going every ``cadence_days``; ``declined``, ``expired`` and ``ended`` are over.
    """

    __tablename__ = "pairings"
    __table_args__ = (
        Index("ix_pairings_open", "group_id", "status"),
        Index("ix_pairings_requester", "requester_id", "status"),
        Index("ix_pairings_supporter", "supporter_id", "status"),
        Index("ix_pairings_checkin", "status", "next_checkin_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    supporter_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    kind: Mapped[int] = mapped_column(Integer)  # the request: 1 reach out to me, 4 company
    status: Mapped[str] = mapped_column(String(16))  # offered | active | declined | expired | ended
    offered_at: Mapped[datetime]
    respond_by: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))
    cadence_days: Mapped[int] = mapped_column(Integer, default=7)
    next_checkin_at: Mapped[datetime | None]
    followup_at: Mapped[datetime | None]  # when to ask the supporter whether they connected
    missed_checkins: Mapped[int] = mapped_column(Integer, default=0)
    # A pairing across a network: the supporter's own group, another than the requester's ``group_id``
    # (None: the supporter is of ``group_id`` too). The supporter's texts about it go as that group's.
    supporter_group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))

    def group_for(self, member_id: int) -> int:
        """The group a text about this pairing to ``member_id`` goes as: their own side's."""
        if member_id == self.supporter_id and self.supporter_group_id is not None:
            return self.supporter_group_id
        return self.group_id
    # Read-only, for views that list pairings with both names (loaded with selectinload).
    requester: Mapped[Member] = relationship(foreign_keys=[requester_id], viewonly=True)
    supporter: Mapped[Member] = relationship(foreign_keys=[supporter_id], viewonly=True)


class NotWith(Base):
    """A member's private "not with this person": never revealed, honoured both ways."""

    __tablename__ = "not_with"
    __table_args__ = (UniqueConstraint("member_id", "other_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    other_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]


class CareFlag(Base):
    """That a member's words spoke of crisis, or that they asked for a CALL: a category, never the text."""

    __tablename__ = "care_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(16))  # crisis | call
    at: Mapped[datetime]


class CareMap(Base):
    """A member's care map (MAP): what helps, what doesn't, anything else, in their own words.

    Sensitive health information, so each answer is encrypted at rest like a number
    (carebot.store.crypto) and never logged. A member has at most one map and one
    draft (``draft``: being made with MAP or MAP NEW; it replaces the map only once the
    share question is answered, so an unfinished redo never spoils the map they have).
    """

    __tablename__ = "care_maps"
    __table_args__ = (UniqueConstraint("member_id", "draft"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    draft: Mapped[bool] = mapped_column(Boolean, default=False)
    helps: Mapped[str | None] = mapped_column(EncryptedString())
    hurts: Mapped[str | None] = mapped_column(EncryptedString())
    also: Mapped[str | None] = mapped_column(EncryptedString())
    # Whether it goes to whoever says YES to support the member (and their current supporters).
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
