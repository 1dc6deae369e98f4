"""CALL as members text it (outside tester, ninth round): "si llamame", "yes call me", "quiero una llamada".

After the crisis reply or the offer of CALL ("Reply CALL and someone from your group will reach out") a member
answers "si llamame", "sí, llámame", "yes call me": with no question waiting for a YES, that is CALL. While a
question waits for YES or NO, every YES answers that question (an offer, "did you connect?", the question to
join, sharing the care map after a CALL): never that YES and a CALL at once. To an offer the rest is not
dropped: after the number, carebot says how to ask for a call (``care.yes_and_more``). In a window where a
plain reply goes to the person who wrote, "si llamame" is that reply. A preference ("i'd rather you call",
"call me instead") is how to be reached, not CALL: right after an answer it completes it; else carebot says
how to do each.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from carebot.flows.base import (
    AnswerInfo,
    CallRequested,
    CheckinAnswered,
    Joined,
    MapToCall,
    OfferAnswered,
    PairingInfo,
    Relayed,
    Waiting,
)
from carebot.flows.router import respond
from carebot.flows.words import read
from tests.flows.kit import NOW, check, context, row, says

MEMBER = context("DMMA")
SPANISH = context("COMIDA")
CALL_DMMA = CallRequested((1,))
CALL_COMIDA = CallRequested((2,))
SAM = PairingInfo(7, 1, "DMMA", 1, "supporter", "Sam", "active", 7)
OFFERED = PairingInfo(7, 1, "DMMA", 1, "supporter", "Sam", "offered", 7)
OFFER = context("DMMA", pairings=(OFFERED,), waiting=Waiting("pairing", "offer", {"pairing_id": 7}, NOW + timedelta(days=1)))
CHECKIN = context("DMMA", pairings=(SAM,),
                  waiting=Waiting("checkin", "followup", {"pairing_id": 7}, NOW + timedelta(days=1)))
JOINING = context(waiting=Waiting("join", "consent", {"group_id": 1}, NOW + timedelta(days=7)))
AFTER_CALL = context("COMIDA", waiting=Waiting("caremap", "call", {"told": [4]}, NOW + timedelta(days=1)))
RELAY = context("DMMA", pairings=(SAM,), waiting=Waiting("relay", "open", {"pairing_id": 7}, NOW + timedelta(minutes=30)))
JUST_ANSWERED = context("DMMA", answers=(AnswerInfo(1, 1, None, "text me", None, None, NOW - timedelta(minutes=5)),))


@pytest.mark.parametrize("text", [
    "si llamame", "Si llamame", "sí, llámame", "si por favor llamame", "si porfa llamame", "sii llamame porfa",
    "si, llamame porfa 🙏", "sí llámenme", "si me pueden llamar", "claro, llamame", "dale llamame", "ok llamame",
    "llamame", "llámame", "llamame porfa", "me puedes llamar", "puedes llamarme?", "quiero una llamada",
    "necesito una llamada", "quisiera una llamada porfa", "quiero que me llamen",
])
def test_spanish_call_in_words(text: str) -> None:
    check(row(SPANISH, text, effects=(CALL_COMIDA,)))


@pytest.mark.parametrize("text", [
    "yes call me", "Yes, call me", "yes pls call me", "yeah call me", "ok call me", "okay please call me",
    "yes call me please 🙏", "sure, call me", "call me", "pls call me", "can you call me", "could u call me",
    "call me please 🙏", "i want a call", "i need a call pls", "id like a call", "i’d like a call please",
])
def test_english_call_in_words(text: str) -> None:
    check(row(MEMBER, text, effects=(CALL_DMMA,)))


# A question waiting for YES: the YES answers it, and nobody is told (CALL stays one text of its own).
def test_yes_call_me_to_an_offer_is_its_yes_and_says_how_to_ask_for_a_call() -> None:
    for text in ("si llamame", "yes call me", "sí, llámame", "yes pls call me"):
        check(row(OFFER, text, effects=(OfferAnswered(7, True, more=True),)))


def test_yes_call_me_to_did_you_connect_is_its_yes_only() -> None:
    for text in ("si llamame", "yes call me"):
        check(row(CHECKIN, text, effects=(CheckinAnswered(7, "yes"),)))


def test_yes_call_me_to_the_question_to_join_joins_and_tells_nobody() -> None:
    result = respond(JOINING, read("si llamame"))
    assert [type(e) for e in result.effects] == [Joined]


def test_yes_call_me_after_a_call_shares_the_map_and_calls_no_one_again() -> None:
    check(row(AFTER_CALL, "si llamame", effects=(MapToCall(True, (4,)),)))


# A reply in a relay window goes to the person who wrote ("want me to call you?" "si llamame").
@pytest.mark.parametrize("text", ["si llamame", "yes call me", "quiero una llamada", "i'd rather you call"])
def test_in_a_relay_window_yes_call_me_is_the_reply(text: str) -> None:
    result = respond(RELAY, read(text))
    assert result.effects == (Relayed(7, text),)


# A preference is how to be reached, not "now": it completes the answer just given, else carebot says how.
def test_a_preference_for_calls_completes_the_answer_just_given() -> None:
    for text in ("call me instead", "i'd rather you call", "i’d rather you call"):
        result = respond(JUST_ANSWERED, read(text))
        assert not any(isinstance(e, CallRequested) for e in result.effects)
        [answered] = result.effects
        assert "call" in answered.answers[0].how


@pytest.mark.parametrize("text", ["i'd rather you call", "i’d rather you call", "call me instead",
                                  "id rather u call me", "prefiero que me llamen", "mejor llamame en vez de escribir"])
def test_a_preference_for_calls_with_nothing_to_complete_says_how(text: str) -> None:
    ctx = SPANISH if text.startswith(("prefiero", "mejor")) else MEMBER
    check(row(ctx, text, says("call.prefers")))


# "call me" inside a go-around answer or an offer keeps its meaning: how to be reached, or an offer.
def test_call_me_inside_an_answer_is_how_to_be_reached() -> None:
    result = respond(MEMBER, read("1 reach out to me, call me after 6"))
    [answered] = result.effects
    assert answered.answers[0].how == "call me after 6"
    assert not any(isinstance(e, CallRequested) for e in respond(MEMBER, read("call me after 6")).effects)
    assert not any(isinstance(e, CallRequested) for e in respond(MEMBER, read("I can call someone")).effects)
