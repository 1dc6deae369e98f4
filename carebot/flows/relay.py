"""Private relay: members write through carebot, by name, to the member they are paired with or to
their group's coordinators.

``@Ana how was your day?`` goes to Ana as "Sam (DMMA): how was your day?" on her own channel;
neither ever sees the other's number. ``@coordinators can we talk?`` (or a coordinator's name) goes
to the group's coordinators the same way, so HELP's "how to reach a coordinator" is a way that
works. Right after a relayed message, a plain reply goes back without the ``@``, for a short while,
unless it is one of carebot's own words (``answers_carebot``): crisis words and everyday replies that open
with a number ("1 sec", "5 works, thanks!") go back too.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from babel.lists import format_list

from carebot.flows.base import (
    Context,
    MembershipInfo,
    PersonInfo,
    Relayed,
    RelayedFromCoordinator,
    RelayedToCoordinators,
    Transition,
    say,
)
from carebot.flows.goaround import Unreadable, parse, pick_group
from carebot.flows.lookups import folded, named, pairings_named
from carebot.flows.words import COORD_WORDS, GATHER, Text

# How long after a relayed message a plain reply goes back without the ``@`` (one window, kept here).
REPLY_WINDOW = timedelta(minutes=30)
MAX_RELAY = 600

# "@coordinators", "@coordinadoras", "@coordinación" (accents and case aside): all of a group's coordinators.
TO_COORDINATORS = frozenset(
    "coordinators coordinator coords coord coordinadores coordinadoras coordinadora coordinador coordinacion".split())

# "i want to talk to a coordinator", "quiero hablar con una coordinadora": asked how, told how.
_COORDINATOR_WORDS = TO_COORDINATORS - {"coord", "coords"}  # "COORD ana" is a coordinator's command
_REACH_WORDS = frozenset(
    "talk speak reach contact message write text call hablar hablo contactar contacto escribir escribo escribirle "
    "escribirles llamar llamo mensaje comunicarme comunico".split())


def relay(ctx: Context, text: Text) -> Transition | None:
    """``@Name message``: to the other member of one of the member's pairings, or to a coordinator."""
    if not text.words or not text.words[0].startswith("@"):
        return None
    name = text.raw.split(None, 1)[0][1:].strip(".,:;!?")
    if not name:
        return None
    if folded(name) in TO_COORDINATORS:
        return _to_coordinators(ctx, text, name, ())
    found = pairings_named(ctx.pairings, name)  # "@jose" is José: accents don't matter (README)
    if not found:
        coordinators = _coordinators_named(ctx, name)  # a pairing of the same name wins
        if coordinators:
            return _to_coordinators(ctx, text, name, coordinators)
    if not found and any(folded(p.other_name).startswith(folded(name)) for p in ctx.pairings):
        # Paired until lately (they left, or it ended): say so rather than "who?".
        return say(ctx, "relay.cannot", name=name[:20])
    if len(found) != 1:
        return say(ctx, "relay.unknown", name=name[:20])
    message = text.rest(1)[:MAX_RELAY]
    if not message:
        return say(ctx, "relay.empty", name=found[0].other_name)
    return Transition(effects=(Relayed(found[0].id, message),))


def _coordinators_named(ctx: Context, name: str) -> tuple[PersonInfo, ...]:
    """The coordinators of the member's groups called ``name`` (one entry a group), the member aside."""
    return named((PersonInfo(0, coordinator, m.group.id) for m in ctx.memberships for coordinator in m.coordinators
                  if not (coordinator == ctx.name and ctx.is_coordinator(m.group.id))), name)


def _to_coordinators(ctx: Context, text: Text, typed: str, named_ones: tuple[PersonInfo, ...]) -> Transition | None:
    """To the coordinators of one of the member's groups: those named (``named_ones``), else all of them.

    Which group is clear when one of the member's groups has such coordinators; else the group's word
    after the name settles it ("@coordinators EAST hi"), and without it carebot asks, keeping nothing.
    """
    if not ctx.memberships:
        return None  # a stranger, or someone removed: not a member's way in
    names = sorted({p.name for p in named_ones})
    if len({folded(n) for n in names}) > 1:
        return say(ctx, "relay.which", names=_either([f"@{n}" for n in names], ctx.language),
                   example=names[0])
    chosen = {p.group_id for p in named_ones} if named_ones else {
        m.group.id for m in ctx.memberships if _others_coordinate(ctx, m)}
    candidates = [m for m in ctx.memberships if m.group.id in chosen] or list(ctx.memberships)
    start = 1
    said = _group_said(ctx, text)
    # "@coordinators EAST hi" names the group; after a coordinator's name, only to choose between groups.
    if said is not None and (not named_ones or (len(candidates) > 1 and said in candidates)):
        candidates, start = [said], 2
    if len(candidates) > 1:
        keywords = [m.group.keyword for m in candidates]
        return say(ctx, "relay.coordinators.which", keywords=_either(keywords, ctx.language), example=keywords[0])
    message = text.rest(start)[:MAX_RELAY]
    if not message:
        return say(ctx, "relay.empty", name=names[0] if names else typed)
    return Transition(effects=(RelayedToCoordinators(candidates[0].group.id, message, names[0] if names else None),))


