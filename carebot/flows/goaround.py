"""The go-around: options 1-5, alone or together, with durations, capacity and "how".

``1 5``, ``1 2w call evenings``, ``3 until dec 5``, ``2 x3``, ``HOW text after 6pm``,
``0`` (nothing for now). A member in several groups starts with the group's
keyword (``DMMA 1 5``). A new answer replaces the member's current one in that
group, as it does when the circle goes around again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from carebot.domain.i18n import names_list, render, short_date
from carebot.domain.vocabulary import (
    CAN_KEEP_COMPANY,
    I_CAN_REACH_OUT,
    REACH_OUT_TO_ME,
    REQUESTS,
    UNAVAILABLE,
    WANT_COMPANY,
)
from carebot.flows.base import (
    Answered,
    AnswerInfo,
    AnswerSpec,
    Context,
    GroupInfo,
    HowChanged,
    MembershipInfo,
    PrivacyChanged,
    Reply,
    Transition,
    Waiting,
    render_for,
    say,
)
from carebot.flows.crisis import asks_call as crisis_call
from carebot.flows.crisis import prefers_calls
from carebot.flows.durations import UNTIL, parse_duration
from carebot.flows.how_to_reach import only_filler, only_how, opens_how, shown_how
from carebot.flows.join import not_a_member
from carebot.flows.words import (
    ASSENT_LEADS,
    FOR_NOW,
    HEDGES,
    HOW,
    HOW_STARTS,
    LEAD_FILLERS,
    NONE,
    PLEASE,
    PRIVATE,
    SHARE,
    THANK_YOU,
    Text,
    after_preamble,
    asks_to_see_answers,
    is_one_of,
    only_a_reason,
    says_same_again,
    says_same_again_last,
)

MAX_HOW = 140
RECENTLY_ASKED = timedelta(days=3)
MAX_CAPACITY = 20
_OPTION_RUN = re.compile(r"^[1-5]{1,5}$")
_CAPACITY_COMPACT = re.compile(r"^x(\d{1,2})$")
_CAPACITY_WORDS = frozenset("max up upto hasta maximo".split())
_PEOPLE = frozenset("people persons ppl person personas persona".split())


class Unreadable(Exception):
    """The text starts like an answer but is not one: reply with ``key`` (and its ``params``)."""

    def __init__(self, key: str, **params: str) -> None:
        self.key = key
        self.params = params


# Options in words, both languages ("one and five", "uno y cinco").
OPTION_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
}
# Between two options: "1 and 5", "1 y 5", "1 & 5" ("&" already splits words), "1 + 5".
JOINERS = frozenset("and y e + plus also tambien tmb tb n el la a an option opcion number numero".split())
# How people open an answer: "option 2", "im a 3", "soy un 3", "put me down for 2 and 5".
LEADS = (
    ("put", "me", "down", "for"), ("i", "am", "a"), ("i'm", "a"), ("im", "a"), ("soy", "un"), ("soy", "una"),
    ("la", "opcion"), ("el", "numero"), ("option",), ("opcion",), ("number",), ("numero",), ("#",), ("el",),
    # "I’d say 2", "i guess 2", "yo diria 3", "creo que 1" (outside4); and "option" mistyped ("optoin 3").
    ("i'd", "say"), ("id", "say"), ("i", "would", "say"), ("i", "guess"), ("i", "think"), ("yo", "diria"),
    ("diria",), ("creo", "que"), ("supongo", "que"), ("optoin",), ("opiton",), ("opton",), ("otpion",),
    ("opcoin",), ("opsion",),
    # "un 3 hasta el lunes", "una 4" (outside7): Spanish's "a 3"
    ("un",), ("una",),
)


def _opening_length(words: list[str], phrases: tuple[tuple[str, ...], ...], *, leave_some: bool = False) -> int:
    """How many words of ``phrases``, one after another, open ``words`` (with ``leave_some``, never all of them)."""
    length = 0
    while step := next((len(p) for p in phrases if tuple(words[length:length + len(p)]) == p
                        and (not leave_some or len(words) > length + len(p))), 0):
        length += step
    return length


def filler_length(words: list[str]) -> int:
    """How many words of short, plain prose open the text ("hi", "im good", "ok so", "um yeah so"), or 0."""
    return _opening_length(words, LEAD_FILLERS, leave_some=True)


def _hedge_length(words: list[str]) -> int:
    """How many words of hedging open ``words`` ("i guess", "maybe", "supongo"): not a "how"."""
    return _opening_length(words, HEDGES)


def lead_length(words: list[str]) -> int:
    """How many words open an answer before its first option ("option 2" -> 1, "hi! option 2" -> 2)."""
    filler = filler_length(words)
    for lead in (*LEADS, ()):
        n = filler + len(lead)
        if n == 0:
            break
        # One option after the lead ("el 5"), never a run of digits ("el 15" is a date).
        if tuple(words[filler:n]) == lead and len(words) > n and (
                words[n] in OPTION_WORDS or (len(words[n]) == 1 and _options_in(words[n]) is not None)):
            return n
    return 0


def _options_in(word: str) -> list[int] | None:
    """``1`` -> [1]; ``15`` -> [1, 5] (typed without a space); ``five`` -> [5]; None if not options."""
    if word in OPTION_WORDS:
        return [OPTION_WORDS[word]]
    if _OPTION_RUN.match(word) and len(set(word)) == len(word):
        return [int(ch) for ch in word]
    return None


# "no puedo esta semana", "i cant this week", "im unavailable till monday": option 3 in words, only
# with a duration right after it and nothing else but a courtesy or its reason ("i can't this week, super
# busy": ``words.only_a_reason``). "no puedo" alone answers a question as NO; "i cant this week but next week
# yes" is not an answer. The reason a member adds is not kept (3 keeps no "how").
UNAVAILABLE_WORDS = tuple(sorted((tuple(p.split()) for p in (
    "i cant", "i can't", "cant", "can't", "i cannot", "i can not", "im unavailable", "i'm unavailable", "i am unavailable",
    "unavailable", "im not available", "i'm not available", "i am not available", "not available", "im busy",
    "i'm busy", "no puedo", "no voy a poder", "no podre", "no estoy disponible", "no disponible", "estoy ocupado",
    "estoy ocupada", "estoy ocupade", "ando ocupado", "ando ocupada", "ando ocupade")), key=len, reverse=True))
_AFTER_UNAVAILABLE = frozenset("sorry sry lo siento thanks thx gracias pls please porfa por favor ok".split())


# To a pairing offer, "not this week" and "no esta semana" say the same (a bare "not today" with
# nothing asked is a courtesy, not an answer, so these open option 3 only there).
DECLINING_WORDS = (*UNAVAILABLE_WORDS, ("not",), ("no",))


def _unavailable_length(words: list[str], openers: tuple[tuple[str, ...], ...] = UNAVAILABLE_WORDS) -> int:
    return next((len(p) for p in openers if tuple(words[:len(p)]) == p and len(words) > len(p)), 0)


def _unavailable_for(ctx: Context, text: Text, start: int, tz: ZoneInfo,
                     openers: tuple[tuple[str, ...], ...] = UNAVAILABLE_WORDS) -> list[AnswerSpec] | None:
    """Option 3 for "no puedo esta semana" and the like (see UNAVAILABLE_WORDS) from word ``start`` on, else None."""
    words = text.words[start:]
    length = _unavailable_length(words, openers)
    duration = parse_duration(words[length:], ctx.now, tz, ctx.language) if length else None
    if duration is None:
        return None
    after = start + length + duration.used
    if not all(w in _AFTER_UNAVAILABLE for w in text.words[after:]) and not _gives_its_reason(text, after):
        return None
    return [AnswerSpec(option=UNAVAILABLE, until=duration.until, how=None, capacity=None)]


_SET_APART = re.compile(r"[,.;:!\-–—]\s*$")


def _gives_its_reason(text: Text, at: int) -> bool:
    """The words from ``at`` on only give the answer's reason (``words.only_a_reason``), and ask nothing."""
    rest = text.raw[text.starts[at]:]
    set_apart = bool(_SET_APART.search(text.raw[text.starts[at - 1]:text.starts[at]]))
    return "?" not in rest and "¿" not in rest and only_a_reason(text.words[at:], set_apart=set_apart)


