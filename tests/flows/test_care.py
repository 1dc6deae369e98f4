"""The care itself as a table: offers, check-ins, rematches, DONE, EVERY, NOT, HOURS and ROUND."""

from __future__ import annotations

from datetime import timedelta

import pytest

from carebot.domain.i18n import render
from carebot.flows import router
from carebot.flows.base import (
    Answered,
    AnswerInfo,
    CadenceChanged,
    CheckinAnswered,
    DaytimeChanged,
    NotWithAdded,
    OfferAnswered,
    PairingEnded,
    PairingInfo,
    RematchAnswered,
    RoundStarted,
    Waiting,
)
from carebot.flows.words import read
from tests.flows.kit import KEEP, NOW, Row, check, context, has, row, says

SAM = PairingInfo(7, 1, "DMMA", 1, "supporter", "Sam", "active", 7)
LUPE = PairingInfo(9, 2, "COMIDA", 4, "requester", "Lupe", "active", 3)
OFFERED = PairingInfo(8, 1, "DMMA", 1, "supporter", "Samira", "offered", 7)


def waiting(flow: str, step: str):
    return context("DMMA", pairings=(SAM,), waiting=Waiting(flow, step, {"pairing_id": 7}, NOW + timedelta(days=1)))


OFFER, FOLLOWUP, REMATCH = waiting("pairing", "offer"), waiting("checkin", "followup"), waiting("pairing", "rematch")
LATE_FOLLOWUP = waiting("checkin_late", "followup")
PAIRED = context("DMMA", pairings=(SAM,))
TWO_PAIRS = context("DMMA", "COMIDA", language="en", pairings=(SAM, LUPE))
UNPAIRED = context("DMMA", pairings=(OFFERED,))
BOTH_GROUPS = context("DMMA", "COMIDA", language="en")
COORDINATOR = context("DMMA", coordinator_of=("DMMA",))

