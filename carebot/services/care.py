"""The care itself: rounds, pairings and the check-ins that keep them alive.

The pairing engine (carebot.domain.pairing) is pure; this module feeds it the group's
state from the database and carries its proposals out: offers to supporters
(one question at a time), introductions on YES, check-in reminders and
follow-ups, and honest word when nobody is free. Everything here runs inside
the dispatcher's transactions; texts go through the outbox.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session

from carebot.domain.daytime import next_daytime
from carebot.domain.i18n import DEFAULT_LANGUAGE, render
from carebot.domain.pairing import DECLINE_MEMORY, RECENT_PAIRING, Offer, PairingState, Request, propose
from carebot.domain.vocabulary import CAN_KEEP_COMPANY, I_CAN_REACH_OUT, REACH_OUT_TO_ME, UNAVAILABLE, WANT_COMPANY
from carebot.flows import goaround
from carebot.flows.base import (
    CadenceChanged,
    CallRequested,
    CheckinAnswered,
    CrisisNoted,
    DaytimeChanged,
    Effect,
    NotWithAdded,
    OfferAnswered,
    PairingEnded,
    PairingInfo,
    PersonInfo,
    PrivacyChanged,
    Relayed,
    RematchAnswered,
    RoundStarted,
    Waiting,
)
from carebot.flows.relay import REPLY_WINDOW
from carebot.outbox.notify import tell_coordinators
from carebot.outbox.write import PUSH, address_on, daytime, member_timezone, push
from carebot.services import care_requests, questions
from carebot.store.conversations import busy, set_waiting
from carebot.store.models import (
    Answer,
    CareFlag,
    ConsentEvent,
    Group,
    InboundMessage,
    Member,
    Membership,
    NotWith,
    OutboxMessage,
    Pairing,
)
from carebot.store.queries import coordinators_of
from carebot.store.transparency import record

log = logging.getLogger(__name__)

OFFER_WINDOW = timedelta(hours=24)  # of daytime after the offer reaches the supporter
FOLLOWUP_DELAY = timedelta(days=2)  # from the reminder to "did you connect?"
FOLLOWUP_WAIT = timedelta(hours=24)
LATER_DELAY = timedelta(days=1)
BUSY_RETRY = timedelta(hours=1)
FLOOD_LIMIT = 15  # texts from one member in FLOOD_WINDOW before carebot stops answering them
FLOOD_WINDOW = timedelta(minutes=10)
RECENTLY_ENDED = timedelta(days=14)  # a plain reply goes back to the relayed message's sender
WAITING_GRACE = timedelta(days=1)  # unmatched this long: the member is told, and coordinators
RECENTLY_ANSWERED = timedelta(days=6)  # not asked again in the next round
# Pairings ended this way keep the two apart for the group's pair_again_after_days (a coordinator's PAIR may still).
KEEP_APART = ("done", "coordinator", "rematch", "not_with")
MISSED_LIMIT = 2
DEFAULT_CADENCE_DAYS = 7
OPEN = ("offered", "active")
# Which request each offer serves.
SERVES = {I_CAN_REACH_OUT: REACH_OUT_TO_ME, CAN_KEEP_COMPANY: WANT_COMPANY}
OFFER_FOR = {request: offer for offer, request in SERVES.items()}


# --- small readers -----------------------------------------------------------


def display_name(member: Member | None, language: str) -> str:
    """The name a member goes by, or a kind stand-in when they gave none."""
    if member is not None and member.name:
        return member.name
    return render("care.someone", language)


def _language(member: Member) -> str:
    return member.language or DEFAULT_LANGUAGE


def _how_of(session: Session, member_id: int, group_id: int, option: int, now: datetime) -> str:
    answer = session.scalars(
        select(Answer).where(
            Answer.member_id == member_id, Answer.group_id == group_id, Answer.option == option,
            Answer.current(now),
        )
    ).first()
    return f" ({answer.how})" if answer is not None and answer.how else ""


def current_options(session: Session, member_id: int, group_id: int, now: datetime) -> set[int]:
    """The go-around options a member currently holds in a group."""
    return set(session.scalars(
        select(Answer.option).where(
            Answer.member_id == member_id, Answer.group_id == group_id, Answer.current(now),
        )
    ))


def mark_due(session: Session, group_id: int, now: datetime) -> None:
    """Ask the engine to look at this group again at the next tick."""
    group = session.get(Group, group_id)
    if group is not None and (group.pairing_due_at is None or group.pairing_due_at > now):
        group.pairing_due_at = now


def open_pairings(session: Session, member: Member, now: datetime) -> tuple[PairingInfo, ...]:
    """The member's offered and active pairings, and those ended lately, seen from their side.

    Ended ones are there so a late "@Ana" can be answered honestly ("can't receive").
    """
    rows = session.execute(
        select(Pairing, Group.keyword).join(Group, Group.id == Pairing.group_id).where(
            or_(Pairing.status.in_(OPEN),
                (Pairing.status == "ended") & (Pairing.ended_at > now - RECENTLY_ENDED)),
            or_(Pairing.requester_id == member.id, Pairing.supporter_id == member.id),
        ).order_by(Pairing.id)
    ).all()
    infos = []
    for pairing, keyword in rows:
        mine_to_give = pairing.supporter_id == member.id
        other = session.get(Member, pairing.requester_id if mine_to_give else pairing.supporter_id)
        infos.append(PairingInfo(
            id=pairing.id, group_id=pairing.group_id, keyword=keyword, kind=pairing.kind,
            role="supporter" if mine_to_give else "requester",
            other_name=display_name(other, _language(member)), status=pairing.status,
            cadence_days=pairing.cadence_days,
        ))
    return tuple(infos)


def people_finder(session: Session, member: Member, group_ids: list[int]):
    """A lookup of people in the member's groups by name prefix (never the member themselves)."""

    def find(name: str) -> tuple[PersonInfo, ...]:
        wanted = name.strip().casefold()
        if not wanted or not group_ids:
            return ()
        rows = session.execute(
            select(Member.id, Member.name, Membership.group_id)
            .join(Membership, Membership.member_id == Member.id)
            .where(Membership.group_id.in_(group_ids), Membership.status == "active",
                   Member.id != member.id, Member.name.is_not(None))
        ).all()
        exact = [PersonInfo(i, n, g) for i, n, g in rows if n.casefold() == wanted]
        return tuple(exact or [PersonInfo(i, n, g) for i, n, g in rows if n.casefold().startswith(wanted)])

    return find


