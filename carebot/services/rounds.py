"""The go-around: each group's round on its schedule (or a coordinator's ROUND), and the pulse.

A round asks every consented member the one question in one short text, by day; the
coordinators' weekly pulse rides on it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from carebot.domain.daytime import next_daytime
from carebot.domain.i18n import render
from carebot.domain.vocabulary import (
    OPEN_PAIRINGS,
    REQUESTS,
    SERVES,
    UNAVAILABLE,
    MembershipStatus,
    OutboxStatus,
    PairingStatus,
)
from carebot.flows import goaround
from carebot.flows.base import RoundStarted
from carebot.flows.coord import describe_when
from carebot.outbox.write import PUSH, daytime
from carebot.services.effects import Act, Outcome, handles
from carebot.services.people import display_name, language_of, tell_text
from carebot.store.models import Answer, CoordAction, Group, Member, Membership, OutboxMessage, Pairing
from carebot.store.queries import coordinators_of, existing
from carebot.store.transparency import record

log = logging.getLogger(__name__)

RECENTLY_ANSWERED = timedelta(days=6)  # not asked again in the next round
# An answer's lapse asks "how are you now? Reply 1-5" (goaround.lapsed) and says what ended: when that text
# goes the same day as the round's menu (an answer "for a week" given to last Monday's round lapses a little
# after this Monday's menu; one that ran out overnight is told this morning), the menu would ask the same
# again, so it is held back for that member (one text). Lapses this near the round are looked at.
RECENTLY_LAPSED = timedelta(days=1)
# Two coordinators sending ROUND (or the same ANNOUNCE) in the same minute: members get it once, and
# the second hears when it went out and by whom (outside9). Twelve hours: a day's ROUND is not sent twice.
SENT_ONCE_WITHIN = timedelta(hours=12)


def next_round(group: Group, after: datetime) -> datetime:
    """The next go-around time on the group's schedule, strictly after ``after``."""
    trigger = CronTrigger.from_crontab(group.round_schedule, timezone=group.timezone)
    return trigger.get_next_fire_time(None, after + timedelta(seconds=1))


def start_round(
    session: Session, group: Group, now: datetime, *, default_tz: str = "UTC", skip_recent: bool = True
) -> int:
    """Ask every consented member the go-around in one short text; returns how many were asked."""
    return len(ask_round(session, group, now, default_tz=default_tz, skip_recent=skip_recent))


def ask_round(
    session: Session, group: Group, now: datetime, *, default_tz: str = "UTC", skip_recent: bool = True,
    asked_before: datetime | None = None,
) -> list[datetime]:
    """Ask every consented member the go-around in one short text; returns when each text may go
    (``now``, or the morning of a member for whom it is night).

    On the schedule, members who answered in the last few days are not nagged, nor those whose answer's
    lapse is told the same day as the menu (its text asks the same, RECENTLY_LAPSED); a coordinator's ROUND
    asks everyone (``asked_before``: everyone not asked since then). Written in bulk, because a federation's
    round reaches tens of thousands of members.
    """
    answered: set[int] = set()
    lapses: dict[int, list[datetime]] = {}
    if skip_recent:
        answered = set(session.scalars(
            select(Answer.member_id).where(Answer.group_id == group.id, Answer.since >= now - RECENTLY_ANSWERED)
        ))
        for member_id, until in session.execute(select(Answer.member_id, Answer.until).where(
                Answer.group_id == group.id, Answer.until > now - RECENTLY_LAPSED, Answer.until <= now + RECENTLY_LAPSED,
                # Lapsed (a lapse ends an answer at its own end, answers.lapse; a 0 or a new answer sooner) or lapsing.
                or_((Answer.ended_at == Answer.until) & (Answer.ended_at <= now),
                    Answer.ended_at.is_(None) & (Answer.until > now)))):
            if until is not None:
                lapses.setdefault(member_id, []).append(until)
    query = (select(Member.id, Member.language, Member.channel, Member.phone, Member.signal_uuid,
                    Member.timezone, Member.day_starts, Member.day_ends, Membership.id)
             .join(Membership, Membership.member_id == Member.id)
             .where(Membership.group_id == group.id, Membership.status == MembershipStatus.ACTIVE,
                    Member.opted_out.is_(False)))
    if asked_before is not None:
        query = query.where(or_(Membership.last_asked_at.is_(None), Membership.last_asked_at < asked_before))
    rows = session.execute(query).all()
    prompts: dict[str, str] = {}
    mornings: dict[tuple, datetime] = {}
    hours: dict[tuple, tuple[ZoneInfo, int, int]] = {}
    outbox, asked, goes_at = [], [], []
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
            hours[key] = daytime(zone, starts, ends, group, default_tz)
            mornings[key] = next_daytime(now, *hours[key])
        if member_id in lapses and any(_same_day(next_daytime(at, *hours[key]), mornings[key], hours[key][0])
                                       for at in lapses[member_id]):
            continue  # the lapse's text asks it that day
        outbox.append({
            "member_id": member_id, "group_id": group.id, "channel": channel, "address": address,
            "body": prompts[language], "purpose": PUSH, "status": OutboxStatus.PENDING,
            "not_before": mornings[key], "attempts": 0, "created_at": now,
        })
        asked.append(membership_id)
        goes_at.append(mornings[key])
    if outbox:
        session.execute(insert(OutboxMessage), outbox)
    for start in range(0, len(asked), 900):
        session.execute(update(Membership).where(Membership.id.in_(asked[start:start + 900]))
                        .values(last_asked_at=now))
    log.info("round for group %s: %d members asked", group.id, len(outbox))
    return goes_at


