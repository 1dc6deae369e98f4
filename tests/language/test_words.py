"""Everyday wording carebot reads: the normal form, hours and cadence in words."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from carebot.flows import goaround
from carebot.flows.base import Context
from carebot.flows.durations import parse_hours, parse_span
from carebot.flows.words import answers_yes, is_never_mind, plain, read


def test_one_normal_form_for_matching_and_the_members_words_kept_as_written() -> None:
    text = "  I\u2019m  \u201cfine\u201d\u200b \u2014 GRACIAS\ufe0f  "
    assert plain(text) == "i'm \"fine\" - gracias"
    assert read(text).raw == "I\u2019m \u201cfine\u201d \u2014 GRACIAS"  # kept as written, spaces folded


@pytest.mark.parametrize("words, days", [("week", 7), ("semana", 7), ("2w", 14), ("a couple of weeks", 14),
                                         ("un par de semanas", 14), ("3 days", 3)])
def test_cadence_in_words(words: str, days: int) -> None:
    assert parse_span(words.split())[0] == days


@pytest.mark.parametrize("words, hours", [("8 21", (8, 21)), ("8-21", (8, 21)), ("8am 9pm", (8, 21)),
                                          ("9am to 8pm", (9, 20)), ("8 a 21h", (8, 21))])
def test_hours_in_words(words: str, hours: tuple[int, int]) -> None:
    assert parse_hours(read(words).words) == hours


@pytest.mark.parametrize("words", ["13am 9pm", "soon", "8"])
def test_hours_that_are_not_hours(words: str) -> None:
    assert parse_hours(read(words).words) is None



@pytest.mark.parametrize("text, ends", [
    ("1 and 5 for a couple weeks", {1: "2026-03-18", 5: "2026-03-18"}),  # joined options share the duration
    ("1 5 2w", {1: "2026-03-18", 5: "2026-03-18"}),
    ("1 2w 5", {1: "2026-03-18", 5: None}),  # after a duration, a new option starts afresh
    ("1 for now 5 2w", {1: None, 5: "2026-03-18"}),
])
def test_a_duration_covers_the_options_written_together_before_it(text: str, ends: dict[int, str | None]) -> None:
    zone = ZoneInfo("America/Chicago")
    now = datetime(2026, 3, 4, 11, tzinfo=zone)
    context = Context(now=now, channel="sms", language="en", opted_out=False, name=None,
                      memberships=(), answers=(), groups={})
    specs = goaround.parse(context, read(text), 0, zone)
    assert specs is not None
    assert {s.option: s.until and s.until.date().isoformat() for s in specs} == ends


# The outside tester's third round: YES as people write it to a question carebot asked.
@pytest.mark.parametrize("text", ["ok go ahead", "go ahead", "ya i can do that", "yes we talked yesterday 🙂",
                                  "we talked!", "we texted!", "si claro", "👍", "ya", "si ya hablamos", "dale adelante"])
def test_everyday_yes(text: str) -> None:
    assert answers_yes(read(text))


@pytest.mark.parametrize("text", ["we talked about it but no", "go ahead without me", "i can do that next month maybe",
                                  "we didnt talk", "yes but not this week", "i can't do that", "ya no"])
def test_near_yes_that_is_not_yes(text: str) -> None:
    assert not answers_yes(read(text))


@pytest.mark.parametrize("text", ["forget it", "olvidalo", "Olvídalo", "never mind", "nvm", "oh forget it lol",
                                  "no importa"])
def test_never_mind(text: str) -> None:
    assert is_never_mind(read(text).words)


@pytest.mark.parametrize("text", ["forget", "olvidar", "forget me", "forget it all, erase me", "no importa el dia"])
def test_forget_and_others_are_not_never_mind(text: str) -> None:
    assert not is_never_mind(read(text).words)