def tell(session: Session, member: Member | None, key: str, now: datetime, group_id: int | None, **params) -> None:
    """A text carebot starts for another member's sake: by day, with consent re-checked."""
    if member is not None:
        tell_text(session, member, render(key, _language(member), **params), now, group_id)


def tell_text(session: Session, member: Member | None, text: str, now: datetime, group_id: int | None) -> None:
    """Like :func:`tell`, with the text already written in the member's language."""
    if member is not None and not member.opted_out:
        push(session, member, text, now, group_id)


def _tell_coordinators(session: Session, group_id: int, key: str, now: datetime, **params) -> None:
    tell_coordinators(session, group_id, now, lambda coordinator: render(key, _language(coordinator), **params))


def _cadence(days: int, language: str) -> str:
    return render("care.days", language, n=days)


def flooding(session: Session, member: Member, now: datetime) -> bool:
    """True when the member has texted past the flood limit; coordinators hear of it once."""
    recent = session.scalar(select(func.count()).select_from(InboundMessage).where(
        InboundMessage.member_id == member.id, InboundMessage.received_at > now - FLOOD_WINDOW))
    if recent <= FLOOD_LIMIT:
        return False
    if member.flood_told_at is None or member.flood_told_at <= now - FLOOD_WINDOW:
        groups = session.scalars(select(Membership.group_id).where(
            Membership.member_id == member.id, Membership.status == "active")).all()
        for group_id in groups:
            group = session.get(Group, group_id)
            _tell_coordinators(session, group_id, "flood.coordinators", now, keyword=group.keyword,
                               name=display_name(member, group.language))
        log.warning("member %s is past the flood limit; replies held", member.id)
    member.flood_told_at = now
    return True


def open_requests(session: Session, group_id: int, now: datetime) -> list[tuple[int, int]]:
    """(member, option) for every current request for care in the group, oldest first."""
    return [tuple(row) for row in session.execute(
        select(Answer.member_id, Answer.option).join(Member, Member.id == Answer.member_id).where(
            Answer.group_id == group_id, Answer.option.in_((REACH_OUT_TO_ME, WANT_COMPANY)),
            Answer.current(now), Member.opted_out.is_(False)).order_by(Answer.since))]


def pulse_text(session: Session, group: Group, language: str, now: datetime) -> str:
    """The group's anonymous state: how many asked for care, offered it, rest, are paired, wait."""
    rows = session.execute(
        select(Answer.member_id, Answer.option).join(Member, Member.id == Answer.member_id)
        .join(Membership, (Membership.member_id == Answer.member_id) & (Membership.group_id == group.id))
        .where(Answer.group_id == group.id, Answer.current(now), Membership.status == "active",
               Member.opted_out.is_(False))).all()
    asked = {m for m, o in rows if o in (REACH_OUT_TO_ME, WANT_COMPANY)}
    offered = {m for m, o in rows if o in SERVES}
    resting = {m for m, o in rows if o == UNAVAILABLE}
    open_pairs = session.execute(select(Pairing.requester_id, Pairing.kind, Pairing.status).where(
        Pairing.group_id == group.id, Pairing.status.in_(OPEN))).all()
    paired = {r for r, _, status in open_pairs if status == "active"}
    served = {(r, k) for r, k, _ in open_pairs}
    waiting = {m for m, o in rows if o in (REACH_OUT_TO_ME, WANT_COMPANY) and (m, o) not in served}
    return render("pulse", language, keyword=group.keyword, asked=len(asked), offered=len(offered),
                  resting=len(resting), paired=len(paired), waiting=len(waiting))


def remove_from_group(session: Session, member: Member, group_id: int, now: datetime) -> None:
    """The coordinators removed the member: their answers end, their pairings end with word to the
    other side, and their questions about the group go."""
    for answer in session.scalars(select(Answer).where(Answer.member_id == member.id, Answer.group_id == group_id,
                                                       Answer.ended_at.is_(None))):
        answer.ended_at = now
    _end_pairings(session, member, now, Pairing.group_id == group_id)
    if questions.drop_for_group(session, member, group_id):
        questions.ask_next(session, member, now)


# --- rounds -------------------------------------------------------------------