ROWS = [
    # A pairing offer: YES or NO decides; anything else leaves the question open.
    pytest.param(row(OFFER, "yes", effects=(OfferAnswered(7, True),)), id="offer-yes"),
    pytest.param(row(OFFER, "Sí!", effects=(OfferAnswered(7, True),)), id="offer-si-with-accent"),
    pytest.param(row(OFFER, "ok 👍", effects=(OfferAnswered(7, True),)), id="offer-ok-thumbs-up"),
    pytest.param(row(OFFER, "nope", effects=(OfferAnswered(7, False),)), id="offer-nope"),
    pytest.param(row(OFFER, "maybe", says("unsure.yes_no"), wait=KEEP), id="offer-maybe-keeps-the-question"),
    # Answers in the member's own words (outside tester, findings 8-10).
    *(pytest.param(row(OFFER, text, effects=(OfferAnswered(7, True),)), id=f"offer-{text}") for text in (
        "yes i can", "of course", "👍", "👍🏽", "ok sure", "Sure thing!", "yes thanks", "si gracias", "claro que si",
        "count me in",
        # An offer in the go-around's words, said to an offer: YES to that offer (README: "i can help" is 2
        # with nothing asked, and YES to an offer waiting for the member's answer; outside6, coord6).
        "i can help", "I can help!", "yes i can help", "puedo ayudar", "si puedo ayudar", "yo puedo apoyar",
    )),
    *(pytest.param(row(OFFER, text, effects=(OfferAnswered(7, False),)), id=f"offer-{text}") for text in (
        "no thanks", "not now", "nah im good", "no puedo", "👎", "sorry not this time",
    )),
    pytest.param(row(OFFER, "yes but not this week", says("fallback.yes_no"), wait=KEEP),
                 id="offer-a-yes-with-a-but-is-asked-again"),
    pytest.param(row(FOLLOWUP, "not now", effects=(CheckinAnswered(7, "later"),)), id="checkin-not-now-is-later"),
    pytest.param(row(FOLLOWUP, "yes thanks", effects=(CheckinAnswered(7, "yes"),)), id="checkin-yes-thanks"),
    pytest.param(row(FOLLOWUP, "maybe", says("unsure.yes_no_later"), wait=KEEP), id="checkin-maybe-asks-again"),
    pytest.param(row(OFFER, "idk", says("unsure.yes_no"), wait=KEEP), id="offer-idk-no-rush"),
    pytest.param(row(OFFER, "k", says("fallback.yes_no"), wait=KEEP), id="offer-k-still-asks-yes-or-no"),
    pytest.param(row(REMATCH, "no thanks", effects=(RematchAnswered(7, False),)), id="rematch-no-thanks"),
    pytest.param(row(OFFER, "status", has("DMMA: no go-around answer yet"), wait=KEEP),
                 id="offer-survives-a-status"),
    # "Did you connect?": YES, NO or LATER.
    pytest.param(row(FOLLOWUP, "yes", effects=(CheckinAnswered(7, "yes"),)), id="checkin-yes"),
    # "Did you connect?" past its day, until the next check-in (outside4_checkin_next_day.txt:22): a
    # late YES counts; a late NO adds no second miss; anything else is answered as with nothing asked.
    pytest.param(row(LATE_FOLLOWUP, "yes we talked", effects=(CheckinAnswered(7, "yes"),)),
                 id="checkin-late-yes-we-talked"),
    pytest.param(row(LATE_FOLLOWUP, "no", effects=(CheckinAnswered(7, "no_after_missed"),)), id="checkin-late-no"),
    pytest.param(row(LATE_FOLLOWUP, "luego", effects=(CheckinAnswered(7, "later"),)), id="checkin-late-luego"),
    pytest.param(row(LATE_FOLLOWUP, "maybe", says("unsure"), wait=KEEP), id="checkin-late-maybe-is-not-asked-again"),
    pytest.param(row(FOLLOWUP, "no", effects=(CheckinAnswered(7, "no"),)), id="checkin-no"),
    pytest.param(row(FOLLOWUP, "later", effects=(CheckinAnswered(7, "later"),)), id="checkin-later"),
    pytest.param(row(FOLLOWUP, "luego", effects=(CheckinAnswered(7, "later"),)), id="checkin-luego"),
    pytest.param(row(FOLLOWUP, "yep", effects=(CheckinAnswered(7, "yes"),)), id="checkin-yep"),
    # "Someone else?"
    pytest.param(row(REMATCH, "yes pls", effects=(RematchAnswered(7, True),)), id="rematch-yes-please"),
    pytest.param(row(REMATCH, "nah", effects=(RematchAnswered(7, False),)), id="rematch-nah"),
    # DONE ends the one pairing, or the one named.
    pytest.param(row(PAIRED, "done", effects=(PairingEnded(7),)), id="done-the-only-pairing"),
    pytest.param(row(PAIRED, "Terminé", effects=(PairingEnded(7),)), id="termine-with-accent"),
    pytest.param(row(TWO_PAIRS, "done", says("care.done.which", names="Sam, Lupe", example="Sam")),
                 id="done-asks-which-of-two"),
    pytest.param(row(TWO_PAIRS, "done lu", effects=(PairingEnded(9),)), id="done-by-name-prefix"),
    pytest.param(row(TWO_PAIRS, "DONE SAM", effects=(PairingEnded(7),)), id="done-by-name-in-capitals"),
    pytest.param(row(context("DMMA"), "done", says("care.done.none")), id="done-without-pairing"),
    pytest.param(row(UNPAIRED, "done", says("care.done.none")), id="done-while-only-offered"),
    # EVERY: how often the pair checks in.
    pytest.param(row(PAIRED, "every 3d", says("care.cadence.set", other="Sam", cadence="3 days"),
                     effects=(CadenceChanged(7, 3),)), id="every-3d"),
    pytest.param(row(PAIRED, "weekly", says("care.cadence.set", other="Sam", cadence="7 days"),
                     effects=(CadenceChanged(7, 7),)), id="weekly"),
    pytest.param(row(PAIRED, "weekly pls", says("care.cadence.set", other="Sam", cadence="7 days"),
                     effects=(CadenceChanged(7, 7),)), id="weekly-pls"),
    pytest.param(row(TWO_PAIRS, "every 2w sam", says("care.cadence.set", other="Sam", cadence="14 days"),
                     effects=(CadenceChanged(7, 14),)), id="every-2w-named"),
    pytest.param(row(context("COMIDA", pairings=(LUPE,)), "a diario",
                     says("care.cadence.set", other="Lupe", cadence=render("care.days", "es", n=1)),
                     effects=(CadenceChanged(9, 1),)), id="a-diario"),
    pytest.param(row(PAIRED, "every 90d", says("care.cadence.bad")), id="every-too-long"),
    pytest.param(row(PAIRED, "every whenever", says("care.cadence.bad")), id="every-unreadable"),
    pytest.param(row(context("DMMA"), "weekly", says("care.done.none")), id="weekly-without-pairing"),
    # NOT: never pair me with someone; found through the lookups, never the member themselves (its reply,
    # which may also say what happens to the member's own request, is written by carebot.services.pairings).
    pytest.param(row(BOTH_GROUPS, "not sam", effects=(NotWithAdded(2),)),
                 id="not-sam-in-two-shared-groups"),
    pytest.param(row(context("DMMA"), "NOT Samira", effects=(NotWithAdded(3),)), id="not-exact-name-beats-prefix"),
    pytest.param(row(context("DMMA"), "not sa", says("care.not.ambiguous", name="sa")), id="not-ambiguous"),
    pytest.param(row(context("DMMA"), "not Zed", says("care.not.unknown", name="Zed")), id="not-unknown"),
    pytest.param(row(context("DMMA"), "not ana", says("care.not.unknown", name="ana")), id="not-myself"),
    pytest.param(row(context("DMMA"), "evitar lupe", says("care.not.unknown", name="lupe")),
                 id="not-someone-of-another-group"),
    pytest.param(row(context("DMMA"), "not", says("fallback")), id="not-alone"),
    # HOURS: when carebot may write first.
    pytest.param(row(PAIRED, "hours 8 21", says("hours.set", start=8, end=21), effects=(DaytimeChanged(8, 21),)),
                 id="hours-8-21"),
    pytest.param(row(PAIRED, "horas 8am 9pm", says("hours.set", start=8, end=21), effects=(DaytimeChanged(8, 21),)),
                 id="horas-am-pm"),
    pytest.param(row(PAIRED, "hours 8-21", says("hours.set", start=8, end=21), effects=(DaytimeChanged(8, 21),)),
                 id="hours-with-a-dash"),
    pytest.param(row(PAIRED, "hours whenever", says("hours.bad")), id="hours-unreadable"),
    # ROUND: coordinators start a go-around now.
    pytest.param(row(COORDINATOR, "round", effects=(RoundStarted(1),)), id="round-by-a-coordinator"),
    pytest.param(row(context("DMMA", "COMIDA", coordinator_of=("DMMA",)), "dmma ronda", effects=(RoundStarted(1),)),
                 id="ronda-with-the-keyword"),
    pytest.param(row(context("DMMA", "COMIDA", coordinator_of=("COMIDA",)), "dmma round", says("coord.only")),
                 id="round-in-a-group-not-coordinated"),
    pytest.param(row(PAIRED, "round", says("coord.only")), id="round-by-a-member"),
    pytest.param(row(context("DMMA", "COMIDA", coordinator_of=("DMMA",), language="en"), "round",
                     says("goaround.which_group", keywords="DMMA and COMIDA", example="DMMA")), id="round-which-group"),
    # Everyday wording (the "language" work): a reassurance is never a NOT-list command; NOT takes a name.
    # One that says the member is worn out gets hard news's kind word (outside8), never "didn't understand".
    pytest.param(row(context("DMMA"), "not suicidal just tired", says("hard_news")), id="not-suicidal-just-tired"),
    pytest.param(row(context("DMMA"), "Not suicidal, just tired 😴", says("hard_news")),
                 id="not-suicidal-with-emoji"),
    pytest.param(row(context("DMMA"), "not sure tbh", says("unsure")), id="not-sure-is-not-a-name"),
    pytest.param(row(context("DMMA"), "not samira pls 🙏", effects=(NotWithAdded(3),)), id="not-samira-please"),
    pytest.param(row(context("DMMA"), "not Zed Smith", says("care.not.unknown", name="Zed Smith")),
                 id="not-a-full-name-unknown"),
    pytest.param(row(context("COMIDA"), "no me quiero morir solo estoy cansada", says("hard_news")),
                 id="no-me-quiero-morir-solo-cansada"),
    pytest.param(row(context("DMMA"), "im not going to hurt myself lol", says("fallback")),
                 id="not-going-to-hurt-myself-lol"),
    # "Not right now" to a care question: LATER where the question takes it, else NO.
    pytest.param(row(FOLLOWUP, "not rn", effects=(CheckinAnswered(7, "later"),)), id="checkin-not-rn"),
    pytest.param(row(FOLLOWUP, "ahorita no", effects=(CheckinAnswered(7, "later"),)), id="checkin-ahorita-no"),
    pytest.param(row(FOLLOWUP, "Not right now…", effects=(CheckinAnswered(7, "later"),)),
                 id="checkin-not-right-now"),
    pytest.param(row(FOLLOWUP, "maybe later", effects=(CheckinAnswered(7, "later"),)), id="checkin-maybe-later"),
    pytest.param(row(OFFER, "not right now", effects=(OfferAnswered(7, False),)), id="offer-not-right-now"),
    pytest.param(row(OFFER, "ahora no", effects=(OfferAnswered(7, False),)), id="offer-ahora-no"),
    pytest.param(row(OFFER, "maybe later", effects=(OfferAnswered(7, False),)), id="offer-maybe-later"),
    pytest.param(row(REMATCH, "ahorita no", effects=(RematchAnswered(7, False),)), id="rematch-ahorita-no"),
    # HOURS 9 to 5: a start later than the end is the afternoon, where only that reading works.
    pytest.param(row(PAIRED, "HOURS 9 to 5", says("hours.set", start=9, end=17), effects=(DaytimeChanged(9, 17),)),
                 id="hours-9-to-5"),
    pytest.param(row(context("COMIDA", pairings=(LUPE,)), "horas 9 a 5", says("hours.set", start=9, end=17),
                     effects=(DaytimeChanged(9, 17),)), id="horas-9-a-5"),
    pytest.param(row(PAIRED, "hours 9am-5pm", says("hours.set", start=9, end=17), effects=(DaytimeChanged(9, 17),)),
                 id="hours-9am-5pm"),
    pytest.param(row(PAIRED, "hours 9-17", says("hours.set", start=9, end=17), effects=(DaytimeChanged(9, 17),)),
                 id="hours-9-17"),
    pytest.param(row(PAIRED, "hours 10 to 2", says("hours.set", start=10, end=14), effects=(DaytimeChanged(10, 14),)),
                 id="hours-10-to-2"),
    pytest.param(row(PAIRED, "hours 9pm to 5", says("hours.bad")), id="hours-9pm-to-5-stays-unreadable"),
    pytest.param(row(PAIRED, "hours 5pm to 9am", says("hours.bad")), id="hours-over-midnight-stays-unreadable"),
    pytest.param(row(PAIRED, "hours 17 to 9", says("hours.bad")), id="hours-17-to-9-stays-unreadable"),
    pytest.param(row(PAIRED, "Hours: 12 to 6", says("hours.set", start=12, end=18), effects=(DaytimeChanged(12, 18),)),
                 id="hours-noon-to-6"),
    pytest.param(row(PAIRED, "hours 8 to 8", says("hours.set", start=8, end=20), effects=(DaytimeChanged(8, 20),)),
                 id="hours-8-to-8"),
    pytest.param(row(FOLLOWUP, "nope not rn", effects=(CheckinAnswered(7, "later"),)), id="checkin-nope-not-rn"),
]


