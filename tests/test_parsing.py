"""The pure readers of what members type: words, durations and go-around answers."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from carebot.flows.base import Context, GroupInfo, MembershipInfo
from carebot.flows.durations import parse_duration
from carebot.flows.goaround import Unreadable, parse
from carebot.flows.words import is_stop, read

CHICAGO = ZoneInfo("America/Chicago")
NOW = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # Monday 10:00 in Chicago


def local_day(moment: datetime) -> str:
    """The last day an answer holds, as the member would say it."""
    return (moment.astimezone(CHICAGO)).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize(
    ("text", "until", "used"),
    [
        ("2w", "2026-03-16 10:00", 1),
        ("10d", "2026-03-12 10:00", 1),
        ("3 weeks", "2026-03-23 10:00", 2),
        ("for 2 days", "2026-03-04 10:00", 3),
        ("two weeks", "2026-03-16 10:00", 2),
        ("1 month", "2026-04-01 10:00", 2),
        ("until dec 5", "2026-12-06 00:00", 3),
        ("until December 5th", "2026-12-06 00:00", 3),
        ("until 5 dec", "2026-12-06 00:00", 3),
        ("until 3/20", "2026-03-21 00:00", 2),
        ("until mar 2", "2026-03-03 00:00", 3),
        ("until friday", "2026-03-07 00:00", 2),
        ("until feb 1", "2027-02-02 00:00", 3),  # already past this year: next year's
        ("hasta el 5 de diciembre", "2026-12-06 00:00", 5),
        ("hasta dic 5", "2026-12-06 00:00", 3),
        ("2 semanas", "2026-03-16 10:00", 2),
    ],
)
def test_durations(text: str, until: str, used: int) -> None:
    duration = parse_duration(read(text).words, NOW, CHICAGO, "es" if "hasta" in text else "en")
    assert duration is not None
    assert local_day(duration.until) == until and duration.used == used


@pytest.mark.parametrize("text", ["ongoing", "indefinitely", "siempre"])
def test_ongoing(text: str) -> None:
    assert parse_duration(read(text).words, NOW, CHICAGO) .until is None


@pytest.mark.parametrize("text", ["", "call evenings", "until", "until someday", "until 13/45",
                                  "999 days", "0d", "until feb 30"])
def test_not_durations(text: str) -> None:
    assert parse_duration(read(text).words, NOW, CHICAGO) is None


def ctx() -> Context:
    group = GroupInfo(1, "DMMA", "Des Moines Mutual Aid", "America/Chicago", "en", "0 10 * * mon")
    return Context(now=NOW, channel="sms", language="en", opted_out=False, name="Ana",
                   memberships=(MembershipInfo(group, "member"),), answers=(), groups={"DMMA": group})


def answers(text: str):
    return [(a.option, a.until is not None, a.how, a.capacity) for a in parse(ctx(), read(text), 0, CHICAGO)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", [(1, False, None, None)]),
        ("1 5", [(1, False, None, None), (5, False, None, 1)]),
        ("5 1", [(1, False, None, None), (5, False, None, 1)]),
        ("1 1 1", [(1, False, None, None)]),
        ("1 call evenings", [(1, False, "call evenings", None)]),
        ("1 call after 5", [(1, False, "call after 5", None)]),
        ("1 2w call evenings", [(1, True, "call evenings", None)]),
        ("1 2 weeks", [(1, True, None, None)]),
        ("1 2", [(1, False, None, None), (2, False, None, 1)]),
        ("2 x3", [(2, False, None, 3)]),
        ("2 3 people", [(2, False, None, 3)]),
        ("2 for 3 people", [(2, False, None, 3)]),
        ("2 (2 people)", [(2, False, None, 2)]),
        ("2 5 x2", [(2, False, None, 2), (5, False, None, 2)]),
        ("2 x99", [(2, False, None, 20)]),
        ("1 2w 5", [(1, True, None, None), (5, False, None, 1)]),
        ("4 until friday text me", [(4, True, "text me", None)]),
    ],
)
def test_answers(text: str, expected) -> None:
    assert answers(text) == expected


@pytest.mark.parametrize(("text", "key"), [("3 5", "goaround.conflict"), ("2 3", "goaround.conflict"),
                                           ("6", "goaround.bad_option"), ("12345678", "goaround.bad_option"),
                                           ("1 7", "goaround.bad_option")])
def test_unreadable_answers(text: str, key: str) -> None:
    with pytest.raises(Unreadable) as raised:
        parse(ctx(), read(text), 0, CHICAGO)
    assert raised.value.key == key


@pytest.mark.parametrize("text", ["STOP", "stop.", " Stop ", "STOP please", "stop texting me", "UNSUBSCRIBE",
                                  "cancel", "End", "quit", "parar", "Baja", "cancelar", "alto"])
def test_stop_words(text: str) -> None:
    assert is_stop(read(text).words)


@pytest.mark.parametrize("text", ["1 stop by anytime", "cancel my answer", "the end", "don't stop", "", "1"])
def test_not_stop(text: str) -> None:
    assert not is_stop(read(text).words)


def test_reading_keeps_the_members_own_characters_for_how() -> None:
    text = read("  1,5\u200f call me, evenings 🌙\x00 ")
    assert text.words[:2] == ["1", "5"]
    assert text.rest(2) == "call me, evenings 🌙"