def next_round(group: Group, after: datetime) -> datetime:
    """The next go-around time on the group's schedule, strictly after ``after``."""
    trigger = CronTrigger.from_crontab(group.round_schedule, timezone=group.timezone)
    return trigger.get_next_fire_time(None, after + timedelta(seconds=1))


def start_round(
    session: Session, group: Group, now: datetime, *, default_tz: str = "UTC", skip_recent: bool = True
) -> int:
    """Ask every consented member the go-around in one short text; returns how many were asked.

    On the schedule, members who answered in the last few days are not nagged; a
    coordinator's ROUND asks everyone. Written in bulk, because a federation's round
    reaches tens of thousands of members.
    """
    answered: set[int] = set()
    if skip_recent:
        answered = set(session.scalars(
            select(Answer.member_id).where(Answer.group_id == group.id, Answer.since >= now - RECENTLY_ANSWERED)
        ))
    rows = session.execute(
        select(Member.id, Member.language, Member.channel, Member.phone, Member.signal_uuid,
               Member.timezone, Member.day_starts, Member.day_ends, Membership.id)
        .join(Membership, Membership.member_id == Member.id)
        .where(Membership.group_id == group.id, Membership.status == "active", Member.opted_out.is_(False))
    ).all()
    prompts: dict[str, str] = {}
    mornings: dict[tuple, datetime] = {}
    outbox, asked = [], []
    for member_id, language, channel, phone, signal_uuid, zone, starts, ends, membership_id in rows:
        if member_id in answered:
            continue
        address = signal_uuid if channel == "signal" else phone
        if address is None:
            continue
        language = language or group.language
        if language not in prompts:
            prompts[language] = goaround.prompt(language, group.keyword)
        key = (zone, starts, ends)
        if key not in mornings:
            tz, day_starts, day_ends = daytime(zone, starts, ends, group, default_tz)
            mornings[key] = next_daytime(now, tz, day_starts, day_ends)
        outbox.append({
            "member_id": member_id, "group_id": group.id, "channel": channel, "address": address,
            "body": prompts[language], "purpose": PUSH, "status": "pending",
            "not_before": mornings[key], "attempts": 0, "created_at": now,
        })
        asked.append(membership_id)
    if outbox:
        session.execute(insert(OutboxMessage), outbox)
    for start in range(0, len(asked), 900):
        session.execute(update(Membership).where(Membership.id.in_(asked[start:start + 900]))
                        .values(last_asked_at=now))
    log.info("round for group %s: %d members asked", group.id, len(outbox))
    return len(outbox)


def start_due_rounds(session: Session, now: datetime, default_tz: str = "UTC") -> int:
    """Start each group's round whose time has come, once, and schedule the next one.

    A round missed while carebot was down runs once when it is back (its texts
    still wait for daytime), never once per missed week.
    """
    started = 0
    groups = session.scalars(select(Group).where(or_(Group.next_round_at.is_(None), Group.next_round_at <= now)))
    for group in groups:
        if group.next_round_at is not None:
            start_round(session, group, now, default_tz=default_tz)
            # The coordinators' short weekly pulse rides on the group's own schedule.
            for coordinator in coordinators_of(session, group.id):
                tell_text(session, coordinator, pulse_text(session, group, _language(coordinator), now),
                          now, group.id)
            started += 1
        group.next_round_at = next_round(group, now)
    return started


# --- planning pairings --------------------------------------------------------


