"""Members whose changed Signal safety number the coordinators were told of, kept across restarts.

The Signal channel holds a text to such a member until a person verifies the new number, and tells
the coordinators once. It knows members by the keyed hash of their Signal UUID (Member.signal_hash):
what is recorded is a time in the member's row, never a number or a UUID.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from carebot.store.db import Database
from carebot.store.models import Member


def load_told(db: Database) -> set[str]:
    """The keyed hashes of the members the coordinators were told about (and not trusted again since)."""
    with db.transaction() as session:
        return set(session.scalars(select(Member.signal_hash).where(Member.safety_number_told_at.is_not(None),
                                                                    Member.signal_hash.is_not(None))))


def save_told(db: Database, signal_hash: str, at: datetime | None) -> None:
    """Record when the coordinators were told about the member with ``signal_hash``, or clear it (None)."""
    with db.transaction() as session:
        session.execute(update(Member).where(Member.signal_hash == signal_hash).values(safety_number_told_at=at))
