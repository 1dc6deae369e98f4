"""Private relay: paired members write to each other through carebot, by name.

``@Ana how was your day?`` goes to Ana as "Sam (DMMA): how was your day?" on her
own channel; neither ever sees the other's number. Right after a relayed message,
a plain reply goes back without the ``@``, for a short while, unless it is one of
carebot's own words.
"""

from __future__ import annotations

from datetime import timedelta

from carebot.flows.base import Context, Relayed, Transition, say
from carebot.flows.lookups import folded, pairings_named
from carebot.flows.words import Text

# How long after a relayed message a plain reply goes back without the ``@`` (one window, kept here).
REPLY_WINDOW = timedelta(minutes=30)
MAX_RELAY = 600


def relay(ctx: Context, text: Text) -> Transition | None:
    """``@Name message``: to the other member of one of the member's pairings."""
    if not text.words or not text.words[0].startswith("@"):
        return None
    name = text.raw.split(None, 1)[0][1:].strip(".,:;!?")
    if not name:
        return None
    found = pairings_named(ctx.pairings, name)  # "@jose" is José: accents don't matter (README)
    if not found and any(folded(p.other_name).startswith(folded(name)) for p in ctx.pairings):
        # Paired until lately (they left, or it ended): say so rather than "who?".
        return say(ctx, "relay.cannot", name=name[:20])
    if len(found) != 1:
        return say(ctx, "relay.unknown", name=name[:20])
    message = text.rest(1)[:MAX_RELAY]
    if not message:
        return say(ctx, "relay.empty", name=found[0].other_name)
    return Transition(effects=(Relayed(found[0].id, message),))


def reply_in_window(ctx: Context, text: Text) -> Transition | None:
    """A plain reply right after a relayed message goes back to its sender."""
    if not text.raw or ctx.waiting is None:
        return None
    pairing_id = int(ctx.waiting.data["pairing_id"])
    if not any(p.id == pairing_id and p.status == "active" for p in ctx.pairings):
        return None
    return Transition(effects=(Relayed(pairing_id, text.raw[:MAX_RELAY]),))
