"""``CHANNEL SIGNAL`` / ``CHANNEL SMS`` / ``CHANNEL VOICE`` (``CANAL …``): where carebot's own texts to the member go.

Replies always go back on the channel the member wrote on; the choice moves
check-ins, go-around questions and every other text carebot starts. A member
can only choose a channel carebot can reach them on.
"""

from __future__ import annotations

from carebot.domain.i18n import render
from carebot.domain.vocabulary import SIGNAL, SMS, VOICE
from carebot.flows.base import ChannelChanged, Context, Reply, Transition, say
from carebot.flows.words import Text

CHANNEL = frozenset({"channel", "canal"})
CHANNEL_NAMES = {"signal": SIGNAL, "sms": SMS, "text": SMS, "texto": SMS,
                 # calls (issue 23): carebot's own messages as a short call in the member's day
                 "voice": VOICE, "call": VOICE, "calls": VOICE, "phone": VOICE, "llamada": VOICE,
                 "llamadas": VOICE, "voz": VOICE, "telefono": VOICE}


def choose(ctx: Context, text: Text) -> Transition | None:
    """``CHANNEL SIGNAL`` or ``CHANNEL SMS``: the member's channel for texts carebot starts."""
    words = text.words
    if not words or words[0] not in CHANNEL:
        return None
    chosen = CHANNEL_NAMES.get(words[1]) if len(words) == 2 else None
    if chosen is None:
        return say(ctx, "channel.unknown")
    if chosen not in ctx.reachable:
        return say(ctx, f"channel.need_{chosen}")
    return Transition(
        replies=(Reply(render(f"channel.{chosen}", ctx.language)),),
        effects=(ChannelChanged(chosen),),
    )