def resting_instead(ctx: Context, text: Text, group: GroupInfo) -> tuple[AnswerSpec, ...] | None:
    """A supporter's answer to an offer that says they rest for a while ("cant this week", "sorry no
    puedo esta semana", "not this week"): their answers in ``group`` from now on, option 3 for that
    time with their own requests for care kept (rest is not giving up care), else None."""
    start = 0
    while start < len(text.words) and text.words[start] in _AFTER_UNAVAILABLE:  # "sorry cant this week"
        start += 1
    rest = _unavailable_for(ctx, text, start, group.tz, DECLINING_WORDS)
    if rest is None:
        return None
    held = (AnswerSpec(a.option, a.until, a.how, a.capacity, a.private)
            for a in ctx.answers_in(group.id) if a.option in REQUESTS)
    return kept_answers((*held, *rest))  # care.py keeps them as they are, without ``answered``'s reply
# An option said in words and then by its number, as the menu reads: "i can reach out to people, 2".
# Only when the words describe that very number ("i can reach out to people, 4" is not an answer).
_DESCRIBED = {
    REACH_OUT_TO_ME: re.compile(r"\b(reach out to me|check (in )?on me|someone to (reach out|check)|que me escriban)\b"),
    I_CAN_REACH_OUT: re.compile(
        r"\b(i can|can|i could|puedo) (reach out|check (in )?on|escribir(les)?|contactar|help( out)?|ayudar|apoyar)\b"),
    UNAVAILABLE: re.compile(r"\b(unavailable|not available|no (estoy )?disponible|need (a )?rest|descansar)\b"),
    WANT_COMPANY: re.compile(r"\b(want|like|need|quiero|necesito) (some )?(company|compania)\b"),
    CAN_KEEP_COMPANY: re.compile(r"\b(keep (people |someone |others |folks )?company|hacer compania)\b"),
}


def _restated_length(words: list[str], options: Iterable[int]) -> int:
    """How many of ``words`` only say again, in words, an option just given by number ("2 i can help",
    "2 i can reach out"): not how to be reached."""
    said = " ".join(words)
    for option in options:
        match = _DESCRIBED[option].match(said)
        if match is not None:
            return len(said[:match.end()].split())
    return 0


def described_option(text: Text) -> int | None:
    """The option a text describes in words and then names by number ("i can reach out to people, 2")."""
    if len(text.words) < 3 or not _OPTION_RUN.match(text.words[-1]) or len(text.words[-1]) != 1:
        return None
    option = int(text.words[-1])
    return option if _DESCRIBED[option].search(" ".join(text.words[:-1])) else None


# An offer said in words with no number: "i can help", "can help someone", "i'm free to help this week",
# "puedo ayudar", "yo puedo apoyar a alguien". Helping is reaching out to whoever asked for that support:
# option 2 ("I can reach out", product.md); keeping someone company is option 5. What follows is the answer's
# duration and how, as after its number ("2 this week", "2 for 2 weeks texts are best").
_SOMEONE = r"(?: (?:someone|somebody|anyone|anybody|people|others|folks|a alguien|a otros|a otres|a quien sea))?"
_IF_NEEDED = r"(?: if (?:anyone|someone|somebody|you) needs?(?: it| me)?| si alguien (?:lo )?necesita)?"
# How many people (outside8's "i can reach out to 2 ppl this month"): the count is left for the answer to read as
# its capacity ("2 2 ppl this month" is "2 x2 this month"), as "2 for 3 people" is; "2 or 3 people", torn, is
# "no rush", as "2 or 3" is.
_COUNT_AHEAD = r"(?: to| a| for| para)?(?= \d{1,2}(?: (?:or|o) \d{1,2})? (?:people|ppl|persons?|personas?|folks)\b)"
_CAN = r"(?:i |yo )?(?:can|could|puedo|podria|(?:i'?m |i am |am )?(?:free|happy|able|around) to|estoy (?:libre|disponible) para) "
_OFFERED_IN_WORDS = (
    (I_CAN_REACH_OUT, re.compile(
        _CAN + r"(?:help|ayudar|apoyar)(?: out)?(?:" + _COUNT_AHEAD + ")?" + _SOMEONE + _IF_NEEDED + r"(?= |$)")),
    # "i can reach out to someone", "i can check in on 2 people", "puedo contactar a alguien": only to people or a
    # count of them ("i can reach out to my sister" is not the go-around)
    (I_CAN_REACH_OUT, re.compile(
        _CAN + r"(?:reach out|check (?:in )?on|contactar|escribir(?:les)?)(?:" + _COUNT_AHEAD
        + r"|(?: to| a)? (?:someone|somebody|anyone|anybody|people|others|folks|alguien|otros|otres|quien sea))?"
        r"(?! to\b| a\b)" + _IF_NEEDED + r"(?= |$)")),
    (CAN_KEEP_COMPANY, re.compile(
        r"(?:i |yo )?(?:can|could|puedo|podria|(?:i'?m |i am |am )?(?:free|happy|able|around) to) "
        r"(?:keep (?:someone|somebody|anyone|people|others|folks) company|hacer(?:le|les)? compania|acompanar)"
        + _SOMEONE + _IF_NEEDED + r"(?= |$)")),
)