def plan_group(session: Session, group: Group, now: datetime) -> int:
    """Run the engine for one group and send offers; returns how many offers went out."""
    group.pairing_due_at = None
    members = {
        m.id: m for m in session.scalars(
            select(Member).join(Membership, Membership.member_id == Member.id).where(
                Membership.group_id == group.id, Membership.status == "active", Member.opted_out.is_(False))
        )
    }
    answers = session.scalars(
        select(Answer).where(Answer.group_id == group.id, Answer.current(now))
    ).all()
    pairings = session.scalars(select(Pairing).where(Pairing.group_id == group.id)).all()
    served = {(p.requester_id, p.kind) for p in pairings if p.status in OPEN}
    load: dict[tuple[int, int], int] = defaultdict(int)
    for p in pairings:
        if p.status in OPEN:
            load[(p.supporter_id, p.kind)] += 1
    requests, offers, resting, waiting_since = [], [], set(), {}
    for a in answers:
        member = members.get(a.member_id)
        if member is None:
            continue
        language = member.language or group.language
        if a.option in (REACH_OUT_TO_ME, WANT_COMPANY) and (a.member_id, a.option) not in served:
            requests.append(Request(a.member_id, group.id, a.option, language, a.since))
            waiting_since[(a.member_id, a.option)] = a
        elif a.option in SERVES:
            offers.append(Offer(a.member_id, group.id, a.option, a.capacity or 1, language,
                                load=load[(a.member_id, SERVES[a.option])]))
        elif a.option == UNAVAILABLE:
            resting.add(a.member_id)
    _tell_unanswered_offers(session, group, answers, pairings, members, now)
    # Nobody's request goes 24 daytime hours without word (the first word is below: a day after asking).
    if (again := care_requests.tell_still_waiting(session, group, answers, pairings, members, now, tell)) is not None:
        _look_again_at(group, again)
    if not requests:
        return 0
    recent: dict[tuple[int, int], datetime] = {}
    declined = set()
    # When a pair kept apart (a decline, a DONE, an UNPAIR) may be paired again: the engine looks then.
    apart_until: list[datetime] = []
    # Requests whose candidates said no or let an offer lapse since they were made.
    tried: set[tuple[int, int]] = set()
    for p in pairings:
        answer = waiting_since.get((p.requester_id, p.kind))
        if answer is not None and p.status in ("declined", "expired", "ended") and p.ended_at is not None \
                and p.ended_at >= answer.since:
            tried.add((p.requester_id, p.kind))
        if p.status in ("active", "ended") and p.offered_at >= now - RECENT_PAIRING:
            key = (p.requester_id, p.supporter_id)
            recent[key] = max(recent.get(key, p.offered_at), p.offered_at)
        # A supporter who said no or let the offer lapse is not asked again soon; an offer withdrawn
        # because the requester stopped asking says nothing about the supporter.
        if (p.status in ("declined", "expired") and p.end_reason not in ("request_ended", "left")
                and p.offered_at >= now - DECLINE_MEMORY):
            declined.add((p.requester_id, p.supporter_id))
            apart_until.append(p.offered_at + DECLINE_MEMORY)
        if (p.status in ("ended", "expired") and p.end_reason in KEEP_APART and p.ended_at is not None
                and p.ended_at > now - timedelta(days=group.pair_again_after_days)):
            declined.add((p.requester_id, p.supporter_id))
            apart_until.append(p.ended_at + timedelta(days=group.pair_again_after_days))
    not_with = {
        (a, b) for a, b in session.execute(
            select(NotWith.member_id, NotWith.other_id).where(NotWith.member_id.in_(list(members)))
        ) if b in members
    }
    proposal = propose(
        PairingState(requests=tuple(requests), offers=tuple(offers), now=now, resting=frozenset(resting),
                     recent=recent, declined=frozenset(declined), not_with=frozenset(not_with)),
        seed=group.id,
    )
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
    later = [when for when in apart_until if when > now]
    if proposal.unmatched and later:
        _look_again_at(group, min(later))
    newly_waiting = []
    waiting = [(u.requester_id, u.kind) for u in proposal.unmatched] + held
    for requester_id, kind in waiting:
        answer = waiting_since.get((requester_id, kind))
        if answer is None or answer.told_waiting_at is not None:
            continue
        # Honest word a day after asking, or as soon as every candidate has said no (by day: it is a push).
        tell_at = now if (requester_id, kind) in tried else answer.since + WAITING_GRACE
        if tell_at > now:
            # A supporter may still come forward; if not, the member hears it honestly then.
            _look_again_at(group, tell_at)
            continue
        answer.told_waiting_at = now
        requester = members[requester_id]
        _look_again_at(group, care_requests.word_again_at(session, group, requester, now))
        tell(session, requester, care_requests.WAITING_TEXT[kind], now, group.id, keyword=group.keyword)
        newly_waiting.append(requester)
    if newly_waiting:
        # Coordinators hear once per newcomer to the wait, with how many are waiting in all.
        for coordinator in coordinators_of(session, group.id):
            language = _language(coordinator)
            tell(session, coordinator, care_requests.COORDINATORS_TEXT, now, group.id, keyword=group.keyword,
                 requester=", ".join(display_name(m, language) for m in newly_waiting),
                 count=len(waiting))
    return sent


def _tell_unanswered_offers(session: Session, group: Group, answers, pairings, members, now: datetime) -> None:
    """A request whose offer is still unanswered is not silent either: a day after asking, the
    member hears nobody has said yes yet (once), and the offer goes on."""
    offered = {(p.requester_id, p.kind) for p in pairings if p.status == "offered"}
    active = {(p.requester_id, p.kind) for p in pairings if p.status == "active"}
    for answer in answers:
        key = (answer.member_id, answer.option)
        if key not in offered or key in active or answer.told_waiting_at is not None or answer.member_id not in members:
            continue
        if answer.since + WAITING_GRACE > now:
            _look_again_at(group, answer.since + WAITING_GRACE)
            continue
        answer.told_waiting_at = now
        _look_again_at(group, care_requests.word_again_at(session, group, members[answer.member_id], now))
        tell(session, members[answer.member_id], care_requests.WAITING_TEXT[answer.option], now, group.id,
             keyword=group.keyword)


def _look_again_at(group: Group, when: datetime) -> None:
    if group.pairing_due_at is None or group.pairing_due_at > when:
        group.pairing_due_at = when


def offer(session: Session, group: Group, requester: Member, supporter: Member, kind: int, now: datetime,
          *, again: bool = False) -> None:
    tz, starts, ends = member_timezone(session, supporter, group.id, group.timezone)
    respond_by = next_daytime(now, tz, starts, ends) + OFFER_WINDOW
    pairing = Pairing(group_id=group.id, requester_id=requester.id, supporter_id=supporter.id, kind=kind,
                      status="offered", offered_at=now, respond_by=respond_by,
                      cadence_days=DEFAULT_CADENCE_DAYS, missed_checkins=0)
    session.add(pairing)
    session.flush()
    request = session.scalars(select(Answer).where(
        Answer.member_id == requester.id, Answer.group_id == group.id, Answer.option == kind, Answer.current(now))).first()
    if request is not None and request.told_waiting_at is None:
        _look_again_at(group, request.since + WAITING_GRACE)  # a day on, the requester hears if nobody said yes
    language = _language(supporter)
    key = f"care.offer.again.{kind}" if again else f"care.offer.{kind}"  # a coordinators' PAIR after a NO
    prompt = render(key, language, requester=display_name(requester, language),
                    keyword=group.keyword, how=_how_of(session, requester.id, group.id, kind, now))
    questions.ask(session, supporter, Waiting("pairing", "offer", {"pairing_id": pairing.id}, respond_by), prompt,
                  now, group_id=group.id, rank=questions.CARE)


