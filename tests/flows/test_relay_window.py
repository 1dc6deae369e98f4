"""A plain reply inside a relay window (outside9): the member's own words go back to the person they answer,
crisis words and everyday numbers too; only carebot's own answer form, or the group's word first, is carebot's.
README's relay section and docs/care-requests.md state the rule these rows check."""

from __future__ import annotations

from datetime import timedelta

import pytest

from carebot.flows import router
from carebot.flows.base import (
    Answered,
    CrisisNoted,
    OptedOut,
    PairingInfo,
    Relayed,
    RelayedFromCoordinator,
    RelayedToCoordinators,
    Waiting,
)
from carebot.flows.words import read
from tests.flows.kit import KEEP, NOW, Row, check, context, row, says

SAM = PairingInfo(7, 1, "DMMA", 1, "supporter", "Sam", "active", 7)
WINDOW_ENDS = NOW + timedelta(minutes=30)
# Sam just wrote to Ana; Bea (coordinator, member 4) just answered Ana; Bea just got member 5's words.
FROM_SAM = context("DMMA", pairings=(SAM,), waiting=Waiting("relay", "open", {"pairing_id": 7}, WINDOW_ENDS))
FROM_BEA = context("DMMA", waiting=Waiting("relay", "open", {"coordinator_id": 4, "group_id": 1}, WINDOW_ENDS))
BEA_ANSWERING = context("DMMA", coordinator_of=("DMMA",), name="Bea",
                        waiting=Waiting("relay", "open", {"member_id": 5, "group_id": 1}, WINDOW_ENDS))
FROM_LUPE = context("COMIDA", language="es", pairings=(PairingInfo(8, 2, "COMIDA", 2, "supporter", "Beto", "active", 7),),
                    waiting=Waiting("relay", "open", {"pairing_id": 8}, WINDOW_ENDS))
NOTHING_OPEN = context("DMMA", pairings=(SAM,))

# Everyday replies that open with a number: the member's words, relayed whole.
EVERYDAY = ("1 sec", "1 min", "5 works, thanks!", "2 is better for me actually", "4 is fine", "1 or 2?",
            "3 kids at home so evenings are hard", "2 mins away 🚗", "5 works", "1 sec, brb", "2 is fine 👍",
            "4 o’clock?")


def _effects_to(ctx, text: str) -> tuple:
    data = ctx.waiting.data
    if "pairing_id" in data:
        return (Relayed(int(data["pairing_id"]), text),)
    if "coordinator_id" in data:
        return (RelayedToCoordinators(1, text, coordinator_id=int(data["coordinator_id"])),)
    return (RelayedFromCoordinator(1, int(data["member_id"]), text),)


ROWS = [
    *(pytest.param(row(ctx, text, effects=_effects_to(ctx, text), wait=KEEP), id=f"{who}-{text}")
      for who, ctx in (("from-sam", FROM_SAM), ("from-bea", FROM_BEA), ("bea-answering", BEA_ANSWERING))
      for text in EVERYDAY),
    # Spanish without accents: the same.
    pytest.param(row(FROM_LUPE, "5 esta bien, gracias", effects=(Relayed(8, "5 esta bien, gracias"),), wait=KEEP),
                 id="spanish-5-esta-bien"),
    pytest.param(row(FROM_LUPE, "1 momento", effects=(Relayed(8, "1 momento"),), wait=KEEP), id="spanish-1-momento"),
]


@pytest.mark.parametrize("r", ROWS)
def test_everyday_numbers_in_a_window_are_relayed(r: Row) -> None:
    check(r)


# carebot's own answer form, inside the window: a number (or numbers), alone or with how long; or any answer after
# the group's word. Recorded, never relayed.
@pytest.mark.parametrize(("text", "options"), [
    ("1", (1,)), ("1 2w", (1,)), ("3 until friday", (3,)), ("1 5", (1, 5)), ("1 and 5", (1, 5)),
    ("2 for 2 weeks", (2,)), ("DMMA 5 evenings", (5,)), ("dmma 1 sec", (1,)), ("1 private", (1,)), ("2 x2", (2,)),
])
@pytest.mark.parametrize("ctx", [FROM_SAM, FROM_BEA, BEA_ANSWERING], ids=["from-sam", "from-bea", "bea-answering"])
def test_carebots_answer_form_in_a_window_is_an_answer(ctx, text: str, options: tuple[int, ...]) -> None:
    result = router.respond(ctx, read(text))
    answered = [e for e in result.effects if isinstance(e, Answered)]
    assert len(answered) == 1 and tuple(a.option for a in answered[0].answers) == options, result
    assert not any(isinstance(e, Relayed | RelayedToCoordinators | RelayedFromCoordinator) for e in result.effects)
    assert result.wait == ctx.waiting  # the window stays open for the conversation


def test_zero_in_a_window_clears_the_answer() -> None:
    check(row(FROM_SAM, "0", says("goaround.cleared", keyword="DMMA"), effects=(Answered(1, ()),),
              wait=("relay", "open")))


@pytest.mark.parametrize(("ctx", "text"), [
    (FROM_SAM, "honestly i want to die"), (FROM_SAM, "i can’t do this anymore 😞"),
    (FROM_BEA, "i want to die honestly"), (BEA_ANSWERING, "honestly some days i want to die too"),
    (FROM_LUPE, "la verdad me quiero morir"), (FROM_SAM, "1 sec i want to die"),
])
def test_crisis_words_in_a_plain_reply_get_the_crisis_reply_and_still_go(ctx, text: str) -> None:
    """docs/care-requests.md: the crisis reply first, at once; the message still goes where it was sent."""
    result = router.respond(ctx, read(text))
    assert result.replies[0].text == router.crisis.crisis_reply(router.in_crisis_language(ctx, read(text))).replies[0].text
    assert _effects_to(ctx, text)[0] in result.effects
    assert any(isinstance(e, CrisisNoted) for e in result.effects)
    assert not any(isinstance(e, Answered) for e in result.effects)
    assert result.wait == ctx.waiting


@pytest.mark.parametrize("text", ["STOP", "stop", "PARAR", "stop i want to die"])
def test_stop_in_a_window_is_stop_never_relayed(text: str) -> None:
    result = router.respond(FROM_SAM, read(text))
    assert any(isinstance(e, OptedOut) for e in result.effects)
    assert not any(isinstance(e, Relayed) for e in result.effects)


# Outside a window nothing changes: as before this rule, "1 sec" alone is still read as the answer 1.
@pytest.mark.parametrize(("text", "option"), [("5 works", 5), ("2 is better for me actually", 2), ("1 sec", 1)])
def test_outside_a_window_nothing_changes(text: str, option: int) -> None:
    result = router.respond(NOTHING_OPEN, read(text))
    assert [a.option for e in result.effects if isinstance(e, Answered) for a in e.answers] == [option]
    assert not any(isinstance(e, Relayed) for e in result.effects)