def _offered_in_words(words: list[str], now: datetime, tz: ZoneInfo, language: str) -> tuple[int, int] | None:
    """(option, words it takes) for an offer said in words at the start of ``words`` ("i can help this
    week"), when what follows is no option of its own ("i can help 4" is not one: carebot asks)."""
    said = " ".join(words)
    for option, pattern in _OFFERED_IN_WORDS:
        match = pattern.match(said)
        if match is None:
            continue
        length = len(said[:match.end()].split())
        after = words[length:]
        if after and _options_in(after[0]) is not None and parse_duration(after, now, tz, language) is None and (
                _capacity(after) is None):
            return None
        return option, length
    return None


def by_number(text: Text, start: int, now: datetime, tz: ZoneInfo, language: str) -> Text:
    """``text`` with an option said in words as its number, from word ``start`` on: "i can reach out to
    people, 2" is "2"; "ok i can help this week" is "ok 2 this week". Otherwise ``text`` itself."""
    described = described_option(text) if start == 0 else None
    if described is not None:
        return Text(text.raw, [str(described)], [text.starts[-1]])  # the number alone is the answer
    rest = text.words[start:]
    lead = filler_length(rest)
    offered = _offered_in_words(rest[lead:], now, tz, language)
    if offered is None:
        return text
    option, length = offered
    at = start + lead
    return Text(text.raw, [*text.words[:at], str(option), *text.words[at + length:]],
                [*text.starts[:at + 1], *text.starts[at + length:]])


def starts_answer(words: list[str]) -> bool:
    """True when words open like a go-around answer: a number, options in words, or "no puedo" and more."""
    words = words[lead_length(words):]
    return bool(words) and (words[0].isdigit() or words[0] in OPTION_WORDS or is_one_of(words, NONE)
                            or _unavailable_length(words) > 0)


# Not (yet) an answer (outside7): options torn between ("1 or 4", "2 o 5 idk"), asked about ("1 or 4?",
# "1 text me?") or hedged as a question ("maybe 1?"). README: "Questions back ... nothing is saved";
# unsure gets "no rush". Nothing is kept: consent is an answer given, never one guessed.
_EITHER = frozenset("or o either".split())
_UNSURE_SAID = frozenset("idk idek dunno unsure maybe probably prob perhaps quizas quiza tal vez nose creo supongo "
                         "guess think sure se seguro segura segure".split())
_QUESTION_BEFORE_CLAUSE_END = re.compile(r"^[^.,;!]*\?")


def undecided(text: Text, start: int = 0) -> str | None:
    """"unsure" (no rush) for "2 or 5 idk", "maybe 1?"; "goaround.explain" (what 1-5 mean) for "1 or 4?",
    "1 call me?"; None when ``text`` from word ``start`` is no such text."""
    words = text.words[start:]
    hedge = 1 if words[:1] == ["either"] else _hedge_length(words)  # "maybe 1?", "i guess 2 or 5", "either 2 or 5"
    at = hedge + lead_length(words[hedge:])
    if not words[at:] or _options_in(words[at]) is None or len(words) > 14:
        return None
    torn = False
    i = at + 1
    while i < len(words) and (words[i] in JOINERS or words[i] in _EITHER or _options_in(words[i]) is not None):
        torn = torn or (words[i] in _EITHER and any(_options_in(w) is not None for w in words[i + 1:i + 3]))
        i += 1
    asked = bool(_QUESTION_BEFORE_CLAUSE_END.match(text.raw[text.starts[start + at]:]))
    if not (torn or asked):
        return None
    tentative = i == len(words) and not torn  # "4?", "1 5?": an answer not quite given, no question about it
    return "unsure" if hedge or tentative or (torn and not asked) or any(w in _UNSURE_SAID for w in words) else (
        "goaround.explain")


def _capacity(words: list[str]) -> tuple[int, int] | None:
    """(people, words used) for ``x3``, ``max 3``, ``up to 3``, ``3 people``."""
    if words and words[0] in ("for", "para"):  # "2 for 3 people"
        found = _capacity(words[1:])
        return (found[0], found[1] + 1) if found and words[1].isdigit() else None
    if not words:
        return None
    compact = _CAPACITY_COMPACT.match(words[0])
    if compact:
        return int(compact.group(1)), 1
    if words[0] in _CAPACITY_WORDS:
        rest = words[1:]
        used = 1
        if rest and rest[0] in ("to", "a"):
            rest, used = rest[1:], 2
        if rest and rest[0].isdigit():
            return int(rest[0]), used + 1
    if len(words) >= 2 and words[0].isdigit() and words[1] in _PEOPLE:
        return int(words[0]), 2
    return None


