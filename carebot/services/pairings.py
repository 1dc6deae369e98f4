"""Pairings once made: a supporter's YES or NO, the requester's answers, DONE, NOT, EVERY, and
every way a pairing ends (with word to the other side, and the engine asked to look again).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from carebot.domain.i18n import render
from carebot.domain.vocabulary import OPEN_PAIRINGS, PairingStatus
from carebot.flows.base import CadenceChanged, NotWithAdded, OfferAnswered, PairingEnded, RematchAnswered
from carebot.services import caremap, network, planner, questions
from carebot.services.effects import Act, Outcome, handles
from carebot.services.people import cadence_text, display_name, how_of, language_of, tell, tell_text
from carebot.store.models import Answer, Group, Member, NotWith, Pairing
from carebot.store.queries import current_options, existing, holdings, room_in

log = logging.getLogger(__name__)

def end_pairing(session: Session, pairing: Pairing, reason: str, now: datetime, *, by: int | None = None,
                withdrawn: str = "care.offer.withdrawn") -> None:
    """Close a pairing; the engine will look at the group again.

    ``by`` is the member whose own text ended it. Every question about the pairing
    ends with it; a supporter still asked about it hears that it is no longer open
    (unless they ended it themselves), and is asked their next question; ``withdrawn`` is what they
    hear (the request may still be open: coordinators asked someone else).
    """
    was = pairing.status
    pairing.status = PairingStatus.ENDED if was == PairingStatus.ACTIVE else PairingStatus.EXPIRED
    pairing.ended_at = now
    pairing.end_reason = reason
    pairing.next_checkin_at = None
    pairing.followup_at = None
    planner.mark_due(session, pairing.group_id, now)
    if was == PairingStatus.ACTIVE:  # no longer their supporter: a copy of the map waiting for them stays
        caremap.withdraw_waiting(session, pairing.requester_id, to=pairing.supporter_id)
        # A request still open waits anew: its member (and the coordinators) hear it as anyone newly waiting.
        for request in session.scalars(select(Answer).where(
                Answer.member_id == pairing.requester_id, Answer.group_id == pairing.group_id,
                Answer.option == pairing.kind, Answer.current(now))):
            request.told_waiting_at = None
    for member_id in (pairing.supporter_id, pairing.requester_id):
        member = session.get(Member, member_id)
        if member is None:
            continue
        was_asked = questions.withdraw(session, member, "pairing_id", pairing.id)
        if was == PairingStatus.OFFERED and member_id == pairing.supporter_id and member_id != by:
            group = existing(session, Group, pairing.group_id)
            tell(session, member, withdrawn, now, pairing.group_for(member_id), keyword=group.keyword,
                 requester=display_name(existing(session, Member, pairing.requester_id), language_of(member)))
        if was_asked and member_id != by:
            questions.ask_next(session, member, now)  # the member's own text asks it after its reply
    log.info("pairing %s ended (%s)", pairing.id, reason)


def request_still_open(session: Session, pairing: Pairing, now: datetime) -> bool:
    """Whether the requester still asks for this care once the pairing is over."""
    return pairing.kind in current_options(session, pairing.requester_id, pairing.group_id, now)


def reconcile(session: Session, member: Member, group_id: int, now: datetime) -> list[Member]:
    """After a member's answers lapsed: end the pairings their answers no longer hold up (``end_unheld``);
    the people on the other side of the active ones that ended, for the member's own word."""
    pairings = session.scalars(
        select(Pairing).where(Pairing.status.in_(OPEN_PAIRINGS), in_group(member.id, group_id))
        .order_by(Pairing.status, Pairing.id)  # "active" before "offered", oldest first
    ).all()
    return end_unheld(session, member, group_id, now, holdings(session, member.id, group_id, now), list(pairings))


