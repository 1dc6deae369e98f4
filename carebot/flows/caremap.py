"""MAP / MAPA: a member's care map, in three short questions, shared only on their YES.

What helps when they're having a hard time, what doesn't, anything else someone
supporting them should know: each answered in their own words (kept as written, up
to ``MAX_ANSWER`` characters) or with SKIP, then whether to share it with whoever
says YES to support them. While a question is open the member's text is its
answer, whatever it looks like: only STOP and crisis words come first (the router).
The map's questions rank below care and consent (carebot.services.questions): an
offer of care pushes them aside, so a YES meant for one can never answer the other.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from carebot.domain.i18n import render
from carebot.flows import understanding
from carebot.flows.base import (
    CareMapInfo,
    Context,
    MapAnswered,
    MapDeleted,
    MapFinished,
    MapStarted,
    MapToCall,
    Reply,
    Transition,
    Waiting,
    say,
)
from carebot.flows.join import removed_reply
from carebot.flows.words import FILLER, MAP, MAP_NEW, MAP_OFF, SKIP, Text, answers_no, answers_yes, is_one_of

FLOW = "caremap"
FIELDS = ("helps", "hurts", "also")
MAX_ANSWER = 300  # characters in each answer
# How long a map question waits for its answer; after that a text is read as usual again.
MAP_WINDOW = timedelta(hours=2)
# How long "share your care map with the person who calls?" waits: a day, like a care question.
CALL_WINDOW = timedelta(hours=24)
MAP_RANK = 2  # carebot.services.questions.LOW: care and consent questions are asked first
# Questions that outrank the map: while one is asked, MAP waits (its YES must answer that one).
OUTRANK_MAP = frozenset({"join", "pairing", "checkin", "approval"})


def command(ctx: Context, text: Text) -> Transition | None:
    """MAP shows the member's map or starts one; MAP NEW redoes it; MAP OFF deletes it."""
    words = [w for w in text.words if w not in FILLER]
    if not words or words[0] not in MAP or len(words) > 2:
        return None
    option = words[1] if len(words) == 2 else None
    if option is not None and option not in MAP_NEW | MAP_OFF:
        return None
    if not ctx.memberships:
        # Someone the coordinators removed hears the way back, not "join first".
        return removed_reply(ctx) or say(ctx, "caremap.no_group")
    if option in MAP_OFF:
        return Transition(effects=(MapDeleted(),))
    existing = ctx.lookups.care_map()
    if existing is not None and option is None:
        return Transition(replies=(Reply(show(existing, ctx.language)),))
    if ctx.waiting is not None and ctx.waiting.flow in OUTRANK_MAP:
        return say(ctx, "caremap.later")
    return _ask(ctx, "helps", answered=0, effects=(MapStarted(),))


def answer(ctx: Context, text: Text) -> Transition:
    """An answer to one of the three questions: the member's words as written, or SKIP."""
    waiting = ctx.waiting
    assert waiting is not None
    if ctx.crisis:
        return Transition(wait=waiting)  # crisis words are never kept; the question stays open
    again = command(ctx, text)
    if again is not None:
        return again  # MAP OFF, MAP NEW or MAP mid-way: the member changed course
    answered = int(waiting.data.get("answered", 0))
    if is_one_of(text.words, SKIP):
        words = None
    else:
        words = text.raw
        if len(words) > MAX_ANSWER:
            return Transition(replies=(Reply(render("caremap.too_long", ctx.language, count=len(words))),),
                              wait=waiting)
        answered += 1
    effects: tuple = (MapAnswered(waiting.step, words),)
    position = FIELDS.index(waiting.step)
    if position + 1 < len(FIELDS):
        return _ask(ctx, FIELDS[position + 1], answered=answered, effects=effects)
    if answered == 0:
        # Nothing to keep: no map is made, and the one they had (if any) stays.
        return Transition(effects=(MapDeleted(draft_only=True),))
    return _ask(ctx, "share", answered=answered, effects=effects)


def share(ctx: Context, text: Text) -> Transition:
    """YES shares the finished map with whoever supports the member; NO (or SKIP) keeps it to them."""
    waiting = ctx.waiting
    assert waiting is not None
    if ctx.crisis:
        return Transition(wait=waiting)
    again = command(ctx, text)
    if again is not None:
        return again
    if answers_yes(text):
        return Transition(effects=(MapFinished(shared=True),))
    if answers_no(text) or is_one_of(text.words, SKIP):
        return Transition(effects=(MapFinished(shared=False),))
    return Transition(replies=say(ctx, "caremap.share.again").replies, wait=waiting)


def call_reply(ctx: Context, text: Text) -> Transition | None:
    """After a CALL: YES sends the map to the on-call people it told; anything else is read as usual."""
    waiting = ctx.waiting
    assert waiting is not None
    told = tuple(int(i) for i in waiting.data.get("told", ()))
    if answers_yes(text, more=understanding.yes_may_say_more(ctx, text)):
        return Transition(effects=(MapToCall(True, told),))
    if answers_no(text):
        return Transition(effects=(MapToCall(False, ()),))
    return None


def call_question(language: str, told: tuple[int, ...], now: datetime) -> tuple[str, Waiting]:
    """The question a CALL asks a member who has a care map, and its wait (care comes first)."""
    prompt = render("caremap.ask.call", language)
    return prompt, Waiting(FLOW, "call", {"told": list(told), "_rank": 0, "_prompt": prompt, "_group": None},
                           now + CALL_WINDOW)


def _ask(ctx: Context, step: str, *, answered: int, effects: tuple = ()) -> Transition:
    prompt = render(f"caremap.ask.{step}", ctx.language)
    data = {"answered": answered, "_rank": MAP_RANK, "_prompt": prompt, "_group": None}
    return Transition(replies=(Reply(prompt),), effects=effects,
                      wait=Waiting(FLOW, step, data, ctx.now + MAP_WINDOW))


def parts(care_map: CareMapInfo, language: str) -> str:
    """The map's answers as one line, "helps: …; doesn't help: …; also: …", skipped ones left out."""
    return "; ".join(render(f"caremap.part.{field}", language, text=words)
                     for field in FIELDS if (words := getattr(care_map, field)))


def show(care_map: CareMapInfo, language: str) -> str:
    """The map as its owner reads it (MAP)."""
    shared = render("caremap.shared" if care_map.shared else "caremap.private", language)
    return render("caremap.show", language, shared=shared, parts=parts(care_map, language))


def for_other(care_map: CareMapInfo, name: str, language: str) -> str:
    """The map as a supporter (or the person who calls) reads it: "Ana's care map - helps: …"."""
    return render("caremap.for_other", language, name=name, parts=parts(care_map, language))
