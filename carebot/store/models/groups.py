"""Who is in carebot: networks, groups, members, their memberships and their consent."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    select,
    true,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, validates

from carebot.store.crypto import EncryptedString, hash_default, lookup_hash
from carebot.store.models.base import Base

# After DONE or UNPAIR, the days before the same two are offered to each other again (`group edit --pair-again-after`).
DEFAULT_PAIR_AGAIN_DAYS = 28


class Network(Base):
    """Groups that stand by each other: a request nobody in its own group can take may, on the
    member's own YES, go to the supporters of the network's other groups (carebot.services.network)."""

    __tablename__ = "networks"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime]


class Group(Base):
    """A mutual-aid group served by this deployment, told apart by its keyword."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    keyword: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    language: Mapped[str] = mapped_column(String(8), default="en")
    # A five-field crontab in the group's timezone, e.g. "0 10 * * mon".
    round_schedule: Mapped[str] = mapped_column(String(64), default="0 10 * * mon")
    next_round_at: Mapped[datetime | None]
    # When the pairing engine should next look at this group (something changed).
    pairing_due_at: Mapped[datetime | None] = mapped_column(index=True)
    # The group's day, in local hours: carebot starts texts only from day_starts to day_ends.
    # (The columns keep their first names, quiet_end and quiet_start: the quiet hours end as the
    # day starts.)
    day_starts: Mapped[int] = mapped_column("quiet_end", Integer, default=9)
    day_ends: Mapped[int] = mapped_column("quiet_start", Integer, default=20)
    # The group's own non-police crisis resources, one short line each.
    crisis_resources: Mapped[str] = mapped_column(Text, default="")
    # Removing people and changing roles need a second coordinator's YES.
    two_coordinators: Mapped[bool] = mapped_column(Boolean, default=False)
    # Requests keep the requester's number with carebot unless the member says "share".
    private_default: Mapped[bool] = mapped_column(Boolean, default=False)
    # SMS texts have characters outside GSM-7 (á, í, ó, ú, curly quotes) folded to their closest
    # GSM-7 form when that saves segments: on by default (carebot.domain.sms.fold_gsm7). Signal keeps all.
    sms_fold: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # After DONE or UNPAIR the same two are not paired again for this many days (unless a coordinator PAIRs).
    pair_again_after_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_PAIR_AGAIN_DAYS,
                                                       server_default=str(DEFAULT_PAIR_AGAIN_DAYS))
    # Texts carebot may send for the group in one of its days (carebot.outbox.budget); None: the default.
    daily_budget: Mapped[int | None] = mapped_column(Integer)
    # The group's local day its coordinators were told the budget ran out: told once a day, by any process.
    budget_told_on: Mapped[date | None] = mapped_column(Date)
    # The network the group belongs to, if any; leaving it keeps the pairings already made across it.
    network_id: Mapped[int | None] = mapped_column(ForeignKey("networks.id", ondelete="SET NULL"), index=True)
    # A request nobody in the group took this many hours after it was made: the member is asked whether
    # the network's other groups may be asked. None: never (the default).
    overflow_after_hours: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]

    memberships: Mapped[list[Membership]] = relationship(back_populates="group")


class Member(Base):
    """A person who has texted carebot, on SMS, Signal or both."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    # E.164, normalized with phonenumbers; encrypted at rest (carebot.store.crypto). A Signal
    # UUID names one person's account as surely as a number does, so it is encrypted too.
    phone: Mapped[str | None] = mapped_column(EncryptedString())
    signal_uuid: Mapped[str | None] = mapped_column(EncryptedString())
    # Keyed hashes, the only way to look a number or a UUID up; unique so one person is one member.
    phone_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=hash_default("phone"))
    signal_hash: Mapped[str | None] = mapped_column(String(64), unique=True,
                                                    default=hash_default("signal_uuid"))
    name: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16), default="sms")  # where bot-started texts go
    # When coordinators were last told this member is flooding carebot (told once an episode).
    flood_told_at: Mapped[datetime | None]
    # When coordinators were told this member's Signal safety number changed (told once, across restarts;
    # cleared when a text to them goes through again). carebot.outbox.safety_numbers.
    safety_number_told_at: Mapped[datetime | None]
    # When the member's thanks, greeting or "ok" was last answered (answered once a day at most).
    courtesy_at: Mapped[datetime | None]
    # The member's own daytime, overriding the group's (hours, local time).
    day_starts: Mapped[int | None] = mapped_column(Integer)
    day_ends: Mapped[int | None] = mapped_column(Integer)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    # The provider says this number can never receive texts (Twilio 21211/21614).
    phone_unusable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The member's own rule (HOW missed call means call me): a call they hang up before choosing asks for a call back.
    missed_call_means_call: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime]

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="member", cascade="all, delete-orphan"
    )

    @validates("phone", "signal_uuid")
    def _hash(self, key: str, value: str | None) -> str | None:
        setattr(self, "phone_hash" if key == "phone" else "signal_hash", lookup_hash(value))
        return value

    @classmethod
    def by_phone(cls, session: Session, number: str | None) -> Member | None:
        """The member with this E.164 number, found by its keyed hash."""
        if not number:
            return None
        return session.scalars(select(cls).where(cls.phone_hash == lookup_hash(number))).first()

    @classmethod
    def by_signal(cls, session: Session, uuid: str | None) -> Member | None:
        """The member with this Signal UUID, found by its keyed hash."""
        if not uuid:
            return None
        return session.scalars(select(cls).where(cls.signal_hash == lookup_hash(uuid))).first()


class Membership(Base):
    """A member's place in one group: their role and whether they consented."""

    __tablename__ = "memberships"
    # The coordinators of a group, found without reading through its members (every text asks).
    __table_args__ = (UniqueConstraint("group_id", "member_id"), Index("ix_memberships_role", "group_id", "role"))

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="member")  # member | coordinator
    status: Mapped[str] = mapped_column(String(16), default="active")  # invited | active | removed
    consented_at: Mapped[datetime | None]
    last_asked_at: Mapped[datetime | None]  # the group's last go-around question to them
    created_at: Mapped[datetime]

    group: Mapped[Group] = relationship(back_populates="memberships")
    member: Mapped[Member] = relationship(back_populates="memberships")


class ConsentEvent(Base):
    """When, how and with which wording a member gave or withdrew consent."""

    __tablename__ = "consent_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # opt_in | opt_out | resubscribe
    channel: Mapped[str] = mapped_column(String(16))
    wording: Mapped[str] = mapped_column(Text)  # the exact question or keyword consented to
    at: Mapped[datetime]
