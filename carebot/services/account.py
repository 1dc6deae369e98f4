"""A member's own account: joining a group, consent (STOP, START, CHANNEL SMS), language, name,
daytime, and FORGET, which erases everything carebot keeps about them.
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from carebot.domain.vocabulary import GO_AFTER_STOP, SMS, VOICE, MembershipStatus, OutboxStatus
from carebot.flows.base import (
    ChannelChanged,
    CourtesyAnswered,
    DaytimeChanged,
    Forgotten,
    Joined,
    LanguageChanged,
    NameChanged,
    OptedIn,
    OptedOut,
)
from carebot.outbox.policy import cancel, sms_consented
from carebot.services import care_requests, caremap
from carebot.services.effects import Act, Outcome, handles
from carebot.services.pairings import end_all
from carebot.services.planner import mark_due
from carebot.store import removals
from carebot.store.models import (
    Answer,
    CareMap,
    ConsentEvent,
    Conversation,
    InboundMessage,
    Member,
    Membership,
    NotWith,
    OutboxMessage,
    Pairing,
    PendingAction,
    QueuedQuestion,
)
from carebot.store.queries import active_groups_of

log = logging.getLogger(__name__)

# Conversations whose data can point at another member's pairing, approval or person.
ABOUT_OTHERS = ("pairing", "checkin", "relay", "approval", "coord")


@handles(Joined)
def joined(act: Act, effect: Joined) -> Outcome:
    """YES to a group's consent question: the member is in (unless its coordinators removed them)."""
    session, member, now, group_id = act.session, act.member, act.now, effect.group_id
    if group_id in removals.groups_of(session, member):  # even after FORGET: only ADD clears it
        log.info("member %s is removed from group %s: a YES does not bring them back", member.id, group_id)
        mark_due(session, group_id, now)
        return Outcome()
    membership = session.scalars(
        select(Membership).where(Membership.member_id == member.id, Membership.group_id == group_id)
    ).first()
    if membership is None:
        membership = Membership(group_id=group_id, member_id=member.id, created_at=now)
        session.add(membership)
    membership.status = MembershipStatus.ACTIVE
    membership.consented_at = now
    session.add(ConsentEvent(member_id=member.id, group_id=group_id, kind="opt_in",
                             channel=act.channel, wording=effect.wording, at=now))
    mark_due(session, group_id, now)
    return Outcome()


@handles(OptedOut)
def opted_out(act: Act, effect: OptedOut) -> Outcome:
    """STOP: consent ends at once; pairings end with word to the other side, pending texts go."""
    session, member, now = act.session, act.member, act.now
    # Stopped first, so the engine looking again as their pairings end counts them out: a requester
    # left without them hears "ended, nobody else is free" in one text, never two a moment apart.
    member.opted_out = True
    end_all(session, member, now)
    care_requests.end_requests(session, member, now)  # START does not revive them
    session.add(ConsentEvent(member_id=member.id, kind="opt_out", channel=act.channel, wording=effect.wording, at=now))
    for row in session.scalars(select(OutboxMessage).where(
            OutboxMessage.member_id == member.id, OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.purpose.not_in(GO_AFTER_STOP))):
        cancel(row)  # a member's few waiting texts; none of their words kept
    return Outcome()


@handles(OptedIn)
def opted_in(act: Act, effect: OptedIn) -> Outcome:
    """START: consent again; their answers count again in each of their groups."""
    session, member, now = act.session, act.member, act.now
    member.opted_out = False
    for group_id in active_groups_of(session, member.id):
        mark_due(session, group_id, now)
    session.add(ConsentEvent(member_id=member.id, kind="resubscribe", channel=act.channel,
                             wording=effect.wording, at=now))
    return Outcome()


@handles(LanguageChanged)
def language_changed(act: Act, effect: LanguageChanged) -> Outcome:
    act.member.language = effect.language
    return Outcome()


@handles(CourtesyAnswered)
def courtesy_answered(act: Act, effect: CourtesyAnswered) -> Outcome:
    act.member.courtesy_at = act.now
    return Outcome()


@handles(NameChanged)
def name_changed(act: Act, effect: NameChanged) -> Outcome:
    act.member.name = effect.name
    return Outcome()


@handles(DaytimeChanged)
def daytime_changed(act: Act, effect: DaytimeChanged) -> Outcome:
    act.member.day_starts, act.member.day_ends = effect.starts, effect.ends
    return Outcome()


@handles(ChannelChanged)
def channel_changed(act: Act, effect: ChannelChanged) -> Outcome:
    session, member = act.session, act.member
    if effect.channel == SMS and not sms_consented(session, member):
        # Asking for SMS is consent to SMS, recorded like any other consent.
        session.add(ConsentEvent(member_id=member.id, kind="opt_in", channel=SMS, wording="CHANNEL SMS", at=act.now))
    elif effect.channel == VOICE:  # asking for calls is consent to calls, recorded the same way
        session.add(ConsentEvent(member_id=member.id, kind="opt_in", channel=VOICE, wording="CHANNEL VOICE",
                                 at=act.now))
    member.channel = effect.channel
    return Outcome()


@handles(Forgotten)
def forgotten(act: Act, effect: Forgotten) -> Outcome:
    """FORGET: pairings end now; the erasure itself (``forget``) comes once the transition is applied."""
    end_all(act.session, act.member, act.now)
    return Outcome(forgotten=True)


def forget(session: Session, member: Member) -> None:
    """Erase every row carebot keeps about ``member``, and the member."""
    # carebot's own tables only: signal-cli's data directory keeps the member's number and
    # UUID in clear text, out of carebot's reach (deploy/signal.md, "What Signal keeps").
    member_id = member.id
    # Others' open questions about them (an offer, a relay window, an approval, a
    # coordinator's YES about them) point at rows that go now, or name them: they end too.
    pairings = set(session.scalars(select(Pairing.id).where(
        or_(Pairing.requester_id == member_id, Pairing.supporter_id == member_id))))
    approvals = set(session.scalars(select(PendingAction.id).where(
        or_(PendingAction.actor_id == member_id, PendingAction.target_id == member_id))))
    asked: list[Conversation | QueuedQuestion] = [
        *session.scalars(select(Conversation).where(Conversation.member_id != member_id,
                                                    Conversation.flow.in_(ABOUT_OTHERS))),
        *session.scalars(select(QueuedQuestion).where(QueuedQuestion.member_id != member_id,
                                                      QueuedQuestion.flow.in_(ABOUT_OTHERS))),
    ]
    for question in asked:
        data = question.data or {}
        if (data.get("pairing_id") in pairings or data.get("pending_id") in approvals
                or data.get("target_id") == member_id):
            session.delete(question)
    caremap.withdraw_waiting(session, member_id)  # her map's copies waiting for others' morning
    session.execute(delete(OutboxMessage).where(OutboxMessage.member_id == member_id))
    session.execute(update(InboundMessage).where(InboundMessage.member_id == member_id).values(member_id=None))
    for erased in (Answer, ConsentEvent, Conversation, QueuedQuestion, Membership, CareMap):
        session.execute(delete(erased).where(erased.member_id == member_id))
    session.execute(delete(NotWith).where(or_(NotWith.member_id == member_id, NotWith.other_id == member_id)))
    session.execute(delete(Pairing).where(or_(Pairing.requester_id == member_id,
                                              Pairing.supporter_id == member_id)))
    session.delete(member)
    session.flush()
    log.info("member %s forgotten", member_id)
