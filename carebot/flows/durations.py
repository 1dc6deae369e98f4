"""How long a go-around answer holds: ``2w``, ``10d``, ``until dec 5``, ``till monday``,
``this week``, ``for a couple of weeks``, ``hasta el lunes``, ``ongoing``.

``parse_duration`` reads one duration at the start of a list of folded words and
says how many words it used, so the rest can be read as the member's "how".
Calendar days ("dec 5", "the 15th", "el lunes", "3/20") are read by dateparser, which
knows English and Spanish; carebot only finds where the date starts and how many
words it takes, and always resolves it in the group's timezone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

import dateparser
from babel.dates import get_day_names, get_month_names

from carebot.flows.words import fold

ONGOING = frozenset(
    "ongoing indefinitely indefinite always forever permanent permanently siempre indefinido "
    "indefinidamente permanente continuo".split()
)
# "until further notice", "sin fecha", "hasta nuevo aviso": ongoing in more words.
ONGOING_PHRASES = (
    ("until", "further", "notice"), ("till", "further", "notice"), ("til", "further", "notice"),
    ("hasta", "nuevo", "aviso"), ("sin", "fecha"), ("for", "the", "foreseeable", "future"),
    ("no", "end", "date"), ("por", "tiempo", "indefinido"), ("hasta", "que", "avise"),
)
UNTIL = frozenset("until til till untill untl thru through hasta tru hta asta".split())
FOR = frozenset("for por durante x".split())
FOR_FILLER = frozenset("the next los las proximos proximas".split())  # "for the next 2 weeks"
# A count said roughly (outside8's "for like 2 weeks"): "about a week", "maybe 10 days", "por como 2 semanas",
# "unas 2 semanas", "mas o menos 2 semanas". Only before a count and its unit: "like i said" is no duration.
_ROUGHLY = (("mas", "o", "menos"), ("alrededor", "de"), ("like",), ("about",), ("around",), ("maybe",),
            ("roughly",), ("approx",), ("approximately",), ("como",), ("unas",), ("unos",), ("aprox",),
            ("aproximadamente",), ("tipo",))
SKIP_AFTER_UNTIL = frozenset("the el la de del dia".split())
# Day numbers in words, after "until": "hasta el quince".
_DAY_WORDS = {
    "first": 1, "second": 2, "third": 3, "fifth": 5, "tenth": 10, "fifteenth": 15, "twentieth": 20,
    "primero": 1, "uno": 1, "dos": 2, "tres": 3, "cinco": 5, "diez": 10, "quince": 15, "veinte": 20,
}
_ORDINAL_DAY = re.compile(r"^(\d{1,2})(st|nd|rd|th|o|a|vo|ro|ero)?$")

_UNITS = {
    "d": 1, "day": 1, "days": 1, "dia": 1, "dias": 1,
    "w": 7, "wk": 7, "wks": 7, "week": 7, "weeks": 7, "semana": 7, "semanas": 7, "sem": 7,
    "m": 30, "mo": 30, "month": 30, "months": 30, "mes": 30, "meses": 30,
}
_COMPACT = re.compile(r"^(\d{1,3})([a-z]+)$")
# Counts before a unit ("two weeks", "a couple of weeks", "unos dias"): only counts.
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "couple": 2, "few": 3, "par": 2,
    "un": 1, "una": 1, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
    "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "unos": 3, "unas": 3,
}
_COUNT_FILLER = frozenset("a of de couple par".split())  # "a couple of weeks", "un par de semanas"
# Spans named by the calendar: the answer holds to the end of that span.
_PERIODS = {
    ("today",): "day", ("tonight",): "day", ("hoy",): "day", ("esta", "noche"): "day",
    ("tomorrow",): "tomorrow", ("tmrw",): "tomorrow", ("tmr",): "tomorrow", ("manana",): "tomorrow",
    ("this", "week"): "week", ("esta", "semana"): "week", ("esta", "sem"): "week", ("this", "wk"): "week",
    ("pasado", "manana"): "after_tomorrow", ("the", "day", "after", "tomorrow"): "after_tomorrow", ("the", "week"): "week",
    ("this", "weekend"): "week", ("the", "weekend"): "week", ("weekend",): "week",
    ("el", "fin", "de", "semana"): "week", ("fin", "de", "semana"): "week",
    ("este", "finde"): "week", ("el", "finde"): "week",
    ("next", "week"): "next_week", ("la", "proxima", "semana"): "next_week",
    ("la", "semana", "que", "viene"): "next_week", ("proxima", "semana"): "next_week",
    ("this", "month"): "month", ("este", "mes"): "month", ("end", "of", "the", "month"): "month",
    ("end", "of", "month"): "month", ("fin", "de", "mes"): "month", ("el", "fin", "de", "mes"): "month",
    ("next", "month"): "next_month", ("el", "proximo", "mes"): "next_month", ("el", "mes", "que", "viene"): "next_month",
}
_TIME_WORD = re.compile(r"^\d{1,2}[:.h]\d{2}(am|pm)?$|^\d{1,2}(am|pm|a|p)$|^(am|pm|noon|mediodia)$")
MAX_DAYS = 366
MAX_DATE_WORDS = 4


def says_ongoing(words: list[str]) -> bool:
    """True when the words say the answer has no end ("ongoing", "hasta nuevo aviso")."""
    return any(w in ONGOING for w in words) or any(
        tuple(words[i:i + len(p)]) == p for p in ONGOING_PHRASES for i in range(len(words)))


@dataclass(frozen=True)
class Duration:
    """An answer's end: ``until`` is None when it is ongoing."""

    until: datetime | None
    used: int  # how many words the duration took


