"""The network question: "May I ask people in the network's other groups? (YES/NO)".

Asked only as the member's one asked question (carebot.services.questions), so a YES here can
never be a YES meant for a care offer, nor the reverse. carebot.services.network asks it and
applies the answer.
"""

from __future__ import annotations

from carebot.flows import understanding
from carebot.flows.base import Context, NetworkAnswered, Transition, Waiting
from carebot.flows.words import Text, answers_no, answers_yes


def _answer_id(waiting: Waiting | None) -> int:
    return int((waiting.data if waiting else {}).get("answer_id", 0))


def reply(ctx: Context, text: Text) -> Transition | None:
    """The requester's YES or NO ("ok sure", "si gracias"; "not now" is NO: this question has no
    LATER); anything else is read as usual, and the question stays open."""
    if answers_yes(text, more=understanding.yes_may_say_more(ctx, text)):
        return Transition(effects=(NetworkAnswered(_answer_id(ctx.waiting), True),))
    if answers_no(text):
        return Transition(effects=(NetworkAnswered(_answer_id(ctx.waiting), False),))
    return None


def timed_out(waiting: Waiting) -> Transition:
    """Silence asks nobody: the request stays in its own group."""
    return Transition(effects=(NetworkAnswered(_answer_id(waiting), None),))
