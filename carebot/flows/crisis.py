"""Crisis care without police: warm words, the group's own resources, and CALL.

Crisis words (English, Spanish, and common shorthand) get at once, whatever the
member was in the middle of, a short warm reply with the group's non-police
resources and an offer to have someone from the group reach out. Only when the
member replies CALL is anyone told. Only a category flag is kept, never the text.
"""

from __future__ import annotations

import re

from carebot.flows.base import CallRequested, Context, CrisisNoted, Reply, Transition
from carebot.flows.words import CALL, Text, fold, is_one_of
from carebot.i18n import render


# Phrases over folded text (lower case, no accents). Kept plain so a group can read them.
_PHRASES = [
    # English
    r"suicid\w*", r"kill(ing)? my ?self", r"end(ing)? (my life|it all)", r"(want|wanna|going) to die",
    r"wanna die", r"don'?t want to (live|be here|wake up)", r"no reason to live", r"better off dead",
    r"self[- ]?harm\w*", r"hurt(ing)? my ?self", r"cut(ting)? my ?self", r"overdos\w*", r"\bkms\b",
    r"\bunaliv\w*", r"can'?t go on", r"(in|having) a crisis", r"panic attack",
    # Spanish
    r"suicid\w*", r"matarme", r"quitarme la vida", r"(me )?quiero morir", r"no quiero (vivir|seguir)",
    r"hacerme dano", r"lastimarme", r"cortarme", r"sobredosis", r"no puedo mas", r"estoy en crisis",
    r"ataque de panico",
]
_CRISIS = re.compile("|".join(f"(?:{p})" for p in _PHRASES))

# Used where a group has not listed its own: peer-run, and it does not send anyone to the caller.
DEFAULT_RESOURCES = {
    "en": "Trans Lifeline 877-565-8860 (peer support)",
    "es": "Trans Lifeline 877-565-8860 (apoyo entre pares)",
}


def in_crisis(text: Text) -> bool:
    """True when the member's words speak of crisis."""
    return bool(_CRISIS.search(" ".join(fold(word) for word in text.raw.split())))


def resources_for(ctx: Context) -> str:
    """The member's groups' own crisis resources, or the peer-run default."""
    listed = [m.group.crisis_resources.strip() for m in ctx.memberships if m.group.crisis_resources.strip()]
    return "; ".join(dict.fromkeys(listed)) or DEFAULT_RESOURCES.get(ctx.language, DEFAULT_RESOURCES["en"])


def crisis_reply(ctx: Context) -> Transition:
    """The warm reply to crisis words: resources and the CALL offer."""
    text = render("crisis.reply", ctx.language, resources=resources_for(ctx))
    group_ids = tuple(m.group.id for m in ctx.memberships)
    return Transition(replies=(Reply(text),), effects=(CrisisNoted(group_ids),))


def call(ctx: Context, text: Text) -> Transition | None:
    """CALL: the member asks for someone from their group to reach out now."""
    if not is_one_of(text.words, CALL):
        return None
    if not ctx.memberships:
        return Transition(replies=(Reply(render("crisis.call.no_group", ctx.language,
                                                resources=resources_for(ctx))),))
    return Transition(effects=(CallRequested(tuple(m.group.id for m in ctx.memberships)),))