def _end_of(day: date, tz: ZoneInfo) -> datetime:
    """The first moment after ``day`` in the group's timezone: the answer holds all that day."""
    return datetime.combine(day + timedelta(days=1), time(0), tz)


def _count(word: str) -> int | None:
    return int(word) if word.isdigit() else _NUMBER_WORDS.get(word)


def _span(words: list[str]) -> tuple[int, int] | None:
    """(days, words used) for ``2w``, ``10 days``, ``two weeks``, ``a couple of weeks``."""
    if not words:
        return None
    compact = _COMPACT.match(words[0])
    if compact and compact.group(2) in _UNITS:
        return int(compact.group(1)) * _UNITS[compact.group(2)], 1
    count = _count(words[0])
    if count is None:
        return None
    used = 1
    while used < len(words) and words[used] in _COUNT_FILLER and used < 4:
        if words[used] in ("couple", "par"):
            count = 2
        used += 1
    if used < len(words) and words[used] in _UNITS and words[used] not in ("m", "d", "w"):
        return count * _UNITS[words[used]], used + 1
    return None


def parse_span(words: list[str]) -> tuple[int, int] | None:
    """(days, words used) for a plain span such as ``3d``, ``2w``, ``10 days`` or ``week``."""
    found = _span(words)
    if found is None and words and words[0] in _UNITS and len(words[0]) > 1:
        return _UNITS[words[0]], 1  # "every week": one of them
    return found


def _period(words: list[str], today: date) -> tuple[date, int] | None:
    """The last day of a span the calendar names ("this week", "fin de mes")."""
    for length in (4, 3, 2, 1):
        kind = _PERIODS.get(tuple(words[:length])) if len(words) >= length else None
        if kind is None:
            continue
        if kind == "day":
            return today, length
        if kind == "tomorrow":
            return today + timedelta(days=1), length
        if kind == "after_tomorrow":
            return today + timedelta(days=2), length
        if kind in ("week", "next_week"):
            sunday = today + timedelta(days=6 - today.weekday())
            return (sunday if kind == "week" else sunday + timedelta(days=7)), length
        first_next = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
        if kind == "month":
            return first_next - timedelta(days=1), length
        return (first_next + timedelta(days=32)).replace(day=1) - timedelta(days=1), length
    return None


@cache
def _date_words() -> frozenset[str]:
    """Words a date can end on: month and weekday names (English and Spanish, from CLDR)."""
    names = {"tomorrow", "tmrw", "manana", "today", "hoy"}
    for locale in ("en", "es"):
        for width in ("wide", "abbreviated"):
            names.update(fold(n) for n in get_month_names(width, locale=locale).values())
            names.update(fold(n) for n in get_day_names(width, locale=locale).values())
    return frozenset(names | {"sept", "set", "tues", "thurs", "weds"})


