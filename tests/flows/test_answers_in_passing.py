"""outside6's findings 3, 4 and 6: an answer after a sentence of the member's own ("cant sleep. 1 pls, text is
best", "rough week tbh. 4") and a run-on that hedges its option ("im kind of a two and also a five") are
answers; what only looks like one (a number that counts something, a time) is not."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from carebot.flows.base import Answered, AnswerInfo, AnswerSpec, Waiting
from tests.flows.kit import KEEP, NOW, Row, check, context, row, says

CHICAGO = ZoneInfo("America/Chicago")
MEMBER = context("DMMA")
SPANISH = context("COMIDA")
NEXT_WEEK = datetime(2026, 3, 9, tzinfo=CHICAGO)


def answered(ctx, text: str, summary: str, *specs: AnswerSpec) -> Row:
    group = ctx.memberships[0].group
    return row(ctx, text, says("goaround.confirm", keyword=group.keyword, summary=summary),
               effects=(Answered(group.id, specs),))


ANSWERS = [
    # "pls" alone is no "how" (outside7 item 8): only how to be reached is kept and shown
    pytest.param(answered(MEMBER, "cant sleep. 1 pls, text is best",
                          "you'd like someone to reach out (ongoing, text is best)",
                          AnswerSpec(1, None, "text is best", None, None)), id="cant-sleep-1-text-is-best"),
    pytest.param(answered(MEMBER, "rough week tbh. 4", "you'd like company (ongoing)",
                          AnswerSpec(4, None, None, None, None)), id="rough-week-4"),
    pytest.param(answered(MEMBER, "i could kill for a coffee, 5 this week", "you can keep someone company (until Mar 8)",
                          AnswerSpec(5, NEXT_WEEK, None, 1, None)), id="kill-for-a-coffee-5"),
    pytest.param(answered(SPANISH, "no puedo dormir. 1 por favor, mejor por mensaje",
                          "quieres que alguien te contacte (sin fecha, mejor por mensaje)",
                          AnswerSpec(1, None, "mejor por mensaje", None, None)), id="no-puedo-dormir-1"),
    pytest.param(answered(SPANISH, "semana dificil. 4", "quieres compañía (sin fecha)",
                          AnswerSpec(4, None, None, None, None)), id="semana-dificil-4"),
    # The run-on: a hedge between "im" and the option.
    pytest.param(answered(MEMBER, "so yeah um i think this week im kind of a two and also a five if someone needs "
                          "company thats all", "you can reach out to someone (until Mar 8); you can keep someone "
                          "company (until Mar 8)", AnswerSpec(2, NEXT_WEEK, None, 1, None),
                          AnswerSpec(5, NEXT_WEEK, None, 1, None)), id="kind-of-a-two-and-a-five"),
    pytest.param(answered(SPANISH, "soy como un 4 esta semana la verdad", "quieres compañía (hasta 8 mar)",
                          AnswerSpec(4, NEXT_WEEK, None, None, None)), id="soy-como-un-4"),
]


@pytest.mark.parametrize("r", ANSWERS)
def test_an_answer_in_passing_is_an_answer(r: Row) -> None:
    check(r)


@pytest.mark.parametrize(("ctx", "text"), [
    (MEMBER, "sorry i missed it, 5 kids sick at home"),  # a number that counts, after the sentence
    (MEMBER, "we meet at the park. 5 pm works"),  # a time
    (MEMBER, "i have 2 kids, 1 dog"),  # the sentence has a number of its own
    (MEMBER, "im like a 2 year old at heart when it comes to cake"),
    (MEMBER, "im kind of a 5 year old"),
    (SPANISH, "perdon por la tardanza, 2 hijos enfermos"),
])
def test_a_number_in_passing_is_not_an_answer(ctx, text: str) -> None:
    check(row(ctx, text, says("fallback")))


# outside6's finding 6: "same as before" after a sentence of the member's own is read while a "did you
# connect?" is open (the answer held is given again; the question stays open for its own YES or NO).
def _holding(keyword: str, group_id: int):
    return context(keyword, answers=(AnswerInfo(group_id, 2, None, None, 1),),
                   waiting=Waiting("checkin", "followup", {"pairing_id": 7}, NOW + timedelta(days=1)))


@pytest.mark.parametrize(("ctx", "text", "summary"), [
    (_holding("DMMA", 1), "hey sorry been away. same as before", "you can reach out to someone"),
    (_holding("DMMA", 1), "sorry!! been a rough month, same as before", "you can reach out to someone"),
    (_holding("COMIDA", 2), "perdon, estuve fuera. lo mismo que antes", "puedes contactar a alguien"),
])
def test_same_as_before_after_a_sentence_while_a_question_is_open(ctx, text: str, summary: str) -> None:
    group = ctx.memberships[0].group
    check(row(ctx, text, says("goaround.confirm", keyword=group.keyword, summary=summary),
              effects=(Answered(group.id, (AnswerSpec(2, None, None, 1, None),)),), wait=KEEP))


@pytest.mark.parametrize("text", ["i dont want the same as before", "not the same as before tbh"])
def test_same_as_before_inside_a_sentence_is_not_the_answer_again(text: str) -> None:
    result = check(row(_holding("DMMA", 1), text, says("fallback.yes_no_later"), wait=KEEP))
    assert not result.effects
