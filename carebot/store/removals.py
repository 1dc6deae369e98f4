"""Removals by a group's coordinators, remembered past FORGET without keeping a number.

A member the coordinators removed must not be able to come back by themselves, not
even by erasing themselves with FORGET and texting the keyword again. So a removal
is kept apart from the member: the keyed hash of each of their identities (phone
number, Signal UUID; :func:`carebot.store.crypto.lookup_hash`), the group and when.
The record ends when a coordinator ADDs that number again (they still consent) or
when the group is deleted. After a key rotation the hashes of members who have
since FORGOTTEN no longer match anything, since their number is gone.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from carebot.store.crypto import lookup_hash
from carebot.store.models import Member, Removal


def _hashes(member: Member) -> list[str]:
    return [h for h in (member.phone_hash, member.signal_hash) if h]


def record(session: Session, member: Member, group_id: int, now: datetime) -> None:
    """Remember that the coordinators removed ``member`` from the group."""
    known = set(session.scalars(select(Removal.identity_hash).where(
        Removal.group_id == group_id, Removal.identity_hash.in_(_hashes(member)))))
    for identity in _hashes(member):
        if identity not in known:
            session.add(Removal(identity_hash=identity, group_id=group_id, at=now))


def groups_of(session: Session, member: Member) -> frozenset[int]:
    """The groups whose coordinators removed this person (by any of their identities)."""
    return _groups(session, _hashes(member))


def groups_of_number(session: Session, number: str) -> frozenset[int]:
    """The groups whose coordinators removed whoever has this E.164 number, known to carebot or not."""
    found = lookup_hash(number)
    return _groups(session, [found] if found else [])


def _groups(session: Session, hashes: list[str]) -> frozenset[int]:
    if not hashes:
        return frozenset()
    return frozenset(session.scalars(select(Removal.group_id).where(Removal.identity_hash.in_(hashes))))


def clear(session: Session, member: Member, group_id: int) -> None:
    """A coordinator invited this person again: the removal is over."""
    session.execute(delete(Removal).where(Removal.group_id == group_id,
                                          Removal.identity_hash.in_(_hashes(member))))