def _either(choices: list[str], language: str) -> str:
    """Choices as a question puts them: "RCMA or EAST", "RCMA o EAST"."""
    return format_list(choices, style="or", locale=language)


def _group_said(ctx: Context, text: Text) -> MembershipInfo | None:
    """The member's group whose word follows the ``@`` word, for a member of several groups."""
    group = ctx.groups.get(text.words[1].upper()) if len(ctx.memberships) > 1 and len(text.words) > 1 else None
    return ctx.membership(group.id) if group is not None else None


def _others_coordinate(ctx: Context, membership: MembershipInfo) -> bool:
    """Whether someone besides the member holds the coordinator role in the group (by the names HELP shows)."""
    mine = ctx.name if ctx.is_coordinator(membership.group.id) else None
    return any(name != mine for name in membership.coordinators)


def asks_for_a_coordinator(ctx: Context, text: Text) -> Transition | None:
    """"i want to talk to a coordinator", "hablar con una coordinadora": how to write to them."""
    words = set(text.words)
    if not ctx.memberships or not (_COORDINATOR_WORDS & words and _REACH_WORDS & words):
        return None
    if any(w in COORD_WORDS or w in GATHER for w in text.words[:2]):
        return None  # "ANNOUNCE text a coordinator if you can't come": a coordinator's command
    return say(ctx, "relay.coordinators.how")


def answers_carebot(ctx: Context, text: Text) -> bool:
    """Whether a text inside a relay window is carebot's go-around answer rather than the member's words to
    the person they are answering: only in carebot's own form. The group's word first (``DMMA 1 call
    evenings``) makes any answer carebot's; without it, options by number (``1``, ``1 5``, ``0``), alone or
    with how long, ``private`` or how many people (``1 2w``, ``3 until friday``, ``2 x2``), and nothing after
    them. "1 sec", "5 works, thanks!", "2 is better for me actually", "1 or 2?" are the member's words."""
    _, start, _ = pick_group(ctx, text)
    if start > 0:
        return True
    if not ctx.memberships or not text.words or not text.words[0].isdigit():
        return False
    if text.words == ["0"]:
        return True
    try:  # read as a plain answer (crisis words aside: a crisis keeps no "how", and would hide what follows)
        specs = parse(replace(ctx, crisis=False), text, 0, ctx.memberships[0].group.tz)
    except Unreadable:  # "1 until blorpday", "7 pm": not carebot's form
        return False
    return specs is not None and all(spec.how is None for spec in specs)


def reply_in_window(ctx: Context, text: Text) -> Transition | None:
    """A plain reply right after a relayed message goes back to its sender; so does the member's next text,
    until the window ends ("1 sec", then the question itself): the window stays open for its 30 minutes."""
    if not text.raw or ctx.waiting is None:
        return None
    data, message = ctx.waiting.data, text.raw[:MAX_RELAY]
    if "member_id" in data:  # a coordinator answering a member who wrote to the coordinators
        group_id = int(data["group_id"])
        return _relayed_in_window(ctx, RelayedFromCoordinator(group_id, int(data["member_id"]), message))
    if "coordinator_id" in data:  # a member answering the coordinator who answered them
        group_id = int(data["group_id"])
        if ctx.membership(group_id) is None:
            return None
        return _relayed_in_window(ctx, RelayedToCoordinators(group_id, message,
                                                             coordinator_id=int(data["coordinator_id"])))
    pairing_id = int(data["pairing_id"])
    if not any(p.id == pairing_id and p.status == "active" for p in ctx.pairings):
        return None
    return _relayed_in_window(ctx, Relayed(pairing_id, message))


def _relayed_in_window(ctx: Context, effect: Relayed | RelayedToCoordinators | RelayedFromCoordinator) -> Transition:
    return Transition(effects=(effect,), wait=ctx.waiting)