def recently_sent(session: Session, group: Group, action: str, now: datetime,
                  digest: str | None = None) -> CoordAction | None:
    """The coordinators' last ``action`` (with ``digest``, if given) in the group within SENT_ONCE_WITHIN."""
    query = select(CoordAction).where(CoordAction.group_id == group.id, CoordAction.action == action,
                                      CoordAction.at > now - SENT_ONCE_WITHIN)
    if digest is not None:
        query = query.where(CoordAction.digest == digest)
    return session.scalars(query.order_by(CoordAction.at.desc()).limit(1)).first()


def sent_already(key: str, session: Session, group: Group, coordinator: Member, sent: CoordAction,
                 **params: int) -> str:
    """One line to the coordinator: it went out at that time, by whom, and was not sent again."""
    language = language_of(coordinator)
    sender = session.get(Member, sent.actor_id) if sent.actor_id is not None else None
    who = display_name(sender, language) if sender is not None else render("log.former", language)
    return render(key, language, keyword=group.keyword, actor=who, hours=int(SENT_ONCE_WITHIN.total_seconds() // 3600),
                  when=describe_when(sent.at.astimezone(ZoneInfo(group.timezone)), language), **params)


def _same_day(one: datetime, other: datetime, tz: ZoneInfo) -> bool:
    return one.astimezone(tz).date() == other.astimezone(tz).date()


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
                tell_text(session, coordinator, pulse_text(session, group, language_of(coordinator), now),
                          now, group.id)
            started += 1
        group.next_round_at = next_round(group, now)
    return started


def pulse_text(session: Session, group: Group, language: str, now: datetime) -> str:
    """The group's anonymous state: how many asked for care, offered it, rest, are paired, wait."""
    rows = session.execute(
        select(Answer.member_id, Answer.option).join(Member, Member.id == Answer.member_id)
        .join(Membership, (Membership.member_id == Answer.member_id) & (Membership.group_id == group.id))
        .where(Answer.group_id == group.id, Answer.current(now), Membership.status == MembershipStatus.ACTIVE,
               Member.opted_out.is_(False))).all()
    asked = {m for m, o in rows if o in REQUESTS}
    offered = {m for m, o in rows if o in SERVES}
    resting = {m for m, o in rows if o == UNAVAILABLE}
    open_pairs = session.execute(select(Pairing.requester_id, Pairing.kind, Pairing.status).where(
        Pairing.group_id == group.id, Pairing.status.in_(OPEN_PAIRINGS))).all()
    paired = {r for r, _, status in open_pairs if status == PairingStatus.ACTIVE}
    served = {(r, k) for r, k, _ in open_pairs}
    waiting = {m for m, o in rows if o in REQUESTS and (m, o) not in served}
    return render("pulse", language, keyword=group.keyword, asked=len(asked), offered=len(offered),
                  resting=len(resting), paired=len(paired), waiting=len(waiting))


@handles(RoundStarted)
def round_now(act: Act, effect: RoundStarted) -> Outcome:
    """A coordinator's ROUND: everyone in the group is asked now, whenever they last answered."""
    group = existing(act.session, Group, effect.group_id)
    if group is None:
        return Outcome()
    # Within hours of another ROUND, only those it did not ask are asked (joined or back since).
    sent = recently_sent(act.session, group, "round", act.now)
    goes_at = ask_round(act.session, group, act.now, skip_recent=False, asked_before=sent.at if sent else None)
    if sent is not None and not goes_at:
        return Outcome([sent_already("round.recent", act.session, group, act.member, sent)])
    record(act.session, group.id, act.member.id, "round", act.now)
    if sent is not None:
        return Outcome([sent_already("round.recent.some", act.session, group, act.member, sent, count=len(goes_at))])
    # At night the texts wait for each member's morning: the coordinator is told so, not "sent".
    later = sum(1 for at in goes_at if at > act.now)
    key = "round.started" if not later else "round.morning" if later == len(goes_at) else "round.partly"
    return Outcome([render(key, language_of(act.member), keyword=group.keyword, count=len(goes_at))])