def plan_due_groups(session: Session, now: datetime) -> int:
    """Plan every group something changed in."""
    groups = session.scalars(select(Group).where(Group.pairing_due_at <= now)).all()
    return sum(plan_group(session, group, now) for group in groups)


# --- check-ins ----------------------------------------------------------------


def send_due_checkins(session: Session, now: datetime) -> int:
    """Remind supporters whose check-in has come; the follow-up question comes later."""
    due = session.scalars(
        select(Pairing).where(Pairing.status == "active", Pairing.next_checkin_at <= now)
    ).all()
    for pairing in due:
        supporter = session.get(Member, pairing.supporter_id)
        requester = session.get(Member, pairing.requester_id)
        language = _language(supporter)
        tell(session, supporter, "care.checkin", now, pairing.group_id,
              requester=display_name(requester, language),
              how=_how_of(session, pairing.requester_id, pairing.group_id, pairing.kind, now))
        pairing.next_checkin_at = now + timedelta(days=pairing.cadence_days)
        pairing.followup_at = now + FOLLOWUP_DELAY
    return len(due)


def ask_due_followups(session: Session, now: datetime) -> int:
    """Ask supporters whether they connected, one question at a time."""
    due = session.scalars(
        select(Pairing).where(Pairing.status == "active", Pairing.followup_at <= now)
    ).all()
    taken = busy(session, {p.supporter_id for p in due}, now, rank=questions.CARE)
    asked = 0
    for pairing in due:
        if pairing.supporter_id in taken:
            pairing.followup_at = now + BUSY_RETRY
            continue
        taken.add(pairing.supporter_id)
        supporter = session.get(Member, pairing.supporter_id)
        requester = session.get(Member, pairing.requester_id)
        prompt = render("care.followup", _language(supporter), requester=display_name(requester, _language(supporter)))
        tz, starts, ends = member_timezone(session, supporter, pairing.group_id, "UTC")
        until = next_daytime(now, tz, starts, ends) + FOLLOWUP_WAIT
        questions.ask(session, supporter, Waiting("checkin", "followup", {"pairing_id": pairing.id}, until), prompt,
                      now, group_id=pairing.group_id, rank=questions.CARE)
        pairing.followup_at = None
        asked += 1
    return asked


# --- ending pairings ----------------------------------------------------------


def end_pairing(session: Session, pairing: Pairing, reason: str, now: datetime, *, by: int | None = None) -> None:
    """Close a pairing; the engine will look at the group again.

    ``by`` is the member whose own text ended it. Every question about the pairing
    ends with it; a supporter still asked about it hears that it is no longer open
    (unless they ended it themselves), and is asked their next question.
    """
    was = pairing.status
    pairing.status = "ended" if was == "active" else "expired"
    pairing.ended_at = now
    pairing.end_reason = reason
    pairing.next_checkin_at = None
    pairing.followup_at = None
    mark_due(session, pairing.group_id, now)
    for member_id in (pairing.supporter_id, pairing.requester_id):
        member = session.get(Member, member_id)
        if member is None:
            continue
        was_asked = questions.withdraw(session, member, "pairing_id", pairing.id)
        if was == "offered" and member_id == pairing.supporter_id and member_id != by:
            group = session.get(Group, pairing.group_id)
            tell(session, member, "care.offer.withdrawn", now, group.id, keyword=group.keyword,
                 requester=display_name(session.get(Member, pairing.requester_id), _language(member)))
        if was_asked and member_id != by:
            questions.ask_next(session, member, now)  # the member's own text asks it after its reply
    log.info("pairing %s ended (%s)", pairing.id, reason)


def request_still_open(session: Session, pairing: Pairing, now: datetime) -> bool:
    """Whether the requester still asks for this care once the pairing is over."""
    return pairing.kind in current_options(session, pairing.requester_id, pairing.group_id, now)


def capacities(session: Session, member_id: int, group_id: int, now: datetime) -> dict[int, int]:
    """How many people a member now offers to support, by the kind of request (0 when resting)."""
    rows = session.execute(select(Answer.option, Answer.capacity).where(
        Answer.member_id == member_id, Answer.group_id == group_id, Answer.current(now))).all()
    if any(option == UNAVAILABLE for option, _ in rows):
        return {}
    return {SERVES[option]: capacity or 1 for option, capacity in rows if option in SERVES}