def parse(ctx: Context, text: Text, start: int, tz: ZoneInfo, *, after_sentence: bool = False) -> list[AnswerSpec] | None:
    """The answers in ``text`` from word ``start`` on; None when it is not an answer. After a sentence of
    the member's own (``after_sentence``) only how to be reached, or a "thx", may follow the options.
    Its "how" is the member's words after the options; ``kept_answers`` keeps only what of it says how to
    be reached."""
    prose = text.words[start:start + filler_length(text.words[start:])]
    # After a greeting only the answer may follow ("hi 2 kids at home" is not one); after "ok so" or
    # "yeah", how to be reached may too ("ok so 1 text me after work").
    assenting = any(w in ASSENT_LEADS for w in prose)
    start += lead_length(text.words[start:])
    words = text.words[start:]
    if _unavailable_length(words):
        return _unavailable_for(ctx, text, start, tz)
    first = words[0] if words else ""
    if _options_in(first) is None:
        if first.isdigit():
            raise Unreadable("goaround.bad_option")
        return None
    found: dict[int, dict] = {}
    privacy: bool | None = None
    i = 0
    current: list[int] = []
    after_option = False  # the word before was an option (or joined one): "1 and 5"
    in_words = False  # options written as words: "one sec" is not an answer, "uno y cinco, x whatsapp" is
    spelled = 0
    while i < len(words):
        if current and words[i] in JOINERS:
            ahead = i
            while ahead < min(len(words), i + 3) and words[ahead] in JOINERS:
                ahead += 1
            if ahead < len(words) and _options_in(words[ahead]) is not None:
                i = ahead  # "1 and 5", "1 y tmb el 5", "option 1 and option 5"
                continue
        options = _options_in(words[i])
        if options is not None and not _starts_modifier(words[i:], ctx.now, tz, ctx.language):
            # Options written one after another ("1 and 5", "1 5") share what follows them: "1 and 5 for
            # a couple weeks" is both for two weeks. After a duration, a new option starts afresh ("1 2w 5").
            current = [*current, *options] if after_option else options
            after_option = True
            in_words = in_words or words[i] in OPTION_WORDS
            spelled += 1
            for option in options:
                found.setdefault(option, {"until": None, "capacity": None})
            i += 1
            continue
        after_option = False
        if not current:
            break
        filler = next((len(phrase) for phrase in FOR_NOW if tuple(words[i:i + len(phrase)]) == phrase), 0)
        if filler:
            i += filler
            continue
        if words[i] in PRIVATE or words[i] in SHARE:
            # "1 private": the number stays with carebot; "1 share": it may be shared.
            privacy = words[i] in PRIVATE
            i += 1
            continue
        duration = parse_duration(words[i:], ctx.now, tz, ctx.language)
        if duration is not None:
            for option in current:
                found[option]["until"] = duration.until
            i += duration.used
            continue
        capacity = _capacity(words[i:])
        if capacity is not None:
            people, used = capacity
            # "2 5 x2": the number covers every offer so far, not only the last one.
            for option in found:
                if option in (I_CAN_REACH_OUT, CAN_KEEP_COMPANY):
                    found[option]["capacity"] = max(1, min(people, MAX_CAPACITY))
            i += used
            continue
        if words[i].isdigit() and len(words[i]) <= 2 and i == len(words) - 1:
            raise Unreadable("goaround.bad_option")
        if words[i] in UNTIL:
            # "1 until blorpday": clearly a date meant and not read. Say what was read and
            # what was not; never keep the unread words as the member's "how".
            unread = " ".join(text.raw[text.starts[start + i]:].split()[:4])[:40]
            raise Unreadable("goaround.bad_date", options=" ".join(str(o) for o in sorted(found)), words=unread)
        break
    if not found:
        return None
    if UNAVAILABLE in found and (I_CAN_REACH_OUT in found or CAN_KEEP_COMPANY in found):
        raise Unreadable("goaround.conflict")
    i += _hedge_length(words[i:])  # "1 i guess": the hedge is not the "how"
    i += _restated_length(words[i:], found)  # "2 i can help": neither is the option said again in words
    rest = text.rest(start + i)
    thanks_only = only_filler(rest)  # "uno porfa", "hi 1 thx", "4 lol": the answer, and no "how"
    if in_words and rest and spelled < 2 and not thanks_only:
        return None
    if prose and rest and not thanks_only and not (assenting and words[i] in HOW_STARTS):
        return None  # "hi 2 kids at home": prose before a number is an answer only when nothing else follows
    if after_sentence and not (thanks_only or opens_how(rest)):
        return None  # "sorry i missed it, 5 kids sick": not an answer
    how = None if ctx.crisis else rest or None
    return [
        AnswerSpec(
            option=option,
            until=found[option]["until"],
            how=how,
            capacity=(found[option]["capacity"] or 1)
            if option in (I_CAN_REACH_OUT, CAN_KEEP_COMPANY)
            else None,
            private=privacy if option in (REACH_OUT_TO_ME, WANT_COMPANY) else None,
        )
        for option in sorted(found)
    ]


def parse_after_preamble(ctx: Context, text: Text, start: int, tz: ZoneInfo) -> list[AnswerSpec] | None:
    """The answer after a short sentence of the member's own ("rough week tbh. 4", see ``after_preamble``),
    when only how to be reached follows its options ("sorry i missed it, 5 kids sick" is none), and the
    sentence describes no option of its own ("i can reach out to people, 4" says two things: none is kept)."""
    after = after_preamble(text, start)
    if after is None or not starts_answer(text.words[after:]):
        return None
    if any(described.search(" ".join(text.words[start:after])) for described in _DESCRIBED.values()):
        return None
    return parse(ctx, text, after, tz, after_sentence=True)


def _starts_modifier(words: list[str], now: datetime, tz: ZoneInfo, language: str) -> bool:
    """``2 weeks`` after an option is a duration and ``3 people`` a capacity, not options."""
    return len(words) >= 2 and (
        parse_duration(words, now, tz, language) is not None or _capacity(words) is not None
    )


def _describe_answer(answer: AnswerInfo | AnswerSpec, how: str | None, language: str, tz: ZoneInfo) -> str:
    """One answer in plain words, with ``how`` as it may be shown: "someone will reach out to you (until
    Dec 5, call evenings)"."""
    phrase = option_label(answer.option, answer.capacity, language)
    details = []
    if answer.until is not None:
        last_moment = answer.until.astimezone(tz) - timedelta(microseconds=1)
        details.append(render("duration.until", language, date=short_date(last_moment, language)))
    elif answer.option in (1, 3, 4):
        details.append(render("duration.ongoing", language))
    if how:
        details.append(how)
    if getattr(answer, "private", None):
        details.append(render("detail.private", language))
    return f"{phrase} ({', '.join(details)})" if details else phrase


def summarize(answers: Iterable[AnswerInfo | AnswerSpec], language: str, tz: ZoneInfo) -> str:
    """Several answers in plain words, joined; a "how" they all share is said once, at the end. This is
    where every answer is said back or shown (the reply to it, STATUS, a call's menu, an offer declined)."""
    shown = [(a, shown_how(a.how)) for a in answers]
    hows = {how for _, how in shown}
    if len(shown) < 2 or len(hows) != 1 or None in hows:
        return "; ".join(_describe_answer(a, how, language, tz) for a, how in shown)
    return "; ".join(_describe_answer(a, None, language, tz) for a, _ in shown) + f" ({hows.pop()})"


