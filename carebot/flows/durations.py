"""How long a go-around answer holds: ``2w``, ``10d``, ``until dec 5``, ``ongoing``.

``parse_duration`` reads one duration at the start of a list of folded words and
says how many words it used, so the rest can be read as the member's "how".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from babel.dates import get_day_names, get_month_names

from carebot.flows.words import fold

ONGOING = frozenset(
    "ongoing indefinitely indefinite always forever permanent siempre indefinido "
    "indefinidamente permanente continuo".split()
)
UNTIL = frozenset("until til till thru through hasta".split())
FOR = frozenset("for por durante".split())
SKIP_AFTER_UNTIL = frozenset("the el de del".split())

_UNITS = {
    "d": 1, "day": 1, "days": 1, "dia": 1, "dias": 1,
    "w": 7, "wk": 7, "wks": 7, "week": 7, "weeks": 7, "semana": 7, "semanas": 7, "sem": 7,
    "m": 30, "mo": 30, "month": 30, "months": 30, "mes": 30, "meses": 30,
}
_COMPACT = re.compile(r"^(\d{1,3})([a-z]+)$")
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "six": 6,
    "un": 1, "una": 1, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "seis": 6,
}
_ORDINAL = re.compile(r"^(\d{1,2})(st|nd|rd|th|o|a)?$")
_SLASHED = re.compile(r"^(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?$")
MAX_DAYS = 366


@dataclass(frozen=True)
class Duration:
    """An answer's end: ``until`` is None when it is ongoing."""

    until: datetime | None
    used: int  # how many words the duration took


@cache
def _month_numbers() -> dict[str, int]:
    names: dict[str, int] = {}
    for locale in ("en", "es"):
        for width in ("wide", "abbreviated"):
            for number, name in get_month_names(width, locale=locale).items():
                names[fold(name)] = number
    names["sept"] = 9
    names["set"] = 9
    return names


@cache
def _weekday_numbers() -> dict[str, int]:
    names: dict[str, int] = {}
    for locale in ("en", "es"):
        for width in ("wide", "abbreviated"):
            for number, name in get_day_names(width, locale=locale).items():
                names[fold(name)] = number
    return names


def _end_of(day: date, tz: ZoneInfo) -> datetime:
    """The first moment after ``day`` in the group's timezone: the answer holds all that day."""
    return datetime.combine(day + timedelta(days=1), time(0), tz)


def _next_occurrence(month: int, day: int, today: date) -> date | None:
    for year in (today.year, today.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            return None
        if candidate >= today:
            return candidate
    return None


def _span(words: list[str]) -> tuple[int, int] | None:
    """(days, words used) for ``2w``, ``10 days``, ``two weeks``."""
    if not words:
        return None
    compact = _COMPACT.match(words[0])
    if compact and compact.group(2) in _UNITS:
        return int(compact.group(1)) * _UNITS[compact.group(2)], 1
    if len(words) >= 2 and words[1] in _UNITS and words[1] not in ("m", "d", "w"):
        count = int(words[0]) if words[0].isdigit() else _NUMBER_WORDS.get(words[0])
        if count:
            return count * _UNITS[words[1]], 2
    return None


def parse_date(words: list[str], today: date, language: str = "en") -> tuple[date, int] | None:
    """(day, words used) for a day ahead such as ``dec 5``, ``12/5`` or ``friday``."""
    return _date(words, today, month_first=language != "es")


def parse_span(words: list[str]) -> tuple[int, int] | None:
    """(days, words used) for a plain span such as ``3d``, ``2w`` or ``10 days``."""
    return _span(words)


def _date(words: list[str], today: date, month_first: bool) -> tuple[date, int] | None:
    """A calendar day named by ``dec 5``, ``5 dec``, ``december 5th``, ``12/5``, ``friday``."""
    if not words:
        return None
    months, weekdays = _month_numbers(), _weekday_numbers()
    first = words[0]
    slashed = _SLASHED.match(first)
    if slashed:
        a, b = int(slashed.group(1)), int(slashed.group(2))
        month, day = (a, b) if month_first else (b, a)
        found = _next_occurrence(month, day, today)
        return (found, 1) if found else None
    if first in months and len(words) >= 2:
        ordinal = _ORDINAL.match(words[1])
        if ordinal:
            found = _next_occurrence(months[first], int(ordinal.group(1)), today)
            return (found, 2) if found else None
    ordinal = _ORDINAL.match(first)
    if ordinal and len(words) >= 2:
        rest = words[1:]
        used = 1
        if rest and rest[0] == "de":
            rest, used = rest[1:], used + 1
        if rest and rest[0] in months:
            found = _next_occurrence(months[rest[0]], int(ordinal.group(1)), today)
            return (found, used + 1) if found else None
    # Weekdays last: "mar" is March before it is martes.
    if first in weekdays:
        ahead = (weekdays[first] - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead), 1
    return None


def parse_duration(
    words: list[str], now: datetime, tz: ZoneInfo, language: str = "en"
) -> Duration | None:
    """Read a duration at the start of ``words``; None when they do not start with one."""
    if not words:
        return None
    if words[0] in ONGOING:
        return Duration(None, 1)
    if words[0] in UNTIL:
        rest = words[1:]
        skipped = 0
        while rest and rest[0] in SKIP_AFTER_UNTIL:
            rest, skipped = rest[1:], skipped + 1
        found = _date(rest, now.astimezone(tz).date(), month_first=language != "es")
        if found is None:
            return None
        day, used = found
        return Duration(_end_of(day, tz), 1 + skipped + used)
    lead = 1 if words[0] in FOR else 0
    span = _span(words[lead:])
    if span is None:
        return None
    days, used = span
    if not 0 < days <= MAX_DAYS:
        return None
    # Wall-clock arithmetic in the group's zone: "2w" ends at the same local hour across DST.
    return Duration(now.astimezone(tz) + timedelta(days=days), lead + used)