def reconcile(session: Session, member: Member, group_id: int, now: datetime) -> None:
    """After a member's answers changed or lapsed: end the pairings their answers no longer hold up.

    A requester's pairing ends with their request; a supporter keeps no more pairings than
    they now offer (none while resting), the newest ending first.
    """
    options = current_options(session, member.id, group_id, now)
    pairings = session.scalars(
        select(Pairing).where(Pairing.group_id == group_id, Pairing.status.in_(OPEN),
                              or_(Pairing.requester_id == member.id, Pairing.supporter_id == member.id))
        .order_by(Pairing.status, Pairing.id)  # "active" before "offered", oldest first
    ).all()
    room = capacities(session, member.id, group_id, now)
    for pairing in pairings:
        if pairing.requester_id == member.id:
            if pairing.kind not in options:
                if pairing.status == "active":
                    supporter = session.get(Member, pairing.supporter_id)
                    tell(session, supporter, "care.ended", now, group_id,
                          other=display_name(member, _language(supporter)))
                end_pairing(session, pairing, "request_ended", now, by=member.id)
        elif room.get(pairing.kind, 0) > 0:
            room[pairing.kind] -= 1
        else:
            if pairing.status == "active":
                requester = session.get(Member, pairing.requester_id)
                tell(session, requester, "care.ended.rest", now, group_id,
                      supporter=display_name(member, _language(requester)))
            end_pairing(session, pairing, "offer_ended", now, by=member.id)
    mark_due(session, group_id, now)


def end_all(session: Session, member: Member, now: datetime) -> None:
    """The member left (STOP or FORGET): end their pairings and tell the other side."""
    _end_pairings(session, member, now, by=member.id)


def _end_pairings(session: Session, member: Member, now: datetime, *where, by: int | None = None) -> None:
    pairings = session.scalars(
        select(Pairing).where(Pairing.status.in_(OPEN),
                              or_(Pairing.requester_id == member.id, Pairing.supporter_id == member.id), *where)
    ).all()
    for pairing in pairings:
        other_id = pairing.supporter_id if pairing.requester_id == member.id else pairing.requester_id
        other = session.get(Member, other_id)
        active = pairing.status == "active"
        end_pairing(session, pairing, "left", now, by=by)
        if active:
            _tell_ended(session, pairing, other, member, now)


def _tell_ended(session: Session, pairing: Pairing, told: Member, other: Member, now: datetime,
                key: str = "care.ended") -> None:
    """Tell ``told`` their pairing with ``other`` ended; a requester also hears whether their request is still open."""
    name = display_name(other, _language(told))
    if told.id == pairing.requester_id and request_still_open(session, pairing, now):
        group = session.get(Group, pairing.group_id)
        tell(session, told, f"{key}.open", now, group.id, other=name, keyword=group.keyword)
    else:
        tell(session, told, key, now, pairing.group_id, other=name)


# --- applying what members said -----------------------------------------------


def _mine(session: Session, member: Member, pairing_id: int, *, as_: str) -> Pairing | None:
    pairing = session.get(Pairing, pairing_id)
    if pairing is None:
        return None
    owner = pairing.supporter_id if as_ == "supporter" else pairing.requester_id
    return pairing if owner == member.id else None


def apply(session: Session, member: Member, effect: Effect, now: datetime) -> list[str]:
    """Carry out one care effect; returns texts for the member who caused it."""
    language = _language(member)
    match effect:
        case CrisisNoted(group_ids):
            for group_id in group_ids or (None,):
                session.add(CareFlag(member_id=member.id, group_id=group_id, category="crisis", at=now))
            log.info("member %s: crisis words answered with resources", member.id)
            return []
        case CallRequested(group_ids):
            return _call(session, member, group_ids, now)
        case Relayed(pairing_id, text):
            return _relay(session, member, pairing_id, text, now)
        case PrivacyChanged(group_id, private):
            for answer in session.scalars(select(Answer).where(
                    Answer.member_id == member.id, Answer.group_id == group_id, Answer.ended_at.is_(None),
                    Answer.option.in_((REACH_OUT_TO_ME, WANT_COMPANY)))):
                answer.private = private
            return []
        case OfferAnswered(pairing_id, accepted):
            pairing = _mine(session, member, pairing_id, as_="supporter")
            if pairing is None or pairing.status != "offered":
                return [render("yes.nothing" if accepted else "no.nothing", language)] if accepted is not None else []
            if accepted:
                return _accept(session, member, pairing, now)
            pairing.status = "declined" if accepted is False else "expired"
            pairing.ended_at = now
            mark_due(session, pairing.group_id, now)
            if accepted is None:
                return []
            return [render("care.declined", language,
                           requester=display_name(session.get(Member, pairing.requester_id), language))]
        case CheckinAnswered(pairing_id, outcome):
            pairing = _mine(session, member, pairing_id, as_="supporter")
            if pairing is None or pairing.status != "active":
                return []
            return _checkin(session, member, pairing, outcome, now)
        case RematchAnswered(pairing_id, wanted):
            pairing = _mine(session, member, pairing_id, as_="requester")
            if pairing is None or pairing.status != "active" or wanted is None:
                return []
            supporter = session.get(Member, pairing.supporter_id)
            name = display_name(supporter, language)
            if wanted:
                tell(session, supporter, "care.ended", now, pairing.group_id,
                      other=display_name(member, _language(supporter)))
                end_pairing(session, pairing, "rematch", now, by=member.id)
                return [render("care.rematch.yes", language)]
            return [render("care.rematch.no", language, supporter=name)]
        case PairingEnded(pairing_id):
            pairing = session.get(Pairing, pairing_id)
            if pairing is None or member.id not in (pairing.requester_id, pairing.supporter_id):
                return [render("care.done.none", language)]
            other = session.get(Member, pairing.supporter_id if pairing.requester_id == member.id
                                else pairing.requester_id)
            if pairing.requester_id == member.id:
                # The requester is done: their request ends with the pairing.
                for answer in session.scalars(select(Answer).where(
                        Answer.member_id == member.id, Answer.group_id == pairing.group_id,
                        Answer.option == pairing.kind, Answer.ended_at.is_(None))):
                    answer.ended_at = now
            end_pairing(session, pairing, "done", now, by=member.id)
            _tell_ended(session, pairing, other, member, now)
            if pairing.requester_id != member.id or not request_still_open(session, pairing, now):
                return [render("care.ended", language, other=display_name(other, language))]
            group = session.get(Group, pairing.group_id)
            return [render("care.ended.open", language, other=display_name(other, language), keyword=group.keyword)]
        case NotWithAdded(other_id):
            exists = session.scalar(select(NotWith.id).where(NotWith.member_id == member.id,
                                                             NotWith.other_id == other_id))
            if exists is None:
                session.add(NotWith(member_id=member.id, other_id=other_id, created_at=now))
            for pairing in session.scalars(select(Pairing).where(
                    Pairing.status.in_(OPEN),
                    or_((Pairing.requester_id == member.id) & (Pairing.supporter_id == other_id),
                        (Pairing.requester_id == other_id) & (Pairing.supporter_id == member.id)))):
                if pairing.status == "active":
                    # The other side hears that it ended, never why.
                    other = session.get(Member, other_id)
                    tell(session, other, "care.ended", now, pairing.group_id,
                         other=display_name(member, _language(other)))
                end_pairing(session, pairing, "not_with", now, by=member.id)
            return []
        case CadenceChanged(pairing_id, days):
            pairing = session.get(Pairing, pairing_id)
            if pairing is not None and member.id in (pairing.requester_id, pairing.supporter_id):
                pairing.cadence_days = days
                pairing.next_checkin_at = now + timedelta(days=days)
            return []
        case DaytimeChanged(starts, ends):
            member.day_starts, member.day_ends = starts, ends
            return []
        case RoundStarted(group_id):
            group = session.get(Group, group_id)
            count = start_round(session, group, now, skip_recent=False)
            record(session, group_id, member.id, "round", now)
            return [render("round.started", language, keyword=group.keyword, count=count)]
    return []