def pick_group(ctx: Context, text: Text) -> tuple[MembershipInfo | None, int, Transition | None]:
    """Which of the member's groups a text is about: (membership, first word after it, or a reply)."""
    if text.words and text.words[0].upper() in ctx.groups:
        group = ctx.groups[text.words[0].upper()]
        membership = ctx.membership(group.id)
        if membership is not None:
            return membership, 1, None
    if len(ctx.memberships) == 1:
        return ctx.memberships[0], 0, None
    if not ctx.memberships:
        return None, 0, None
    # Just asked by one of their groups: the answer is for that group.
    asked = [m for m in ctx.memberships if m.asked_at is not None and ctx.now - m.asked_at < RECENTLY_ASKED]
    if len(asked) == 1:
        return asked[0], 0, None
    keywords = names_list([m.group.keyword for m in ctx.memberships], ctx.language)  # "RCMA and EAST", "RCMA y EAST"
    example = ctx.memberships[0].group.keyword
    return None, 0, say(ctx, "goaround.which_group", keywords=keywords, example=example)


def kept_answers(specs: Iterable[AnswerSpec]) -> tuple[AnswerSpec, ...]:
    """Answers as carebot keeps them: each "how" only what says how or when to be reached
    (``how_to_reach.only_how``), never the story around it. The one place a "how" going into an answer is
    cut, whoever gave it and however (a text, a run-on, a piece after it, a call's keys, an answer given
    again: no story an older one held is kept); HOW cuts its own, once (``how``)."""
    return tuple(replace(s, how=only_how(s.how, MAX_HOW)) for s in specs)


def answered(ctx: Context, group: GroupInfo, specs: Iterable[AnswerSpec]) -> Transition:
    """The member's answer in ``group``, kept (``kept_answers``) and said back in plain words."""
    return _said_back(ctx, group, kept_answers(specs))


def _said_back(ctx: Context, group: GroupInfo, kept: tuple[AnswerSpec, ...]) -> Transition:
    summary = summarize(kept, ctx.language, group.tz)
    return Transition(
        replies=(Reply(render_for(ctx, "goaround.confirm", keyword=group.keyword, summary=summary)),),
        effects=(Answered(group.id, kept),),
    )


def answer(ctx: Context, text: Text) -> Transition | None:
    """A go-around answer (``1 5``, ``DMMA 3 2w``, ``0``)."""
    membership, start, question = pick_group(ctx, text)
    rest = text.words[start:]
    if not rest:
        return None
    if membership is not None:
        text = by_number(text, start, ctx.now, membership.group.tz, ctx.language)
        rest = text.words[start:]
    not_yet = undecided(text, start)
    if not_yet is not None:  # "1 or 4?", "2 or 5 idk": nothing is kept
        return question or (say(ctx, not_yet) if membership is not None else not_a_member(ctx))
    opens = starts_answer(rest)
    if not opens:  # "rough week tbh. 4": the answer after a sentence of their own
        after = after_preamble(text, start)
        if after is None or not starts_answer(text.words[after:]):
            return None
    if question is not None:
        return question
    if membership is None:
        return not_a_member(ctx)
    group = membership.group
    if is_one_of(rest, NONE):
        return Transition(
            replies=(Reply(render_for(ctx, "goaround.cleared", keyword=group.keyword)),),
            effects=(Answered(group.id, ()),),
        )
    try:
        specs = (parse(ctx, text, start, group.tz) if opens else None) or parse_after_preamble(
            ctx, text, start, group.tz)  # "cant sleep. 1": "cant" opened no answer, "1" does
    except Unreadable as unreadable:
        return say(ctx, unreadable.key, **unreadable.params)
    if specs is None:
        return None
    return answered(ctx, group, specs)


# A request for care taken back in words (outside8's "ya estoy mejor, ya no necesito", "im better now dont need it
# anymore"): what 0 does to the request (it ends; whoever was asked to answer it hears there is nothing to answer),
# while the member's own offers (2, 5) and rest (3) stand: not needing care takes back no offer to give it. Feeling
# better alone ("estoy mejor ya") takes nothing back: the request stays open, and how to close it is said.
_BETTER = (r"(?:(?:ya |actually |finally )?(?:i'?m|i am|i feel|feeling|feel|i'?m feeling|estoy|me siento|ando) "
           r"(?:a lot |alot |much |way |so much |mucho |un poco |ya )?(?:better|mejor)(?: now| ya| ahora| today| hoy)?)")
_NOT_NEEDED = (
    r"(?:(?:so )?(?:i )?(?:dont|don't|do not) need (?:(?:it|that|this|help|support|the help|the support"
    r"|(?:anyone|anybody|someone|somebody) to (?:reach out|check in|check on me|text me|call me))(?: to me)? )?"
    r"(?:anymore|any more|now)"
    r"|(?:i )?no longer need(?:ed)?(?: it| that| help| support)?|(?:it'?s )?not needed anymore|no need anymore"
    r"|ya no (?:lo |la )?necesito(?: ayuda| apoyo| que me (?:contacten|escriban|busquen))?"
    r"|no (?:lo |la )?necesito (?:ya|mas)|ya no hace falta|ya no es necesario)")
_SOFT_BEFORE = r"(?:(?:ok|okay|hi|hey|hola|oye|so|update|actually|nvm|oh|um|well|pues|bueno|good news) )*"
_SOFT_AFTER = r"(?: (?:thanks|thank you|thx|ty|gracias|muchas gracias|anyway|though|lol|ya|de todos modos))*"
_TAKEN_BACK = re.compile(rf"{_SOFT_BEFORE}(?:{_BETTER} (?:(?:so|and|y|asi que|entonces) )?)?{_NOT_NEEDED}{_SOFT_AFTER}")
_FEELING_BETTER = re.compile(rf"{_SOFT_BEFORE}{_BETTER}{_SOFT_AFTER}")


