"""The network question: "May I ask people in the network's other groups? (YES/NO)".

Asked only as the member's one asked question (carebot.services.questions), so a YES here can
never be a YES meant for a care offer, nor the reverse. carebot.services.network asks it and
applies the answer.
"""

from __future__ import annotations

from carebot.flows.base import Context, NetworkAnswered, Transition, Waiting
from carebot.flows.words import NO, YES, Text, is_one_of

# "no thanks", "yes thank you", "si gracias": the thanks do not change the answer.
THANKS = frozenset({"thanks", "thank", "you", "thx", "ty", "gracias"})


def _answer_id(waiting: Waiting | None) -> int:
    return int((waiting.data if waiting else {}).get("answer_id", 0))


def reply(ctx: Context, text: Text) -> Transition | None:
    """The requester's YES or NO; anything else is read as usual, and the question stays open."""
    words = [w for w in text.words if w not in THANKS]
    if is_one_of(words, YES):
        return Transition(effects=(NetworkAnswered(_answer_id(ctx.waiting), True),))
    if is_one_of(words, NO):
        return Transition(effects=(NetworkAnswered(_answer_id(ctx.waiting), False),))
    return None


def timed_out(waiting: Waiting) -> Transition:
    """Silence asks nobody: the request stays in its own group."""
    return Transition(effects=(NetworkAnswered(_answer_id(waiting), None),))
