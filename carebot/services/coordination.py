"""Coordinators' actions, carried out: PAIR/UNPAIR, invitations, roles, REMOVE, announcements,
and the second coordinator's approval where the group asks for one.

The flows (carebot.flows.coord) decide what a coordinator asked for and who may ask;
this module does it, inside the dispatcher's transaction, and writes every action to
the log (who, what, when: never contents or numbers).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from carebot.domain.i18n import render
from carebot.domain.pairing import DECLINE_MEMORY
from carebot.domain.phone import normalize_phone
from carebot.domain.vocabulary import OPEN_PAIRINGS, REQUESTS, UNAVAILABLE, MembershipStatus, PairingStatus, Role
from carebot.flows.base import ActionConfirmed, ApprovalGiven, InviteRequested, PairRequested, UnpairRequested, Waiting
from carebot.flows.coord import describe_when
from carebot.flows.join import CONSENT_WAIT
from carebot.flows.words import fold
from carebot.services import network, questions
from carebot.services.effects import Act, Outcome, handles
from carebot.services.gatherings import gather, group_tz
from carebot.services.pairings import end_pairing, remove_from_group, request_still_open, tell_requester
from carebot.services.people import display_name, language_of, tell, tell_text
from carebot.services.planner import offer
from carebot.services.rounds import recently_sent, sent_already
from carebot.store import crypto, removals
from carebot.store.conversations import busy
from carebot.store.lookups import care_map_of
from carebot.store.models import CoordAction, Group, Member, Membership, NotWith, Pairing, PendingAction
from carebot.store.queries import active_members_of, coordinators_of, current_options, existing, is_coordinator
from carebot.store.transparency import record

log = logging.getLogger(__name__)

INVITE_AGAIN_AFTER = timedelta(days=30)  # ADD cannot be used to pester a stranger
APPROVAL_WAIT = timedelta(days=2)
NEEDS_SECOND = ("remove", "coord", "uncoord")


@handles(PairRequested)
def pair(act: Act, effect: PairRequested) -> Outcome:
    session, actor, now = act.session, act.member, act.now
    language = language_of(actor)
    group = existing(session, Group, effect.group_id)
    requester = existing(session, Member, effect.requester_id)
    supporter = existing(session, Member, effect.supporter_id)
    names = {"a": display_name(requester, language), "b": display_name(supporter, language)}
    requests = current_options(session, requester.id, group.id, now) & set(REQUESTS)
    if not requests:
        # Named the other way round: the one who asked for care may come second.
        swapped = current_options(session, supporter.id, group.id, now) & set(REQUESTS)
        if not swapped:
            return Outcome([render("coord.pair.no_request", language, **names)])
        requester, supporter, requests = supporter, requester, swapped
    kind = min(requests)
    excluded = session.scalar(select(NotWith.id).where(or_(
        (NotWith.member_id == requester.id) & (NotWith.other_id == supporter.id),
        (NotWith.member_id == supporter.id) & (NotWith.other_id == requester.id))))
    unable = (excluded is not None or supporter.opted_out or requester.opted_out
              or UNAVAILABLE in current_options(session, supporter.id, group.id, now)
              or supporter.id in busy(session, [supporter.id], now, rank=questions.CARE))
    current = session.scalars(select(Pairing).where(
        Pairing.group_id == group.id, Pairing.requester_id == requester.id,
        Pairing.kind == kind, Pairing.status.in_(OPEN_PAIRINGS))).all()
    same = next((p for p in current if p.supporter_id == supporter.id), None)
    if same is not None:
        # Already so: say what is true rather than "can't be paired".
        key = "coord.pair.already_offered" if same.status == PairingStatus.OFFERED else "coord.pair.already_paired"
        return Outcome([render(key, language, supporter=display_name(supporter, language),
                               requester=display_name(requester, language))])
    if unable:
        # Why is nobody's business: a private NOT list or someone's rest is never revealed (product.md: nobody
        # sees another member's answers unless they agreed to share them). The word says so, so the coordinator
        # is not left guessing (outside5).
        return Outcome([render("coord.pair.cannot", language, **names)])
    replaced = []  # offers still unanswered that this PAIR takes back: said to everyone concerned (outside6)
    for old in current:
        old_supporter = existing(session, Member, old.supporter_id)
        if old.status == PairingStatus.ACTIVE:
            tell(session, old_supporter, "coord.unpaired", now, group.id, keyword=group.keyword,
                      other=display_name(requester, language_of(old_supporter)))
        else:
            replaced.append(render("coord.pair.replaced", language, other=display_name(old_supporter, language),
                                   when=describe_when(old.offered_at.astimezone(group_tz(group)), language)))
            _tell_who_asked(session, group, old, actor, requester, supporter, old_supporter, now)
        # Ended by the coordinators: the engine keeps these two apart for a while. An offer taken back
        # is not "no longer open" to the one asked: the request is open, someone else is asked.
        end_pairing(session, old, "coordinator", now, withdrawn="care.offer.replaced")
    # A supporter who said NO to this request lately is asked again only because coordinators
    # chose to, and both hear that it is so (not a repeat the engine made by mistake).
    again = session.scalar(select(Pairing.id).where(
        Pairing.requester_id == requester.id, Pairing.supporter_id == supporter.id, Pairing.kind == kind,
        Pairing.group_id == group.id, Pairing.status == PairingStatus.DECLINED,
        Pairing.offered_at >= now - DECLINE_MEMORY))
    offer(session, group, requester, supporter, kind, now, again=again is not None)
    if current:
        # The requester hears who is asked now (they heard nothing of the change otherwise).
        tell(session, requester, "coord.paired.requester", now, group.id, keyword=group.keyword,
                  supporter=display_name(supporter, language_of(requester)))
    record(session, group.id, actor.id, "pair", now, requester.id, supporter.id)
    return Outcome([render("coord.pair.asked.again" if again else "coord.pair.asked", language,
                           supporter=display_name(supporter, language), requester=display_name(requester, language)),
                    *replaced])


def _tell_who_asked(session: Session, group: Group, old: Pairing, actor: Member, requester: Member,
                    supporter: Member, old_supporter: Member, now: datetime) -> None:
    """The coordinator whose PAIR made an offer another coordinator's PAIR now takes back hears so
    (two coordinators at once: neither overrules the other silently)."""
    asked_by = session.scalars(select(CoordAction.actor_id).where(
        CoordAction.group_id == group.id, CoordAction.action == "pair", CoordAction.target_id == requester.id,
        CoordAction.other_id == old.supporter_id, CoordAction.at >= old.offered_at)
        .order_by(CoordAction.at.desc())).first()
    coordinator = session.get(Member, asked_by) if asked_by is not None and asked_by != actor.id else None
    if coordinator is not None:
        language = language_of(coordinator)
        tell(session, coordinator, "coord.pair.replaced.yours", now, group.id, keyword=group.keyword,
             actor=display_name(actor, language), supporter=display_name(supporter, language),
             requester=display_name(requester, language), other=display_name(old_supporter, language))


@handles(UnpairRequested)
def unpair(act: Act, effect: UnpairRequested) -> Outcome:
    session, actor, now = act.session, act.member, act.now
    language = language_of(actor)
    a, b = existing(session, Member, effect.a_id), existing(session, Member, effect.b_id)
    names = {"a": display_name(a, language), "b": display_name(b, language)}
    pairings = session.scalars(select(Pairing).where(
        or_(Pairing.group_id == effect.group_id, Pairing.supporter_group_id == effect.group_id),
        Pairing.status.in_(OPEN_PAIRINGS),
        or_((Pairing.requester_id == a.id) & (Pairing.supporter_id == b.id),
            (Pairing.requester_id == b.id) & (Pairing.supporter_id == a.id)))).all()
    if not pairings:
        return Outcome([render("coord.unpair.none", language, **names)])
    group = existing(session, Group, effect.group_id)
    for pairing in pairings:
        active = pairing.status == PairingStatus.ACTIVE
        end_pairing(session, pairing, "coordinator", now)
        requester = a if pairing.requester_id == a.id else b
        supporter = b if requester is a else a
        if active:
            tell(session, supporter, "coord.unpaired", now, pairing.group_for(supporter.id), keyword=group.keyword,
                 other=display_name(requester, language_of(supporter)))
            # The requester hears it ended and, while they still ask, that someone else will be asked.
            supporter_name = display_name(supporter, language_of(requester))
            if request_still_open(session, pairing, now):
                tell_requester(session, pairing, requester, "coord.unpaired.open", now, other=supporter_name,
                               keyword=group.keyword)  # the coordinators who acted: a sister group's, across
            else:
                tell(session, requester, "coord.unpaired", now, pairing.group_id, keyword=group.keyword,
                     other=supporter_name)
    record(session, group.id, actor.id, "unpair", now, a.id, b.id)
    sisters = {other.id for p in pairings if (other := network.other_group(session, p, group.id)) is not None}
    for sister_id in sisters:
        record(session, sister_id, actor.id, "unpair", now, a.id, b.id)  # LOG shows it in both groups
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
    if membership is not None and membership.status == MembershipStatus.ACTIVE:
        return "already"
    if (membership is not None and membership.status == MembershipStatus.INVITED
            and membership.created_at > now - INVITE_AGAIN_AFTER):
        return "recent"
    if membership is None:
        membership = Membership(group_id=group.id, member_id=member.id, created_at=now)
        session.add(membership)
    membership.status, membership.role, membership.created_at = MembershipStatus.INVITED, role, now
    language = member.language or group.language
    if inviter is not None:
        question = render("invite.ask", language, group=group.name, inviter=display_name(inviter, language))
    else:
        question = render("invite.ask.group", language, group=group.name)
    questions.ask(session, member, Waiting("join", "consent", {"group_id": group.id, "wording": question},
                                           now + CONSENT_WAIT), question, now, group_id=None, rank=questions.CONSENT)
    return "invited"


@handles(InviteRequested)
def add(act: Act, effect: InviteRequested) -> Outcome:
    session, actor, now = act.session, act.member, act.now
    group = existing(session, Group, effect.group_id)
    language = language_of(actor)
    result = invite(session, group, effect.number, effect.name, actor, now)
    if result == "invited":
        record(session, group.id, actor.id, "add", now)
    number = effect.number[:20]
    if result == "already":
        member = Member.by_phone(session, normalize_phone(effect.number))
        return Outcome([render("coord.add.already", language, name=display_name(member, language), keyword=group.keyword)])
    if result == "invited":
        # Named back (the name carebot keeps for them) with the number as carebot reads it, so a slip shows at once.
        member = Member.by_phone(session, normalize_phone(effect.number))
        if member is not None and member.phone:
            key = "coord.add.invited.named" if member.name else "coord.add.invited"
            return Outcome([render(key, language, name=member.name, number=member.phone)])
    return Outcome([render(f"coord.add.{result}", language, number=number)])


@handles(ActionConfirmed)
def confirmed(act: Act, effect: ActionConfirmed) -> Outcome:
    session, actor, now = act.session, act.member, act.now
    data = effect.data
    group = session.get(Group, int(data["group_id"]))
    language = language_of(actor)
    if group is None or not is_coordinator(session, actor.id, group.id):
        return Outcome([render("coord.only", language)])
    action = data["action"]
    if action in NEEDS_SECOND and group.two_coordinators:
        return _ask_second(session, actor, group, action, int(data["target_id"]), now)
    texts = execute(session, actor, group, data, now)
    if action in NEEDS_SECOND:
        close_moot(session, group.id, now, answering=actor)
    return Outcome(texts)


def _open_requests(session: Session, group_id: int, now: datetime, action: str | None = None,
                   target_id: int | None = None) -> list[PendingAction]:
    """The group's approvals still waiting for a second YES (of ``action`` about ``target_id``, if given)."""
    query = select(PendingAction).where(PendingAction.group_id == group_id, PendingAction.status == "pending",
                                        PendingAction.expires_at > now)
    if action is not None:
        query = query.where(PendingAction.action == action, PendingAction.target_id == target_id)
    return list(session.scalars(query.order_by(PendingAction.id)))