def no_longer_needed(ctx: Context, text: Text) -> Transition | None:
    """"ya no lo necesito", "im better now dont need it anymore": the member's requests for care end (see
    _TAKEN_BACK); "estoy mejor ya": nothing changes, and how to close the request is said."""
    membership, start, question = pick_group(ctx, text)
    said = " ".join(text.words[start:])
    taken_back = _TAKEN_BACK.fullmatch(said) is not None
    if not (taken_back or _FEELING_BETTER.fullmatch(said)) or ctx.crisis or "?" in text.raw:
        return None
    if question is not None or membership is None:
        return question
    group = membership.group
    held = ctx.answers_in(group.id)
    if not any(a.option in REQUESTS for a in held):
        return say(ctx, "goaround.no_request", keyword=group.keyword)
    if not taken_back:
        return say(ctx, "goaround.better", keyword=group.keyword)
    kept = kept_answers(AnswerSpec(a.option, a.until, a.how, a.capacity, a.private)
                        for a in held if a.option not in REQUESTS)
    key = "goaround.withdrawn.kept" if kept else "goaround.withdrawn"
    return Transition(replies=(Reply(render_for(ctx, key, keyword=group.keyword)),), effects=(Answered(group.id, kept),))


# An answer sent in pieces: "1", then "for 2 weeks", then "text me after work pls". A text that is
# only a duration or only how to be reached completes the member's latest answer, the same day and
# within AMEND_WITHIN of it (later, a bare "for 2 weeks" is not taken as about an answer long given).
AMEND_WITHIN = timedelta(hours=12)
# Soft words before the piece: "ok and for 2 weeks", "mejor por mensaje", "actually text me".
_AMEND_SOFT = frozenset("ok okay and y also tambien oh actually better mejor prefer preferably preferiblemente "
                        "pls please porfa plus".split())
# How to be reached, opened by "por", "by", "via": "por mensaje", "by text".
_BY = frozenset("por x by via".split())
# "que me llamen", "que me escriban": how a Spanish speaker asks to be reached.
_ASKED_VERBS = frozenset("llamen llame escriban escriba manden mande contacten contacte busquen visiten".split())
# Words of HOW_STARTS that do not open a "how" on their own: "any news?", "check status", "despues" (LATER).
_NOT_HOW_ALONE = frozenset("any check reach despues".split())
_AFTER_DURATION = PLEASE | THANK_YOU | frozenset({"ok"})  # "for 2 weeks ok thx"
MOST_HOW_WORDS = 12
# Goodbyes that read like a duration: "hasta mañana" is "see you tomorrow", not "until tomorrow".
_GOODBYES = frozenset({("hasta", "manana"), ("hasta", "pronto"), ("hasta", "luego"), ("hasta", "la", "proxima"),
                       ("hasta", "el", "lunes", "entonces"), ("see", "you", "tomorrow"), ("until", "tomorrow", "then")})


def _latest_answers(ctx: Context) -> tuple[MembershipInfo, tuple[AnswerInfo, ...]] | None:
    """The member's latest answer (its group and its options), when it was given the same day, recently."""
    given = [a for a in ctx.answers if a.since is not None]
    if not given:
        return None
    latest = max(given, key=lambda a: a.since or ctx.now)
    membership = ctx.membership(latest.group_id)
    if membership is None or latest.since is None:
        return None
    tz = membership.group.tz
    if ctx.now - latest.since > AMEND_WITHIN or latest.since.astimezone(tz).date() != ctx.now.astimezone(tz).date():
        return None
    return membership, ctx.answers_in(latest.group_id)


def _how_piece(ctx: Context, text: Text, start: int) -> str | None:
    """The member's own words when, from word ``start``, the text opens by saying how to be reached."""
    words = text.words[start:]
    if len(words) < 2 or len(words) > MOST_HOW_WORDS or "?" in text.raw:
        return None
    opens_how = (words[0] in HOW_STARTS and words[0] not in _NOT_HOW_ALONE) or (
        words[0] in _BY and words[1] in HOW_STARTS) or (
        len(words) > 2 and words[:2] == ["que", "me"] and words[2] in _ASKED_VERBS) or (  # "(mejor) que me llamen en la tarde"
        prefers_calls(words))  # "i'd rather you call", "call me instead" (outside9)
    if not opens_how or crisis_call(words):
        return None
    return text.rest(start)


def amend(ctx: Context, text: Text) -> Transition | None:
    """A piece of the latest answer ("for 2 weeks", "till friday", "hasta el lunes", "text me after work
    pls", "mejor por mensaje"): that answer again, completed, and what it now holds said back."""
    latest = _latest_answers(ctx) if ctx.answers and not ctx.crisis else None
    if latest is None:
        return None
    membership, answers = latest
    group = membership.group
    start = 0
    while start < len(text.words) and text.words[start] in _AMEND_SOFT:
        start += 1
    words = text.words[start:]
    if not words:
        return None
    duration = None if tuple(words) in _GOODBYES else parse_duration(words, ctx.now, group.tz, ctx.language)
    if duration is not None and all(w in _AFTER_DURATION for w in words[duration.used:]):
        specs = tuple(AnswerSpec(a.option, duration.until, a.how, a.capacity, a.private) for a in answers)
    else:
        # How to be reached belongs to a request for care (1, 4): "call me at 2" after "2" is not one.
        piece = _how_piece(ctx, text, start) if any(a.option in REQUESTS for a in answers) else None
        if piece is None:
            return None
        # "text me after work, been so low": "text me after work", cut once here and passed on.
        kept = kept_answers(AnswerSpec(a.option, a.until, piece, a.capacity, a.private) for a in answers)
        return _said_back(ctx, group, kept) if kept and kept[0].how else None
    return answered(ctx, group, specs)


# Voice-to-text run-ons that say the option inside a longer sentence: "Um hi I think I'm a one this week
# and maybe a five too", "hola soy Ines y esta semana soy un 3 porque...", "i would really like someone to
# reach out to me this week...". Only an option named outright ("i'm a 2", "soy un 3", "option 4") or a
# request in the first person ("i'd like someone to reach out to me"), never after a negation; the reason
# and the rest of the story are not kept (keep little), and the reply says back what was read.
_NUMBER = r"(one|two|three|four|five|uno|dos|tres|cuatro|cinco|[1-5])"
_SAID_OPTION = re.compile(
    rf"\b(?:(?:i'?m|i am|im|soy|sere|estoy en|i can be|i could be|ill be|i'll be|i will be|puedo ser) "
    # a hedge: "im kind of a two", "soy como un 4"
    rf"(?:kind of |kinda |sort of |sorta |like |probably |prob |maybe |more (?:of |like )?|mas bien |como )?"
    rf"(?:a |an |un |una |el |la )(?:option |opcion |number |numero )?"
    rf"|para mi (?:esta semana |hoy |ahora )?(?:es |soy )?(?:un |una |el |la )(?:option |opcion |number |numero )?"
    # without "im" (outside7): "kind of a 3 and also a 4", "como un 2 y tambien un 5"
    rf"|(?:kind of|kinda|sort of|sorta|more like|mas bien|como) (?:a |an |un |una |el |la )"
    rf"|(?:option|opcion|number|numero) "
    rf"|(?:and|y|plus|but|pero) (?:also|tambien|maybe|probably|quizas|tal vez) (?:a |an |un |una |el |la )?"
    rf"|(?:and|y|plus|also) (?:maybe |probably |also |tambien )?(?:a |an |un |una |el |la )"
    rf"(?=\S+ (?:too|also|tambien|as well)\b))"
    rf"{_NUMBER}\b(?! (?:years?|yrs?|yo|hours?|hrs?|minutes?|mins?|kids?|children|days?|weeks?|months?|am|pm|times|"
    rf"people|ppl|dollars|bucks|of|out|anos|horas|dias|semanas|meses|hijos|de|veces|personas))")
