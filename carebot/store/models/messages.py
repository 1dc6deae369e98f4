"""The texts: the inbound queue and its dedupe log, the hashes of deleted ones, and the outbox."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, validates

from carebot.store.crypto import EncryptedString, hash_default, lookup_hash
from carebot.store.models.base import Base


class InboundMessage(Base):
    """The dedupe log and the inbound queue: one row per provider message.

    The unique key means a retry never acts twice. A web process stores the
    text here; the inbound worker handles it and, in the same transaction,
    sets ``handled_at`` and clears ``sender``, ``sender_uuid`` and ``body``:
    a text is kept only until it is handled.
    """

    __tablename__ = "inbound_messages"
    # A member's recent texts (the flood check, every text) without reading everyone's; the texts
    # waiting for the worker without reading those handled. Both partial (migration 0021): a
    # webhook's insert, carebot's hot path, writes no entry a query of theirs would never read.
    __table_args__ = (UniqueConstraint("channel", "provider_id"),
                      Index("ix_inbound_member_received", "member_id", "received_at",
                            sqlite_where=text("member_id IS NOT NULL"), postgresql_where=text("member_id IS NOT NULL")),
                      Index("ix_inbound_waiting", "id",
                            sqlite_where=text("handled_at IS NULL"), postgresql_where=text("handled_at IS NULL")))

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    received_at: Mapped[datetime] = mapped_column(index=True)
    sender: Mapped[str | None] = mapped_column(EncryptedString())
    sender_uuid: Mapped[str | None] = mapped_column(EncryptedString())
    # carebot.store.crypto.sender_hash of both: a sender's texts are handled in order without reading them.
    sender_hash: Mapped[str | None] = mapped_column(String(64))
    # The member's words, encrypted like the number (migration 0022) until handling clears them.
    body: Mapped[str | None] = mapped_column(EncryptedString())
    # NULL while waiting: the worker's queue is the rows where it is NULL (ix_inbound_waiting).
    handled_at: Mapped[datetime | None] = mapped_column()
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
    confirmations) goes even though consent has just ended, and so does ``after_stop``
    (MYDATA, FORGET's question or HELP answered after STOP: once a flood window past the
    flood limit, carebot.dispatch.flood); ``notice`` (telling
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
    # Encrypted: a text waiting to go may carry a number or a care map (cleared to a marker once sent).
    body: Mapped[str] = mapped_column(EncryptedString())
    purpose: Mapped[str] = mapped_column(String(16))  # reply | push | final | after_stop | notice
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