def _ask_second(session: Session, actor: Member, group: Group, action: str, target_id: int, now: datetime) -> Outcome:
    language = language_of(actor)
    asked = _open_requests(session, group.id, now, action, target_id)
    if any(pending.actor_id == actor.id for pending in asked):
        return Outcome([render("coord.second.waiting", language, keyword=group.keyword)])  # asked once is enough
    if asked:
        # Another coordinator asked for the very same: this YES is their second one (outside9: two
        # coordinators each asking to remove Sam made two requests, and the stale one kept coming back).
        return _agree(session, actor, asked[0], now)
    others = [m for m in coordinators_of(session, group.id) if m.id != actor.id]
    if not others:
        return Outcome([render("coord.second.none", language, keyword=group.keyword)])
    pending = PendingAction(group_id=group.id, actor_id=actor.id, action=action, target_id=target_id,
                            status="pending", created_at=now, expires_at=now + APPROVAL_WAIT)
    session.add(pending)
    session.flush()
    target = session.get(Member, target_id)
    for other in others:
        other_language = language_of(other)
        prompt = render(f"coord.second.{action}", other_language, keyword=group.keyword,
                        actor=display_name(actor, other_language), name=display_name(target, other_language))
        questions.ask(session, other, Waiting("approval", "approve", {"pending_id": pending.id}, pending.expires_at),
                      prompt, now, group_id=group.id, rank=questions.CONSENT)
    return Outcome([render("coord.second.waiting", language, keyword=group.keyword)])


