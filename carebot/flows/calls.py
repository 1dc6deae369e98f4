"""The go-around by phone: what each keypress of a call means, and what each menu says.

A keypress means the text a member would have sent: 1 then 2 (two weeks) is
``1 2w``, 8 is ``STATUS``, 9 is ``CALL``, 7 twice is ``STOP``, a stranger's 1 is
``JOIN <KEYWORD>`` and then ``YES``. The host sends that text through the
dispatcher like any other, and the call speaks its replies; this module only
decides, without I/O. Where the caller is travels in the call's state (a
few short strings, carried from one keypress to the next).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from carebot.domain.i18n import render
from carebot.flows.base import Context, GroupInfo, MissedCallsMean, Reply, Transition
from carebot.flows.goaround import OPTION_WORDS, summarize
from carebot.flows.join import consent_question
from carebot.flows.words import HOW, Text, fold

MAIN, HOW_LONG, STOP_SURE, JOIN, CONSENT, STOPPED = "main", "howlong", "stop", "join", "consent", "stopped"
ANSWER = "answer"  # after a message from carebot that asks a YES or NO
GROUP = "group"  # a member of several groups chooses which one the go-around is for
# The questions carebot asks that a YES or NO answers: an offer, a check-in, a gathering, a confirmation.
YES_NO_FLOWS = frozenset({"pairing", "checkin", "gather", "approval", "coord", "forget", "join"})
OPTIONS = "012345"
DURATIONS = {"1": "1w", "2": "2w", "3": "ongoing"}  # how long, by key
STATUS_KEY, CALL_KEY, STOP_KEY, REPEAT_KEY = "8", "9", "7", "*"
# Keys as a speech recognizer writes them when the caller says one instead of pressing it:
# the go-around's own option words, and zero.
SPOKEN_KEYS = {**{word: str(number) for word, number in OPTION_WORDS.items()}, "zero": "0", "cero": "0"}
MOST_GROUPS = 6
# "HOW missed call means call me" (or "...means nothing"), folded; Spanish too.
_MISSED = re.compile(r"^(missed calls?|llamadas? perdidas?) (means?|significan?|es|son) (?P<what>.+)$")
_CALL_ME = {"call me", "call me back", "llamame", "llamenme", "devuelvanme la llamada"}
_NOTHING = {"nothing", "nada"}  # a stranger hears at most this many groups to join (keys 1-6)


@dataclass(frozen=True)
class CallTurn:
    """What one keypress does: words said first, the equivalent text (if any) for the dispatcher,
    then the menu that follows (None: the call ends), with the state it carries."""

    said: tuple[str, ...] = ()
    text: str | None = None
    next: str | None = MAIN
    state: Mapping[str, str] = field(default_factory=dict)
    menu: bool = True  # False when the text's own reply is the next menu's question (joining's consent)


def _joinable(ctx: Context) -> list[GroupInfo]:
    """The groups a stranger may join by phone, in a stable order."""
    return sorted(ctx.groups.values(), key=lambda g: g.id)[:MOST_GROUPS]


def first_step(ctx: Context) -> str:
    """Where a call starts: the member's go-around, the way back after STOP, or joining."""
    if ctx.opted_out:
        return STOPPED
    if ctx.waiting is not None and ctx.waiting.flow == "join":
        return CONSENT
    if not ctx.memberships:
        return JOIN
    return GROUP if len(ctx.memberships) > 1 else MAIN


def after_message(ctx: Context) -> str:
    """The menu after carebot's own message in a call it placed: YES or NO to the question it
    asks, else the go-around (a round's question)."""
    return ANSWER if ctx.waiting is not None and ctx.waiting.flow in YES_NO_FLOWS else MAIN


def on_a_machine(ctx: Context) -> str:
    """All a voicemail hears: whose care line called, and to call back; never the message."""
    group = ctx.memberships[0].group.name if ctx.memberships else ""
    return render("call.machine", ctx.language, group=group)


def _member_groups(ctx: Context) -> list[GroupInfo]:
    return [m.group for m in ctx.memberships][:MOST_GROUPS]


def greeting(ctx: Context, group: GroupInfo | None = None) -> tuple[str, ...]:
    """A member's greeting: the line's name and their current answers in ``group`` (in several
    groups with none chosen yet: only hello, before they choose)."""
    language = ctx.language
    if not ctx.memberships:
        return ()
    if group is None and len(ctx.memberships) > 1:
        return (render("call.greeting.groups", language, name=ctx.name) if ctx.name
                else render("call.greeting.groups.unnamed", language),)
    group = group or ctx.memberships[0].group
    hello = (render("call.greeting", language, name=ctx.name, group=group.name) if ctx.name
             else render("call.greeting.unnamed", language, group=group.name))
    answers = ctx.answers_in(group.id)
    if not answers:
        return hello, render("call.no_answer", language)
    return hello, render("call.answers", language, summary=summarize(answers, language, group.tz))


def menu(ctx: Context, step: str, state: Mapping[str, str]) -> tuple[str, ...]:
    """What the menu at ``step`` says before it waits for a key."""
    language = ctx.language
    if step == HOW_LONG:
        return (render("call.how_long", language),)
    if step == ANSWER:
        return (render("call.answer", language),)
    if step == STOP_SURE:
        return (render("call.stop.sure", language),)
    if step == STOPPED:
        return (render("call.stopped", language),)
    if step == GROUP:
        return tuple(render("call.group.choice", language, group=g.name, n=index)
                     for index, g in enumerate(_member_groups(ctx), start=1))
    if step == CONSENT:
        group_id = ctx.waiting.data.get("group_id") if ctx.waiting is not None else None
        group = next((g for g in ctx.groups.values() if g.id == group_id), None)
        return (consent_question(ctx, group),) if group is not None else ()
    if step == JOIN:
        groups = _joinable(ctx)
        names = ", ".join(g.name for g in groups)
        return (render("call.stranger", language, group=names),
                *(render("call.join.choice", language, group=g.name, n=index)
                  for index, g in enumerate(groups, start=1)),
                render("call.menu.stranger", language))
    return (render("call.menu", language), render("call.menu.more", language))


