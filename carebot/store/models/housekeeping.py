"""What carebot keeps about itself: due jobs, the key's fingerprint, a provider's pause."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from carebot.store.models.base import Base


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
