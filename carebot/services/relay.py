"""Relay: a member's words to the other member of their pairing, or to their group's coordinators,
through carebot, by day, keeping no copy; whoever gets them can answer plainly for a while after.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebot.domain.i18n import names_list, render
from carebot.domain.vocabulary import MembershipStatus, PairingStatus, Role
from carebot.flows.base import Relayed, RelayedFromCoordinator, RelayedToCoordinators, Waiting
from carebot.flows.relay import REPLY_WINDOW
from carebot.outbox.write import address_on, push
from carebot.services import questions
from carebot.services.effects import Act, Outcome, handles
from carebot.services.pairings import other_side
from carebot.services.people import display_name, language_of
from carebot.store.conversations import busy, set_waiting
from carebot.store.models import Conversation, Group, Member, Membership, OutboxMessage, Pairing
from carebot.store.queries import active_groups_of, existing, is_coordinator


@handles(Relayed)
def relay(act: Act, effect: Relayed) -> Outcome:
    """Deliver a member's words to the other member of their pairing, by day, keeping no copy."""
    session, sender, now = act.session, act.member, act.now
    language = language_of(sender)
    pairing = session.get(Pairing, effect.pairing_id)
    if pairing is None or pairing.status != PairingStatus.ACTIVE or sender.id not in (pairing.requester_id, pairing.supporter_id):
        return Outcome([render("care.done.none", language)])
    other = other_side(session, pairing, sender)
    # Each side as their own group's: across a network, the sender's group names them, the other's carries it.
    group = existing(session, Group, pairing.group_for(sender.id))
    other_name = display_name(other, language)
    if other is None or group is None or other.opted_out or address_on(other, other.channel) is None:
        return Outcome([render("relay.cannot", language, name=other_name)])
    row = _deliver(session, other, render("relay.message", language_of(other), name=display_name(sender, language_of(other)),
                                          keyword=group.keyword, text=effect.text), now,
                   pairing.group_for(other.id), {"pairing_id": pairing.id})
    if row is None:
        return Outcome([render("relay.cannot", language, name=other_name)])
    return _sent(row, now, language, other_name)


@handles(RelayedToCoordinators)
def to_coordinators(act: Act, effect: RelayedToCoordinators) -> Outcome:
    """Deliver a member's words to their group's coordinators (those named, the one who answered them,
    or all), each on their own channel, by day, keeping no copy; none of them sees the member's number."""
    session, sender, now = act.session, act.member, act.now
    language = language_of(sender)
    group = existing(session, Group, effect.group_id)
    if effect.group_id not in active_groups_of(session, sender.id):
        return Outcome([render("relay.coordinators.cannot", language, keyword=group.keyword)])
    held = [c for c in _coordinators_holding(session, group.id) if c.id != sender.id]
    one = effect.name is not None or effect.coordinator_id is not None
    wanted = [c for c in held if c.id == effect.coordinator_id] if effect.coordinator_id is not None else (
        [c for c in held if c.name == effect.name] if effect.name is not None else held)
    key = "relay.to_coordinator" if one else "relay.to_coordinators"
    delivered = [(c, row) for c in wanted if not c.opted_out for row in [_deliver(
        session, c, render(key, language_of(c), name=display_name(sender, language_of(c)), keyword=group.keyword,
                           text=effect.text), now, group.id, {"member_id": sender.id, "group_id": group.id})]
                 if row is not None]
    if effect.coordinator_id is not None:  # the conversation goes on with the one who answered
        coordinator = session.get(Member, effect.coordinator_id)
        name = effect.name or display_name(coordinator, language)
        return _sent(delivered[0][1], now, language, name) if delivered else Outcome(
            [render("relay.cannot", language, name=name)])
    if not delivered:
        if effect.name is not None:
            return Outcome([render("relay.cannot", language, name=effect.name)])
        # Nobody holds the role (the group's own ways, and the gathering, are where that changes), or
        # those who do have stopped their texts.
        if not held and is_coordinator(session, sender.id, group.id):
            return Outcome([render("relay.coordinators.only_you", language, keyword=group.keyword)])
        return Outcome([render("relay.coordinators.cannot" if held else "relay.coordinators.none", language,
                               keyword=group.keyword)])
    names = names_list([display_name(c, language) for c, _ in delivered], language)
    several = ".several" if len(delivered) > 1 else ""
    later = all(row.not_before > now for _, row in delivered)
    return Outcome([render(f"relay.coordinators.{'later' if later else 'sent'}{several}", language, names=names,
                           keyword=group.keyword)])