def takes_speech(step: str) -> bool:
    """Whether the menu at ``step`` also listens: the go-around, where what is said reads as a text,
    and its "for how long?", where "two weeks" is the key 2."""
    return step in (MAIN, HOW_LONG)


# "For how long? 1 a week, 2 two weeks, 3 ongoing", said instead of pressed (folded words).
SPOKEN_DURATIONS = {
    **dict.fromkeys(("one", "uno", "a week", "one week", "1 week", "week", "una semana", "1 semana", "semana"), "1"),
    **dict.fromkeys(("two", "dos", "two weeks", "2 weeks", "dos semanas", "2 semanas", "weeks", "semanas"), "2"),
    **dict.fromkeys(("three", "tres", "ongoing", "indefinitely", "no end", "always", "sin fecha", "indefinido",
                     "siempre"), "3"),
}


def press(ctx: Context, step: str, state: Mapping[str, str], digits: str, speech: str) -> CallTurn:
    """What the caller's key (or words) at ``step`` means."""
    words = fold(speech).split()
    said = " ".join(w for w in words if w not in ("for", "por"))  # "for two weeks", "por dos semanas"
    if not digits and step == HOW_LONG and said in SPOKEN_DURATIONS:
        digits, speech = SPOKEN_DURATIONS[said], ""  # "two weeks": the key 2, said
    if not digits and len(words) == 1 and (words[0] in SPOKEN_KEYS or words[0] in OPTIONS):
        digits, speech = SPOKEN_KEYS.get(words[0], words[0]), ""  # "four": the key 4, said
    key = digits[:1] or "-"  # no key at all is no option
    # What the call carries from key to key: the answers chosen so far, and the group they are for.
    kept = {name: state[name] for name in ("chosen", "g") if state.get(name)}
    prefix = f"{state['g']} " if state.get("g") else ""  # "COMIDA 4 1w", as a member of two groups texts it
    if key == REPEAT_KEY:
        return CallTurn(next=step, state=kept)
    if step == STOP_SURE:
        return CallTurn(text="STOP", next=None) if key == STOP_KEY else CallTurn(state=kept)
    if key == STOP_KEY and step in (MAIN, JOIN):
        return CallTurn(next=STOP_SURE, state=kept)
    if step == STOPPED:
        return CallTurn(text="START") if key == "1" else CallTurn(next=None)
    if step == GROUP:
        mine = _member_groups(ctx)
        if key.isdigit() and 1 <= int(key) <= len(mine):
            chosen_group = mine[int(key) - 1]
            return CallTurn(said=greeting(ctx, chosen_group), state={"g": chosen_group.keyword})
        return _again(ctx, step, kept)
    if step == JOIN:
        groups = _joinable(ctx)
        if key.isdigit() and 1 <= int(key) <= len(groups):
            # The reply to JOIN is the consent question itself, spoken: no menu after it.
            return CallTurn(text=f"JOIN {groups[int(key) - 1].keyword}", next=CONSENT, menu=False)
        return _again(ctx, step, kept)
    if step == ANSWER:
        if key in ("1", "2"):
            return CallTurn(text="YES" if key == "1" else "NO")
        return _again(ctx, step, kept)
    if step == CONSENT:
        if key in ("1", "2"):
            return CallTurn(text="YES" if key == "1" else "NO", next=MAIN if key == "1" else None)
        return _again(ctx, step, kept)
    if step == HOW_LONG:
        option = state.get("option", "")
        if key in DURATIONS and option in OPTIONS:
            chosen = f"{state.get('chosen', '')} {option} {DURATIONS[key]}".strip()
            return CallTurn(text=prefix + chosen, state={**kept, "chosen": chosen})
        return _again(ctx, step, state)
    # The go-around itself.
    if key == "0":
        return CallTurn(text=f"{prefix}0", state={"g": state["g"]} if state.get("g") else {})
    if key in OPTIONS:
        return CallTurn(next=HOW_LONG, state={**kept, "option": key})
    if key == STATUS_KEY:
        return CallTurn(text="STATUS", state=kept)
    if key == CALL_KEY:
        return CallTurn(text="CALL", state=kept)
    if not digits and speech.strip():
        return CallTurn(text=speech.strip(), state=kept)  # said, not pressed: read like a text
    return _again(ctx, step, kept)


def _again(ctx: Context, step: str, state: Mapping[str, str]) -> CallTurn:
    return CallTurn(said=(render("call.not_understood", ctx.language),), next=step, state=state)


def missed_calls(ctx: Context, text: Text) -> Transition | None:
    """``HOW missed call means call me``: the member's own rule for a call they hang up before choosing.

    Off unless they say so (phones get borrowed); ``HOW missed call means nothing`` turns it off.
    """
    if len(text.words) < 4 or text.words[0] not in HOW:
        return None
    found = _MISSED.match(" ".join(text.words[1:]))
    what = found["what"] if found else ""
    if what not in _CALL_ME and what not in _NOTHING:
        return None
    if not ctx.memberships:
        return None  # the go-around's own answer for a stranger's HOW
    call_back = what in _CALL_ME
    key = "call.missed.call_back" if call_back else "call.missed.nothing"
    return Transition(replies=(Reply(render(key, ctx.language)),), effects=(MissedCallsMean(call_back),))
