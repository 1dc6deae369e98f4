"""Coordinators' actions, carried out: lists, PAIR/UNPAIR, invitations, roles, announcements,
the gathering, and the log every member can read.

The flows (carebot.flows.coord) decide what a coordinator asked for and who may ask;
this module does it, inside the dispatcher's transaction, and writes every action to
the log (who, what, when: never contents or numbers).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from carebot.domain.i18n import DEFAULT_LANGUAGE, render, short_date
from carebot.domain.pairing import DECLINE_MEMORY
from carebot.domain.phone import normalize_phone
from carebot.domain.sms import segments
from carebot.domain.vocabulary import REACH_OUT_TO_ME, UNAVAILABLE, WANT_COMPANY
from carebot.flows.base import (
    ActionConfirmed,
    ApprovalGiven,
    Effect,
    InviteRequested,
    ListShown,
    PairRequested,
    PersonInfo,
    RsvpGiven,
    UnpairRequested,
    Waiting,
)
from carebot.flows.coord import describe_when
from carebot.flows.join import CONSENT_WAIT
from carebot.services import care, questions
from carebot.store import removals
from carebot.store.conversations import busy
from carebot.store.crypto import lookup_hash
from carebot.store.models import (
    CoordAction,
    Gathering,
    Group,
    Member,
    Membership,
    NotWith,
    Pairing,
    PendingAction,
    Rsvp,
)
from carebot.store.transparency import record

log = logging.getLogger(__name__)

PAGE_SEGMENTS = 3
INVITE_AGAIN_AFTER = timedelta(days=30)  # ADD cannot be used to pester a stranger
APPROVAL_WAIT = timedelta(days=2)
LOG_ENTRIES = 10
NEEDS_SECOND = ("remove", "coord", "uncoord")


@dataclass
class Outcome:
    """What a coordinator effect answers the member who caused it, and what it then waits for."""

    texts: list[str]
    wait: Waiting | None = None


def _language(member: Member) -> str:
    return member.language or DEFAULT_LANGUAGE


def _name(member: Member | None, language: str) -> str:
    return care.display_name(member, language)


# --- finding people ---------------------------------------------------------------------


def group_finder(session: Session):
    """A lookup of people in one group by name prefix or by phone number."""

    def find(group_id: int, token: str) -> tuple[PersonInfo, ...]:
        number = normalize_phone(token) if any(ch.isdigit() for ch in token) else None
        query = (select(Member.id, Member.name)
                 .join(Membership, Membership.member_id == Member.id)
                 .where(Membership.group_id == group_id, Membership.status == "active"))
        if number is not None:
            found = session.execute(query.where(Member.phone_hash == lookup_hash(number))).all()
            return tuple(PersonInfo(i, n or number, group_id) for i, n in found)
        rows = session.execute(query).all()
        wanted = token.strip().casefold()
        named = [(i, n) for i, n in rows if n]
        exact = [PersonInfo(i, n, group_id) for i, n in named if n.casefold() == wanted]
        return tuple(exact or [PersonInfo(i, n, group_id) for i, n in named if n.casefold().startswith(wanted)])

    return find


# --- lists, paged -------------------------------------------------------------------------


def paginate(text: str, more: str) -> list[str]:
    """Split a long list into pages of a few SMS segments, each but the last ending in "(MORE …)"."""
    if segments(text) <= PAGE_SEGMENTS:
        return [text]
    pages, current = [], ""
    for piece in text.replace("; ", ";\n").replace(", ", ",\n").split("\n"):
        candidate = f"{current} {piece}".strip()
        if current and segments(f"{candidate} ({more})") > PAGE_SEGMENTS:
            pages.append(f"{current.rstrip(',;')} ({more})")
            current = piece
        else:
            current = candidate
    pages.append(current)
    return pages


def _pairs_text(session: Session, group: Group, language: str, now: datetime) -> str:
    from carebot.outbox.views import undelivered_for_group

    items = []
    pairings = session.scalars(select(Pairing).where(Pairing.group_id == group.id,
                                                     Pairing.status.in_(care.OPEN)).order_by(Pairing.id))
    served = set()
    for pairing in pairings:
        served.add((pairing.requester_id, pairing.kind))
        key = "coord.pair.active" if pairing.status == "active" else "coord.pair.offered"
        items.append(render(key, language, kind=render(f"coord.kind.{pairing.kind}", language),
                            supporter=_name(session.get(Member, pairing.supporter_id), language),
                            requester=_name(session.get(Member, pairing.requester_id), language)))
    waiting = []
    for member_id, option in care.open_requests(session, group.id, now):
        if (member_id, option) not in served:
            waiting.append(_name(session.get(Member, member_id), language))
    if waiting:
        items.append(render("coord.pair.waiting", language, names=", ".join(waiting)))
    undelivered = sorted({_name(session.get(Member, row.member_id), language)
                          for row in undelivered_for_group(session, group.id) if row.member_id})
    if undelivered:
        items.append(render("coord.pair.undelivered", language, names=", ".join(undelivered)))
    if not items:
        return render("coord.pairs.none", language, keyword=group.keyword)
    return render("coord.pairs", language, keyword=group.keyword, pairs="; ".join(items))


def _roster_text(session: Session, group: Group, language: str) -> str:
    rows = session.execute(
        select(Member.name, Membership.role).join(Membership, Membership.member_id == Member.id)
        .where(Membership.group_id == group.id, Membership.status == "active", Member.opted_out.is_(False))
    ).all()
    names = sorted((n for n, _ in rows if n), key=str.casefold)
    coordinators = {n for n, role in rows if n and role == "coordinator"}
    shown = [render("coord.roster.coordinator", language, name=n) if n in coordinators else n for n in names]
    unnamed = sum(1 for n, _ in rows if not n)
    if unnamed:
        shown.append(render("coord.roster.unnamed", language, count=unnamed))
    return render("coord.roster", language, keyword=group.keyword, count=len(rows), names=", ".join(shown))


def _log_text(session: Session, group: Group, language: str) -> str:
    actions = session.scalars(select(CoordAction).where(CoordAction.group_id == group.id)
                              .order_by(CoordAction.id.desc()).limit(LOG_ENTRIES)).all()
    if not actions:
        return render("log.none", language, keyword=group.keyword)
    former = render("log.former", language)

    def who(member_id: int | None) -> str:
        member = session.get(Member, member_id) if member_id else None
        return _name(member, language) if member else former

    entries = [
        render(f"log.{a.action}", language, when=short_date(a.at.astimezone(group_tz(group)), language),
               actor=who(a.actor_id), a=who(a.target_id), b=who(a.other_id))
        for a in actions
    ]
    return render("log", language, keyword=group.keyword, entries="; ".join(entries))


def group_tz(group: Group):
    from zoneinfo import ZoneInfo

    return ZoneInfo(group.timezone)


def next_gathering(session: Session, group_id: int, now: datetime) -> Gathering | None:
    return session.scalars(select(Gathering).where(Gathering.group_id == group_id, Gathering.starts_at > now)
                           .order_by(Gathering.starts_at).limit(1)).first()


def _gathering_text(session: Session, group: Group, member: Member, language: str, now: datetime) -> str:
    gathering = next_gathering(session, group.id, now)
    if gathering is None:
        return render("gather.none", language, keyword=group.keyword)
    when = describe_when(gathering.starts_at.astimezone(group_tz(group)), language)
    if not is_coordinator(session, member.id, group.id):
        return render("gather.next", language, keyword=group.keyword, when=when, place=gathering.place)
    answers = list(session.scalars(select(Rsvp.coming).where(Rsvp.gathering_id == gathering.id,
                                                             Rsvp.member_id != gathering.created_by)))
    # Whoever called it was not invited: they are not counted as an answer still missing.
    invited = len([m for m in active_members(session, group.id) if m.id != gathering.created_by])
    yes, no = answers.count(True), answers.count(False)
    return render("gather.count", language, keyword=group.keyword, when=when, place=gathering.place,
                  yes=yes, no=no, unknown=max(0, invited - yes - no))


def _show(session: Session, member: Member, effect: ListShown, now: datetime) -> Outcome:
    group = session.get(Group, effect.group_id)
    language = _language(member)
    if effect.kind == "pairs":
        text = _pairs_text(session, group, language, now)
    elif effect.kind == "roster":
        text = _roster_text(session, group, language)
    elif effect.kind == "log":
        text = _log_text(session, group, language)
    elif effect.kind == "gather":
        text = _gathering_text(session, group, member, language, now)
    else:
        text = care.pulse_text(session, group, language, now)
    pages = paginate(text, render("coord.more", language))
    wait = Waiting("pager", "more", {"pages": pages[1:]}, now + timedelta(hours=1)) if len(pages) > 1 else None
    return Outcome([pages[0]], wait)


# --- PAIR, UNPAIR, ADD ------------------------------------------------------------------


def is_coordinator(session: Session, member_id: int, group_id: int) -> bool:
    return session.scalar(select(Membership.id).where(
        Membership.member_id == member_id, Membership.group_id == group_id,
        Membership.role == "coordinator", Membership.status == "active")) is not None


def active_members(session: Session, group_id: int) -> list[Member]:
    return list(session.scalars(
        select(Member).join(Membership, Membership.member_id == Member.id)
        .where(Membership.group_id == group_id, Membership.status == "active", Member.opted_out.is_(False))
    ))


def _pair(session: Session, actor: Member, effect: PairRequested, now: datetime) -> Outcome:
    language = _language(actor)
    group = session.get(Group, effect.group_id)
    requester = session.get(Member, effect.requester_id)
    supporter = session.get(Member, effect.supporter_id)
    names = {"a": _name(requester, language), "b": _name(supporter, language)}
    requests = care.current_options(session, requester.id, group.id, now) & {REACH_OUT_TO_ME, WANT_COMPANY}
    if not requests:
        # Named the other way round: the one who asked for care may come second.
        swapped = care.current_options(session, supporter.id, group.id, now) & {REACH_OUT_TO_ME, WANT_COMPANY}
        if not swapped:
            return Outcome([render("coord.pair.no_request", language, **names)])
        requester, supporter, requests = supporter, requester, swapped
    kind = min(requests)
    excluded = session.scalar(select(NotWith.id).where(or_(
        (NotWith.member_id == requester.id) & (NotWith.other_id == supporter.id),
        (NotWith.member_id == supporter.id) & (NotWith.other_id == requester.id))))
    unable = (excluded is not None or supporter.opted_out or requester.opted_out
              or UNAVAILABLE in care.current_options(session, supporter.id, group.id, now)
              or supporter.id in busy(session, [supporter.id], now, rank=questions.CARE))
    current = session.scalars(select(Pairing).where(
        Pairing.group_id == group.id, Pairing.requester_id == requester.id,
        Pairing.kind == kind, Pairing.status.in_(care.OPEN))).all()
    same = next((p for p in current if p.supporter_id == supporter.id), None)
    if same is not None:
        # Already so: say what is true rather than "can't be paired".
        key = "coord.pair.already_offered" if same.status == "offered" else "coord.pair.already_paired"
        return Outcome([render(key, language, supporter=_name(supporter, language),
                               requester=_name(requester, language))])
    if unable:
        # Why is nobody's business: a private NOT list or someone's rest is never revealed.
        return Outcome([render("coord.pair.cannot", language, **names)])
    for old in current:
        if old.status == "active":
            old_supporter = session.get(Member, old.supporter_id)
            care.tell(session, old_supporter, "coord.unpaired", now, group.id, keyword=group.keyword,
                      other=_name(requester, _language(old_supporter)))
        # Ended by the coordinators: the engine keeps these two apart for a while.
        care.end_pairing(session, old, "coordinator", now)
    # A supporter who said NO to this request lately is asked again only because coordinators
    # chose to, and both hear that it is so (not a repeat the engine made by mistake).
    again = session.scalar(select(Pairing.id).where(
        Pairing.requester_id == requester.id, Pairing.supporter_id == supporter.id, Pairing.kind == kind,
        Pairing.group_id == group.id, Pairing.status == "declined", Pairing.offered_at >= now - DECLINE_MEMORY))
    care.offer(session, group, requester, supporter, kind, now, again=again is not None)
    if current:
        # The requester hears who is asked now (they heard nothing of the change otherwise).
        care.tell(session, requester, "coord.paired.requester", now, group.id, keyword=group.keyword,
                  supporter=_name(supporter, _language(requester)))
    record(session, group.id, actor.id, "pair", now, requester.id, supporter.id)
    return Outcome([render("coord.pair.asked.again" if again else "coord.pair.asked", language,
                           supporter=_name(supporter, language),
                           requester=_name(requester, language))])


def _unpair(session: Session, actor: Member, effect: UnpairRequested, now: datetime) -> Outcome:
    language = _language(actor)
    a, b = session.get(Member, effect.a_id), session.get(Member, effect.b_id)
    names = {"a": _name(a, language), "b": _name(b, language)}
    pairings = session.scalars(select(Pairing).where(
        Pairing.group_id == effect.group_id, Pairing.status.in_(care.OPEN),
        or_((Pairing.requester_id == a.id) & (Pairing.supporter_id == b.id),
            (Pairing.requester_id == b.id) & (Pairing.supporter_id == a.id)))).all()
    if not pairings:
        return Outcome([render("coord.unpair.none", language, **names)])
    group = session.get(Group, effect.group_id)
    for pairing in pairings:
        active = pairing.status == "active"
        care.end_pairing(session, pairing, "coordinator", now)
        requester = a if pairing.requester_id == a.id else b
        supporter = b if requester is a else a
        if active:
            care.tell(session, supporter, "coord.unpaired", now, group.id, keyword=group.keyword,
                      other=_name(requester, _language(supporter)))
            # The requester hears it ended and, while they still ask, that someone else will be asked.
            key = "coord.unpaired.open" if care.request_still_open(session, pairing, now) else "coord.unpaired"
            care.tell(session, requester, key, now, group.id, keyword=group.keyword,
                      other=_name(supporter, _language(requester)))
    record(session, group.id, actor.id, "unpair", now, a.id, b.id)
    return Outcome([render("coord.unpair.done", language, **names)])


def invite(session: Session, group: Group, raw_number: str, name: str | None, inviter: Member | None,
           now: datetime, *, role: str = "member") -> str:
    """Invite a number to a group: one consent question, nothing else until YES.

    Returns what happened: "invited", "bad_number", "already", "recent" or "cannot".
    """
    number = normalize_phone(raw_number)
    if number is None:
        return "bad_number"
    member = Member.by_phone(session, number)
    if member is not None and (member.opted_out or member.phone_unusable):
        return "cannot"
    if member is None:
        member = Member(phone=number, channel="sms", created_at=now, language=None)
        session.add(member)
        session.flush()
    if name and not member.name:
        member.name = name[:20]
    removals.clear(session, member, group.id)  # their ADD is the coordinators' decision to invite again
    membership = session.scalars(select(Membership).where(
        Membership.member_id == member.id, Membership.group_id == group.id)).first()
    if membership is not None and membership.status == "active":
        return "already"
    if membership is not None and membership.status == "invited" and membership.created_at > now - INVITE_AGAIN_AFTER:
        return "recent"
    if membership is None:
        membership = Membership(group_id=group.id, member_id=member.id, created_at=now)
        session.add(membership)
    membership.status, membership.role, membership.created_at = "invited", role, now
    language = member.language or group.language
    if inviter is not None:
        question = render("invite.ask", language, group=group.name, inviter=_name(inviter, language))
    else:
        question = render("invite.ask.group", language, group=group.name)
    questions.ask(session, member, Waiting("join", "consent", {"group_id": group.id, "wording": question},
                                           now + CONSENT_WAIT), question, now, group_id=None, rank=questions.CONSENT)
    return "invited"


def _add(session: Session, actor: Member, effect: InviteRequested, now: datetime) -> Outcome:
    group = session.get(Group, effect.group_id)
    language = _language(actor)
    result = invite(session, group, effect.number, effect.name, actor, now)
    if result == "invited":
        record(session, group.id, actor.id, "add", now)
    number = effect.number[:20]
    if result == "already":
        existing = Member.by_phone(session, normalize_phone(effect.number))
        return Outcome([render("coord.add.already", language, name=_name(existing, language), keyword=group.keyword)])
    return Outcome([render(f"coord.add.{result}", language, number=number)])


# --- confirmed actions ------------------------------------------------------------------


def _confirmed(session: Session, actor: Member, effect: ActionConfirmed, now: datetime) -> Outcome:
    data = effect.data
    group = session.get(Group, int(data["group_id"]))
    language = _language(actor)
    if group is None or not is_coordinator(session, actor.id, group.id):
        return Outcome([render("coord.only", language)])
    action = data["action"]
    if action in NEEDS_SECOND and group.two_coordinators:
        return _ask_second(session, actor, group, action, int(data["target_id"]), now)
    return Outcome(execute(session, actor, group, data, now))


def _ask_second(session: Session, actor: Member, group: Group, action: str, target_id: int, now: datetime) -> Outcome:
    language = _language(actor)
    others = [m for m in session.scalars(
        select(Member).join(Membership, Membership.member_id == Member.id).where(
            Membership.group_id == group.id, Membership.role == "coordinator", Membership.status == "active",
            Member.id != actor.id, Member.opted_out.is_(False)))]
    if not others:
        return Outcome([render("coord.second.none", language, keyword=group.keyword)])
    pending = PendingAction(group_id=group.id, actor_id=actor.id, action=action, target_id=target_id,
                            status="pending", created_at=now, expires_at=now + APPROVAL_WAIT)
    session.add(pending)
    session.flush()
    target = session.get(Member, target_id)
    for other in others:
        other_language = _language(other)
        prompt = render(f"coord.second.{action}", other_language, keyword=group.keyword,
                        actor=_name(actor, other_language), name=_name(target, other_language))
        questions.ask(session, other, Waiting("approval", "approve", {"pending_id": pending.id}, pending.expires_at),
                      prompt, now, group_id=group.id, rank=questions.CONSENT)
    return Outcome([render("coord.second.waiting", language, keyword=group.keyword)])


def _approval(session: Session, approver: Member, effect: ApprovalGiven, now: datetime) -> Outcome:
    language = _language(approver)
    pending = session.get(PendingAction, effect.pending_id)
    if (pending is None or pending.status != "pending" or pending.expires_at <= now
            or pending.actor_id == approver.id or not is_coordinator(session, approver.id, pending.group_id)):
        return Outcome([render("coord.second.gone", language)])
    group = session.get(Group, pending.group_id)
    actor = session.get(Member, pending.actor_id)
    if not effect.agreed:
        pending.status = "declined"
        care.tell(session, actor, "coord.second.no", now, group.id, name=_name(approver, _language(actor)))
        return Outcome([render("coord.cancelled", language)])
    pending.status = "done"
    texts = execute(session, actor, group, {"action": pending.action, "target_id": pending.target_id}, now)
    care.tell_text(session, actor, texts[0], now, group.id)
    return Outcome(texts)


def execute(session: Session, actor: Member, group: Group, data: dict, now: datetime) -> list[str]:
    """Do a confirmed coordinator action; returns the texts for whoever confirmed it last."""
    action = data["action"]
    language = _language(actor)
    if action == "announce":
        return [_announce(session, actor, group, data["text"], now)]
    if action == "gather":
        return [_gather(session, actor, group, datetime.fromisoformat(data["starts_at"]), data["place"], now)]
    target = session.get(Member, int(data["target_id"]))
    membership = session.scalars(select(Membership).where(
        Membership.member_id == int(data["target_id"]), Membership.group_id == group.id,
        Membership.status == "active")).first()
    name = _name(target, language)
    if target is None or membership is None:
        return [render("coord.unknown", language, name=name, keyword=group.keyword)]
    coordinators = session.scalars(select(Membership.member_id).where(
        Membership.group_id == group.id, Membership.role == "coordinator", Membership.status == "active")).all()
    last_one = list(coordinators) == [target.id]
    if action in ("uncoord", "remove") and last_one:
        return [render("coord.last", language, keyword=group.keyword)]
    if action == "remove":
        target_language = _language(target)
        care.tell_text(session, target, render("removed.member", target_language, group=group.name), now, None)
        care.remove_from_group(session, target, group.id, now)
        # Only a coordinator's ADD invites them again (and they still consent).
        membership.status = "removed"
        removals.record(session, target, group.id, now)
    elif action == "coord":
        membership.role = "coordinator"
        care.tell(session, target, "coord.role.given", now, group.id, keyword=group.keyword)
    elif action == "uncoord":
        membership.role = "member"
        care.tell(session, target, "coord.role.ended", now, group.id, keyword=group.keyword)
    record(session, group.id, actor.id, action, now, target.id)
    return [render(f"coord.done.{action}", language, name=name, keyword=group.keyword)]


def _announce(session: Session, actor: Member, group: Group, text: str, now: datetime) -> str:
    count = 0
    for member in active_members(session, group.id):
        if member.id == actor.id:
            continue
        care.tell(session, member, "announce.member", now, group.id, keyword=group.keyword,
                  actor=_name(actor, _language(member)), text=text)
        count += 1
    record(session, group.id, actor.id, "announce", now)
    return render("coord.done.announce", _language(actor), count=count, keyword=group.keyword)


def _gather(session: Session, actor: Member, group: Group, starts_at: datetime, place: str, now: datetime) -> str:
    gathering = Gathering(group_id=group.id, starts_at=starts_at, place=place, created_by=actor.id,
                          created_at=now, remind_at=reminder_time(group, starts_at))
    session.add(gathering)
    session.flush()
    members = [m for m in active_members(session, group.id) if m.id != actor.id]
    local = starts_at.astimezone(group_tz(group))
    for member in members:
        # Low stakes: it never holds back an offer of care, waits behind one, and lapses at the gathering.
        prompt = render("gather.invite", _language(member), keyword=group.keyword,
                        when=describe_when(local, _language(member)), place=place)
        questions.ask(session, member, Waiting("gather", "rsvp", {"gathering_id": gathering.id, "group_id": group.id},
                                               starts_at), prompt, now, group_id=group.id, rank=questions.LOW)
    record(session, group.id, actor.id, "gather", now)
    return render("coord.done.gather", _language(actor), count=len(members))


def reminder_time(group: Group, starts_at: datetime) -> datetime:
    """The day before the gathering, within the group's daytime, so "tomorrow" in the reminder is true."""
    local = (starts_at - timedelta(days=1)).astimezone(group_tz(group))
    if local.hour >= group.day_ends:
        local = local.replace(hour=max(group.day_starts, group.day_ends - 1), minute=0)
    elif local.hour < group.day_starts:
        local = local.replace(hour=group.day_starts, minute=0)
    return local