def is_private(session: Session, requester_id: int, group: Group, kind: int, now: datetime) -> bool:
    """Whether a request keeps the requester's number with carebot: their choice, else the group's."""
    answer = session.scalars(select(Answer).where(
        Answer.member_id == requester_id, Answer.group_id == group.id, Answer.option == kind,
        Answer.current(now))).first()
    if answer is not None and answer.private is not None:
        return answer.private
    return group.private_default


def _accept(session: Session, supporter: Member, pairing: Pairing, now: datetime) -> list[str]:
    pairing.status = "active"
    pairing.started_at = now
    pairing.respond_by = None
    pairing.next_checkin_at = now + timedelta(days=pairing.cadence_days)
    group = session.get(Group, pairing.group_id)
    requester = session.get(Member, pairing.requester_id)
    language = _language(supporter)
    requester_name = display_name(requester, language)
    supporter_name = display_name(supporter, _language(requester))
    how = _how_of(session, requester.id, group.id, pairing.kind, now)
    cadence = _cadence(pairing.cadence_days, language)
    # Without a number to share (private, or Signal only), they talk through carebot.
    if is_private(session, requester.id, group, pairing.kind, now) or not requester.phone:
        tell(session, requester, f"care.accepted.requester.{pairing.kind}.private", now, group.id,
             supporter=supporter_name, keyword=group.keyword)
        return [render("care.accepted.supporter.private", language, requester=requester_name, how=how,
                       cadence=cadence)]
    tell(session, requester, f"care.accepted.requester.{pairing.kind}", now, group.id,
         supporter=supporter_name, keyword=group.keyword)
    return [render("care.accepted.supporter", language, requester=requester_name, contact=requester.phone,
                   how=how, cadence=cadence)]


def _call(session: Session, member: Member, group_ids: tuple[int, ...], now: datetime) -> list[str]:
    """CALL: the member asked for someone from their group; only now are the on-call people told."""
    language = _language(member)
    session.add(ConsentEvent(member_id=member.id, kind="call", channel=member.channel,
                             wording="CALL: tell my group's on-call people, with my number", at=now))
    told, later = 0, False
    keywords = []
    for group_id in group_ids:
        group = session.get(Group, group_id)
        keywords.append(group.keyword)
        session.add(CareFlag(member_id=member.id, group_id=group_id, category="call", at=now))
        for person in coordinators_of(session, group_id):
            if person.id == member.id:
                continue
            row = push(session, person, render(
                "crisis.call.oncall", _language(person), name=display_name(member, _language(person)),
                keyword=group.keyword, contact=member.phone or render("care.no_number", _language(person))),
                now, group_id)
            if row is not None:
                told += 1
                later = later or row.not_before > now
    log.info("member %s asked for a CALL; %d on-call people told", member.id, told)
    if not told:
        return [render("crisis.call.nobody", language, resources=_resources(session, group_ids, language))]
    key = "crisis.call.later" if later else "crisis.call.sent"
    return [render(key, language, keywords=", ".join(keywords),
                   resources=_resources(session, group_ids, language))]