def end_unheld(session: Session, member: Member, group_id: int, now: datetime, held: list[tuple[int, int | None]],
               pairings: list[Pairing]) -> list[Member]:
    """End those of the member's open ``pairings`` in the group (active first, oldest first) that the answers
    they now hold there (``held``: option, capacity) no longer hold up.

    A requester's pairing ends with their request; a supporter keeps no more pairings than
    they now offer (none while resting), the newest ending first. Returns the people on the other side
    of the active pairings that ended (the other side is told here; the member by the caller).

    Whether the supporter rests, offers fewer or their answer's time ran out, their requesters hear only what
    is true and theirs: the pairing ended, and what happens to their request (care.ended.open and its kin).
    Never why: that is the supporter's answer, private unless they chose to share it (product.md).
    """
    ended_with: list[Member] = []
    options = {option for option, _ in held}
    room = room_in(held)
    words = []  # to the requesters of the pairings ended here, once all have ended: one look at the group
    for pairing in pairings:
        if pairing.status not in OPEN_PAIRINGS:
            continue  # closed earlier in the same text (an offer its supporter just declined)
        if pairing.requester_id == member.id:
            if pairing.kind not in options:
                if pairing.status == PairingStatus.ACTIVE:
                    supporter = existing(session, Member, pairing.supporter_id)
                    tell(session, supporter, "care.ended", now, pairing.group_for(supporter.id),
                          other=display_name(member, language_of(supporter)))
                    ended_with.append(supporter)
                end_pairing(session, pairing, "request_ended", now, by=member.id)
        elif room.get(pairing.kind, 0) > 0:
            room[pairing.kind] -= 1
        else:
            active = pairing.status == PairingStatus.ACTIVE
            end_pairing(session, pairing, "offer_ended", now, by=member.id)
            if active:
                requester = existing(session, Member, pairing.requester_id)
                name = display_name(member, language_of(requester))
                words.append(EndWord(pairing, requester, "care.ended.open", {"other": name}))
                ended_with.append(requester)
    tell_requesters(session, words, now)
    planner.mark_due(session, group_id, now)
    return ended_with


def in_group(member_id: int, group_id: int) -> ColumnElement[bool]:
    """The SQL condition for the member's pairings on their side in ``group_id``: as requester of its
    requests, as supporter from it (a pairing across a network counts in the supporter's own group)."""
    return or_((Pairing.requester_id == member_id) & (Pairing.group_id == group_id),
               (Pairing.supporter_id == member_id)
               & (func.coalesce(Pairing.supporter_group_id, Pairing.group_id) == group_id))


def end_all(session: Session, member: Member, now: datetime) -> None:
    """The member left (STOP or FORGET): end their pairings and tell the other side."""
    _end_pairings(session, member, now, by=member.id)


def remove_from_group(session: Session, member: Member, group_id: int, now: datetime) -> None:
    """The coordinators removed the member: their answers end, their pairings end with word to the
    other side, their questions about the group go, and so does their care map."""
    for answer in session.scalars(select(Answer).where(Answer.member_id == member.id, Answer.group_id == group_id,
                                                       Answer.ended_at.is_(None))):
        answer.ended_at = now
    _end_pairings(session, member, now, in_group(member.id, group_id))
    map_asked = caremap.removed(session, member)  # the care map goes with any removal (issue 22)
    if questions.drop_for_group(session, member, group_id) or map_asked:
        questions.ask_next(session, member, now)


def _end_pairings(session: Session, member: Member, now: datetime, *where, by: int | None = None) -> None:
    pairings = session.scalars(
        select(Pairing).where(Pairing.status.in_(OPEN_PAIRINGS),
                              or_(Pairing.requester_id == member.id, Pairing.supporter_id == member.id), *where)
    ).all()
    ended = []
    for pairing in pairings:
        other_id = pairing.supporter_id if pairing.requester_id == member.id else pairing.requester_id
        active = pairing.status == PairingStatus.ACTIVE
        end_pairing(session, pairing, "left", now, by=by)
        if active:
            ended.append((pairing, existing(session, Member, other_id)))
    _tell_ended(session, ended, member, now)


def _tell_ended(session: Session, ended: list[tuple[Pairing, Member]], other: Member, now: datetime) -> None:
    """Tell each member told of ``ended`` (pairing, member told) that their pairing with ``other`` ended; a
    requester also hears whether their request is still open (once all have ended: one look at the group)."""
    words = []
    for pairing, told in ended:
        name = display_name(other, language_of(told))
        if told.id == pairing.requester_id and request_still_open(session, pairing, now):
            words.append(EndWord(pairing, told, "care.ended.open", {"other": name}))
        else:
            tell(session, told, "care.ended", now, pairing.group_for(told.id), other=name)
    tell_requesters(session, words, now)


@dataclass(frozen=True)
class EndWord:
    """What the requester of a pairing just ended, their request still open, is to hear: catalog message
    ``key`` with ``params`` (``keyword``: their group's, unless ``params`` name another), or its variant
    that also says what happens next (words_after_ends)."""

    pairing: Pairing
    requester: Member
    key: str
    params: dict[str, Any]


def tell_requester(session: Session, pairing: Pairing, requester: Member, key: str, now: datetime, **params) -> None:
    """The requester of ``pairing`` (already ended) hears about it in one text (EndWord)."""
    tell_requesters(session, [EndWord(pairing, requester, key, params)], now)


def tell_requesters(session: Session, words: list[EndWord], now: datetime) -> None:
    """Each requester of pairings ended together hears about theirs in one text (words_after_ends)."""
    for word, text in zip(words, words_after_ends(session, words, now), strict=True):
        if text is not None:
            tell_text(session, word.requester, text, now, word.pairing.group_id)