def _month_end(words: list[str], today: date) -> tuple[date, int] | None:
    """"end of march", "finales de marzo": the month's last day."""
    for lead in (("end", "of"), ("the", "end", "of"), ("finales", "de"), ("fines", "de"), ("fin", "de")):
        if tuple(words[: len(lead)]) == lead and len(words) > len(lead):
            first = _read_date(f"1 {words[len(lead)]}", today.replace(day=1), "en")
            if first is None:
                return None
            return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1), len(lead) + 1
    return None


def _day_of_month(word: str, today: date) -> date | None:
    """"the 15th", "el 15", "quince": this month's, or next month's once it has passed."""
    match = _ORDINAL_DAY.match(word)
    number = int(match.group(1)) if match else _DAY_WORDS.get(word)
    if number is None:
        return None
    year, month = today.year, today.month
    for _ in range(3):
        try:
            day = date(year, month, number)
        except ValueError:
            day = None
        if day is not None and day >= today:
            return day
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


@lru_cache(maxsize=4096)
def _read_date(phrase: str, today: date, language: str) -> date | None:
    """One calendar day ahead named by ``phrase``, read by dateparser; None if it names none."""
    order = "DMY" if language == "es" else "MDY"
    languages = ["es", "en"] if language == "es" else ["en", "es"]
    found = dateparser.parse(
        phrase,
        languages=languages,
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": datetime.combine(today, time(0)),
            "DATE_ORDER": order,
            "RETURN_AS_TIMEZONE_AWARE": False,
            "REQUIRE_PARTS": [],
            "STRICT_PARSING": False,
        },
    )
    if found is None:
        return None
    day = found.date()
    if day.year > today.year and day.replace(year=day.year - 1) == today if (day.month, day.day) != (2, 29) else False:
        day = today  # "until mar 2" said on Mar 2 means today, not next year
    if day < today and re.fullmatch(r"\d{1,2}(st|nd|rd|th)?", phrase):
        return None  # "the 3rd" when it is the 10th: say so rather than guess a month
    return day if today <= day <= today + timedelta(days=MAX_DAYS) else None


def _date(words: list[str], today: date, language: str) -> tuple[date, int] | None:
    """A calendar day at the start of ``words`` and how many words it took (the longest reading)."""
    period = _period(words, today) or _month_end(words, today)
    if period is not None:
        return period
    after = [w for w in words[1:3] if w not in ("de", "of")][:1]
    if words and not (after and after[0] in _date_words()):
        day = _day_of_month(words[0], today)
        if day is not None:
            return day, 1
    limit = 0
    # A date is a few words before anything that reads as a time of day or the member's how.
    while limit < min(len(words), MAX_DATE_WORDS) and not _TIME_WORD.match(words[limit]):
        limit += 1
    for length in range(limit, 0, -1):
        phrase = " ".join(words[:length])
        if length > 1 and words[length - 1] in SKIP_AFTER_UNTIL:
            continue
        last = words[length - 1]
        if not (last in _date_words() or re.fullmatch(r"\d{1,4}(st|nd|rd|th)?|\d{1,2}[/.-]\d{1,2}([/.-]\d{2,4})?", last)):
            continue  # a date ends on a number or a month or day name, never on the member's how
        if length < len(words) and re.fullmatch(r"\d{1,4}(st|nd|rd|th)?", words[length]):
            continue  # "feb 30": the number was part of the date, and the date does not exist
        day = _read_date(phrase, today, language)
        if day is not None:
            if words[0] in ("monday tuesday wednesday thursday friday saturday sunday "
                            "lunes martes miercoles jueves viernes sabado domingo").split() and day == today:
                day += timedelta(days=7)  # "till monday" said on a Monday means the next one
            return day, length
    return None


def parse_date(words: list[str], today: date, language: str = "en") -> tuple[date, int] | None:
    """(day, words used) for a day ahead such as ``dec 5``, ``12/5``, ``friday`` or ``el 15``."""
    words = list(words)
    skipped = 0
    while words[skipped:] and words[skipped] in SKIP_AFTER_UNTIL and skipped < 2:
        skipped += 1
    found = _date(words[skipped:], today, language)
    return (found[0], found[1] + skipped) if found else None