def _resources(session: Session, group_ids: tuple[int, ...], language: str) -> str:
    from carebot.flows.crisis import DEFAULT_RESOURCES

    listed = [g.crisis_resources.strip() for g in (session.get(Group, i) for i in group_ids)
              if g is not None and g.crisis_resources.strip()]
    return "; ".join(dict.fromkeys(listed)) or DEFAULT_RESOURCES.get(language, DEFAULT_RESOURCES["en"])


def _relay(session: Session, sender: Member, pairing_id: int, text: str, now: datetime) -> list[str]:
    """Deliver a member's words to the other member of their pairing, by day, keeping no copy."""
    language = _language(sender)
    pairing = session.get(Pairing, pairing_id)
    if pairing is None or pairing.status != "active" or sender.id not in (pairing.requester_id, pairing.supporter_id):
        return [render("care.done.none", language)]
    other = session.get(Member, pairing.supporter_id if pairing.requester_id == sender.id else pairing.requester_id)
    other_name = display_name(other, language)
    if other.opted_out or address_on(other, other.channel) is None:
        return [render("relay.cannot", language, name=other_name)]
    group = session.get(Group, pairing.group_id)
    row = push(session, other, render("relay.message", _language(other), name=display_name(sender, _language(other)),
                                      keyword=group.keyword, text=text), now, group.id)
    # The other can answer plainly for a while after it reaches them, if no question is open.
    if other.id not in busy(session, [other.id], now):
        set_waiting(session, other.id, Waiting("relay", "open", {"pairing_id": pairing.id, "_rank": questions.LOW},
                                               row.not_before + REPLY_WINDOW), now)
    if row.not_before > now:
        return [render("relay.later", language, name=other_name)]
    return [render("relay.sent", language, name=other_name)]


def _checkin(session: Session, supporter: Member, pairing: Pairing, outcome: str, now: datetime) -> list[str]:
    language = _language(supporter)
    if outcome == "yes":
        pairing.missed_checkins = 0
        # "Next check-in in 7 days" is counted from this answer, as the text says.
        pairing.next_checkin_at = now + timedelta(days=pairing.cadence_days)
        return [render("care.followup.yes", language, cadence=_cadence(pairing.cadence_days, language))]
    if outcome == "later":
        pairing.followup_at = tomorrow_by_day(now, *member_timezone(session, supporter, pairing.group_id, "UTC"))
        return [render("care.followup.later", language)]
    pairing.missed_checkins += 1
    if pairing.missed_checkins >= MISSED_LIMIT:
        pairing.missed_checkins = 0
        _offer_someone_else(session, pairing, now)
    return [render("care.followup.no", language)] if outcome == "no" else []


def tomorrow_by_day(now: datetime, tz, starts: int, ends: int) -> datetime:
    """A day from now, moved into the member's daytime on that same day: "tomorrow" stays tomorrow."""
    local = (now + LATER_DELAY).astimezone(tz)
    if local.hour >= ends:
        local = local.replace(hour=max(starts, ends - 1), minute=0, second=0, microsecond=0)
    elif local.hour < starts:
        local = local.replace(hour=starts, minute=0, second=0, microsecond=0)
    return local


def _offer_someone_else(session: Session, pairing: Pairing, now: datetime) -> None:
    group = session.get(Group, pairing.group_id)
    requester = session.get(Member, pairing.requester_id)
    supporter = session.get(Member, pairing.supporter_id)
    language = _language(requester)
    prompt = render("care.rematch.ask", language, supporter=display_name(supporter, language), keyword=group.keyword)
    tz, starts, ends = member_timezone(session, requester, group.id, group.timezone)
    until = next_daytime(now, tz, starts, ends) + FOLLOWUP_WAIT
    questions.ask(session, requester, Waiting("pairing", "rematch", {"pairing_id": pairing.id}, until), prompt,
                  now, group_id=group.id, rank=questions.CARE)
    _tell_coordinators(session, group.id, "care.coord.missed", now, keyword=group.keyword,
                       supporter=display_name(supporter, group.language),
                       requester=display_name(requester, group.language))


# --- the ticker's share ---------------------------------------------------------


def run_due(session: Session, now: datetime, default_tz: str = "UTC") -> int:
    """Rounds, check-ins, follow-ups and pairing plans that have fallen due."""
    return (start_due_rounds(session, now, default_tz) + send_due_checkins(session, now)
            + ask_due_followups(session, now) + plan_due_groups(session, now))


def next_due(session: Session) -> list[datetime | None]:
    """When each kind of care work is next due (for the simulation's clock)."""
    return [
        session.scalar(select(Group.next_round_at).where(Group.next_round_at.is_not(None))
                       .order_by(Group.next_round_at).limit(1)),
        session.scalar(select(Group.pairing_due_at).where(Group.pairing_due_at.is_not(None))
                       .order_by(Group.pairing_due_at).limit(1)),
        session.scalar(select(Pairing.next_checkin_at).where(Pairing.status == "active",
                       Pairing.next_checkin_at.is_not(None)).order_by(Pairing.next_checkin_at).limit(1)),
        session.scalar(select(Pairing.followup_at).where(Pairing.status == "active",
                       Pairing.followup_at.is_not(None)).order_by(Pairing.followup_at).limit(1)),
    ]

