"""A request for care, as a state machine: nobody who asked for care is left in silence.

The states and every transition, with the text each side gets, are listed here and in
``docs/care-requests.md`` (a test keeps the two in step and checks every key is in both
catalogs). carebot.services.planner and carebot.services.pairings carry the transitions out; :func:`state_of` reads the state
back from the database.

    requested --offer sent--> offered --YES--> accepted --ended by the other side--> requested
        |                        |                |
        |                        +--NO / lapse--> requested (next candidate at once)
        +--no candidate--> waiting --a supporter comes forward--> offered
    any --request withdrawn (0, STOP, REMOVE, DONE by the requester, lapse)--> ended

In a group of a network with an overflow time (carebot.services.network):

    requested / waiting --overflow time--> network_asked --YES--> across --sister supporter--> offered
                                                |
                                                +--NO / silence / the group left--> waiting
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebot.domain.daytime import after_daytime_hours
from carebot.domain.vocabulary import OPEN_PAIRINGS, REACH_OUT_TO_ME, WANT_COMPANY, PairingStatus
from carebot.outbox.write import member_timezone
from carebot.store.models import Answer, Group, Member, Pairing


class State(StrEnum):
    REQUESTED = "requested"  # asked for care; the engine is looking for a supporter
    OFFERED = "offered"  # a supporter has been asked and has not answered yet
    ACCEPTED = "accepted"  # a supporter said YES; check-ins keep it alive
    WAITING = "waiting"  # nobody could take it yet, and the member has been told so
    ENDED = "ended"  # the request is over
    NETWORK_ASKED = "network_asked"  # asked whether the network's other groups may be asked
    ACROSS = "across"  # the member said YES: sister groups' supporters are considered too


@dataclass(frozen=True)
class Step:
    """One transition and the texts it sends (catalog keys; None: that side hears nothing)."""

    source: State
    target: State
    event: str
    requester: str | None = None
    supporter: str | None = None
    coordinators: str | None = None


WAITING_TEXT = {REACH_OUT_TO_ME: "care.waiting.1", WANT_COMPANY: "care.waiting.4"}
STILL_WAITING_TEXT = {REACH_OUT_TO_ME: "care.waiting.again.1", WANT_COMPANY: "care.waiting.again.4"}
# The same word while an offer of the request is still unanswered: someone is being asked, so never "no one is free".
ASKED_TEXT = {REACH_OUT_TO_ME: "care.asked.1", WANT_COMPANY: "care.asked.4"}
# Once told it waits, a member hears again after this much daytime without any word about it.
WORD_EVERY_DAYTIME_HOURS = 24
COORDINATORS_TEXT = "care.coord.waiting"

TRANSITIONS: tuple[Step, ...] = (
    Step(State.REQUESTED, State.OFFERED, "a candidate supporter is found", supporter="care.offer.1"),
    Step(State.WAITING, State.OFFERED, "a supporter comes forward", supporter="care.offer.1"),
    Step(State.OFFERED, State.ACCEPTED, "the supporter says YES",
         requester="care.accepted.requester.1", supporter="care.accepted.supporter"),
    Step(State.OFFERED, State.REQUESTED, "the supporter says NO", supporter="care.declined"),
    Step(State.OFFERED, State.REQUESTED, "the offer lapses unanswered"),
    Step(State.REQUESTED, State.WAITING, "every candidate declined (told at once, by day)",
         requester="care.waiting.1", coordinators=COORDINATORS_TEXT),
    Step(State.REQUESTED, State.WAITING, "a day passed without a supporter",
         requester="care.waiting.1", coordinators=COORDINATORS_TEXT),
    Step(State.WAITING, State.WAITING, "24 daytime hours passed since the last word, still no supporter",
         requester="care.waiting.again.1"),
    # While someone is being asked, the word says so (no name: nobody said yes yet), never "no one is free".
    Step(State.OFFERED, State.OFFERED, "a day passed after asking, the offer unanswered", requester="care.asked.1"),
    Step(State.OFFERED, State.OFFERED, "24 daytime hours passed since the last word, the offer unanswered",
         requester="care.asked.1"),
    # The coordinator whose PAIR made the offer hears it too (coord.pair.replaced.yours), and the one who acts
    # is told what their PAIR took back (coord.pair.replaced).
    Step(State.OFFERED, State.OFFERED, "coordinators PAIR someone else before the supporter answers",
         requester="coord.paired.requester", supporter="care.offer.replaced"),
    Step(State.ACCEPTED, State.REQUESTED, "the supporter ends it (DONE)", requester="care.ended.open",
         supporter="care.ended"),
    # Never why it ended: a rest, fewer offered or a lapse is the supporter's answer, private to them.
    Step(State.ACCEPTED, State.REQUESTED, "the supporter rests, offers fewer or their answer lapses",
         requester="care.ended.open"),
    Step(State.ACCEPTED, State.REQUESTED, "coordinators UNPAIR", requester="coord.unpaired.open",
         supporter="coord.unpaired"),
    Step(State.ACCEPTED, State.OFFERED, "coordinators PAIR someone else", requester="coord.paired.requester",
         supporter="coord.unpaired"),
    Step(State.ACCEPTED, State.REQUESTED, "the supporter leaves (STOP, REMOVE)", requester="care.ended.open"),
    # When nobody else is free to take it over, the word about the end says so too: one text.
    Step(State.ACCEPTED, State.WAITING, "the supporter ends it or leaves, and nobody else is free",
         requester="care.ended.open.waiting", coordinators=COORDINATORS_TEXT),
    Step(State.ACCEPTED, State.WAITING, "the supporter rests, offers fewer or their answer lapses, and nobody else is free",
         requester="care.ended.open.waiting", coordinators=COORDINATORS_TEXT),
    Step(State.ACCEPTED, State.WAITING, "coordinators UNPAIR, and nobody else is free",
         requester="coord.unpaired.open.waiting", supporter="coord.unpaired", coordinators=COORDINATORS_TEXT),
    Step(State.ACCEPTED, State.WAITING, "the requester asks for someone else (YES), and nobody else is free",
         requester="care.rematch.yes.waiting", supporter="care.ended", coordinators=COORDINATORS_TEXT),
    Step(State.ACCEPTED, State.REQUESTED, "the requester says NOT with their supporter's name", requester="care.not.set.open",
         supporter="care.ended"),
    Step(State.ACCEPTED, State.WAITING, "the requester says NOT with their supporter's name, and nobody else is free",
         requester="care.not.set.open.waiting", supporter="care.ended", coordinators=COORDINATORS_TEXT),
    Step(State.ACCEPTED, State.ACCEPTED, "the supporter missed two check-ins", requester="care.rematch.ask",
         coordinators="care.coord.missed"),
    Step(State.OFFERED, State.ENDED, "the requester withdraws (0, STOP, REMOVE)",
         supporter="care.offer.withdrawn"),
    Step(State.ACCEPTED, State.ENDED, "the requester ends it (DONE, 0, STOP, REMOVE)", supporter="care.ended"),
    Step(State.WAITING, State.ENDED, "the requester withdraws (0, STOP, REMOVE)"),
) + (
    # Across a network of groups (carebot.services.network): the member is asked first.
    Step(State.REQUESTED, State.NETWORK_ASKED, "the group's overflow time passed without a supporter",
         requester="network.ask", coordinators=COORDINATORS_TEXT),
    Step(State.WAITING, State.NETWORK_ASKED, "the overflow time passed while waiting", requester="network.ask"),
    # A pairing that ends past the overflow time with nobody else free: the word about the end asks it (one text).
    Step(State.ACCEPTED, State.NETWORK_ASKED, "a pairing ends past the overflow time, and nobody else is free",
         requester="care.ended.open.network", coordinators=COORDINATORS_TEXT),
    Step(State.NETWORK_ASKED, State.ACROSS, "the requester says YES", requester="network.yes"),
    Step(State.NETWORK_ASKED, State.WAITING, "the requester says NO", requester="network.no"),
    Step(State.NETWORK_ASKED, State.WAITING, "the question lapses unanswered"),
    Step(State.NETWORK_ASKED, State.WAITING, "the group left its network before the YES", requester="network.gone"),
    Step(State.ACROSS, State.OFFERED, "a sister group's supporter is found", supporter="network.offer.1"),
    Step(State.NETWORK_ASKED, State.ENDED, "the requester withdraws (0, STOP, REMOVE)"),
    Step(State.ACROSS, State.ENDED, "the requester withdraws (0, STOP, REMOVE)"),
)


def state_of(session: Session, requester_id: int, group_id: int, kind: int, now: datetime) -> State:
    """Where a member's request for care (``kind`` 1 or 4) stands now."""
    answer = session.scalars(select(Answer).where(
        Answer.member_id == requester_id, Answer.group_id == group_id, Answer.option == kind,
        Answer.current(now))).first()
    if answer is None:
        return State.ENDED
    statuses = set(session.scalars(select(Pairing.status).where(
        Pairing.requester_id == requester_id, Pairing.group_id == group_id, Pairing.kind == kind,
        Pairing.status.in_(OPEN_PAIRINGS))))
    if PairingStatus.ACTIVE in statuses:
        return State.ACCEPTED
    if PairingStatus.OFFERED in statuses:
        return State.OFFERED
    return network_state(answer) or (State.WAITING if answer.told_waiting_at is not None else State.REQUESTED)


