"""Planning pairings: the pairing engine (carebot.domain.pairing, pure) fed each group's state.

Its proposals become offers to supporters (one question at a time); requests nobody can
take yet get honest word, to the member and to the coordinators.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebot.domain.daytime import next_daytime
from carebot.domain.i18n import render
from carebot.domain.pairing import (
    DECLINE_MEMORY,
    RECENT_PAIRING,
    Offer,
    PairingState,
    Proposal,
    Request,
    propose,
)
from carebot.domain.vocabulary import (
    CLOSED_PAIRINGS,
    OPEN_PAIRINGS,
    REQUESTS,
    SERVES,
    UNAVAILABLE,
    MembershipStatus,
    PairingStatus,
)
from carebot.flows.base import Waiting
from carebot.outbox.write import member_timezone
from carebot.services import care_requests, network, questions
from carebot.services.people import display_name, how_of, language_of, tell
from carebot.store.conversations import busy
from carebot.store.models import Answer, Group, Member, Membership, NotWith, Pairing
from carebot.store.queries import coordinators_of, existing

log = logging.getLogger(__name__)

OFFER_WINDOW = timedelta(hours=24)  # of daytime after the offer reaches the supporter
BUSY_RETRY = timedelta(hours=1)
WAITING_GRACE = timedelta(days=1)  # unmatched this long: the member is told, and coordinators
# Pairings ended this way keep the two apart for the group's pair_again_after_days (a coordinator's PAIR may still).
KEEP_APART = ("done", "coordinator", "rematch", "not_with")
DEFAULT_CADENCE_DAYS = 7


def mark_due(session: Session, group_id: int, now: datetime) -> None:
    """Ask the engine to look at this group again at the next tick."""
    group = session.get(Group, group_id)
    if group is not None and (group.pairing_due_at is None or group.pairing_due_at > now):
        group.pairing_due_at = now


@dataclass
class _Look:
    """What the engine sees in a group now, and what it proposes."""

    members: dict[int, Member]
    answers: list[Answer]
    pairings: list[care_requests.PairingSeen]
    waiting_since: dict[tuple[int, int], Answer]  # requests nobody serves yet, by (requester, kind)
    tried: set[tuple[int, int]]  # of those, the ones whose candidates said no, let an offer lapse or ended it
    declined: set[tuple[int, int]]
    recent: dict[tuple[int, int], datetime]
    apart_until: list[datetime]  # when a pair kept apart (a decline, a DONE, an UNPAIR) may be paired again
    proposal: Proposal | None  # None: no request waits


def _look(session: Session, group: Group, now: datetime) -> _Look:
    members = {
        m.id: m for m in session.scalars(
            select(Member).join(Membership, Membership.member_id == Member.id).where(
                Membership.group_id == group.id, Membership.status == MembershipStatus.ACTIVE, Member.opted_out.is_(False))
        )
    }
    answers = list(session.scalars(
        select(Answer).where(Answer.group_id == group.id, Answer.current(now))
    ).all())
    # The group's pairings as plain rows of the columns the planner reads: every look reads them all (its
    # history too), and full ORM objects cost about half of a look in a group with a long history.
    pairings = [care_requests.PairingSeen(*row) for row in session.execute(
        select(*(getattr(Pairing, name) for name in care_requests.PairingSeen._fields)).where(Pairing.group_id == group.id)
        )]
    served = {(p.requester_id, p.kind) for p in pairings if p.status in OPEN_PAIRINGS}
    requests, waiting_since = [], {}
    for a in answers:
        member = members.get(a.member_id)
        if member is not None and a.option in REQUESTS and (a.member_id, a.option) not in served:
            requests.append(Request(a.member_id, group.id, a.option, member.language or group.language, a.since))
            waiting_since[(a.member_id, a.option)] = a
    look = _Look(members, answers, pairings, waiting_since, set(), set(), {}, [], None)
    if not requests:
        return look  # the offers need not be read (nor the pairings across): the planner looks often
    load: dict[tuple[int, int], int] = defaultdict(int)
    for p in pairings:
        if p.status in OPEN_PAIRINGS and p.supporter_group_id is None:
            load[(p.supporter_id, p.kind)] += 1
    for across in network.served_from(session, group.id):
        load[(across.supporter_id, across.kind)] += 1  # this group's supporters serving a sister group's request
    offers, resting = [], set()
    for a in answers:
        member = members.get(a.member_id)
        if member is None:
            continue
        if a.option in SERVES:
            offers.append(Offer(a.member_id, group.id, a.option, a.capacity or 1, member.language or group.language,
                                load=load[(a.member_id, SERVES[a.option])]))
        elif a.option == UNAVAILABLE:
            resting.add(a.member_id)
    for p in pairings:
        answer = waiting_since.get((p.requester_id, p.kind))
        if (answer is not None and p.status in CLOSED_PAIRINGS and p.ended_at is not None
                and p.ended_at >= answer.since):
            look.tried.add((p.requester_id, p.kind))
        if p.status in (PairingStatus.ACTIVE, PairingStatus.ENDED) and p.offered_at >= now - RECENT_PAIRING:
            key = (p.requester_id, p.supporter_id)
            look.recent[key] = max(look.recent.get(key, p.offered_at), p.offered_at)
        # A supporter who said no or let the offer lapse is not asked again soon; an offer withdrawn
        # because the requester stopped asking says nothing about the supporter.
        if (p.status in (PairingStatus.DECLINED, PairingStatus.EXPIRED) and p.end_reason not in ("request_ended", "left")
                and p.offered_at >= now - DECLINE_MEMORY):
            look.declined.add((p.requester_id, p.supporter_id))
            look.apart_until.append(p.offered_at + DECLINE_MEMORY)
        if (p.status in (PairingStatus.ENDED, PairingStatus.EXPIRED) and p.end_reason in KEEP_APART and p.ended_at is not None
                and p.ended_at > now - timedelta(days=group.pair_again_after_days)):
            look.declined.add((p.requester_id, p.supporter_id))
            look.apart_until.append(p.ended_at + timedelta(days=group.pair_again_after_days))
    not_with = {
        (a, b) for a, b in session.execute(
            select(NotWith.member_id, NotWith.other_id).where(NotWith.member_id.in_(list(members)))
        ) if b in members
    }
    look.proposal = propose(
        PairingState(requests=tuple(requests), offers=tuple(offers), now=now, resting=frozenset(resting),
                     recent=look.recent, declined=frozenset(look.declined), not_with=frozenset(not_with)),
        seed=group.id,
    )
    return look


def plan_group(session: Session, group: Group, now: datetime) -> int:
    """Run the engine for one group and send offers; returns how many offers went out."""
    group.pairing_due_at = None
    look = _look(session, group, now)
    members, waiting_since, proposal = look.members, look.waiting_since, look.proposal
    _tell_unanswered_offers(session, group, look.answers, look.pairings, members, now)
    # Nobody's request goes 24 daytime hours without word (the first word is below: a day after asking).
    if (again := care_requests.tell_still_waiting(session, group, look.answers, look.pairings, members, now,
                                                  tell)) is not None:
        _look_again_at(group, again)
    if proposal is None:
        return 0
    taken = busy(session, {p.supporter_id for p in proposal.pairs}, now, rank=questions.CARE)
    sent = 0
    # Requests whose supporter is busy answering another question: not offered yet, so as good as unmatched.
    held: list[tuple[int, int]] = []
    for pair in sorted(proposal.pairs, key=lambda p: (-p.score, p.requester_id, p.kind)):
        if pair.supporter_id in taken:
            # One question at a time: this offer waits until the supporter has answered.
            _look_again_at(group, now + BUSY_RETRY)
            held.append((pair.requester_id, pair.kind))
            continue
        taken.add(pair.supporter_id)
        offer(session, group, members[pair.requester_id], members[pair.supporter_id], pair.kind, now)
        sent += 1
    later = [when for when in look.apart_until if when > now]
    if proposal.unmatched and later:
        _look_again_at(group, min(later))
    unmatched = [(u.requester_id, u.kind) for u in proposal.unmatched]
    newly_waiting, across = _overflow(session, group, members, waiting_since, unmatched, taken, now,
                                      declined=look.declined, recent=look.recent)
    sent += len(across)
    waiting = [key for key in unmatched if key not in across] + held
    for requester_id, kind in waiting:
        answer = waiting_since.get((requester_id, kind))
        # Told only that someone was asked, and they said no or let it lapse: nobody is free is news to them.
        if answer is None or (answer.told_waiting_at is not None
                              and not care_requests.told_asked_then_closed(answer, look.pairings, now)):
            continue
        # Honest word a day after asking, or as soon as every candidate has said no (by day: it is a push).
        tell_at = now if (requester_id, kind) in look.tried else answer.since + WAITING_GRACE
        if tell_at > now:
            # A supporter may still come forward; if not, the member hears it honestly then.
            _look_again_at(group, tell_at)
            continue
        requester = members[requester_id]
        _told_waiting(session, group, requester, answer, now)
        tell(session, requester, care_requests.WAITING_TEXT[kind], now, group.id, keyword=group.keyword)
        newly_waiting.append(requester)
    _tell_coordinators_waiting(session, group, newly_waiting, len(waiting), now)
    return sent


# What a requester's one word about a pairing that just ended says next (after_an_end): its catalog key's tail.
OFFERED_ON, WAITS, ASKS_ACROSS = "", ".waiting", ".network"


def after_ends(session: Session, group: Group, ends: Sequence[tuple[Member, int, Callable[[str, str], str]]],
               now: datetime) -> list[str]:
    """Pairings in ``group`` just ended together, each of a still open request: for each (requester, kind,
    across) what the requester's one word about it says next (after_an_end), from one look at the group."""
    look = _look(session, group, now)
    return [after_an_end(session, group, look, requester, kind, now, across) for requester, kind, across in ends]


