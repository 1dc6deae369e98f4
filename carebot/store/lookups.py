"""The flows' lookups (``carebot.flows.lookups.Lookups``) answered from the database.

Read-only, and lazy: nothing is queried until a flow asks, and each list is read
once per context (one query for the people of the member's groups, one per group
looked into), so PAIR Ana Sam costs one query, not two.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from carebot.domain.phone import normalize_phone
from carebot.domain.vocabulary import OPEN_PAIRINGS, REQUESTS
from carebot.flows.base import AnswerInfo, CareMapInfo, PersonInfo, StoppedRequest
from carebot.flows.lookups import named
from carebot.store.crypto import lookup_hash
from carebot.store.models import Answer, CareMap, ConsentEvent, Member, Membership, Pairing


def care_map_of(session: Session, member_id: int) -> CareMapInfo | None:
    """A member's finished care map (decrypted by its columns' type), or None."""
    row = session.scalars(select(CareMap).where(CareMap.member_id == member_id, CareMap.draft.is_(False))).first()
    return None if row is None else CareMapInfo(row.helps, row.hurts, row.also, row.shared)


class StoreLookups:
    """What the flows may look up about ``member_id`` (active in ``group_ids``), from ``session``."""

    def __init__(self, session: Session, member_id: int, group_ids: Sequence[int]) -> None:
        self._session = session
        self._member_id = member_id
        self._group_ids = tuple(group_ids)
        self._others: tuple[PersonInfo, ...] | None = None
        self._groups: dict[int, list[tuple[int, str | None, str | None]]] = {}

    def people_named(self, name: str) -> tuple[PersonInfo, ...]:
        if not name.strip() or not self._group_ids:
            return ()
        if self._others is None:
            self._others = tuple(
                PersonInfo(member_id, member_name, group_id)
                for member_id, member_name, group_id in self._session.execute(
                    select(Member.id, Member.name, Membership.group_id)
                    .join(Membership, Membership.member_id == Member.id)
                    .where(Membership.group_id.in_(self._group_ids), Membership.status == "active",
                           Member.id != self._member_id, Member.name.is_not(None))
                )
                if member_name is not None
            ) + self._paired_across()
        return named(self._others, name)

    def _paired_across(self) -> tuple[PersonInfo, ...]:
        """The people of sister groups the member was paired with (or offered to) across a network,
        named as their pairing named them: NOT can name them too."""
        people = []
        for pairing in self._session.scalars(select(Pairing).where(
                Pairing.supporter_group_id.is_not(None),
                or_(Pairing.requester_id == self._member_id, Pairing.supporter_id == self._member_id))):
            other_id = pairing.supporter_id if pairing.requester_id == self._member_id else pairing.requester_id
            other = self._session.get(Member, other_id)
            if other is not None and other.name:
                people.append(PersonInfo(other.id, other.name, pairing.group_for(other.id)))
        return tuple(people)

    def people_in_group(self, group_id: int, token: str) -> tuple[PersonInfo, ...]:
        if group_id not in self._groups:
            self._groups[group_id] = [(i, n, h) for i, n, h in self._session.execute(
                select(Member.id, Member.name, Member.phone_hash)
                .join(Membership, Membership.member_id == Member.id)
                .where(Membership.group_id == group_id, Membership.status == "active")
            )]
        members = self._groups[group_id]
        number = normalize_phone(token) if any(ch.isdigit() for ch in token) else None
        if number is not None:
            wanted = lookup_hash(number)
            return tuple(PersonInfo(i, n or number, group_id) for i, n, h in members if h == wanted)
        return named((PersonInfo(i, n, group_id) for i, n, _ in members if n), token)

    def partners_in(self, group_id: int, name: str) -> tuple[PersonInfo, ...]:
        # A number names them as it names anyone in the group (people_in_group); else a name.
        number = normalize_phone(name) if any(ch.isdigit() for ch in name) else None
        people: dict[int, PersonInfo] = {}
        for pairing in self._session.scalars(select(Pairing).where(
                Pairing.status.in_(OPEN_PAIRINGS), Pairing.supporter_group_id.is_not(None),
                or_(Pairing.group_id == group_id, Pairing.supporter_group_id == group_id))):
            other_id = pairing.requester_id if pairing.supporter_group_id == group_id else pairing.supporter_id
            other = self._session.get(Member, other_id)
            if other is None:
                continue
            if number is not None:
                if other.phone_hash == lookup_hash(number):
                    return (PersonInfo(other.id, other.name or number, pairing.group_for(other.id)),)
            elif other.name:
                people[other.id] = PersonInfo(other.id, other.name, pairing.group_for(other.id))
        return named(people.values(), name) if name.strip() and number is None else ()

    def consent_times(self) -> tuple[datetime, ...]:
        return tuple(self._session.scalars(
            select(ConsentEvent.at).where(ConsentEvent.member_id == self._member_id).order_by(ConsentEvent.at)))

    def care_map(self) -> CareMapInfo | None:
        return care_map_of(self._session, self._member_id)

    def requests_ended_by_stop(self) -> tuple[StoppedRequest, ...]:
        # STOP ends the requests at the moment it records the opt-out (carebot.services.account).
        stops = select(ConsentEvent.at).where(ConsentEvent.member_id == self._member_id, ConsentEvent.kind == "opt_out")
        return tuple(
            StoppedRequest(AnswerInfo(a.group_id, a.option, a.until, a.how, a.capacity, a.private), a.ended_at)
            for a in self._session.scalars(select(Answer).where(
                Answer.member_id == self._member_id, Answer.option.in_(REQUESTS), Answer.ended_at.in_(stops))
                .order_by(Answer.ended_at, Answer.id))
            if a.ended_at is not None)

    def lapsed_answers(self, group_id: int) -> tuple[AnswerInfo, ...]:
        last = self._session.scalar(select(func.max(Answer.ended_at)).where(
            Answer.member_id == self._member_id, Answer.group_id == group_id))
        if last is None:
            return ()
        ended = self._session.scalars(select(Answer).where(
            Answer.member_id == self._member_id, Answer.group_id == group_id, Answer.ended_at == last)
            .order_by(Answer.option)).all()
        # A lapse ends an answer at its own end (carebot.services.answers.lapse); a 0, a STOP or a new answer sooner.
        if not all(a.until == a.ended_at for a in ended):
            return ()
        return tuple(AnswerInfo(a.group_id, a.option, a.until, a.how, a.capacity, a.private, a.since) for a in ended)
