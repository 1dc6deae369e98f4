"""YES and NO as people write them to every question carebot asks, with an apology or a word more (outside7
item 11: "no sorry cant this week", "sorry no", "no puedo, perdon", "yes!! sorry for the delay", "yes sorry just
saw this", "yes i can call her tonight", "sale", "si perdon apenas lo vi"), and the gathering answered in words
(item 10). A YES that hands over a number stays a YES and nothing else: "yes but not this week", "no yes",
"yes?", "idk yes maybe", "yes? what is this", "not sure", "maybe" stay unclear."""

from __future__ import annotations

from datetime import timedelta

import pytest

from carebot.domain.i18n import render
from carebot.flows import crisis, router
from carebot.flows.base import (
    ActionConfirmed,
    Answered,
    ApprovalGiven,
    CadenceChanged,
    CheckinAnswered,
    Forgotten,
    Joined,
    OfferAnswered,
    PairingEnded,
    PairingInfo,
    RematchAnswered,
    RsvpGiven,
    Waiting,
)
from carebot.flows.words import read
from tests.flows.kit import KEEP, NOW, check, context, row, says

SAM = PairingInfo(7, 1, "DMMA", 1, "supporter", "Sam", "active", 7)


def asked(flow: str, step: str, data: dict, **fields):
    return context("DMMA", pairings=(SAM,), waiting=Waiting(flow, step, data, NOW + timedelta(days=1)), **fields)


OFFER = asked("pairing", "offer", {"pairing_id": 7})
FOLLOWUP = asked("checkin", "followup", {"pairing_id": 7})
REMATCH = asked("pairing", "rematch", {"pairing_id": 7})
RSVP = asked("gather", "rsvp", {"group_id": 1, "gathering_id": 4})
CONFIRM = context("DMMA", coordinator_of=("DMMA",), waiting=Waiting(
    "coord", "confirm", {"action": "remove", "group_id": 1, "target_id": 2}, NOW + timedelta(hours=1)))
APPROVE = context("DMMA", coordinator_of=("DMMA",), waiting=Waiting(
    "approval", "approve", {"pending_id": 3}, NOW + timedelta(days=1)))
FORGETTING = context("DMMA", waiting=Waiting("forget", "confirm", {}, NOW + timedelta(hours=1)))
JOINING = context(waiting=Waiting("join", "consent", {"group_id": 1, "wording": "Join DMMA? YES"},
                                  NOW + timedelta(days=7)))

YES_MORE = ["yes!! sorry for the delay", "yes sorry just saw this", "yes i can call her tonight", "sale",
            "si perdon apenas lo vi", "Sí, perdón, apenas lo vi", "sure, sorry i was at work", "claro, le escribo hoy",
            "Yes! I can text him after work", "órale"]
NO_MORE = ["sorry no", "no puedo, perdon", "nope sorry", "no lo siento", "cant sorry", "no sorry",
           "No, sorry, I can't right now", "no gracias, perdon", "sorry cant this time"]
UNCLEAR = ["yes? what is this", "yes but not this week", "no yes", "yes?", "idk yes maybe", "yes no",
           "si pero no esta semana", "yes i can maybe", "sure if nobody else can", "yes wait who is sam"]
UNSURE = ["not sure", "maybe"]


@pytest.mark.parametrize("text", YES_MORE)
def test_a_yes_with_a_word_more_answers_every_question(text: str) -> None:
    check(row(OFFER, text, effects=(OfferAnswered(7, True),)))
    check(row(FOLLOWUP, text, effects=(CheckinAnswered(7, "yes"),)))
    check(row(REMATCH, text, effects=(RematchAnswered(7, True),)))
    check(row(RSVP, text, effects=(RsvpGiven(1, 4, True),)))
    check(row(CONFIRM, text, effects=(ActionConfirmed({"action": "remove", "group_id": 1, "target_id": 2}),)))
    check(row(APPROVE, text, effects=(ApprovalGiven(3, True),)))
    assert router.respond(JOINING, read(text)).effects == (Joined(1, "Join DMMA? YES"),)


