"""Relay: a member's words to the other member of their pairing, through carebot, by day,
keeping no copy; the other can answer plainly for a while after it reaches them.
"""

from __future__ import annotations

from carebot.domain.i18n import render
from carebot.domain.vocabulary import PairingStatus
from carebot.flows.base import Relayed, Waiting
from carebot.flows.relay import REPLY_WINDOW
from carebot.outbox.write import address_on, push
from carebot.services import questions
from carebot.services.effects import Act, Outcome, handles
from carebot.services.pairings import other_side
from carebot.services.people import display_name, language_of
from carebot.store.conversations import busy, set_waiting
from carebot.store.models import Group, Pairing
from carebot.store.queries import existing


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
    row = push(session, other, render("relay.message", language_of(other), name=display_name(sender, language_of(other)),
                                      keyword=group.keyword, text=effect.text), now,
               pairing.group_for(other.id))
    if row is None:
        return Outcome([render("relay.cannot", language, name=other_name)])
    # The other can answer plainly for a while after it reaches them, if no question is open (a late
    # "did you connect?", questions.LATE, gives way).
    if other.id not in busy(session, [other.id], now, rank=questions.LOW):
        set_waiting(session, other.id, Waiting("relay", "open", {"pairing_id": pairing.id, "_rank": questions.LOW},
                                               row.not_before + REPLY_WINDOW), now)
    if row.not_before > now:
        return Outcome([render("relay.later", language, name=other_name)])
    return Outcome([render("relay.sent", language, name=other_name)])