def word_after_an_end(session: Session, requester: Member, pairing: Pairing, key: str, now: datetime,
                      **params) -> str | None:
    """The one text for the requester of ``pairing``, just ended (words_after_ends)."""
    return words_after_ends(session, [EndWord(pairing, requester, key, params)], now)[0]


def _asking_across(key: str, params: dict[str, Any]) -> Callable[[str, str], str]:
    """The network question said with the word about the end (``key.network``), by language and network code."""
    return lambda language, code: render(f"{key}{planner.ASKS_ACROSS}", language, network=code, **params)


def words_after_ends(session: Session, words: list[EndWord], now: datetime) -> list[str | None]:
    """For pairings ended together, each requester's text in their language: ``key``, or ``key.waiting`` when
    nobody else is free to take their request over; None when the word went as ``key.network``, the network
    question asked now (planner.after_ends). The planner looks once at each group for all of them, so what
    each hears is true of them all together."""
    texts: list[str | None] = [None] * len(words)
    by_group: dict[int, list[int]] = defaultdict(list)
    for index, word in enumerate(words):
        by_group[word.pairing.group_id].append(index)
    for group_id, indexes in by_group.items():
        group = existing(session, Group, group_id)
        params = {index: {"keyword": group.keyword, **words[index].params} for index in indexes}
        tails = planner.after_ends(session, group, [(words[i].requester, words[i].pairing.kind,
                                                     _asking_across(words[i].key, params[i])) for i in indexes], now)
        for index, tail in zip(indexes, tails, strict=True):
            if tail != planner.ASKS_ACROSS:
                texts[index] = render(f"{words[index].key}{tail}", language_of(words[index].requester),
                                      **params[index])
    return texts


# --- what members answer about their pairings -----------------------------------


def mine(session: Session, member: Member, pairing_id: int, *, as_: str) -> Pairing | None:
    """The pairing, when ``member`` is its supporter (or requester, ``as_``)."""
    pairing = session.get(Pairing, pairing_id)
    if pairing is None:
        return None
    owner = pairing.supporter_id if as_ == "supporter" else pairing.requester_id
    return pairing if owner == member.id else None


def other_side(session: Session, pairing: Pairing, member: Member) -> Member | None:
    """The other member of ``member``'s pairing."""
    return session.get(Member, pairing.supporter_id if pairing.requester_id == member.id else pairing.requester_id)


@handles(OfferAnswered)
def offer_answered(act: Act, effect: OfferAnswered) -> Outcome:
    session, member, now, accepted = act.session, act.member, act.now, effect.accepted
    language = language_of(member)
    pairing = mine(session, member, effect.pairing_id, as_="supporter")
    if pairing is None or pairing.status != PairingStatus.OFFERED:
        return Outcome([render("yes.nothing" if accepted else "no.nothing", language)] if accepted is not None else [])
    if accepted:
        # After the number: word on the rest of a longer YES ("yes and also i need someone to call me").
        more = [render("care.yes_and_more", language)] if effect.more else []
        return Outcome(_accept(session, member, pairing, now) + more)
    pairing.status = PairingStatus.DECLINED if accepted is False else PairingStatus.EXPIRED
    pairing.ended_at = now
    planner.mark_due(session, pairing.group_id, now)
    if accepted is None or effect.said:
        return Outcome()
    return Outcome([render("care.declined", language,
                           requester=display_name(existing(session, Member, pairing.requester_id), language))])


@handles(RematchAnswered)
def rematch_answered(act: Act, effect: RematchAnswered) -> Outcome:
    session, member, now = act.session, act.member, act.now
    language = language_of(member)
    pairing = mine(session, member, effect.pairing_id, as_="requester")
    if pairing is None or pairing.status != PairingStatus.ACTIVE or effect.wanted is None:
        return Outcome()
    supporter = existing(session, Member, pairing.supporter_id)
    name = display_name(supporter, language)
    if effect.wanted:
        if supporter is not None:
            tell(session, supporter, "care.ended", now, pairing.group_for(supporter.id),
                 other=display_name(member, language_of(supporter)))
        end_pairing(session, pairing, "rematch", now, by=member.id)
        word = word_after_an_end(session, member, pairing, "care.rematch.yes", now)
        return Outcome([word] if word is not None else [])
    return Outcome([render("care.rematch.no", language, supporter=name)])


