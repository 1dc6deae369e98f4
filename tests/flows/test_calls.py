"""The call's "for how long?" answered in words: a caller says "two weeks" as they would press 2."""

from __future__ import annotations

import pytest

from carebot.flows import calls
from tests.flows.kit import context


@pytest.mark.parametrize("said, text", [
    ("two weeks", "4 2w"), ("for two weeks", "4 2w"), ("Two weeks.", "4 2w"), ("dos semanas", "4 2w"),
    ("a week", "4 1w"), ("one week", "4 1w"), ("una semana", "4 1w"), ("ongoing", "4 ongoing"),
    ("sin fecha", "4 ongoing"), ("three", "4 ongoing"),
])
def test_a_duration_said_answers_for_how_long(said: str, text: str) -> None:
    turn = calls.press(context("DMMA"), calls.HOW_LONG, {"option": "4"}, "", said)
    assert turn.text == text


def test_words_that_are_no_duration_are_asked_again() -> None:
    turn = calls.press(context("DMMA"), calls.HOW_LONG, {"option": "4"}, "", "banana")
    assert turn.text is None and turn.next == calls.HOW_LONG


def test_for_how_long_listens_as_the_go_around_does() -> None:
    assert calls.takes_speech(calls.HOW_LONG) and calls.takes_speech(calls.MAIN)
    assert not calls.takes_speech(calls.STOP_SURE)  # seven twice, pressed: never a word taken for STOP