def _rsvp(session: Session, member: Member, effect: RsvpGiven, now: datetime) -> Outcome:
    language = _language(member)
    gathering = (session.get(Gathering, effect.gathering_id) if effect.gathering_id
                 else next_gathering(session, effect.group_id, now))
    if gathering is None or gathering.starts_at <= now:
        group = session.get(Group, effect.group_id)
        return Outcome([render("gather.none", language, keyword=group.keyword)])
    rsvp = session.scalars(select(Rsvp).where(Rsvp.gathering_id == gathering.id, Rsvp.member_id == member.id)).first()
    if rsvp is None:
        rsvp = Rsvp(gathering_id=gathering.id, member_id=member.id, coming=effect.coming, at=now)
        session.add(rsvp)
    rsvp.coming, rsvp.at = effect.coming, now
    questions.withdraw(session, member, "gathering_id", gathering.id)
    group = session.get(Group, gathering.group_id)
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
        group = session.get(Group, gathering.group_id)
        declined = set(session.scalars(select(Rsvp.member_id).where(
            Rsvp.gathering_id == gathering.id, Rsvp.coming.is_(False))))
        local = gathering.starts_at.astimezone(group_tz(group))
        for member in active_members(session, group.id):
            if member.id not in declined:
                care.tell(session, member, "gather.reminder", now, group.id, keyword=group.keyword,
                          when=describe_when(local, _language(member)), place=gathering.place)
    return len(due)


def next_due(session: Session) -> list[datetime | None]:
    return [session.scalar(select(Gathering.remind_at).where(Gathering.remind_at.is_not(None))
                           .order_by(Gathering.remind_at).limit(1))]


def apply(session: Session, member: Member, effect: Effect, now: datetime) -> Outcome:
    """Carry out one coordinator (or gathering) effect for ``member``."""
    match effect:
        case ListShown():
            return _show(session, member, effect, now)
        case PairRequested():
            return _pair(session, member, effect, now)
        case UnpairRequested():
            return _unpair(session, member, effect, now)
        case InviteRequested():
            return _add(session, member, effect, now)
        case ActionConfirmed():
            return _confirmed(session, member, effect, now)
        case ApprovalGiven():
            return _approval(session, member, effect, now)
        case RsvpGiven():
            return _rsvp(session, member, effect, now)
    return Outcome([])