@pytest.mark.parametrize("r", ROWS)
def test_care(r: Row) -> None:
    check(r)


# An offer open to Ana while she asks for a call herself and offers to reach out.
OFFER_TO_ANA = context("DMMA", pairings=(OFFERED,), answers=(
    AnswerInfo(1, 1, None, "call evenings", None), AnswerInfo(1, 2, None, None, None)),
    waiting=Waiting("pairing", "offer", {"pairing_id": 8}, NOW + timedelta(days=1)))


@pytest.mark.parametrize("text", ["cant this week", "sorry i cant this week", "no puedo esta semana",
                                  "Not this week", "no esta semana", "im busy this week sorry"])
def test_resting_words_decline_the_offer_and_rest_in_one_text(text: str) -> None:
    result = router.respond(OFFER_TO_ANA, read(text))
    declined, answered = result.effects
    assert declined == OfferAnswered(8, False, said=True)
    assert isinstance(answered, Answered) and answered.group_id == 1
    # Her own request stands; what she offered rests until the week's end.
    assert [(a.option, a.how) for a in answered.answers] == [(1, "call evenings"), (3, None)]
    assert answered.answers[1].until is not None and answered.answers[1].until - NOW < timedelta(days=8)
    [reply] = result.replies
    assert "Samira" in reply.text and "until" in reply.text and "call evenings" in reply.text