@handles(PairingEnded)
def pairing_ended(act: Act, effect: PairingEnded) -> Outcome:
    session, member, now = act.session, act.member, act.now
    language = language_of(member)
    pairing = session.get(Pairing, effect.pairing_id)
    if pairing is None or member.id not in (pairing.requester_id, pairing.supporter_id):
        return Outcome([render("care.done.none", language)])
    other = other_side(session, pairing, member)
    if pairing.requester_id == member.id:
        # The requester is done: their request ends with the pairing.
        for answer in session.scalars(select(Answer).where(
                Answer.member_id == member.id, Answer.group_id == pairing.group_id,
                Answer.option == pairing.kind, Answer.ended_at.is_(None))):
            answer.ended_at = now
    end_pairing(session, pairing, "done", now, by=member.id)
    if other is not None:
        _tell_ended(session, [(pairing, other)], member, now)
    if pairing.requester_id != member.id or not request_still_open(session, pairing, now):
        return Outcome([render("care.ended", language, other=display_name(other, language))])
    group = existing(session, Group, pairing.group_id)
    keyword = group.keyword if group is not None else ""
    return Outcome([render("care.ended.open", language, other=display_name(other, language), keyword=keyword)])


@handles(NotWithAdded)
def not_with_added(act: Act, effect: NotWithAdded) -> Outcome:
    """NOT <name>: never paired with them again; an open pairing between them ends, and the other side
    hears that it ended, never why. A requester whose request stays open hears what happens next in the
    same text (``care.not.set.open``)."""
    session, member, now, other_id = act.session, act.member, act.now, effect.other_id
    language = language_of(member)
    other = session.get(Member, other_id)
    exists = session.scalar(select(NotWith.id).where(NotWith.member_id == member.id, NotWith.other_id == other_id))
    if exists is None:
        session.add(NotWith(member_id=member.id, other_id=other_id, created_at=now))
    ended_mine = None
    for pairing in session.scalars(select(Pairing).where(
            Pairing.status.in_(OPEN_PAIRINGS),
            or_((Pairing.requester_id == member.id) & (Pairing.supporter_id == other_id),
                (Pairing.requester_id == other_id) & (Pairing.supporter_id == member.id))).order_by(Pairing.id)):
        active = pairing.status == PairingStatus.ACTIVE
        end_pairing(session, pairing, "not_with", now, by=member.id)
        if active and other is not None:
            _tell_ended(session, [(pairing, other)], member, now)
            if pairing.requester_id == member.id and request_still_open(session, pairing, now):
                ended_mine = pairing
    name = display_name(other, language)
    if ended_mine is None:
        return Outcome([render("care.not.set", language, name=name)])
    word = word_after_an_end(session, member, ended_mine, "care.not.set.open", now, name=name)
    return Outcome([word] if word is not None else [])


@handles(CadenceChanged)
def cadence_changed(act: Act, effect: CadenceChanged) -> Outcome:
    pairing = act.session.get(Pairing, effect.pairing_id)
    if pairing is not None and act.member.id in (pairing.requester_id, pairing.supporter_id):
        pairing.cadence_days = effect.days
        pairing.next_checkin_at = act.now + timedelta(days=effect.days)
    return Outcome()


def is_private(session: Session, requester_id: int, group: Group, kind: int, now: datetime) -> bool:
    """Whether a request keeps the requester's number with carebot: their choice, else the group's."""
    answer = session.scalars(select(Answer).where(
        Answer.member_id == requester_id, Answer.group_id == group.id, Answer.option == kind,
        Answer.current(now))).first()
    if answer is not None and answer.private is not None:
        return answer.private
    return group.private_default


def _accept(session: Session, supporter: Member, pairing: Pairing, now: datetime) -> list[str]:
    pairing.status = PairingStatus.ACTIVE
    pairing.started_at = now
    pairing.respond_by = None
    pairing.next_checkin_at = now + timedelta(days=pairing.cadence_days)
    network.record_accepted(session, pairing, now)
    group = existing(session, Group, pairing.group_id)
    # The requester hears which group their supporter is from: a sister group's, across a network.
    supporters_group = existing(session, Group, pairing.group_for(supporter.id))
    requester = existing(session, Member, pairing.requester_id)
    language = language_of(supporter)
    requester_name = display_name(requester, language)
    supporter_name = display_name(supporter, language_of(requester))
    how = how_of(session, requester.id, group.id, pairing.kind, now)
    cadence = cadence_text(pairing.cadence_days, language)
    # Without a number to share (private, or Signal only), they talk through carebot.
    if is_private(session, requester.id, group, pairing.kind, now) or not requester.phone:
        tell(session, requester, f"care.accepted.requester.{pairing.kind}.private", now, group.id,
             supporter=supporter_name, keyword=supporters_group.keyword)
        return [render("care.accepted.supporter.private", language, requester=requester_name, how=how,
                       cadence=cadence), *caremap.after_yes(session, requester, supporter)]
    tell(session, requester, f"care.accepted.requester.{pairing.kind}", now, group.id,
         supporter=supporter_name, keyword=supporters_group.keyword)
    return [render("care.accepted.supporter", language, requester=requester_name, contact=requester.phone,
                   how=how, cadence=cadence), *caremap.after_yes(session, requester, supporter)]