_ASKED_IN_WORDS = {
    REACH_OUT_TO_ME: re.compile(
        r"\b(i would|i'd|id|i) (really |honestly |just |kind of |kinda )?(like|want|need|love) (for )?"
        r"(someone|somebody|people|ppl|folks) to (reach out|check (in )?on|text|call) (to )?me\b|"
        r"\b(quiero|quisiera|me gustaria|necesito) que (alguien |alguno |la gente )?me (escriban|escriba|contacten|"
        r"contacte|busquen|llamen)\b"),
    WANT_COMPANY: re.compile(
        r"\b(i would|i'd|id|i) (really |honestly |just )?(like|want|need|love) (some )?(company|someone to hang out)\b|"
        r"\b(quiero|quisiera|me gustaria|necesito) (compania|que alguien me acompane)\b"),
}
_NEGATION = re.compile(r"\b(dont|don't|do not|not|no|never|nunca|ni|doesnt|didnt|wont)\b")
# Unavailable, said in a run-on: "esta semana no puedo ayudar a nadie", "i cant help anyone this week".
_UNAVAILABLE_SAID = re.compile(
    r"\b(no puedo|no podre|no voy a poder) (ayudar|apoyar|acompanar|hacer nada)\b|"
    r"\b(i cant|i can't|i cannot|i can not|i wont be able to|i won't be able to) "
    r"(help(?! it\b| but\b| thinking| laughing| feeling| myself)|reach out|support|keep (anyone )?company)\b")
# How to be reached, said in a run-on after the option: "and you can text me after 5", "mejor por mensaje en la
# noche". Kept to the end of its clause, without the thanks.
_HOW_SAID = re.compile(
    r"\b(?:and |so )?(?:you can |u can |feel free to |please |pls |just |best to |better to )?"
    r"((?:text|call|message|msg|email|visit) me\b[^.,;!?]*|mejor (?:por|x) (?:mensaje|texto|llamada|whatsapp)[^.,;!?]*"
    r"|mejor que me (?:llamen|escriban|manden mensaje)[^.,;!?]*)")
_HOW_TAIL = PLEASE | THANK_YOU
_RUNON_LEAST = 6
_DURATION_OPENERS = frozenset("this esta este for por next proxima until till til hasta thru through".split())


def _runon_options(said: str) -> set[int]:
    found = {OPTION_WORDS.get(m.group(1)) or int(m.group(1)) for m in _SAID_OPTION.finditer(said)}
    if _UNAVAILABLE_SAID.search(said):
        found.add(UNAVAILABLE)
    for option, pattern in _ASKED_IN_WORDS.items():
        for match in pattern.finditer(said):
            if not _NEGATION.search(" ".join(said[:match.start()].split()[-3:])):
                found.add(option)
    return found


def runon(ctx: Context, text: Text) -> Transition | None:
    """A go-around answer said inside a longer sentence (see ``_SAID_OPTION``): read, kept, said back."""
    membership, start, question = pick_group(ctx, text)
    words = text.words[start:]
    if len(words) < _RUNON_LEAST or ctx.crisis or "?" in text.raw:
        return None
    said = " ".join(words)
    options = _runon_options(said)
    if not options or question is not None or membership is None:
        return question if options and question is not None else None
    if UNAVAILABLE in options and (I_CAN_REACH_OUT in options or CAN_KEEP_COMPANY in options):
        return say(ctx, "goaround.conflict")
    group = membership.group
    until = next((d.until for i, w in enumerate(words) if w in _DURATION_OPENERS
                  and (d := parse_duration(words[i:], ctx.now, group.tz, ctx.language)) is not None), None)
    said_how = _HOW_SAID.search(said)
    how = None
    if said_how is not None:
        kept = said_how.group(1).split()
        while kept and kept[-1] in _HOW_TAIL:
            kept.pop()
        how = " ".join(kept) or None
    specs = tuple(AnswerSpec(option, until, how if option in REQUESTS else None,
                             1 if option in (I_CAN_REACH_OUT, CAN_KEEP_COMPANY) else None, None)
                  for option in sorted(options))
    return answered(ctx, group, specs)


def same_again(ctx: Context, text: Text) -> Transition | None:
    """"same as before", "lo mismo": the answer the member holds in the group, given again and said back
    (so a new round counts it); with none held, the one that lapsed last, given again as long as it was
    (a week is a week from now); with neither, how to answer."""
    membership, start, question = pick_group(ctx, text)
    if not (says_same_again(text.words[start:]) or says_same_again_last(text, start)) or ctx.crisis:
        return None
    if question is not None or membership is None:
        return question
    group = membership.group
    held = ctx.answers_in(group.id)
    if held:
        return answered(ctx, group, (AnswerSpec(a.option, a.until, a.how, a.capacity, a.private) for a in held))
    lapsed = ctx.lookups.lapsed_answers(group.id)
    if not lapsed:
        return say(ctx, "goaround.same_none", keyword=group.keyword)
    return answered(ctx, group, (AnswerSpec(a.option, _as_long_again(a, ctx.now, group.tz), a.how, a.capacity, a.private)
                                 for a in lapsed))


def _as_long_again(answer: AnswerInfo, now: datetime, tz: ZoneInfo) -> datetime | None:
    """A new end for a lapsed answer given again: as long from now as it ran (wall clock in the group's zone)."""
    if answer.until is None or answer.since is None:
        return answer.until
    return now.astimezone(tz) + (answer.until - answer.since)