@pytest.mark.parametrize("text", ["not this week but next week yes", "cant", "not today"])
def test_other_words_to_an_offer_do_not_rest(text: str) -> None:
    result = router.respond(OFFER_TO_ANA, read(text))
    assert not any(isinstance(e, Answered) for e in result.effects)


# outside5: a YES that opens a longer reply to an offer is that YES (the number goes to the one who said
# it, to this offer); the rest is not acted on by a guess, and the supporter is told how to ask for
# themselves (care.yes_and_more), never left with it silently dropped.
@pytest.mark.parametrize("text", ["yes and also i need someone to call me", "yeah, and can someone call me too",
                                  "si y tambien necesito que alguien me llame", "ok sure, also i could use company"])
def test_a_yes_that_opens_a_longer_reply_to_an_offer(text: str) -> None:
    check(row(OFFER, text, effects=(OfferAnswered(7, True, more=True),)))


@pytest.mark.parametrize("text", ["yes but not this week", "yes and no", "yes and", "ok and then what?"])
def test_a_yes_with_a_but_or_nothing_after_is_not_that(text: str) -> None:
    result = router.respond(OFFER, read(text))
    assert OfferAnswered(7, True) not in result.effects


# "Did you connect?" answered "not yet" with when they mean to (outside8): LATER, as "not yet" is. A plan to reach
# out ("gonna call her tmrw", "la llamo mañana") says the same. "no not yet" stays the NO README names, and what
# says no time ahead (a reason, a day that may be past) is asked YES, NO or LATER again.
@pytest.mark.parametrize("text", [
    "not yet, this weekend", "not yet but soon", "Not yet!! this wknd hopefully", "todavia no, este finde",
    "todavía no, el sábado", "aun no pero pronto", "aún no", "gonna call her tmrw", "gonna call sam tomorrow",
    "I'm going to text him this weekend", "will call her tonight", "not yet, gonna call her saturday",
    "ill text her after work tomorrow", "voy a llamarla mañana", "la llamo el sabado", "le escribo el finde",
    "tomorrow", "mañana", "nope not yet, next week", "not yet sorry, prob tmrw", "not yet but we will",
    "todavia no pero lo haremos", "not yet but ill text her tmrw",
])
def test_not_yet_and_when_answers_the_checkin_as_later(text: str) -> None:
    check(row(FOLLOWUP, text, effects=(CheckinAnswered(7, "later"),)))
    check(row(LATE_FOLLOWUP, text, effects=(CheckinAnswered(7, "later"),)))