@handles(ApprovalGiven)
def approval(act: Act, effect: ApprovalGiven) -> Outcome:
    session, approver, now = act.session, act.member, act.now
    language = language_of(approver)
    pending = session.get(PendingAction, effect.pending_id)
    if (pending is None or pending.status != "pending" or pending.expires_at <= now
            or pending.actor_id == approver.id or not is_coordinator(session, approver.id, pending.group_id)):
        return Outcome([render("coord.second.gone", language)])
    group = existing(session, Group, pending.group_id)
    actor = existing(session, Member, pending.actor_id)
    if moot(session, pending):
        close_moot(session, pending.group_id, now, answering=approver)
        return Outcome([render("coord.second.gone", language)])
    if not effect.agreed:
        pending.status = "declined"
        tell(session, actor, "coord.second.no", now, group.id, name=display_name(approver, language_of(actor)))
        return Outcome([render("coord.cancelled", language)])
    return _agree(session, approver, pending, now)


def _agree(session: Session, approver: Member, pending: PendingAction, now: datetime) -> Outcome:
    """A second coordinator's YES: the action is done, and whoever asked for it hears so."""
    group = existing(session, Group, pending.group_id)
    actor = existing(session, Member, pending.actor_id)
    pending.status = "done"
    texts = execute(session, actor, group, {"action": pending.action, "target_id": pending.target_id}, now)
    tell_text(session, actor, texts[0], now, group.id)
    close_moot(session, group.id, now, answering=approver)
    return Outcome(texts)


