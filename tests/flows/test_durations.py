"""How long an answer holds, and the hours and spans members write, as tables: read at the start of
the words, in the group's timezone (Des Moines, a Monday at 10:00), with how many words were used."""

from __future__ import annotations

from datetime import date

import pytest

from carebot.flows.durations import parse_date, parse_duration, parse_hours, parse_span
from carebot.flows.words import read
from tests.flows.kit import DMMA, NOW

TODAY = date(2026, 3, 2)


@pytest.mark.parametrize(("text", "language", "until", "used"), [
    ("2w", "en", "2026-03-16 10:00", 1),
    ("2 wks", "en", "2026-03-16 10:00", 2),
    ("10d", "en", "2026-03-12 10:00", 1),
    ("3 days", "en", "2026-03-05 10:00", 2),
    ("a month", "en", "2026-04-01 10:00", 2),
    ("for a couple of weeks", "en", "2026-03-16 10:00", 5),
    ("for the next 2 weeks", "en", "2026-03-16 10:00", 5),
    ("until dec 5", "en", "2026-12-06 00:00", 3),  # to the end of the day named
    ("till monday", "en", "2026-03-10 00:00", 2),  # said on a Monday: the next one
    ("thru friday", "en", "2026-03-07 00:00", 2),
    ("untill tmrw", "en", "2026-03-04 00:00", 2),
    ("until the 15th", "en", "2026-03-16 00:00", 3),
    ("until 3/20", "en", "2026-03-21 00:00", 2),
    ("this week", "en", "2026-03-09 00:00", 2),
    ("this weekend", "en", "2026-03-09 00:00", 2),
    ("end of the month", "en", "2026-04-01 00:00", 4),
    ("till the end of march", "en", "2026-04-01 00:00", 5),
    ("hasta el lunes", "es", "2026-03-10 00:00", 3),
    ("hasta el quince", "es", "2026-03-16 00:00", 3),
    ("hasta fin de mes", "es", "2026-04-01 00:00", 4),
    ("1 mes", "es", "2026-04-01 10:00", 2),
    ("unos dias", "es", "2026-03-05 10:00", 2),
    ("x 2 semanas", "es", "2026-03-16 10:00", 3),
    ("ongoing", "en", None, 1),
    ("until further notice", "en", None, 3),
    ("hasta nuevo aviso", "es", None, 3),
    ("sin fecha", "es", None, 2),
    # outside5: "just", "for" and "only" around a span the calendar names
    ("just today", "en", "2026-03-03 00:00", 2),
    ("just for today", "en", "2026-03-03 00:00", 3),
    ("for the weekend", "en", "2026-03-09 00:00", 3),
    ("today only", "en", "2026-03-03 00:00", 2),
    ("only for this week", "en", "2026-03-09 00:00", 4),
    ("solo por hoy", "es", "2026-03-03 00:00", 3),
    ("nomas hoy", "es", "2026-03-03 00:00", 2),
    ("hoy nada mas", "es", "2026-03-03 00:00", 3),
    ("para el fin de semana", "es", "2026-03-09 00:00", 5),
])
def test_durations(text: str, language: str, until: str | None, used: int) -> None:
    duration = parse_duration(read(text).words, NOW, DMMA.tz, language)
    assert duration is not None
    local = duration.until and duration.until.astimezone(DMMA.tz).strftime("%Y-%m-%d %H:%M")
    assert (local, duration.used) == (until, used)


@pytest.mark.parametrize("text", ["until yesterday", "until blorpday", "999 days", "call evenings", "", "0d",
                                  "just checking in", "only text", "for real", "just text me"])
def test_not_durations(text: str) -> None:
    assert parse_duration(read(text).words, NOW, DMMA.tz, "en") is None


@pytest.mark.parametrize(("text", "hours"), [
    ("8 21", (8, 21)), ("8-21", (8, 21)), ("8am 9pm", (8, 21)), ("9am-5pm", (9, 17)), ("7 23h", (7, 23)),
    ("whenever", None), ("8", None), ("8:30 21", None),
])
def test_hours(text: str, hours: tuple[int, int] | None) -> None:
    assert parse_hours(read(text).words) == hours


@pytest.mark.parametrize(("text", "span"), [
    ("3d", (3, 1)), ("2w", (14, 1)), ("2 weeks", (14, 2)), ("10 days", (10, 2)), ("a week", (7, 2)),
    ("tres dias", (3, 2)), ("a month", (30, 2)), ("blah", None),
])
def test_spans(text: str, span: tuple[int, int] | None) -> None:
    assert parse_span(read(text).words) == span


@pytest.mark.parametrize(("text", "language", "day", "used"), [
    ("dec 5", "en", date(2026, 12, 5), 2), ("5 dic", "es", date(2026, 12, 5), 2),
    ("tomorrow", "en", date(2026, 3, 3), 1), ("mañana", "es", date(2026, 3, 3), 1),
    ("friday", "en", date(2026, 3, 6), 1), ("el viernes", "es", date(2026, 3, 6), 2),
    ("3/20", "en", date(2026, 3, 20), 1), ("today", "en", TODAY, 1),
    ("mar 1", "en", date(2027, 3, 1), 2),  # a day already gone this year is next year's
])
def test_dates(text: str, language: str, day: date, used: int) -> None:
    assert parse_date(read(text).words, TODAY, language) == (day, used)


@pytest.mark.parametrize("text", ["someday", "library", ""])
def test_not_dates(text: str) -> None:
    assert parse_date(read(text).words, TODAY, "en") is None
