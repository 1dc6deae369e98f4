"""Coordinators by text, and what every member may see: PULSE, LOG and the gathering.

Every coordinator command is checked against the sender's role in that group;
a member who sends one is told politely that it is for coordinators, and
nothing else. Actions that remove people, change roles or write to the whole
group wait for the coordinator's own YES (and, where the group asks for it, a
second coordinator's).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

from carebot.domain.i18n import render, short_date
from carebot.domain.phone import normalize_phone
from carebot.flows import understanding
from carebot.flows.base import (
    ActionConfirmed,
    ApprovalGiven,
    Context,
    InviteRequested,
    ListShown,
    MembershipInfo,
    PairRequested,
    PersonInfo,
    Reply,
    RoundStarted,
    RsvpGiven,
    Transition,
    UnpairRequested,
    Waiting,
    say,
)
from carebot.flows.durations import parse_date
from carebot.flows.goaround import pick_group
from carebot.flows.join import not_a_member
from carebot.flows.words import (
    COORD_WORDS,
    FILLER,
    GATHER,
    LOG,
    MORE,
    NO,
    PULSE,
    YES,
    Text,
    answers_no,
    answers_yes,
    asks_how_to_leave,
    fold,
    is_one_of,
)

# A coordinator command: (context, the coordinator's membership, the text, the first word after it).
Command = Callable[[Context, MembershipInfo, Text, int], Transition]

CONFIRM_WAIT = timedelta(hours=1)
MAX_ANNOUNCEMENT = 300
MAX_PLACE = 80
_NUMBER_PIECE = re.compile(r"^[+(]?[\d().-]+$")
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?(am|pm|h)?$")


def _for_members(ctx: Context, text: Text) -> Transition | None:
    """PULSE, LOG and GATHER (to see it, or to answer it): open to every member."""
    membership, start, question = pick_group(ctx, text)
    rest = text.words[start:]
    if not rest or not (rest[0] in PULSE or rest[0] in LOG or rest[0] in GATHER):
        return None
    if question is not None:
        return question
    if membership is None:
        return not_a_member(ctx)
    group_id = membership.group.id
    if rest[0] in GATHER:
        if len(rest) == 1:
            return Transition(effects=(ListShown("gather", group_id),))
        if len(rest) == 2 and rest[1] in YES | NO:
            return Transition(effects=(RsvpGiven(group_id, None, rest[1] in YES),))
        return None  # a coordinator's GATHER with a date, below
    if len(rest) != 1:
        return None
    return Transition(effects=(ListShown("pulse" if rest[0] in PULSE else "log", group_id),))


def _find(ctx: Context, membership: MembershipInfo, token: str, *, partners: bool = False) -> PersonInfo | Transition:
    """One person in the group, named by unambiguous name prefix or by number (``partners``: or
    someone of another group paired with one of its members across a network)."""
    group = membership.group
    found = {p.member_id: p for p in ctx.lookups.people_in_group(group.id, token)}
    if partners and not found:
        found = {p.member_id: p for p in ctx.lookups.partners_in(group.id, token)}
    if not found:
        return say(ctx, "coord.unknown", name=token[:20], keyword=group.keyword)
    if len(found) > 1:
        names = ", ".join(sorted(p.name for p in found.values()))
        return say(ctx, "coord.ambiguous", name=token[:20], keyword=group.keyword, names=names)
    return next(iter(found.values()))


def _raw_words(text: Text, start: int) -> list[str]:
    return text.rest(start).split()


# Words between the people a command names: "pair ana with sam", "pair ana y sam", "unpair 515… & 515…".
_BETWEEN = frozenset({"with", "w/", "and", "&", "y", "con", "+"})
# A courtesy after the people a command names: "remove dana pls", "pair ana sam por favor", "quitar a ana porfa".
_COURTESY = FILLER | frozenset({"thanks", "thx", "ty", "gracias", "plis", "xfa", "porfis", "favor"})


def _people(text: Text, start: int) -> list[str] | None:
    """The people a command names, each by a name or a number however it is typed: in pieces
    ("515 555 0207", "(515) 555 0207", "+1 515 555 0207"), with dots or dashes, two numbers side by
    side. None when pieces of numbers side by side can be read more than one way."""
    tokens = [t for i, t in enumerate(_raw_words(text, start)) if not (i and t.lower() in _BETWEEN)]
    while len(tokens) > 1 and fold(tokens[-1]) in _COURTESY:
        tokens.pop()  # "remove dana pls", "pair ana sam porfa": the courtesy names nobody
    tokens = [t.rstrip(",;:!?") or t for t in tokens]  # "pair sam, bea"
    if len(tokens) > 1 and tokens[0].lower() == "a":
        tokens = tokens[1:]  # "quitar a sam", "emparejar a ana con sam": Spanish names people after "a"
    people: list[str] = []
    index = 0
    while index < len(tokens):
        end = index
        while end < len(tokens) and _NUMBER_PIECE.match(tokens[end]):
            end += 1
        if end == index:
            people.append(tokens[index])
            index += 1
            continue
        numbers = _numbers_in(tokens[index:end])
        if numbers is None:
            return None
        people.extend(numbers)
        index = end
    return people


def _numbers_in(pieces: list[str]) -> list[str] | None:
    """Pieces of numbers side by side, as the one or two numbers they make; the pieces themselves when
    they make none (then the command's usage line or "not in the group" says so), None when they make two
    in more than one way."""
    whole = " ".join(pieces)
    if normalize_phone(whole) is not None:
        return [whole]
    splits = [[" ".join(pieces[:cut]), " ".join(pieces[cut:])] for cut in range(1, len(pieces))]
    readable = [split for split in splits if all(normalize_phone(part) is not None for part in split)]
    if len(readable) > 1:
        return None
    return readable[0] if readable else pieces


def command(ctx: Context, text: Text) -> Transition | None:
    """A coordinator command (or a member's PULSE, LOG, GATHER)."""
    shown = _for_members(ctx, text)
    if shown is not None:
        return shown
    membership, start, question = pick_group(ctx, text)
    rest = text.words[start:]
    if not rest:
        return None
    word = _command_word(rest[0])
    if word is None and len(rest) > 1 and membership is not None:
        typo = _command_word(understanding.corrected_coord_word(rest[0]) or "")  # "remvoe theo", "gathr": a typo
        if typo is not None and not ctx.is_coordinator(membership.group.id) and rest[1:] not in (["me"], ["myself"]):
            return say(ctx, "coord.only")  # a member's typo is told it is for coordinators, and does nothing
        word = typo
    if word is None:
        return None
    if word == "remove" and asks_how_to_leave(Text(text.raw, ["remove", *rest[1:]], [])):
        return say(ctx, "leave.how")  # "remove me" asks to leave: STOP does that, for everyone
    if question is not None:
        return question
    if membership is None or not ctx.is_coordinator(membership.group.id):
        return say(ctx, "coord.only")
    return COMMANDS[word](ctx, membership, text, start + 1)


def typo_by_coordinator(ctx: Context, text: Text) -> Transition | None:
    """A coordinator's typo of a command word opening the text ("remvoe sam, 3", "gathr mar 20 18:00 park"):
    the command, before anything reads the rest as the coordinator's own go-around answer. (A command word
    spelled right keeps its place after the go-around: "lista para ayudar, 2" is an answer.)"""
    membership, start, _ = pick_group(ctx, text)
    rest = text.words[start:]
    if membership is None or len(rest) < 2 or not ctx.is_coordinator(membership.group.id) or _command_word(rest[0]):
        return None
    return command(ctx, text) if _command_word(understanding.corrected_coord_word(rest[0]) or "") else None


def _command_word(word: str) -> str | None:
    return COORD_WORDS.get(word) or ("gather" if word in GATHER else None)


def _pairs(ctx: Context, membership: MembershipInfo, text: Text, start: int) -> Transition:
    return Transition(effects=(ListShown("pairs", membership.group.id),))


def _roster(ctx: Context, membership: MembershipInfo, text: Text, start: int) -> Transition:
    return Transition(effects=(ListShown("roster", membership.group.id),))


def _two(ctx: Context, membership: MembershipInfo, text: Text, start: int,
         usage: str, *, partners: bool = False) -> list[PersonInfo] | Transition:
    tokens = _people(text, start)
    if tokens is None or len(tokens) != 2:
        return say(ctx, usage)
    found = []
    for token in tokens:
        person = _find(ctx, membership, token, partners=partners)
        if isinstance(person, Transition):
            return person
        found.append(person)
    if found[0].member_id == found[1].member_id:
        return say(ctx, usage)
    return found


def _pair(ctx: Context, membership: MembershipInfo, text: Text, start: int) -> Transition:
    found = _two(ctx, membership, text, start, "coord.usage.pair")
    if isinstance(found, Transition):
        return found
    requester, supporter = found
    return Transition(effects=(PairRequested(membership.group.id, requester.member_id, supporter.member_id),))


def _unpair(ctx: Context, membership: MembershipInfo, text: Text, start: int) -> Transition:
    found = _two(ctx, membership, text, start, "coord.usage.unpair", partners=True)
    if isinstance(found, Transition):
        return found
    return Transition(effects=(UnpairRequested(membership.group.id, found[0].member_id, found[1].member_id),))


def _add(ctx: Context, membership: MembershipInfo, text: Text, start: int) -> Transition:
    tokens = _raw_words(text, start)
    # A number may be written in pieces ("+1 515 555 0199"); the name is what follows.
    digits = 0
    while digits < len(tokens) and _NUMBER_PIECE.match(tokens[digits]):
        digits += 1
    if not digits:
        return say(ctx, "coord.usage.add")
    number = "".join(tokens[:digits])
    name = as_written(" ".join(tokens[digits:]))[:20] or None
    return Transition(effects=(InviteRequested(membership.group.id, number, name),))


# Little words inside a name that people write in lowercase ("Maria de la Cruz", "Ludwig van Beethoven").
_NAME_PARTICLES = frozenset("de del la las los da das do dos di du van von der den y e".split())


def as_written(name: str) -> str:
    """A name as people write names: typed all in lowercase ("zoe", "mary ann", "maria de la cruz"),
    each part capitalized ("Zoe", "Mary Ann", "Maria de la Cruz"); with any capital in it
    ("deShawn", "McKenzie", "ZOE"), exactly as typed."""
    if name != name.lower():
        return name
    words = name.split()
    return " ".join(word if index and word in _NAME_PARTICLES else "-".join(_capitalized(part) for part in word.split("-"))
                    for index, word in enumerate(words))


def _capitalized(part: str) -> str:
    """"ana" is "Ana", "o'brien" is "O'Brien" (one letter and an apostrophe begin a name of their own)."""
    if len(part) > 2 and part[1] in "'’":
        return part[:2].upper() + _capitalized(part[2:])
    return part[:1].upper() + part[1:]


def _confirm(ctx: Context, key: str, data: dict[str, Any], **params: Any) -> Transition:
    """Ask the coordinator for their own YES; the question holds everything the YES will do."""
    return Transition(
        replies=(Reply(render(key, ctx.language, **params)),),
        wait=Waiting("coord", "confirm", data, ctx.now + CONFIRM_WAIT),
    )


def _about_one(action: str) -> Command:
    def handler(ctx: Context, membership: MembershipInfo, text: Text, start: int) -> Transition:
        tokens = _people(text, start)
        if tokens is None or len(tokens) != 1:
            return say(ctx, "coord.usage.name", command=action.upper())
        person = _find(ctx, membership, tokens[0])
        if isinstance(person, Transition):
            return person
        group = membership.group
        data = {"action": action, "group_id": group.id, "target_id": person.member_id}
        return _confirm(ctx, f"coord.confirm.{action}", data, name=person.name, keyword=group.keyword)

    return handler


def _announce(ctx: Context, membership: MembershipInfo, text: Text, start: int) -> Transition:
    message = text.rest(start)[:MAX_ANNOUNCEMENT]
    if not message:
        return say(ctx, "coord.usage.announce")
    group = membership.group
    data = {"action": "announce", "group_id": group.id, "text": message}
    return _confirm(ctx, "coord.confirm.announce", data, keyword=group.keyword, text=message)


def read_time(word: str) -> time | None:
    """``18:00``, ``6pm``, ``6:30pm``, ``18h``."""
    match = _TIME.match(word)
    if match is None:
        return None
    hour, minute, suffix = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if suffix == "pm" and hour < 12:
        hour += 12
    if suffix == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def describe_when(moment: datetime, language: str) -> str:
    """A gathering's time as members read it: "Dec 5 18:00"."""
    return f"{short_date(moment, language)} {moment:%H:%M}"


def _gather(ctx: Context, membership: MembershipInfo, text: Text, start: int) -> Transition:
    group = membership.group
    words = text.words[start:]
    today = ctx.now.astimezone(group.tz).date()
    day = parse_date(words, today, ctx.language)
    if day is None:
        return say(ctx, "coord.usage.gather")
    date_, used = day
    at = read_time(words[used]) if len(words) > used else None
    place = text.rest(start + used + 1)[:MAX_PLACE]
    if at is None or not place:
        return say(ctx, "coord.usage.gather")
    starts = datetime.combine(date_, at, group.tz)
    if starts <= ctx.now:
        return say(ctx, "gather.past")
    data = {"action": "gather", "group_id": group.id, "starts_at": starts.isoformat(), "place": place}
    return _confirm(ctx, "coord.confirm.gather", data, keyword=group.keyword,
                    when=describe_when(starts, ctx.language), place=place)


COMMANDS: dict[str, Command] = {
    "pairs": _pairs,
    "pair": _pair,
    "unpair": _unpair,
    "roster": _roster,
    "add": _add,
    "remove": _about_one("remove"),
    "coord": _about_one("coord"),
    "uncoord": _about_one("uncoord"),
    "announce": _announce,
    "gather": _gather,
}


# --- the questions coordinators and members answer ---------------------------------


def confirm_reply(ctx: Context, text: Text) -> Transition | None:
    """The coordinator's YES or NO to their own action. Once used, the YES is gone."""
    if answers_yes(text, more=understanding.yes_may_say_more(ctx, text)):
        return Transition(effects=(ActionConfirmed(dict(ctx.waiting_data)),))
    if answers_no(text):
        return say(ctx, "coord.cancelled")
    return None


def approve_reply(ctx: Context, text: Text) -> Transition | None:
    """A second coordinator's YES or NO."""
    pending_id = int(ctx.waiting_data["pending_id"])
    if answers_yes(text, more=understanding.yes_may_say_more(ctx, text)):
        return Transition(effects=(ApprovalGiven(pending_id, True),))
    if answers_no(text):
        return Transition(effects=(ApprovalGiven(pending_id, False),))
    return None


def rsvp_reply(ctx: Context, text: Text) -> Transition | None:
    """YES or NO to a gathering invitation, in the words offers take ("claro que si", "ok sure", "count me in",
    "ahi estare"; "cant make it sorry", "no thanks", "no puedo ir")."""
    data = ctx.waiting_data
    yes = answers_yes(text, more=understanding.yes_may_say_more(ctx, text))
    for says, coming in ((yes, True), (answers_no(text), False)):
        if says:
            return Transition(effects=(RsvpGiven(int(data["group_id"]), int(data["gathering_id"]), coming),))
    return None


def more(ctx: Context, text: Text) -> Transition | None:
    """MORE: the next page of a long list."""
    if not is_one_of(text.words, MORE):
        return None
    pages = list(ctx.waiting_data.get("pages", []))
    if not pages:
        return say(ctx, "coord.more.none")
    page, rest = pages[0], pages[1:]
    wait = Waiting("pager", "more", {"pages": rest}, ctx.now + CONFIRM_WAIT) if rest else None
    return Transition(replies=(Reply(page),), wait=wait)


def no_more(ctx: Context, text: Text) -> Transition | None:
    """MORE with nothing left to show."""
    return say(ctx, "coord.more.none") if is_one_of(text.words, MORE) else None


__all__ = ["command", "typo_by_coordinator", "confirm_reply", "approve_reply", "rsvp_reply", "more", "no_more",
           "RoundStarted", "describe_when", "read_time"]