def moot(session: Session, pending: PendingAction) -> bool:
    """Whether what an approval asks for is already so, or can no longer be (the member is gone)."""
    membership = session.scalars(select(Membership).where(
        Membership.member_id == pending.target_id, Membership.group_id == pending.group_id,
        Membership.status == MembershipStatus.ACTIVE)).first()
    if membership is None:
        return True
    if pending.action == "remove":
        return False
    return (pending.action == "coord") == (membership.role == Role.COORDINATOR)


def close_moot(session: Session, group_id: int, now: datetime, *, answering: Member) -> None:
    """Approvals an action just made moot are closed, and their questions asked of nobody again
    (outside9: a REMOVE asked by two coordinators left one request that came back after Sam was gone).
    ``answering`` is the coordinator whose text this is: their next question comes when it is handled."""
    closed = [pending for pending in _open_requests(session, group_id, now) if moot(session, pending)]
    for pending in closed:
        pending.status = "moot"
        for coordinator in coordinators_of(session, group_id):
            if questions.withdraw(session, coordinator, "pending_id", pending.id) and coordinator.id != answering.id:
                questions.ask_next(session, coordinator, now)


def expire_approvals(session: Session, now: datetime, default_tz: str = "UTC") -> int:
    """Approvals nobody answered in APPROVAL_WAIT lapse: the coordinator who asked hears so, by day,
    and LOG shows it (outside9: they lapsed silently). Returns how many lapsed."""
    lapsed = session.scalars(select(PendingAction).where(
        PendingAction.status == "pending", PendingAction.expires_at <= now)).all()
    for pending in lapsed:
        pending.status = "expired"
        group = session.get(Group, pending.group_id)
        actor = session.get(Member, pending.actor_id) if pending.actor_id is not None else None
        if group is None or moot(session, pending):
            continue  # done some other way meanwhile: nothing to tell
        target = session.get(Member, pending.target_id)
        if actor is not None:
            language = language_of(actor)
            tell(session, actor, f"coord.second.lapsed.{pending.action}", now, group.id, keyword=group.keyword,
                 name=display_name(target, language), days=APPROVAL_WAIT.days)
        record(session, group.id, pending.actor_id, f"lapsed.{pending.action}", now, pending.target_id)
    return len(lapsed)