def network_state(answer: Answer) -> State | None:
    """Where an unserved request stands with the network question, if it was asked."""
    if answer.network_asked_at is None:
        return None
    if answer.network_consent is None:
        return State.NETWORK_ASKED
    return State.ACROSS if answer.network_consent else None


class PairingSeen(NamedTuple):
    """What the planner reads of a pairing, and hands to tell_still_waiting: a plain row, not an ORM object
    (every look reads all of a group's pairings, its history too)."""

    requester_id: int
    supporter_id: int
    kind: int
    status: str
    offered_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    supporter_group_id: int | None


def last_word(answer: Answer, pairings: Iterable[PairingSeen]) -> datetime | None:
    """When the member last heard about this request: the waiting word, or a pairing of it ending.

    Every end of an accepted pairing told the requester (see TRANSITIONS); an offer declined
    or lapsed did not. None: the member has not been told it waits yet (the first word is due
    a day after asking, carebot.services.planner).
    """
    if answer.told_waiting_at is None:
        return None
    ended = [p.ended_at for p in pairings if p.requester_id == answer.member_id and p.kind == answer.option
             and p.started_at is not None and p.ended_at is not None]
    return max([answer.told_waiting_at, *ended])


def told_asked_then_closed(answer: Answer, pairings: Iterable[PairingSeen], now: datetime) -> bool:
    """Whether the member's last word about this request was that someone has been asked (an offer of it was open
    then: ASKED_TEXT), and that offer has closed since, by ``now``, unaccepted: they have not heard that nobody is free."""
    told = answer.told_waiting_at
    return told is not None and any(
        p.requester_id == answer.member_id and p.kind == answer.option and p.started_at is None
        and p.ended_at is not None and p.offered_at <= told < p.ended_at <= now for p in pairings)