# Words around a span the calendar names that change nothing (outside5): "just today", "just for today",
# "for the weekend", "today only", "solo por hoy", "nomas hoy", "hoy nada mas".
_JUST = frozenset("just only solo nomas solamente unicamente".split())
_ONLY_AFTER = (("only",), ("solo",), ("solamente",), ("nomas",), ("nada", "mas"))


def _calendar_span(words: list[str], today: date) -> tuple[date, int] | None:
    """(last day, words used) for a span the calendar names, with "just", "for" and "only" around it."""
    lead = 0
    while lead < 2 and lead < len(words) and words[lead] in _JUST:
        lead += 1
    if lead < len(words) and (words[lead] in FOR or words[lead] == "para"):
        lead += 1
    period = _period(words[lead:], today)
    if period is None:
        return None
    used = lead + period[1]
    after = next((len(tail) for tail in _ONLY_AFTER if tuple(words[used:used + len(tail)]) == tail), 0)
    return period[0], used + after


def _roughly_length(words: list[str]) -> int:
    """How many words of a rough count ("like", "about", "como unas") open ``words``."""
    length = 0
    while step := next((len(p) for p in _ROUGHLY if tuple(words[length:length + len(p)]) == p), 0):
        length += step
    return length


def parse_duration(
    words: list[str], now: datetime, tz: ZoneInfo, language: str = "en"
) -> Duration | None:
    """Read a duration at the start of ``words``; None when they do not start with one."""
    if not words:
        return None
    if words[0] in ONGOING:
        return Duration(None, 1)
    for phrase in ONGOING_PHRASES:
        if tuple(words[: len(phrase)]) == phrase:
            return Duration(None, len(phrase))
    today = now.astimezone(tz).date()
    if words[0] in UNTIL:
        lead = 1
        found = parse_date(words[lead:], today, language)
        if found is None:
            return None
        day, used = found
        return Duration(_end_of(day, tz), lead + used)
    period = _calendar_span(words, today)
    if period is not None:
        return Duration(_end_of(period[0], tz), period[1])
    lead = 1 if words[0] in FOR else 0
    while lead and lead < 3 and len(words) > lead and words[lead] in FOR_FILLER:
        lead += 1
    span = _span(words[lead:])
    if span is None:
        roughly = _roughly_length(words[lead:])
        span = _span(words[lead + roughly:]) if roughly else None
        if span is None:
            return None
        lead += roughly
    days, used = span
    if not 0 < days <= MAX_DAYS:
        return None
    # Wall-clock arithmetic in the group's zone: "2w" ends at the same local hour across DST.
    return Duration(now.astimezone(tz) + timedelta(days=days), lead + used)


_HOURS = re.compile(
    r"^(\d{1,2})(?::00)?\s*(am|pm|a|p|h)?\s*(?:-|to|a|and|y|until|till|hasta|til)?\s*(\d{1,2})(?::00)?\s*(am|pm|a|p|h)?$"
)


def _hour(number: str, half: str | None) -> int | None:
    hour = int(number)
    if half in ("am", "a", "pm", "p"):
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half in ("pm", "p") else 0)
    return hour


def parse_hours(words: list[str]) -> tuple[int, int] | None:
    """(first hour, last hour) from ``8 21``, ``8-21``, ``8am 9pm``, ``9am to 8pm``, ``8 a 21h``."""
    found = _HOURS.match(" ".join(words).strip())
    if not found:
        return None
    starts, ends = _hour(found.group(1), found.group(2)), _hour(found.group(3), found.group(4))
    if starts is None or ends is None:
        return None
    morning_start = starts <= 12 and found.group(2) not in ("pm", "p", "h")
    if found.group(4) is None and morning_start and 1 <= ends <= starts:
        # "9 to 5", "horas 9 a 5", "10 to 2", "8 to 8": an end not after a 12-hour start, with no am/pm or "h"
        # to say otherwise, is in the afternoon. Only then: "9pm to 5" or "17 to 9" (over
        # midnight) stay unread, and the reply says back the hours set, so a misreading shows.
        ends += 12
    return starts, (24 if ends == 0 else ends)