@pytest.mark.parametrize("text", NO_MORE)
def test_a_no_with_an_apology_answers_every_question(text: str) -> None:
    check(row(OFFER, text, effects=(OfferAnswered(7, False),)))
    check(row(FOLLOWUP, text, effects=(CheckinAnswered(7, "no"),)))
    check(row(REMATCH, text, effects=(RematchAnswered(7, False),)))
    check(row(RSVP, text, effects=(RsvpGiven(1, 4, False),)))
    check(row(CONFIRM, text, says("coord.cancelled")))
    check(row(APPROVE, text, effects=(ApprovalGiven(3, False),)))
    check(row(FORGETTING, text, says("forget.kept")))
    check(row(JOINING, text, says("join.declined", group="Des Moines Mutual Aid", keyword="DMMA")))


@pytest.mark.parametrize("text", UNCLEAR)
def test_a_yes_taken_back_or_asked_is_no_answer(text: str) -> None:
    check(row(OFFER, text, says("fallback.yes_no"), wait=KEEP))
    check(row(RSVP, text, says("fallback.yes_no"), wait=KEEP))
    for ctx in (FOLLOWUP, REMATCH, CONFIRM, APPROVE, FORGETTING, JOINING):
        effects = router.respond(ctx, read(text)).effects
        assert not any(isinstance(e, (CheckinAnswered, RematchAnswered, ActionConfirmed, ApprovalGiven, Forgotten,
                                      Joined)) for e in effects), (ctx.waiting, effects)


# Hard news after a YES: is it taking the offer on? Asked again, never guessed.
def test_hard_news_after_a_yes_is_asked_again() -> None:
    check(row(OFFER, "yeah my cat died last week", says("fallback.yes_no"), wait=KEEP))
    check(row(RSVP, "yeah my cat died last week", says("fallback.yes_no"), wait=KEEP))


@pytest.mark.parametrize("text", UNSURE)
def test_unsure_stays_unsure(text: str) -> None:
    check(row(OFFER, text, says("unsure.yes_no"), wait=KEEP))


def test_no_sorry_cant_this_week_declines_and_rests_as_i_cant_this_week_does() -> None:
    effects = router.respond(OFFER, read("no sorry cant this week")).effects
    assert effects[0] == OfferAnswered(7, False, said=True)
    assert any(isinstance(e, Answered) and any(a.option == 3 for a in e.answers) for e in effects)


# FORGET erases only on an explicit YES, with at most an apology: any other word more asks again.
@pytest.mark.parametrize("text", ["yes sorry", "Yes, sorry!", "si perdon", "yes thanks"])
def test_forget_takes_an_explicit_yes_with_an_apology(text: str) -> None:
    check(row(FORGETTING, text, says("forget.done", purpose="final"), effects=(Forgotten(),)))


@pytest.mark.parametrize("text", ["yes sorry just saw this", "yes i can call her tonight", "sale", "sure sorry"])
def test_forget_asks_again_for_any_other_yes(text: str) -> None:
    check(row(FORGETTING, text, says("forget.again"), wait=("forget", "confirm")))


# A YES with crisis words gets the crisis reply first; only a YES and nothing more answers the question then.
def test_a_yes_with_crisis_words_does_not_accept_an_offer() -> None:
    effects = router.respond(OFFER, read("yes sorry just saw this, i want to die")).effects
    assert not any(isinstance(e, OfferAnswered) for e in effects)


# The gathering invitation in words (outside7 item 10): the offers' readers.
@pytest.mark.parametrize("text, coming", [
    ("claro que sí", True), ("ok sure", True), ("count me in", True), ("ahi estare", True), ("I'll be there!", True),
    ("allí estaré", True), ("see you there", True), ("cant make it sorry", False), ("no thanks", False),
    ("no puedo ir", False), ("can't come, sorry!", False), ("no voy a poder ir, lo siento", False),
    ("not this time", False),
])
def test_a_gathering_answered_in_words(text: str, coming: bool) -> None:
    check(row(RSVP, text, effects=(RsvpGiven(1, 4, coming),)))


@pytest.mark.parametrize("text", ["cant wait!", "no problem", "maybe", "what time?"])
def test_a_gathering_answer_that_is_neither(text: str) -> None:
    result = router.respond(RSVP, read(text))
    assert not any(isinstance(e, RsvpGiven) for e in result.effects)