@pytest.mark.parametrize("text", ["not yet, she isnt answering", "gonna call it a night", "this weekend",
                                  "todavia no, no contesta", "saturday", "esta mañana", "gonna call the landlord tmrw"])
def test_not_yet_without_a_time_ahead_is_asked_again(text: str) -> None:
    check(row(FOLLOWUP, text, says("fallback.yes_no_later"), wait=KEEP))


@pytest.mark.parametrize("text, outcome", [("no not yet", "no"), ("no not yet, this weekend", "no"),
                                           ("we talked this weekend", "yes"), ("yes we talked yesterday", "yes")])
def test_no_and_yes_stay_what_they_are(text: str, outcome: str) -> None:
    check(row(FOLLOWUP, text, effects=(CheckinAnswered(7, outcome),)))


# DONE, then a sentence of the member's own (outside8): "done, feeling a lot better thank u" ends the one pairing
# there is; with two, which one is asked; words with no comma before them may be a name, and a wrong one is asked.
@pytest.mark.parametrize("text", ["done, feeling a lot better thank u", "Done. thanks so much for everything", "done sam"])
def test_done_then_a_sentence_ends_the_one_pairing(text: str) -> None:
    check(row(PAIRED, text, effects=(PairingEnded(7),)))


@pytest.mark.parametrize("ctx, text", [(TWO_PAIRS, "done, feeling a lot better"), (PAIRED, "done feeling better")])
def test_done_then_words_that_name_nobody_asks_which(ctx, text: str) -> None:
    assert not any(isinstance(e, PairingEnded) for e in router.respond(ctx, read(text)).effects)