def after_an_end(session: Session, group: Group, look: _Look, requester: Member, kind: int, now: datetime,
                 across: Callable[[str, str], str]) -> str:
    """A pairing of ``requester``'s still open request (``kind``) just ended: what their one word about the end
    says next, as the tail of its catalog key (one text, never "it ended" and another a moment later).
    ``look``: the engine's look at the group once the pairings ending together have ended.

    ASKS_ACROSS: nobody in the group can take it over and its overflow time has passed, so the word is the
    network question itself (``across(language, network code)`` writes it), asked now: sent, nothing more to
    send. WAITS: nobody else can take it over now; the request waits from this moment and the word says that
    nobody is free yet. In both, the coordinators hear, as for anyone newly waiting.

    OFFERED_ON when the engine, looking now, would offer it to someone, or sister groups' supporters may be
    asked: the planner, at its next look, acts as for any request.
    """
    key = (requester.id, kind)
    answer = look.waiting_since.get(key)
    if look.proposal is None or answer is None or answer.told_waiting_at is not None or requester.id not in look.members:
        return OFFERED_ON
    pairs = [pair for pair in look.proposal.pairs if (pair.requester_id, pair.kind) == key]
    if answer.network_consent or (pairs and not busy(session, {pair.supporter_id for pair in pairs}, now,
                                                     rank=questions.CARE)):
        return OFFERED_ON
    count = len(look.proposal.unmatched) + len(pairs)
    due = network.overflow_due(group, answer)
    if due is not None and due <= now and not busy(session, {requester.id}, now, rank=questions.CARE):
        if network.ask(session, group, requester, answer, now, prompt=across):
            answer.told_waiting_at = now  # the question is their honest word (as in _overflow)
            _tell_coordinators_waiting(session, group, [requester], count, now)
            return ASKS_ACROSS
    # Nobody else is free (the network question, when not asked now, comes when it is due or its turn comes).
    _told_waiting(session, group, requester, answer, now)
    _tell_coordinators_waiting(session, group, [requester], count, now)
    return WAITS


