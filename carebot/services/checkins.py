"""Check-ins that keep a pairing alive: the reminder, "did you connect?", and what its answer
(or silence) means; missed twice, the requester is asked whether they want someone else.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebot.domain.daytime import next_daytime
from carebot.domain.i18n import render
from carebot.domain.vocabulary import PairingStatus
from carebot.flows.base import CheckinAnswered, Waiting
from carebot.flows.care import CHECKIN_LATE
from carebot.outbox.write import member_timezone
from carebot.services import questions
from carebot.services.effects import Act, Outcome, handles
from carebot.services.pairings import mine
from carebot.services.people import cadence_text, display_name, how_of, language_of, tell, tell_group_coordinators
from carebot.services.planner import BUSY_RETRY
from carebot.store.conversations import busy
from carebot.store.models import Group, Member, Pairing
from carebot.store.queries import existing

FOLLOWUP_DELAY = timedelta(days=2)  # from the reminder to "did you connect?"
FOLLOWUP_WAIT = timedelta(hours=24)
LATER_DELAY = timedelta(days=1)
MISSED_LIMIT = 2


def send_due_checkins(session: Session, now: datetime) -> int:
    """Remind supporters whose check-in has come; the follow-up question comes later."""
    due = session.scalars(
        select(Pairing).where(Pairing.status == PairingStatus.ACTIVE, Pairing.next_checkin_at <= now)
    ).all()
    for pairing in due:
        supporter = existing(session, Member, pairing.supporter_id)
        requester = existing(session, Member, pairing.requester_id)
        language = language_of(supporter)
        tell(session, supporter, "care.checkin", now, pairing.group_for(supporter.id),
              requester=display_name(requester, language),
              how=how_of(session, pairing.requester_id, pairing.group_id, pairing.kind, now))
        pairing.next_checkin_at = now + timedelta(days=pairing.cadence_days)
        pairing.followup_at = now + FOLLOWUP_DELAY
    return len(due)


def ask_due_followups(session: Session, now: datetime) -> int:
    """Ask supporters whether they connected, one question at a time."""
    due = session.scalars(
        select(Pairing).where(Pairing.status == PairingStatus.ACTIVE, Pairing.followup_at <= now)
    ).all()
    taken = busy(session, {p.supporter_id for p in due}, now, rank=questions.CARE)
    asked = 0
    for pairing in due:
        if pairing.supporter_id in taken:
            pairing.followup_at = now + BUSY_RETRY
            continue
        taken.add(pairing.supporter_id)
        supporter = existing(session, Member, pairing.supporter_id)
        requester = existing(session, Member, pairing.requester_id)
        prompt = render("care.followup", language_of(supporter), requester=display_name(requester, language_of(supporter)))
        side = pairing.group_for(supporter.id)
        tz, starts, ends = member_timezone(session, supporter, side, "UTC")
        until = next_daytime(now, tz, starts, ends) + FOLLOWUP_WAIT
        questions.ask(session, supporter, Waiting("checkin", "followup", {"pairing_id": pairing.id}, until), prompt,
                      now, group_id=side, rank=questions.CARE)
        pairing.followup_at = None
        asked += 1
    return asked


@handles(CheckinAnswered)
def checkin_answered(act: Act, effect: CheckinAnswered) -> Outcome:
    pairing = mine(act.session, act.member, effect.pairing_id, as_="supporter")
    if pairing is None or pairing.status != PairingStatus.ACTIVE:
        return Outcome()
    texts = _checkin(act.session, act.member, pairing, effect.outcome, act.now)
    if effect.outcome == "missed":
        return Outcome(texts, wait=_still_answerable(act.session, act.member, pairing, act.now))
    return Outcome(texts)


def _still_answerable(session: Session, supporter: Member, pairing: Pairing, now: datetime) -> Waiting | None:
    """Silence to "did you connect?" counted as a miss, yet the question stays answerable until the
    pairing's next check-in (or its end, which withdraws it): "yes we talked" a day late is a YES. It
    sends nothing and holds back nothing (rank LATE); a question already queued is asked instead."""
    if pairing.status != PairingStatus.ACTIVE or pairing.next_checkin_at is None or pairing.next_checkin_at <= now:
        return None
    if questions.queued(session, supporter.id):
        return None
    questions.free_again(session, supporter, now)  # busy no longer: an offer held back is looked at now
    return Waiting(CHECKIN_LATE, "followup", {"pairing_id": pairing.id, "_rank": questions.LATE,
                                          "_group": pairing.group_for(supporter.id)}, pairing.next_checkin_at)


def _checkin(session: Session, supporter: Member, pairing: Pairing, outcome: str, now: datetime) -> list[str]:
    language = language_of(supporter)
    if outcome == "yes":
        pairing.missed_checkins = 0
        # "Next check-in in 7 days" is counted from this answer, as the text says.
        pairing.next_checkin_at = now + timedelta(days=pairing.cadence_days)
        return [render("care.followup.yes", language, cadence=cadence_text(pairing.cadence_days, language))]
    if outcome == "later":
        pairing.followup_at = tomorrow_by_day(now, *member_timezone(session, supporter, pairing.group_for(supporter.id),
                                                                    "UTC"))
        return [render("care.followup.later", language)]
    if outcome == "no_after_missed":  # a late NO: its silence already counted as the miss
        return [render("care.followup.no", language)]
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
    group = existing(session, Group, pairing.group_id)
    requester = existing(session, Member, pairing.requester_id)
    supporter = existing(session, Member, pairing.supporter_id)
    language = language_of(requester)
    prompt = render("care.rematch.ask", language, supporter=display_name(supporter, language), keyword=group.keyword)
    tz, starts, ends = member_timezone(session, requester, group.id, group.timezone)
    until = next_daytime(now, tz, starts, ends) + FOLLOWUP_WAIT
    questions.ask(session, requester, Waiting("pairing", "rematch", {"pairing_id": pairing.id}, until), prompt,
                  now, group_id=group.id, rank=questions.CARE)
    tell_group_coordinators(session, group.id, "care.coord.missed", now, keyword=group.keyword,
                       supporter=display_name(supporter, group.language),
                       requester=display_name(requester, group.language))