def tell_still_waiting(session: Session, group: Group, answers: Iterable[Answer], pairings: Sequence[PairingSeen],
                       members: dict[int, Member], now: datetime,
                       tell: Callable[..., None]) -> datetime | None:
    """Word again to every member whose request has gone 24 daytime hours (theirs) without any.

    One kind text, not a stream: it says the request is still open and how to end it. Returns
    the next moment such word falls due in the group, for the planner to look again then.
    """
    accepted = {(p.requester_id, p.kind) for p in pairings if p.status == PairingStatus.ACTIVE}
    asked = {(p.requester_id, p.kind) for p in pairings if p.status == PairingStatus.OFFERED}
    soonest = None
    for answer in answers:
        member = members.get(answer.member_id)
        key = (answer.member_id, answer.option)
        if answer.option not in STILL_WAITING_TEXT or member is None or key in accepted:
            continue
        since = last_word(answer, pairings)
        if since is None:
            continue
        due = word_again_at(session, group, member, since)
        if due <= now:
            answer.told_waiting_at = now
            tell(session, member, still_open_text(answer.option, asked=key in asked), now, group.id,
                 keyword=group.keyword)
            due = word_again_at(session, group, member, now)
        soonest = due if soonest is None else min(soonest, due)
    return soonest


def still_open_text(kind: int, *, asked: bool) -> str:
    """The word to a member whose request goes on unserved: that someone has been ``asked`` (an offer of it is
    still unanswered), or else that no one is free yet."""
    return ASKED_TEXT[kind] if asked else STILL_WAITING_TEXT[kind]


def word_again_at(session: Session, group: Group, member: Member, since: datetime) -> datetime:
    """When a member told about their request at ``since`` is due word again (24 of their daytime hours)."""
    tz, starts, ends = member_timezone(session, member, group.id, group.timezone)
    return after_daytime_hours(since, WORD_EVERY_DAYTIME_HOURS, tz, starts, ends)


def end_requests(session: Session, member: Member, now: datetime) -> None:
    """STOP ends the member's requests for care (the "ended" state): START does not bring them back."""
    for answer in session.scalars(select(Answer).where(
            Answer.member_id == member.id, Answer.option.in_((REACH_OUT_TO_ME, WANT_COMPANY)), Answer.current(now))):
        answer.ended_at = now
