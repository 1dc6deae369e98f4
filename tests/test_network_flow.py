"""The network question read as members really answer it, through the router (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from carebot.flows.base import Context, GroupInfo, MembershipInfo, NetworkAnswered, OfferAnswered, Waiting
from carebot.flows.router import respond, timeout
from carebot.flows.words import read

NOW = datetime(2026, 3, 4, 16, 0, tzinfo=UTC)
ASKED = Waiting("network", "ask", {"answer_id": 7, "_rank": 0}, datetime(2026, 3, 5, 16, 0, tzinfo=UTC))


def ctx(waiting: Waiting | None = ASKED, language: str = "en") -> Context:
    group = GroupInfo(1, "DMMA", "Des Moines Mutual Aid", "America/Chicago", language, "0 10 * * mon")
    return Context(now=NOW, channel="sms", language=language, opted_out=False, name="Ana",
                   memberships=(MembershipInfo(group, "member"),), answers=(), groups={"DMMA": group},
                   waiting=waiting)


@pytest.mark.parametrize("text", ["yes", "YES", "Yes!", "yes please", "y", "yeah", "si", "sí", "Sí gracias",
                                  "ok", "yes thank you"])
def test_a_yes_answers_the_network_question(text: str) -> None:
    assert respond(ctx(), read(text)).effects == (NetworkAnswered(7, True),)


@pytest.mark.parametrize("text", ["no", "No.", "nope", "no thanks", "NO GRACIAS", "nah"])
def test_a_no_keeps_it_in_the_group(text: str) -> None:
    assert respond(ctx(), read(text)).effects == (NetworkAnswered(7, False),)


def test_other_words_are_read_as_usual_and_the_question_stays_open() -> None:
    status = respond(ctx(), read("status"))
    assert not any(isinstance(e, NetworkAnswered) for e in status.effects) and status.wait == ASKED


def test_a_yes_with_an_offer_asked_answers_the_offer_not_the_network() -> None:
    offer = Waiting("pairing", "offer", {"pairing_id": 3, "_rank": 0}, ASKED.until)
    assert respond(ctx(offer), read("yes")).effects == (OfferAnswered(3, True),)


def test_silence_is_no_answer() -> None:
    assert timeout(ASKED).effects == (NetworkAnswered(7, None),)