# "i'm free this week", "estoy libre esta semana": free to reach out to someone who asked (2), or to keep
# someone company (5)? Both are fair readings, so carebot asks which rather than guess, keeps nothing yet,
# and takes the next reply ("2", "5", "both", "company", "las dos"...) as the answer, with the time said.
FREE_WHICH = ("goaround", "free")
FREE_WHICH_WAIT = timedelta(hours=12)
_FREE_SAID = frozenset({
    ("free",), ("available",), ("im", "free"), ("i'm", "free"), ("i", "am", "free"), ("im", "available"),
    ("i'm", "available"), ("i", "am", "available"), ("im", "around"), ("i'm", "around"), ("i", "am", "around"),
    ("libre",), ("disponible",), ("estoy", "libre"), ("ando", "libre"), ("estoy", "disponible"),
    ("ando", "disponible"), ("yo", "estoy", "libre"), ("yo", "estoy", "disponible"),
})
_WHICH_SOFT = frozenset("ok okay um umm hmm i can yo puedo please pls porfa thanks thx gracias option opcion "
                        "the el la lo just solo".split())
_WHICH = {
    (I_CAN_REACH_OUT,): {("2",), ("two",), ("dos",), ("reach", "out"), ("reaching", "out"), ("reach", "out", "to",
                         "someone"), ("help",), ("contactar",), ("contactar", "a", "alguien"), ("ayudar",),
                         ("apoyar",)},
    (CAN_KEEP_COMPANY,): {("5",), ("five",), ("cinco",), ("company",), ("keep", "company"),
                          ("keep", "someone", "company"), ("keeping", "company"), ("keeping", "someone", "company"),
                          ("compania",), ("acompanar",), ("acompanar", "a", "alguien"), ("hacer", "compania")},
    (I_CAN_REACH_OUT, CAN_KEEP_COMPANY): {("2", "5"), ("5", "2"), ("2", "and", "5"), ("2", "y", "5"), ("both",),
                                          ("both", "of", "them"), ("las", "dos"), ("los", "dos"), ("ambas",),
                                          ("ambos",), ("ambas", "cosas")},
}


def free_which(ctx: Context, text: Text) -> Transition | None:
    """"i'm free this week" (and no more than a time after it): which of 2 and 5, asked (see FREE_WHICH)."""
    membership, start, question = pick_group(ctx, text)
    words = text.words[start:]
    words = words[filler_length(words):]
    said = next((len(p) for p in _FREE_SAID if tuple(words[:len(p)]) == p), 0)
    if not said or ctx.crisis or "?" in text.raw:
        return None
    if question is not None or membership is None:
        return question
    group = membership.group
    after = words[said:]
    until = None
    if after:
        duration = parse_duration(after, ctx.now, group.tz, ctx.language)
        if duration is None or not all(w in _AFTER_DURATION for w in after[duration.used:]):
            return None
        until = duration.until
    data = {"group_id": group.id, "until": until.isoformat() if until else None}
    return Transition(replies=(Reply(render_for(ctx, "goaround.free_which", keyword=group.keyword)),),
                      wait=Waiting(*FREE_WHICH, data, ctx.now + FREE_WHICH_WAIT))


def free_which_reply(ctx: Context, text: Text) -> Transition | None:
    """The reply to "2 or 5?" (free_which): the answer, with the time said then; else None (read as itself)."""
    membership = ctx.membership(int(ctx.waiting_data.get("group_id", 0)))
    said = tuple(w for w in text.words if w not in _WHICH_SOFT)
    options = next((options for options, phrases in _WHICH.items() if said in phrases), None)
    if membership is None or options is None or ctx.crisis:
        return None
    until = ctx.waiting_data.get("until")
    return answered(ctx, membership.group, tuple(
        AnswerSpec(option, datetime.fromisoformat(until) if until else None, None, 1, None) for option in options))


_ARTICLES = frozenset("a an un una el la".split())


def hedged_option(words: list[str]) -> bool:
    """True for "como un 2 ...", "como el 4": a hedge on an option ("like a 2"), not HOW (``como``)."""
    return len(words) > 2 and words[1] in _ARTICLES and _options_in(words[2]) is not None


def how(ctx: Context, text: Text) -> Transition | None:
    """``HOW text after 6pm``: how and when the member likes to be reached."""
    membership, start, question = pick_group(ctx, text)
    rest = text.words[start:]
    if not rest or rest[0] not in HOW or ctx.crisis or asks_to_see_answers(rest) or hedged_option(rest):
        return None  # "how do i see my answers?" is STATUS; "como un 2 y tambien un 5" an answer
    if question is not None:
        return question
    if membership is None:
        return not_a_member(ctx)
    if not text.rest(start + 1):
        return say(ctx, "goaround.how_empty")
    if not ctx.answers_in(membership.group.id):
        return say(ctx, "goaround.how_needs_answer")
    privacy = rest[1:]
    if len(privacy) == 1 and (privacy[0] in PRIVATE or privacy[0] in SHARE):
        private = privacy[0] in PRIVATE
        key = "goaround.private" if private else "goaround.shared"
        return Transition(
            replies=(Reply(render(key, ctx.language, keyword=membership.group.keyword)),),
            effects=(PrivacyChanged(membership.group.id, private),),
        )
    how_text = only_how(text.rest(start + 1), MAX_HOW)  # never the story around it
    if not how_text:
        return say(ctx, "goaround.how_empty")
    return Transition(
        replies=(Reply(render("goaround.how_saved", ctx.language, keyword=membership.group.keyword, how=how_text)),),
        effects=(HowChanged(membership.group.id, how_text),),
    )


def option_label(option: int, capacity: int | None, language: str) -> str:
    """An option in plain words, e.g. "you can reach out to up to 3 people"."""
    key = f"option.{option}" + (".many" if capacity and capacity > 1 else "")
    return render(key, language, capacity=capacity)


def lapsed_prompt(language: str, keyword: str, option: int, capacity: int | None, *,
                  ended_with: Sequence[str] = ()) -> str:
    """What a member is asked when an answer with an end date lapses; with the names of those whose
    pairing with them ended with it, when there are any."""
    label = option_label(option, capacity, language)
    if ended_with:
        return render("goaround.lapsed.paired", language, keyword=keyword, answer=label,
                      other=names_list(list(ended_with), language))
    return render("goaround.lapsed", language, keyword=keyword, answer=label)


def prompt(language: str, keyword: str) -> str:
    """The go-around question itself, in one short message."""
    return render("goaround.prompt", language, keyword=keyword)