def execute(session: Session, actor: Member, group: Group, data: dict, now: datetime) -> list[str]:
    """Do a confirmed coordinator action; returns the texts for whoever confirmed it last."""
    action = data["action"]
    language = language_of(actor)
    if action == "announce":
        return [_announce(session, actor, group, data["text"], now)]
    if action == "gather":
        return [gather(session, actor, group, datetime.fromisoformat(data["starts_at"]), data["place"], now)]
    target = session.get(Member, int(data["target_id"]))
    membership = session.scalars(select(Membership).where(
        Membership.member_id == int(data["target_id"]), Membership.group_id == group.id,
        Membership.status == MembershipStatus.ACTIVE)).first()
    name = display_name(target, language)
    if target is None or membership is None:
        return [render("coord.unknown", language, name=name, keyword=group.keyword)]
    coordinators = session.scalars(select(Membership.member_id).where(
        Membership.group_id == group.id, Membership.role == Role.COORDINATOR, Membership.status == MembershipStatus.ACTIVE)).all()
    last_one = list(coordinators) == [target.id]
    if action in ("uncoord", "remove") and last_one:
        return [render("coord.last", language, keyword=group.keyword)]
    if action == "remove":
        target_language = language_of(target)
        # A removal deletes the member's care map (carebot.services.caremap.removed): they are told so.
        told = "removed.member.map" if care_map_of(session, target.id) is not None else "removed.member"
        tell_text(session, target, render(told, target_language, group=group.name), now, None)
        remove_from_group(session, target, group.id, now)
        # Only a coordinator's ADD invites them again (and they still consent).
        membership.status = MembershipStatus.REMOVED
        removals.record(session, target, group.id, now)
    elif action == "coord":
        membership.role = Role.COORDINATOR
        tell(session, target, "coord.role.given", now, group.id, keyword=group.keyword)
    elif action == "uncoord":
        membership.role = Role.MEMBER
        tell(session, target, "coord.role.ended", now, group.id, keyword=group.keyword)
    record(session, group.id, actor.id, action, now, target.id)
    return [render(f"coord.done.{action}", language, name=name, keyword=group.keyword)]


def _announce(session: Session, actor: Member, group: Group, text: str, now: datetime) -> str:
    # The same words sent again within hours (two coordinators at once) are not sent twice; the
    # log keeps a keyed hash of them, never the words.
    digest = crypto.active().lookup_hash(" ".join(fold(text).split()))
    sent = recently_sent(session, group, "announce", now, digest)
    if sent is not None:
        return sent_already("announce.recent", session, group, actor, sent)
    count = 0
    for member in active_members_of(session, group.id):
        if member.id == actor.id:
            continue
        tell(session, member, "announce.member", now, group.id, keyword=group.keyword,
                  actor=display_name(actor, language_of(member)), text=text)
        count += 1
    record(session, group.id, actor.id, "announce", now, digest=digest)
    return render("coord.done.announce", language_of(actor), count=count, keyword=group.keyword)