def _told_waiting(session: Session, group: Group, requester: Member, answer: Answer, now: datetime) -> None:
    """The member is told now that their request waits: the next word is due 24 of their daytime hours on."""
    answer.told_waiting_at = now
    _look_again_at(group, care_requests.word_again_at(session, group, requester, now))


def _tell_coordinators_waiting(session: Session, group: Group, newly_waiting: list[Member], count: int,
                               now: datetime) -> None:
    """Coordinators hear once per newcomer to the wait, with how many are waiting in all."""
    if not newly_waiting:
        return
    for coordinator in coordinators_of(session, group.id):
        language = language_of(coordinator)
        tell(session, coordinator, care_requests.COORDINATORS_TEXT, now, group.id, keyword=group.keyword,
             requester=", ".join(display_name(m, language) for m in newly_waiting), count=count)


def _overflow(session: Session, group: Group, members: dict[int, Member], waiting_since: dict, unmatched: list,
              taken: set[int], now: datetime, *, declined: set, recent: dict) -> tuple[list[Member], set]:
    """Requests nobody in the group can take, in a network (carebot.services.network): at the group's
    overflow time the member is asked whether sister groups may be asked; after their YES, sister
    groups' supporters are offered. Returns the members newly told (the question is their honest
    word) and the requests offered across."""
    told = []
    consented = []
    for requester_id, kind in unmatched:
        answer = waiting_since.get((requester_id, kind))
        if answer is None:
            continue
        if answer.network_consent:
            consented.append(Request(requester_id, group.id, kind, members[requester_id].language or group.language,
                                     answer.since))
            continue
        due = network.overflow_due(group, answer)
        if due is None:
            continue
        if due > now:
            _look_again_at(group, due)
            continue
        # Asked now, the question is their honest word; waiting behind another question, it is not yet.
        if network.ask(session, group, members[requester_id], answer, now) and answer.told_waiting_at is None:
            answer.told_waiting_at = now
            told.append(members[requester_id])
    across: set[tuple[int, int]] = set()
    if not consented:
        return told, across  # nobody said YES to the network: no sister group to read (the planner looks often)
    proposed = network.propose_across(session, group, consented, now, declined=declined, recent=recent)
    busy_now = busy(session, {supporter_id for _, supporter_id, _, _ in proposed}, now, rank=questions.CARE)
    for requester_id, supporter_id, kind, sister in proposed:
        if supporter_id in busy_now or supporter_id in taken:
            _look_again_at(group, now + BUSY_RETRY)
            continue
        busy_now.add(supporter_id)
        offer(session, group, members[requester_id], existing(session, Member, supporter_id), kind, now, side=sister)
        across.add((requester_id, kind))
    return told, across


