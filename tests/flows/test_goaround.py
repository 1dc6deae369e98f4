"""The go-around as a table: options 1-5 alone or together, durations, capacity, privacy, HOW, 0."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from carebot.flows import goaround, router
from carebot.flows.base import Answered, AnswerInfo, AnswerSpec, HowChanged, PrivacyChanged, Waiting
from carebot.flows.words import read
from tests.flows.kit import KEEP, ME, NOW, MemoryLookups, Row, check, context, has, row, says

CHICAGO = ZoneInfo("America/Chicago")
MEMBER = context("DMMA")
SPANISH = context("COMIDA")
ANSWERED = context("DMMA", answers=(AnswerInfo(1, 1, None, None, None),))
TWO = context("DMMA", "COMIDA", language="en")
JOINING = context(waiting=Waiting("join", "consent", {"group_id": 1}, NOW + timedelta(days=7)))
REACH_OUT = "you'd like someone to reach out (ongoing)"
COMPANY = "you can keep someone company"


def spec(option: int, until: datetime | None = None, how: str | None = None, capacity: int | None = None,
         private: bool | None = None) -> AnswerSpec:
    return AnswerSpec(option, until, how, capacity, private)


def local(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=CHICAGO)


def answered(text: str, summary: str, *specs: AnswerSpec, ctx=MEMBER, group: int = 1, keyword: str = "DMMA"):
    return row(ctx, text, says("goaround.confirm", keyword=keyword, summary=summary),
               effects=(Answered(group, specs),))


ROWS = [
    pytest.param(answered("1", REACH_OUT, spec(1)), id="one-option"),
    pytest.param(answered("1 5", f"{REACH_OUT}; {COMPANY}", spec(1), spec(5, capacity=1)), id="two-options"),
    pytest.param(answered("5 1", f"{REACH_OUT}; {COMPANY}", spec(1), spec(5, capacity=1)), id="any-order"),
    pytest.param(answered("one and five", f"{REACH_OUT}; {COMPANY}", spec(1), spec(5, capacity=1)),
                 id="options-in-words"),
    pytest.param(answered("uno y cinco", f"{REACH_OUT}; {COMPANY}", spec(1), spec(5, capacity=1)),
                 id="options-in-spanish-words"),
    pytest.param(answered("1️⃣ 5️⃣", f"{REACH_OUT}; {COMPANY}", spec(1), spec(5, capacity=1)),
                 id="keycap-emoji"),
    pytest.param(answered("im a 3", "you're resting, unavailable to support others (ongoing)", spec(3)),
                 id="im-a-3"),
    pytest.param(answered("put me down for 2 and 5", f"you can reach out to someone; {COMPANY}",
                          spec(2, capacity=1), spec(5, capacity=1)), id="put-me-down-for"),
    pytest.param(answered("2 x3", "you can reach out to up to 3 people", spec(2, capacity=3)), id="capacity-x3"),
    pytest.param(answered("2 for 3 people", "you can reach out to up to 3 people", spec(2, capacity=3)),
                 id="capacity-in-words"),
    pytest.param(answered("2 5 x2", "you can reach out to up to 2 people; you can keep up to 2 people company",
                          spec(2, capacity=2), spec(5, capacity=2)), id="capacity-covers-every-offer"),
    pytest.param(answered("2 x99", "you can reach out to up to 20 people", spec(2, capacity=20)),
                 id="capacity-capped-at-twenty"),
    pytest.param(answered("1 2w call evenings", "you'd like someone to reach out (until Mar 16, call evenings)",
                          spec(1, until=local(16, 10), how="call evenings")), id="two-weeks-and-how"),
    pytest.param(answered("1 for now", "you'd like someone to reach out (ongoing)", spec(1)), id="for-now-is-not-a-how"),
    # "I can help" is option 2, "I can reach out", said in words: before the number or after it (not a how).
    pytest.param(answered("i can help 2", "you can reach out to someone", spec(2, capacity=1)), id="i-can-help-2"),
    pytest.param(answered("i can help, 2", "you can reach out to someone", spec(2, capacity=1)),
                 id="i-can-help-comma-2"),
    pytest.param(answered("2 i can help", "you can reach out to someone", spec(2, capacity=1)), id="2-i-can-help"),
    pytest.param(answered("2 i can help out on weekends", "you can reach out to someone (on weekends)",
                          spec(2, how="on weekends", capacity=1)), id="2-i-can-help-and-when"),
    pytest.param(answered("puedo ayudar 2", "puedes contactar a alguien", spec(2, capacity=1), ctx=SPANISH, group=2,
                          keyword="COMIDA"), id="puedo-ayudar-2"),
    pytest.param(row(MEMBER, "i can help 4", says("fallback")), id="i-can-help-4-is-not-an-answer"),
    # An offer in words with no number: option 2 (helping is reaching out to whoever asked); keeping
    # company, 5. Never a crisis plea, never "nothing is waiting for a YES".
    *(pytest.param(answered(text, "you can reach out to someone", spec(2, capacity=1)), id=f"offer-{text}")
      for text in ("i can help", "can help", "I can help someone 🙂", "ok i can help out if anyone needs",
                   "I'm happy to help anyone")),
    pytest.param(answered("puedo ayudar", "puedes contactar a alguien", spec(2, capacity=1), ctx=SPANISH, group=2,
                          keyword="COMIDA"), id="offer-puedo-ayudar"),
    pytest.param(answered("yo puedo apoyar a alguien", "puedes contactar a alguien", spec(2, capacity=1), ctx=SPANISH,
                          group=2, keyword="COMIDA"), id="offer-yo-puedo-apoyar-a-alguien"),
    pytest.param(answered("i can help on weekends", "you can reach out to someone (on weekends)",
                          spec(2, how="on weekends", capacity=1)), id="offer-in-words-with-how"),
    pytest.param(answered("i can keep someone company", COMPANY, spec(5, capacity=1)), id="company-offered-in-words"),
    pytest.param(answered("puedo hacer compania", "puedes acompañar a alguien", spec(5, capacity=1), ctx=SPANISH,
                          group=2, keyword="COMIDA"), id="compania-offered-in-words"),
    pytest.param(answered("2 for now text me", "you can reach out to someone (text me)", spec(2, capacity=1, how="text me")),
                 id="for-now-then-a-how"),
    pytest.param(answered("1 5 text me pls",
                          "you'd like someone to reach out (ongoing); you can keep someone company (text me pls)",
                          spec(1, how="text me pls"), spec(5, capacity=1, how="text me pls")), id="a-shared-how-said-once"),
    pytest.param(answered("4 until friday text me", "you'd like company (until Mar 6, text me)",
                          spec(4, until=local(7), how="text me")), id="until-friday"),
    pytest.param(answered("1 hasta el lunes", "you'd like someone to reach out (until Mar 9)", spec(1, until=local(10))),
                 id="hasta-el-lunes"),
    pytest.param(answered("1 this week", "you'd like someone to reach out (until Mar 8)", spec(1, until=local(9))),
                 id="this-week"),
    pytest.param(answered("1 ongoing", REACH_OUT, spec(1)), id="ongoing"),
    pytest.param(answered("1 private", "you'd like someone to reach out (ongoing, private: your number isn't shared)",
                          spec(1, private=True)), id="private"),
    pytest.param(row(SPANISH, "1", has("COMIDA"), effects=(Answered(2, (spec(1),)),)), id="spanish-member-answers"),
    # 0 clears; what cannot be read is said plainly, and nothing is saved.
    pytest.param(row(MEMBER, "0", says("goaround.cleared", keyword="DMMA"), effects=(Answered(1, ()),)), id="zero"),
    pytest.param(row(MEMBER, "nada", says("goaround.cleared", keyword="DMMA"), effects=(Answered(1, ()),)),
                 id="nada"),
    pytest.param(row(MEMBER, "3 5", says("goaround.conflict")), id="unavailable-with-an-offer"),
    pytest.param(row(MEMBER, "6", says("goaround.bad_option")), id="option-six"),
    pytest.param(row(MEMBER, "5 7", says("goaround.bad_option")), id="option-seven-after-five"),
    pytest.param(row(MEMBER, "1 until blorpday", says("goaround.bad_date", options="1", words="until blorpday")),
                 id="until-an-unreadable-day"),
    pytest.param(row(MEMBER, "one sec", says("fallback")), id="one-sec-is-not-an-answer"),
    # Which group: the keyword first, or the group that just asked, else a question.
    pytest.param(row(TWO, "1", says("goaround.which_group", keywords="DMMA and COMIDA", example="DMMA")),
                 id="two-groups-which"),
    pytest.param(answered("comida 1", REACH_OUT, spec(1), ctx=TWO, group=2, keyword="COMIDA"),
                 id="two-groups-keyword-first"),
    pytest.param(answered("1", REACH_OUT, spec(1), ctx=context("DMMA", "COMIDA", language="en",
                                                                asked={"COMIDA": NOW - timedelta(hours=2)}),
                          group=2, keyword="COMIDA"), id="two-groups-the-one-that-just-asked"),
    pytest.param(row(context("DMMA", "COMIDA", language="en", asked={"DMMA": NOW - timedelta(days=4)}), "1",
                     says("goaround.which_group", keywords="DMMA and COMIDA", example="DMMA")),
                 id="two-groups-asked-too-long-ago"),
    pytest.param(row(context(), "1 5", says("join.none")), id="a-stranger-answers"),
    pytest.param(row(JOINING, "1 5", says("join.pending", group="Des Moines Mutual Aid"), wait=KEEP),
                 id="answer-before-joining"),
    # HOW: how and when to be reached, and whether the number is shared.
    pytest.param(row(ANSWERED, "how text after 6pm", says("goaround.how_saved", keyword="DMMA", how="text after 6pm"),
                     effects=(HowChanged(1, "text after 6pm"),)), id="how"),
    pytest.param(row(context("COMIDA", answers=(AnswerInfo(2, 1, None, None, None),)), "cómo: por whatsapp",
                     says("goaround.how_saved", keyword="COMIDA", how="por whatsapp"),
                     effects=(HowChanged(2, "por whatsapp"),)), id="como-with-accent"),
    pytest.param(row(ANSWERED, "how private", says("goaround.private", keyword="DMMA"),
                     effects=(PrivacyChanged(1, True),)), id="how-private"),
    pytest.param(row(ANSWERED, "HOW share", says("goaround.shared", keyword="DMMA"),
                     effects=(PrivacyChanged(1, False),)), id="how-share"),
    pytest.param(row(ANSWERED, "how", says("goaround.how_empty")), id="how-empty"),
    pytest.param(row(MEMBER, "how call me", says("goaround.how_needs_answer")), id="how-before-an-answer"),
    # A short greeting or filler before the answer; never a number that means something else.
    pytest.param(answered("im good, 2", "you can reach out to someone", spec(2, capacity=1)), id="im-good-2"),
    pytest.param(answered("hi! 1 and 5", f"{REACH_OUT}; {COMPANY}", spec(1), spec(5, capacity=1)),
                 id="hi-1-and-5"),
    pytest.param(answered("Hey 👋 4", "you'd like company (ongoing)", spec(4)), id="hey-wave-4"),
    pytest.param(answered("hola, 5 x2", "puedes acompañar hasta a 2 personas", spec(5, capacity=2), ctx=SPANISH,
                          group=2, keyword="COMIDA"), id="hola-5-x2"),
    pytest.param(answered("ok so 2 this week", "you can reach out to someone (until Mar 8)",
                          spec(2, until=local(9), capacity=1)), id="ok-so-2-this-week"),
    pytest.param(row(MEMBER, "call me at 2", says("fallback")), id="call-me-at-2-is-not-an-answer"),
    pytest.param(row(MEMBER, "I have 2 questions", says("fallback")), id="i-have-2-questions-is-not-an-answer"),
    pytest.param(row(MEMBER, "hi 2 kids at home lol", says("fallback")), id="hi-2-kids-is-not-an-answer"),
    # outside5: a correction is the answer (a new answer replaces the one before)
    pytest.param(answered("sorry i meant 5", COMPANY, spec(5, capacity=1)), id="sorry-i-meant-5"),
    pytest.param(answered("no wait 3", "you're resting, unavailable to support others (ongoing)", spec(3)),
                 id="no-wait-3"),
    pytest.param(answered("cancel that, i meant 2", "you can reach out to someone", spec(2, capacity=1)),
                 id="cancel-that-i-meant-2"),
    pytest.param(answered("perdon, quise decir 4", "quieres compañía (sin fecha)", spec(4), ctx=SPANISH, group=2,
                          keyword="COMIDA"), id="quise-decir-4"),
    *(pytest.param(row(MEMBER, text, says("fallback")), id=text) for text in (
        "wait 2 min", "actually 2 of us are coming", "i meant 2 weeks ago", "make it 3pm", "i mean 2 kids")),
]


@pytest.mark.parametrize("r", ROWS)
def test_goaround(r: Row) -> None:
    check(r)


# An answer in pieces (outside tester, third round): a text that is only a duration or how to be reached
# completes the answer given earlier the same day; not the next day, not a CALL, not after an offer (2).
JUST_ANSWERED = context("DMMA", answers=(AnswerInfo(1, 1, None, None, None, None, NOW - timedelta(minutes=5)),))
OFFERED = context("DMMA", answers=(AnswerInfo(1, 2, None, None, 1, None, NOW - timedelta(minutes=5)),))
YESTERDAY = context("DMMA", answers=(AnswerInfo(1, 1, None, None, None, None, NOW - timedelta(days=1)),))
PIECES = [
    pytest.param(answered("for 2 weeks", "you'd like someone to reach out (until Mar 16)",
                          spec(1, until=local(16, 10)), ctx=JUST_ANSWERED), id="a-duration"),
    pytest.param(answered("text me after work pls", "you'd like someone to reach out (ongoing, text me after work pls)",
                          spec(1, how="text me after work pls"), ctx=JUST_ANSWERED), id="a-how"),
    pytest.param(answered("mejor por mensaje", "you'd like someone to reach out (ongoing, por mensaje)",
                          spec(1, how="por mensaje"), ctx=JUST_ANSWERED), id="a-how-in-spanish"),
]


@pytest.mark.parametrize("r", PIECES)
def test_a_piece_completes_the_answer_just_given(r: Row) -> None:
    check(r)


@pytest.mark.parametrize(("ctx", "text"), [
    (YESTERDAY, "for 2 weeks"),  # the answer was given yesterday
    (JUST_ANSWERED, "call me"),  # CALL: someone reaches out now
    (OFFERED, "call me at 2"),  # how to be reached belongs to a request for care
    (JUST_ANSWERED, "any news?"),
    (JUST_ANSWERED, "despues"),
    (JUST_ANSWERED, "hasta mañana"),  # a goodbye
])
def test_what_is_not_a_piece_of_the_answer(ctx, text: str) -> None:
    assert goaround.amend(ctx, read(text)) is None


# Voice-to-text run-ons: the option said outright inside a longer sentence (outside tester, third round).
RUNONS = [
    pytest.param(answered("Um hi I think I'm a one this week and maybe a five too",
                          "you'd like someone to reach out (until Mar 8); you can keep someone company (until Mar 8)",
                          spec(1, until=local(9)), spec(5, until=local(9), capacity=1)), id="one-and-five"),
    pytest.param(answered("hola soy Ines y esta semana soy un 3 porque tengo mucho trabajo",
                          "you're resting, unavailable to support others (until Mar 8)", spec(3, until=local(9))), id="soy-un-3"),
    pytest.param(answered("ok so basically i would really like someone to reach out to me its been a lot",
                          REACH_OUT, spec(1)), id="a-request-in-words"),
    # outside5: "para mi esta semana un 5" ("for me this week, a 5"), as "soy un 3" is.
    pytest.param(answered("para mi esta semana un 5", f"{COMPANY} (until Mar 8)", spec(5, until=local(9), capacity=1)),
                 id="para-mi-un-5"),
]


@pytest.mark.parametrize("r", RUNONS)
def test_an_answer_inside_a_longer_sentence(r: Row) -> None:
    check(r)


@pytest.mark.parametrize("text", [
    "i dont need someone to reach out to me this week, im fine",  # a negation
    "lol im a 2 year old at heart when it comes to cake",  # a number that counts something else
    "im one of the people who set up the potluck last week",  # no option said outright
    "is it ok if im a one this week and maybe a five too?",  # a question
    "my kid is a 5 year old and she loved the gathering",
    "para mi un 5 de 10 la reunion, estuvo bien",  # a score, not an answer
])
def test_a_longer_sentence_that_is_not_an_answer(text: str) -> None:
    assert goaround.runon(MEMBER, read(text)) is None


# outside5: "same as before", "lo mismo", "igual que antes" to a new round: the answer the member holds,
# given again and said back with its date; with none held, how to answer (not "didn't understand").
HOLDING = context("DMMA", answers=(AnswerInfo(1, 5, local(19), None, 1),))
HOLDING_ES = context("COMIDA", answers=(AnswerInfo(2, 5, local(19), None, 1),))


@pytest.mark.parametrize("text", ["same as before", "Same as last time", "same again", "no change"])
def test_same_as_before_gives_the_answer_held_again(text: str) -> None:
    check(answered(text, f"{COMPANY} (until Mar 18)", spec(5, until=local(19), capacity=1), ctx=HOLDING))


@pytest.mark.parametrize("text", ["lo mismo", "igual que antes", "Lo mismo que la otra vez"])
def test_lo_mismo_gives_the_answer_held_again(text: str) -> None:
    check(answered(text, "puedes acompañar a alguien (hasta 18 mar)", spec(5, until=local(19), capacity=1),
                   ctx=HOLDING_ES, group=2, keyword="COMIDA"))


def test_same_as_before_with_no_answer_held_says_how_to_answer() -> None:
    check(row(MEMBER, "same as before", says("goaround.same_none", keyword="DMMA")))


# members5: the answer "same as before" means has lapsed (nothing held now): it is given again, as long as it
# was before from now (a week given a week ago: a week from now), with its how; an ongoing one stays ongoing.
def _lapsed(ctx, *answers: AnswerInfo):
    return replace(ctx, lookups=MemoryLookups(ME, (m.group.id for m in ctx.memberships), lapsed=answers))


WEEK_AGO = NOW - timedelta(days=7)
A_WEEK_ON = NOW.astimezone(CHICAGO) + timedelta(days=7)  # wall clock: the same local hour across DST (Mar 8)
LAPSED = _lapsed(MEMBER, AnswerInfo(1, 1, NOW - timedelta(hours=2), "text me after 6", None,
                                    since=WEEK_AGO - timedelta(hours=2)),
                 AnswerInfo(1, 5, NOW - timedelta(hours=2), None, 2, since=WEEK_AGO - timedelta(hours=2)))
LAPSED_ES = _lapsed(SPANISH, AnswerInfo(2, 2, NOW, None, 1, since=WEEK_AGO))


@pytest.mark.parametrize("text", ["same as before", "same as last time pls", "no change"])
def test_same_as_before_after_the_answer_lapsed_gives_it_again(text: str) -> None:
    check(answered(text, "you'd like someone to reach out (until Mar 9, text me after 6); "
                         "you can keep up to 2 people company (until Mar 9)",
                   spec(1, until=A_WEEK_ON, how="text me after 6"), spec(5, until=A_WEEK_ON, capacity=2), ctx=LAPSED))


@pytest.mark.parametrize("text", ["lo mismo", "igual que antes"])
def test_lo_mismo_after_the_answer_lapsed_gives_it_again(text: str) -> None:
    check(answered(text, "puedes contactar a alguien (hasta 9 mar)", spec(2, until=A_WEEK_ON, capacity=1),
                   ctx=LAPSED_ES, group=2, keyword="COMIDA"))


def test_same_as_before_gives_the_answer_held_not_one_that_lapsed() -> None:
    held = replace(LAPSED, answers=(AnswerInfo(1, 3, None, None, None),))
    check(answered("same as before", "you're resting, unavailable to support others (ongoing)", spec(3), ctx=held))


@pytest.mark.parametrize("text", ["same here", "same", "the same thing happened to me"])
def test_other_sames_are_not_an_answer(text: str) -> None:
    assert not any(isinstance(e, Answered) for e in router.respond(HOLDING, read(text)).effects)


# members5: "i'm free this week" is free for 2 (reach out) or 5 (keep company): asked, never guessed, and the
# next reply is the answer, with the time first said.
FREE = goaround.FREE_WHICH
THIS_WEEK_ENDS = local(9)


@pytest.mark.parametrize("text", ["i'm free this week", "I’m free this week!", "im free", "free this week",
                                  "ok im available till friday", "i am around this week"])
def test_free_this_week_asks_2_or_5(text: str) -> None:
    check(row(MEMBER, text, says("goaround.free_which", keyword="DMMA"), wait=FREE))


@pytest.mark.parametrize("text", ["estoy libre esta semana", "Estoy disponible esta semana", "ando libre"])
def test_libre_esta_semana_asks_2_or_5(text: str) -> None:
    check(row(SPANISH, text, says("goaround.free_which", keyword="COMIDA"), wait=FREE))


@pytest.mark.parametrize("text", ["are you free this week?", "im not free this week", "free food at the gathering",
                                  "i'm free to help this week", "im free this week to call you at 3"])
def test_other_frees_are_not_asked_2_or_5(text: str) -> None:
    assert router.respond(MEMBER, read(text)).wait is None


def _asked_free(ctx, until: datetime | None):
    data = {"group_id": ctx.memberships[0].group.id, "until": until.isoformat() if until else None}
    return replace(ctx, waiting=Waiting(*FREE, data, NOW + timedelta(hours=12)))


@pytest.mark.parametrize(("text", "options"), [
    ("2", (2,)), ("5", (5,)), ("2 5", (2, 5)), ("both", (2, 5)), ("company", (5,)), ("keep someone company", (5,)),
    ("reach out", (2,)), ("i can help", (2,)), ("ok 5 please", (5,)), ("2 and 5", (2, 5)),
])
def test_the_reply_to_2_or_5_is_the_answer_with_its_time(text: str, options: tuple[int, ...]) -> None:
    labels = {2: "you can reach out to someone (until Mar 8)", 5: f"{COMPANY} (until Mar 8)"}
    check(answered(text, "; ".join(labels[o] for o in options),
                   *(spec(o, until=THIS_WEEK_ENDS, capacity=1) for o in options), ctx=_asked_free(MEMBER, THIS_WEEK_ENDS)))


@pytest.mark.parametrize(("text", "options"), [("las dos", (2, 5)), ("5", (5,)), ("acompañar", (5,)),
                                               ("contactar", (2,)), ("ambas", (2, 5))])
def test_la_respuesta_a_2_o_5_es_la_respuesta(text: str, options: tuple[int, ...]) -> None:
    labels = {2: "puedes contactar a alguien", 5: "puedes acompañar a alguien"}
    check(answered(text, "; ".join(labels[o] for o in options), *(spec(o, capacity=1) for o in options),
                   ctx=_asked_free(SPANISH, None), group=2, keyword="COMIDA"))


def test_another_answer_ends_the_2_or_5_question() -> None:
    check(answered("1", REACH_OUT, spec(1), ctx=_asked_free(MEMBER, THIS_WEEK_ENDS)))


def test_status_keeps_the_2_or_5_question() -> None:
    asked = _asked_free(MEMBER, THIS_WEEK_ENDS)
    assert router.respond(asked, read("status")).wait == asked.waiting
