"""The data model: what carebot keeps, and nothing more than the care needs.

Times are stored as naive UTC (SQLite has no time zones) and come back as
aware UTC datetimes through :class:`UTCDateTime`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    and_,
    false,
    or_,
    select,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, validates

from carebot.store.crypto import EncryptedString, hash_default, lookup_hash


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime column that always holds UTC, whatever the database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}


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
    pair_again_after_days: Mapped[int] = mapped_column(Integer, default=28, server_default="28")
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


class InboundMessage(Base):
    """The dedupe log and the inbound queue: one row per provider message.

    The unique key means a retry never acts twice. A web process stores the
    text here; the inbound worker handles it and, in the same transaction,
    sets ``handled_at`` and clears ``sender``, ``sender_uuid`` and ``body``:
    a text is kept only until it is handled.
    """

    __tablename__ = "inbound_messages"
    # A member's recent texts (the flood check, every text) without reading everyone's.
    __table_args__ = (UniqueConstraint("channel", "provider_id"),
                      Index("ix_inbound_member_received", "member_id", "received_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    received_at: Mapped[datetime] = mapped_column(index=True)
    sender: Mapped[str | None] = mapped_column(EncryptedString())
    sender_uuid: Mapped[str | None] = mapped_column(EncryptedString())
    # carebot.store.crypto.sender_hash of both: a sender's texts are handled in order without reading them.
    sender_hash: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[str | None] = mapped_column(Text)
    # NULL while waiting: the worker's queue is the rows where it is NULL.
    handled_at: Mapped[datetime | None] = mapped_column(index=True)
    # Failed attempts at handling; after dispatcher.MAX_INBOUND_ATTEMPTS the text is given up.
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")


class InboundSeen(Base):
    """The dedupe key of every inbound text retention deleted, hashed: a replay acts no more than a retry.

    Twilio's signatures carry no timestamp, so a captured webhook can be posted
    again at any time; while the auth token is the same, it stays valid. Only a
    hash of (channel, provider id) is kept, nothing of the text, its sender or
    its member (:func:`seen_key`).
    """

    __tablename__ = "inbound_seen"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)


def seen_key(channel: str, provider_id: str) -> str:
    """An inbound text's dedupe key as :class:`InboundSeen` keeps it (provider id as stored: 64 characters)."""
    return hashlib.sha256(f"{channel}\x1f{provider_id[:64]}".encode()).hexdigest()


class OutboxMessage(Base):
    """A text to deliver, written in the same transaction as the change that caused it.

    ``purpose`` decides what the sender re-checks at send time:
    ``reply`` answers the member's own text and goes at once; ``push`` is started by
    carebot and needs consent and daytime; ``final`` (the STOP and FORGET
    confirmations) goes even though consent has just ended; ``notice`` (telling
    coordinators the group's daily budget ran out) is a push the budget never holds.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "not_before"),
        Index("ix_outbox_provider_id", "provider_id"),
        # A group's texts claimed today (carebot.outbox.budget), counted from the index alone.
        Index("ix_outbox_group_claimed", "group_id", "claimed_at"),
        # Ids travel to providers (status callbacks): SQLite must never reuse a deleted one.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), index=True
    )
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(EncryptedString())  # a number or a Signal UUID
    address_hash: Mapped[str | None] = mapped_column(String(64), index=True, default=hash_default("address"))
    body: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(16))  # reply | push | final | notice
    # pending -> sending (claimed) -> sent | pending (retry) | failed; or cancelled.
    status: Mapped[str] = mapped_column(String(16), default="pending")
    not_before: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider_id: Mapped[str | None] = mapped_column(String(64))
    error_code: Mapped[str | None] = mapped_column(String(32))
    # What the provider last reported (queued, sent, delivered, undelivered, failed); only moves forward.
    provider_status: Mapped[str | None] = mapped_column(String(16))
    claimed_at: Mapped[datetime | None]  # when the sender last took the row to send it
    # Which sender process took it (carebot.store.lease): a dead process's rows are settled at once.
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    @validates("address")
    def _hash(self, _key: str, value: str) -> str:
        self.address_hash = lookup_hash(value)
        return value


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


class PendingAction(Base):
    """A coordinator action confirmed by its author and waiting for a second coordinator."""

    __tablename__ = "pending_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done | expired
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


class DueJob(Base):
    """Housekeeping carebot runs itself (the retention job), with its next due time."""

    __tablename__ = "due_jobs"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    due_at: Mapped[datetime]


class KeyFingerprint(Base):
    """Which CAREBOT_SECRET_KEY the numbers are encrypted with: an HMAC of a fixed label, never the key.

    One row at most (id 1); every command compares it with its own key (carebot.store.crypto.verify).
    """

    __tablename__ = "key_fingerprint"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    fingerprint: Mapped[str] = mapped_column(String(64))


class ProviderPause(Base):
    """A pause a provider asked for (Signal's rate limit or captcha), kept in its own record.

    A restart honours it (the channel starts paused until ``until``) and does not tell the
    coordinators again; the pauses in a row keep doubling. The outbox rows it deferred are
    no record of it: quiet hours or a budget can move them later (see commit 62f6220).
    """

    __tablename__ = "provider_pauses"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    until: Mapped[datetime]
    pauses: Mapped[int] = mapped_column(Integer, default=1)  # in a row, for the doubling
    told: Mapped[bool] = mapped_column(Boolean, default=False)  # the coordinators heard of this run of pauses


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