def _tell_unanswered_offers(session: Session, group: Group, answers, pairings, members, now: datetime) -> None:
    """A request whose offer is still unanswered is not silent either: a day after asking, the
    member hears that someone has been asked and nobody has said yes yet (once), never that no one is
    free (someone is being asked), and the offer goes on."""
    offered = {(p.requester_id, p.kind) for p in pairings if p.status == PairingStatus.OFFERED}
    active = {(p.requester_id, p.kind) for p in pairings if p.status == PairingStatus.ACTIVE}
    for answer in answers:
        key = (answer.member_id, answer.option)
        if key not in offered or key in active or answer.told_waiting_at is not None or answer.member_id not in members:
            continue
        # A day after asking, or after the end of a pairing of this request: at that end the member heard
        # it is asked of someone else, so "no one is free yet" in the same minute would say the opposite.
        since = max([answer.since, *(p.ended_at for p in pairings if p.requester_id == answer.member_id
                                     and p.kind == answer.option and p.started_at is not None
                                     and p.ended_at is not None)])
        if since + WAITING_GRACE > now:
            _look_again_at(group, since + WAITING_GRACE)
            continue
        answer.told_waiting_at = now
        _look_again_at(group, care_requests.word_again_at(session, group, members[answer.member_id], now))
        tell(session, members[answer.member_id], care_requests.still_open_text(answer.option, asked=True), now,
             group.id, keyword=group.keyword)


def _look_again_at(group: Group, when: datetime) -> None:
    if group.pairing_due_at is None or group.pairing_due_at > when:
        group.pairing_due_at = when


def offer(session: Session, group: Group, requester: Member, supporter: Member, kind: int, now: datetime,
          *, side: Group | None = None, again: bool = False) -> None:
    """Ask ``supporter`` to take ``requester``'s request; ``side``: the supporter's own group, when
    the request comes to it across a network (the offer then says so)."""
    own = side or group
    tz, starts, ends = member_timezone(session, supporter, own.id, own.timezone)
    respond_by = next_daytime(now, tz, starts, ends) + OFFER_WINDOW
    pairing = Pairing(group_id=group.id, requester_id=requester.id, supporter_id=supporter.id, kind=kind,
                      status=PairingStatus.OFFERED, offered_at=now, respond_by=respond_by,
                      cadence_days=DEFAULT_CADENCE_DAYS, missed_checkins=0,
                      supporter_group_id=side.id if side is not None else None)
    session.add(pairing)
    session.flush()
    request = session.scalars(select(Answer).where(
        Answer.member_id == requester.id, Answer.group_id == group.id, Answer.option == kind, Answer.current(now))).first()
    if request is not None and request.told_waiting_at is None:
        _look_again_at(group, request.since + WAITING_GRACE)  # a day on, the requester hears if nobody said yes
    language = language_of(supporter)
    how = how_of(session, requester.id, group.id, kind, now)
    across = network.network_of(session, group) if side is not None else None
    if across is not None:
        prompt = render(f"network.offer.{kind}", language, requester=display_name(requester, language),
                        keyword=group.keyword, network=across.code, how=how)
    else:
        key = f"care.offer.again.{kind}" if again else f"care.offer.{kind}"  # a coordinators' PAIR after a NO
        prompt = render(key, language, requester=display_name(requester, language), keyword=group.keyword, how=how)
    questions.ask(session, supporter, Waiting("pairing", "offer", {"pairing_id": pairing.id}, respond_by), prompt,
                  now, group_id=own.id, rank=questions.CARE)


def plan_due_groups(session: Session, now: datetime) -> int:
    """Plan every group something changed in."""
    groups = session.scalars(select(Group).where(Group.pairing_due_at <= now)).all()
    return sum(plan_group(session, group, now) for group in groups)
