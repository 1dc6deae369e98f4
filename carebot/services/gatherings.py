"""The gathering: GATHER calls one (an invitation to every member), members answer it, and the
day before, everyone who has not said no is reminded.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from carebot.domain.i18n import render
from carebot.flows.base import RsvpGiven, Waiting
from carebot.flows.coord import describe_when
from carebot.services import questions
from carebot.services.effects import Act, Outcome, handles
from carebot.services.people import language_of, tell
from carebot.store.models import Gathering, Group, Member, Rsvp
from carebot.store.queries import active_members_of, existing
from carebot.store.transparency import record


def group_tz(group: Group) -> ZoneInfo:
    return ZoneInfo(group.timezone)


def next_gathering(session: Session, group_id: int, now: datetime) -> Gathering | None:
    return session.scalars(select(Gathering).where(Gathering.group_id == group_id, Gathering.starts_at > now)
                           .order_by(Gathering.starts_at).limit(1)).first()


def gather(session: Session, actor: Member, group: Group, starts_at: datetime, place: str, now: datetime) -> str:
    gathering = Gathering(group_id=group.id, starts_at=starts_at, place=place, created_by=actor.id,
                          created_at=now, remind_at=reminder_time(group, starts_at))
    session.add(gathering)
    session.flush()
    members = [m for m in active_members_of(session, group.id) if m.id != actor.id]
    local = starts_at.astimezone(group_tz(group))
    for member in members:
        # Low stakes: it never holds back an offer of care, waits behind one, and lapses at the gathering.
        prompt = render("gather.invite", language_of(member), keyword=group.keyword,
                        when=describe_when(local, language_of(member)), place=place)
        questions.ask(session, member, Waiting("gather", "rsvp", {"gathering_id": gathering.id, "group_id": group.id},
                                               starts_at), prompt, now, group_id=group.id, rank=questions.LOW)
    record(session, group.id, actor.id, "gather", now)
    return render("coord.done.gather", language_of(actor), count=len(members))


def reminder_time(group: Group, starts_at: datetime) -> datetime:
    """The day before the gathering, within the group's daytime, so "tomorrow" in the reminder is true."""
    local = (starts_at - timedelta(days=1)).astimezone(group_tz(group))
    if local.hour >= group.day_ends:
        local = local.replace(hour=max(group.day_starts, group.day_ends - 1), minute=0)
    elif local.hour < group.day_starts:
        local = local.replace(hour=group.day_starts, minute=0)
    return local


@handles(RsvpGiven)
def rsvp(act: Act, effect: RsvpGiven) -> Outcome:
    session, member, now = act.session, act.member, act.now
    language = language_of(member)
    gathering = (session.get(Gathering, effect.gathering_id) if effect.gathering_id
                 else next_gathering(session, effect.group_id, now))
    if gathering is None or gathering.starts_at <= now:
        group = existing(session, Group, effect.group_id)
        return Outcome([render("gather.none", language, keyword=group.keyword)])
    rsvp = session.scalars(select(Rsvp).where(Rsvp.gathering_id == gathering.id, Rsvp.member_id == member.id)).first()
    if rsvp is None:
        rsvp = Rsvp(gathering_id=gathering.id, member_id=member.id, coming=effect.coming, at=now)
        session.add(rsvp)
    rsvp.coming, rsvp.at = effect.coming, now
    questions.withdraw(session, member, "gathering_id", gathering.id)
    group = existing(session, Group, gathering.group_id)
    when = describe_when(gathering.starts_at.astimezone(group_tz(group)), language)
    return Outcome([render("gather.rsvp.yes" if effect.coming else "gather.rsvp.no", language,
                           keyword=group.keyword, when=when)])


def send_due_reminders(session: Session, now: datetime) -> int:
    """The day before a gathering: remind everyone who hasn't said they won't come."""
    due = session.scalars(select(Gathering).where(Gathering.remind_at <= now)).all()
    for gathering in due:
        gathering.remind_at = None
        if gathering.starts_at <= now:
            continue
        group = existing(session, Group, gathering.group_id)
        declined = set(session.scalars(select(Rsvp.member_id).where(
            Rsvp.gathering_id == gathering.id, Rsvp.coming.is_(False))))
        local = gathering.starts_at.astimezone(group_tz(group))
        for member in active_members_of(session, group.id):
            if member.id not in declined:
                tell(session, member, "gather.reminder", now, group.id, keyword=group.keyword,
                          when=describe_when(local, language_of(member)), place=gathering.place)
    return len(due)


def next_due() -> list[Select]:
    """When gatherings' work falls due, as queries (carebot.dispatch.due reads them with the rest)."""
    return [select(Gathering.remind_at).where(Gathering.remind_at.is_not(None)).order_by(Gathering.remind_at).limit(1)]
