"""A text with no words (outside tester, ninth round): a picture sent by MMS arrives with an empty Body, a Signal
picture or file with no text likewise. It is answered kindly in the member's language (carebot reads words only,
and HELP says what to text), never "didn't understand", never a go-around answer, and a question that waits for
an answer still waits. After STOP nothing is answered; STOP and HELP themselves are untouched."""

from __future__ import annotations

from datetime import timedelta

import pytest

from carebot.flows.base import PairingInfo, Waiting
from tests.flows.kit import KEEP, NOW, check, context, row, says

OFFERED = PairingInfo(7, 1, "DMMA", 1, "supporter", "Sam", "offered", 7)
OFFER = context("DMMA", pairings=(OFFERED,), waiting=Waiting("pairing", "offer", {"pairing_id": 7}, NOW + timedelta(days=1)))
JOINING = context(waiting=Waiting("join", "consent", {"group_id": 1}, NOW + timedelta(days=7)))
NO_WORDS = ("", " ", "\n", "\u200b", "  \u00a0 ")


@pytest.mark.parametrize("text", NO_WORDS)
def test_a_member_hears_that_carebot_reads_words(text: str) -> None:
    check(row(context("DMMA"), text, says("nowords")))


@pytest.mark.parametrize("text", NO_WORDS)
def test_in_spanish_too(text: str) -> None:
    check(row(context("COMIDA"), text, says("nowords")))


def test_a_stranger_hears_it_too() -> None:
    check(row(context(), "", says("nowords")))


def test_a_question_that_waits_still_waits() -> None:
    check(row(OFFER, "", says("nowords"), wait=KEEP))
    check(row(JOINING, "", says("nowords"), wait=KEEP))


def test_after_stop_nothing_is_answered() -> None:
    check(row(context("DMMA", opted_out=True), ""))


def test_the_words_that_follow_are_read_as_ever() -> None:
    check(row(context("DMMA"), "HELP", says("help.member.named", groups="Des Moines Mutual Aid (DMMA)",
                                            coordinators="Bea (text @coordinators and your message)")))