@handles(RelayedFromCoordinator)
def from_coordinator(act: Act, effect: RelayedFromCoordinator) -> Outcome:
    """Deliver a coordinator's reply to the member who wrote to the coordinators, who can answer them in turn."""
    session, coordinator, now = act.session, act.member, act.now
    language = language_of(coordinator)
    group = existing(session, Group, effect.group_id)
    member = session.get(Member, effect.member_id)
    name = display_name(member, language)
    if member is None or member.opted_out or not is_coordinator(session, coordinator.id, group.id) or \
            group.id not in active_groups_of(session, member.id):
        return Outcome([render("relay.cannot", language, name=name)])
    row = _deliver(session, member, render("relay.from_coordinator", language_of(member), keyword=group.keyword,
                                           name=display_name(coordinator, language_of(member)), text=effect.text),
                   now, group.id, {"coordinator_id": coordinator.id, "group_id": group.id})
    if row is None:
        return Outcome([render("relay.cannot", language, name=name)])
    return _sent(row, now, language, name)


def _deliver(session: Session, recipient: Member, text: str, now: datetime, group_id: int,
             window: dict[str, Any]) -> OutboxMessage | None:
    """Send ``text`` to ``recipient`` by day; they can then answer plainly for a while (``window`` says to whom).

    A message that goes now is the member's latest text, and a YES answers the question in the member's
    latest text: so the window takes the asked place, and a question asked before it (an offer, a
    check-in) is set aside and asked again once the window has ended (questions.replace). An outside
    tester's "yes" to the person who had just written accepted an older offer and gave out its
    requester's number. A message held for the morning opens a window only if no question is open (a
    late "did you connect?", questions.LATE, gives way): until it arrives, the question is the latest.
    """
    row = push(session, recipient, text, now, group_id)
    if row is None:
        return None
    waiting = Waiting("relay", "open", {**window, "_rank": questions.LOW}, row.not_before + REPLY_WINDOW)
    if row.not_before <= now:
        questions.replace(session, recipient.id, waiting, now)
    elif _no_question_open(session, recipient.id, now):
        set_waiting(session, recipient.id, waiting, now)
    return row


def _no_question_open(session: Session, member_id: int, now: datetime) -> bool:
    """Whether a relay window may open for the member: no question is open, or only another relay window,
    which the newest relayed message takes over (a plain reply answers the message just above it, as in
    any chat: a coordinator written to by two members in a row answers the second)."""
    conversation = session.scalars(select(Conversation).where(Conversation.member_id == member_id)).first()
    if conversation is not None and conversation.flow == "relay":
        return True
    return member_id not in busy(session, [member_id], now, rank=questions.LOW)


def _sent(row: OutboxMessage, now: datetime, language: str, name: str) -> Outcome:
    """What the sender is told: it went, or it goes when the other's day starts."""
    return Outcome([render("relay.later" if row.not_before > now else "relay.sent", language, name=name)])


def _coordinators_holding(session: Session, group_id: int) -> list[Member]:
    """Everyone who holds the group's coordinator role, those who stopped their texts too (unlike
    queries.coordinators_of: a member is told such a one can't receive, not that there is none)."""
    return list(session.scalars(
        select(Member).join(Membership, Membership.member_id == Member.id).where(
            Membership.group_id == group_id, Membership.role == Role.COORDINATOR,
            Membership.status == MembershipStatus.ACTIVE).order_by(Membership.id)))