# DONE with a name typed without its accents (outside7 item 9): "done zoe" is Zoë, as "@zoe" is; "listo jose"
# too ("listo" is DONE only with the name of someone the member is paired with: alone it is "ok").
JOSE = PairingInfo(11, 1, "DMMA", 1, "supporter", "José", "active", 7)
ZOE = PairingInfo(12, 1, "DMMA", 4, "supporter", "Zoë", "active", 7)
PAIRED_TWICE = context("DMMA", pairings=(JOSE, ZOE))


@pytest.mark.parametrize("text, pairing", [("done zoe", 12), ("DONE ZOE", 12), ("done Zoë", 12), ("done jose", 11),
                                           ("listo jose", 11), ("listo zo", 12),
                                           ("done zoe!", 12), ("every 3d jose", 11)])
def test_done_with_a_name_typed_without_its_accents(text: str, pairing: int) -> None:
    effects = router.respond(PAIRED_TWICE, read(text)).effects
    assert effects == ((CadenceChanged(11, 3),) if text.startswith("every") else (PairingEnded(pairing),))


@pytest.mark.parametrize("text", ["listo", "listo gracias", "lista!"])
def test_listo_without_a_partners_name_ends_nothing(text: str) -> None:
    assert not any(isinstance(e, PairingEnded) for e in router.respond(PAIRED_TWICE, read(text)).effects)


# A member in several groups, asked which one (outside7 item 13): the groups named as a sentence names them.
@pytest.mark.parametrize("groups, language, named", [
    (("DMMA", "COMIDA"), "en", "DMMA and COMIDA"), (("DMMA", "COMIDA"), "es", "DMMA y COMIDA"),
    (("DMMA", "COMIDA", "LONG"), "en", "DMMA, COMIDA, and LONG"), (("DMMA", "COMIDA", "LONG"), "es", "DMMA, COMIDA y LONG"),
])
def test_the_groups_a_member_is_in_are_named_as_a_sentence_names_them(groups, language: str, named: str) -> None:
    check(row(context(*groups, language=language), "1", says("goaround.which_group", keywords=named, example="DMMA")))


# With nothing asked, a YES with a word more is told nothing waits; a story that opens with "yeah" keeps its kind word.
@pytest.mark.parametrize("text, key", [("yes sorry just saw this", "yes.nothing"), ("no sorry cant make it", "no.nothing"),
                                       ("yeah we had coffee on tuesday it was really nice", "good_news"),
                                       ("yes my cat died last week, sad but ok", "hard_news")])
def test_yes_or_no_with_nothing_asked(text: str, key: str) -> None:
    check(row(context("DMMA"), text, says(key)))


# A dead phone is everyday talk, never hard news (replies8): "yeah sorry phone died" is a YES with an apology, to
# every question; "my cat died" after a YES is still asked again (above), and so is a dead phone told with a loss.
PHONE_DIED_YES = ["yeah sorry phone died", "yes sorry my phone died", "yes! my phone died sorry", "sí perdón, se me murió el cel",
                  "si, se me acabo la pila perdon", "yeah sorry my battery died"]


@pytest.mark.parametrize("text", PHONE_DIED_YES)
def test_a_yes_after_a_dead_phone_is_a_yes(text: str) -> None:
    check(row(OFFER, text, effects=(OfferAnswered(7, True),)))
    check(row(FOLLOWUP, text, effects=(CheckinAnswered(7, "yes"),)))
    check(row(RSVP, text, effects=(RsvpGiven(1, 4, True),)))


@pytest.mark.parametrize("text", ["phone died", "my phone died", "sorry my phone died lol", "se me murio el cel",
                                  "se me acabo la pila", "perdon se me murio el celular"])
def test_a_dead_phone_is_not_hard_news(text: str) -> None:
    result = router.respond(context("DMMA"), read(text))
    assert render("hard_news", "en") not in [r.text for r in result.replies], result
    assert not crisis.in_crisis(read(text))


@pytest.mark.parametrize("text", ["yeah my phone died and my dog died", "yes sorry, my grandma died and my phone died"])
def test_a_loss_told_with_a_dead_phone_is_still_asked_again(text: str) -> None:
    check(row(OFFER, text, says("fallback.yes_no"), wait=KEEP))
