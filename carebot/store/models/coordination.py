"""What coordinators do and arrange: removals, the LOG, actions awaiting a second YES, gatherings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carebot.store.models.base import Base


class Removal(Base):
    """That a group's coordinators removed someone: kept past FORGET, so only their ADD lets them back.

    No number and no member: a keyed hash of the phone number or Signal UUID (as
    ``Member.phone_hash``/``signal_hash``), the group and when. It ends at a
    coordinator's ADD or with the group (carebot.store.removals).
    """

    __tablename__ = "removals"
    __table_args__ = (UniqueConstraint("identity_hash", "group_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    identity_hash: Mapped[str] = mapped_column(String(64), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    at: Mapped[datetime]


class CoordAction(Base):
    """What a coordinator did, for LOG: who, what, when; never contents or numbers."""

    __tablename__ = "coord_actions"
    __table_args__ = (Index("ix_coord_actions_group", "group_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    other_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    at: Mapped[datetime]
    # An announcement's keyed hash (carebot.store.crypto.lookup_hash), so the same words are not sent
    # twice within hours; never the words themselves.
    digest: Mapped[str | None] = mapped_column(String(64))


class PendingAction(Base):
    """A coordinator action confirmed by its author and waiting for a second coordinator."""

    __tablename__ = "pending_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done | declined | moot | expired
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class Gathering(Base):
    """The monthly restorative gathering: when, where, and whether the reminder went out."""

    __tablename__ = "gatherings"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime]
    place: Mapped[str] = mapped_column(String(80))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    remind_at: Mapped[datetime | None] = mapped_column(index=True)  # None once reminded


class Rsvp(Base):
    """A member's YES or NO to a gathering."""

    __tablename__ = "rsvps"
    __table_args__ = (UniqueConstraint("gathering_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    gathering_id: Mapped[int] = mapped_column(ForeignKey("gatherings.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    coming: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime]
