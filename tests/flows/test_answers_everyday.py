"""Go-around answers in everyday wording the outside tester found misread (outside8): a request taken back
in words ("ya estoy mejor, ya no necesito"), a correction after a sigh ("ugh no wait i meant 3"), a
duration with a filler ("for like 2 weeks"), an offer with a count of people ("i can reach out to 2 ppl
this month") and an answer after two clauses of one's own ("..., forgot the meeting. 2 this week")."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from carebot.flows import crisis, goaround, router
from carebot.flows.base import Answered, AnswerInfo, AnswerSpec
from carebot.flows.durations import parse_duration
from carebot.flows.words import read
from tests.flows.kit import DMMA, NOW, check, context, row, says

CHICAGO = ZoneInfo("America/Chicago")
MEMBER = context("DMMA")
SPANISH = context("COMIDA")


def local(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=CHICAGO)


def held(*options: int, group: int = 1) -> tuple[AnswerInfo, ...]:
    return tuple(AnswerInfo(group, o, None, None, 1 if o in (2, 5) else None, None, NOW - timedelta(hours=3))
                 for o in options)


def answered_with(ctx, text: str) -> tuple[AnswerSpec, ...] | None:
    found = [e for e in router.respond(ctx, read(text)).effects if isinstance(e, Answered)]
    return found[0].answers if found else None


# --- 1. a request taken back in words: what 0 does to it, and the member's offers stay -------------------

ASKING = context("DMMA", answers=held(1))
ASKING_ES = context("COMIDA", answers=held(1, group=2))
ASKING_AND_OFFERING = context("DMMA", answers=held(1, 5))


@pytest.mark.parametrize(("ctx", "text"), [
    (ASKING_ES, "ya estoy mejor, ya no necesito"),
    (ASKING_ES, "ya no lo necesito gracias"),
    (ASKING_ES, "ya no la necesito"),  # as goaround.better says to
    (ASKING_ES, "Ya no lo necesito, gracias 🙏"),
    (ASKING_ES, "ya me siento mejor asi que ya no necesito apoyo"),
    (ASKING, "im better now dont need it anymore"),
    (ASKING, "I’m feeling a lot better, don’t need it anymore, thanks!"),
    (ASKING, "no longer needed"),
    (ASKING, "dont need anyone to reach out anymore"),
])
def test_a_request_taken_back_in_words_ends_as_0_ends_it(ctx, text: str) -> None:
    group = ctx.memberships[0].group
    check(row(ctx, text, says("goaround.withdrawn", keyword=group.keyword), effects=(Answered(group.id, ()),)))


def test_taking_back_a_request_keeps_the_members_own_offer() -> None:
    check(row(ASKING_AND_OFFERING, "im better now, dont need it anymore",
              says("goaround.withdrawn.kept", keyword="DMMA", summary="you can keep someone company"),
              effects=(Answered(1, (AnswerSpec(5, None, None, 1, None),)),)))


@pytest.mark.parametrize(("ctx", "text"), [(ASKING_ES, "estoy mejor ya"), (ASKING, "im feeling better now"),
                                           (ASKING, "im better today!")])
def test_better_alone_changes_nothing_and_says_how_to_close_the_request(ctx, text: str) -> None:
    check(row(ctx, text, says("goaround.better", keyword=ctx.memberships[0].group.keyword)))


@pytest.mark.parametrize("text", ["ya no lo necesito", "im better now dont need it anymore", "estoy mejor ya"])
def test_with_no_request_held_nothing_changes(text: str) -> None:
    ctx = context("DMMA", answers=held(2))
    check(row(ctx, text, says("goaround.no_request", keyword="DMMA")))


@pytest.mark.parametrize("text", [
    "i dont need it now but maybe next week",  # not taken back
    "ya no necesito que me llamen, mejor por mensaje",  # how to be reached, changed
    "i dont need a ride anymore",  # something else
    "im better at texting than calling",
    "i dont need help",  # no "anymore": a NO, not a change
    "ya no lo necesito?",
])
def test_what_does_not_take_a_request_back(text: str) -> None:
    assert goaround.no_longer_needed(ASKING, read(text)) is None


def test_in_a_relay_window_it_goes_to_the_other_member() -> None:
    assert goaround.no_longer_needed in router.NOT_IN_A_RELAY


# --- 2. a correction after a sigh -----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "option"), [
    ("ugh no wait i meant 3", 3), ("ugh sorry i meant 5", 5), ("oh no wait 3", 3), ("argh i meant 4", 4),
    ("ay no perdon quise decir 4", 4), ("uy perdon, 1", 1), ("wait no 3", 3),
])
def test_a_correction_after_a_sigh_is_the_answer(text: str, option: int) -> None:
    answers = answered_with(context("DMMA", answers=held(2)), text)
    assert answers is not None and [a.option for a in answers] == [option]


@pytest.mark.parametrize("text", ["ugh 2 kids sick", "ugh i meant 2 weeks ago", "wait no 3pm works better"])
def test_a_sigh_before_a_number_that_means_something_else_is_no_answer(text: str) -> None:
    assert answered_with(MEMBER, text) is None


# --- 3. a duration with a filler ------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "language", "until", "used"), [
    ("for like 2 weeks", "en", local(16, 10), 4),
    ("for about a week", "en", local(9, 10), 4),
    ("like 2 weeks", "en", local(16, 10), 3),
    ("for maybe 10 days", "en", local(12, 10), 4),
    ("for ~2 weeks", "en", local(16, 10), 3),
    ("for around 3 days", "en", local(5, 10), 4),
    ("por como 2 semanas", "es", local(16, 10), 4),
    ("por unas 2 semanas", "es", local(16, 10), 4),
    ("como unas 2 semanas", "es", local(16, 10), 4),
    ("por mas o menos 2 semanas", "es", local(16, 10), 6),
])
def test_a_duration_with_a_filler(text: str, language: str, until: datetime, used: int) -> None:
    found = parse_duration(read(text).words, NOW, DMMA.tz, language)
    assert found is not None and (found.until, found.used) == (until, used)


@pytest.mark.parametrize("text", ["like 2 people", "about 2", "maybe 5", "como 2", "like i said"])
def test_a_filler_without_a_span_is_no_duration(text: str) -> None:
    assert parse_duration(read(text).words, NOW, DMMA.tz, "en") is None


JUST_ASKED_COMPANY = context("DMMA", answers=(AnswerInfo(1, 4, None, None, None, None, NOW - timedelta(minutes=5)),))


@pytest.mark.parametrize("text", ["for like 2 weeks", "for about 2 weeks", "like 2 wks"])
def test_a_piece_with_a_filler_completes_the_answer(text: str) -> None:
    assert answered_with(JUST_ASKED_COMPANY, text) == (AnswerSpec(4, local(16, 10), None, None, None),)


# --- 4. an offer in words with a count of people --------------------------------------------------------

@pytest.mark.parametrize(("ctx", "text", "capacity", "until"), [
    (MEMBER, "i can reach out to 2 ppl this month", 2, datetime(2026, 4, 1, tzinfo=CHICAGO)),
    (MEMBER, "i can reach out to 3 people", 3, None),
    (MEMBER, "I can reach out to someone this week", 1, local(9)),
    (MEMBER, "i can help 2 people this week", 2, local(9)),
    (MEMBER, "i can check in on 2 people", 2, None),
    (SPANISH, "puedo contactar a 2 personas este mes", 2, datetime(2026, 4, 1, tzinfo=CHICAGO)),
    (SPANISH, "puedo ayudar a 3 personas", 3, None),
])
def test_an_offer_in_words_with_a_count_of_people(ctx, text: str, capacity: int, until: datetime | None) -> None:
    assert answered_with(ctx, text) == (AnswerSpec(2, until, None, capacity, None),), text


@pytest.mark.parametrize("text", ["i can reach out to my sister", "i can reach out to 2 or 3 people",
                                  "i can help 4"])
def test_what_is_not_an_offer_with_a_count(text: str) -> None:
    assert answered_with(MEMBER, text) is None


# --- 5. an answer after two clauses of one's own --------------------------------------------------------

@pytest.mark.parametrize(("text", "option"), [
    ("i could just die of embarrassment, forgot the meeting. 2 this week", 2),
    ("ugh, long day, kids are sick. 4", 4),
    ("semana pesada, mucho trabajo. 3 hasta el viernes", 3),
])
def test_an_answer_after_two_clauses_of_ones_own(text: str, option: int) -> None:
    answers = answered_with(MEMBER, text)
    assert answers is not None and [a.option for a in answers] == [option]


@pytest.mark.parametrize("text", [
    "i want to die, everything is too much. 2 this week",
    "i cant go on, everything is too much. 4",
])
def test_crisis_words_before_the_answer_still_get_the_crisis_reply(text: str) -> None:
    result = router.respond(MEMBER, read(text))
    assert result.replies[0].text == crisis.crisis_reply(MEMBER).replies[0].text


@pytest.mark.parametrize("text", ["sorry i missed it, kids were sick, 5 kids at home", "long day, call me at 2"])
def test_clauses_before_a_number_that_counts_something_else_are_no_answer(text: str) -> None:
    assert answered_with(MEMBER, text) is None
