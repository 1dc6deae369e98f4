"""Go-around answers read as members write them (outside7): only how to be reached is kept with an
answer, never the story around it; a question or an unsure "1 or 4" keeps nothing; a hedge keeps every
option said; a greeting and a sentence of one's own may come before the answer; "thx" is no "how"."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from carebot.flows import router
from carebot.flows.base import Answered, AnswerInfo, AnswerSpec, HowChanged
from carebot.flows.goaround import summarize
from carebot.flows.how_to_reach import only_how
from carebot.flows.words import read
from tests.flows.kit import check, context, has, row, says

CHICAGO = ZoneInfo("America/Chicago")
MEMBER = context("DMMA")
SPANISH = context("COMIDA")


def answers(text: str, *specs: AnswerSpec, ctx=MEMBER, group: int = 1):
    """The router's effects for ``text``: the one Answered it must give."""
    result = router.respond(ctx, read(text))
    found = [e for e in result.effects if isinstance(e, Answered)]
    assert found == [Answered(group, specs)], f"{text!r}: {result.effects} {[r.text for r in result.replies]}"
    return result


def spec(option: int, how: str | None = None, until: datetime | None = None) -> AnswerSpec:
    capacity = 1 if option in (2, 5) else None
    return AnswerSpec(option, until, how, capacity, None)


# --- 1. only how to be reached is kept ------------------------------------------------------------

@pytest.mark.parametrize(("said", "kept"), [
    ("text me, been really low since the miscarriage", "text me"),
    ("my ex is stalking me again, text only", "text only"),
    ("por mensaje porfa, ando muy mal por el divorcio", "por mensaje porfa"),
    ("call me im not doing great", "call me"),
    ("text me after work. work has been hell", "text me after work"),
    ("whatsapp pls, mi mama esta en el hospital", "whatsapp pls"),
    ("since the breakup i cant sleep", None),
    ("sad week text me pls", "text me pls"),
    ("text me since im low", "text me"),
    ("text me i feel awful", "text me"),
    ("me siento fatal desde el lunes", None),
    ("whatsapp porque me siento muy sola", "whatsapp"),
    ("text after 6pm 🌙", "text after 6pm 🌙"),
    ("feel free to text me", "feel free to text me"),
    ("estoy muy triste", None),
    ("thx", None), ("porfa", None), ("lol", None), ("🙏", None), ("ty!!", None),
    # what says how stays whole, as written
    ("text me", "text me"),
    ("call after 6", "call after 6"),
    ("pls, text is best", "text is best"),
    ("leave a voicemail if i dont pick up", "leave a voicemail if i dont pick up"),
    ("my partner's phone is best after 9pm", "my partner's phone is best after 9pm"),
    ("solo mensajes, sin llamadas", "solo mensajes, sin llamadas"),
    ("q me llamen en la tarde", "q me llamen en la tarde"),
    ("los fines de semana", "los fines de semana"),
    ("marcame al 515-555-0177 en la noche", "marcame al 515-555-0177 en la noche"),
    ("evenings", "evenings"),
])
def test_only_how_to_be_reached_is_kept(said: str, kept: str | None) -> None:
    assert only_how(said) == kept


@pytest.mark.parametrize(("text", "specs"), [
    ("1 text me, been really low since the miscarriage", (spec(1, "text me"),)),
    ("4 my ex is stalking me again, text only", (spec(4, "text only"),)),
    ("1 por mensaje porfa, ando muy mal por el divorcio", (spec(1, "por mensaje porfa"),)),
    ("1 call me, its been a really bad week", (spec(1, "call me"),)),
    # counter-examples: the how stays
    ("1 text me", (spec(1, "text me"),)),
    ("2 till friday, call after 6", (spec(2, "call after 6", datetime(2026, 3, 7, tzinfo=CHICAGO)),)),
])
def test_an_answer_keeps_only_how_to_be_reached(text: str, specs: tuple[AnswerSpec, ...]) -> None:
    result = answers(text, *specs, ctx=SPANISH if "mensaje" in text else MEMBER, group=2 if "mensaje" in text else 1)
    for word in ("miscarriage", "stalking", "divorcio", "bad week"):
        assert all(word not in reply.text for reply in result.replies)


def test_how_keeps_only_how_to_be_reached() -> None:
    ctx = context("DMMA", answers=(AnswerInfo(1, 1, None, None, None),))
    check(row(ctx, "HOW text me, been really low", says("goaround.how_saved", keyword="DMMA", how="text me"),
              effects=(HowChanged(1, "text me"),)))
    check(row(ctx, "HOW been really low since the miscarriage", says("goaround.how_empty")))


def test_a_how_kept_before_is_shown_without_its_story() -> None:
    held = AnswerInfo(1, 1, None, "text me, been really low since the miscarriage", None)
    assert "miscarriage" not in summarize([held], "en", CHICAGO)
    assert "text me" in summarize([held], "en", CHICAGO)


# --- 2. a question back or an unsure reply keeps nothing --------------------------------------------

@pytest.mark.parametrize(("text", "key"), [
    ("1 or 4?", "goaround.explain"), ("2 o 5?", "goaround.explain"), ("1 text me?", "goaround.explain"),
    ("2 or 5 idk", "unsure"), ("maybe 1?", "unsure"), ("4?", "unsure"), ("1 or 4", "unsure"), ("either 2 or 5", "unsure"),
    ("3 o 4 no se", "unsure"), ("is 2 the one where i call someone?", "goaround.explain"),
])
def test_a_question_or_an_unsure_reply_keeps_nothing(text: str, key: str) -> None:
    check(row(MEMBER, text, says(key)))


def test_or_inside_the_how_is_still_an_answer() -> None:
    answers("1 call or text", spec(1, "call or text"))
    answers("1 u can text me", spec(1, "u can text me"))


# --- 3. a hedge keeps every option said --------------------------------------------------------------

@pytest.mark.parametrize(("text", "options"), [
    ("kind of a 3 and also a 4", (3, 4)), ("kind of a two and also a five", (2, 5)),
    ("sort of a 1 but also 4", (1, 4)), ("im kind of a two and also a five", (2, 5)),
])
def test_a_hedge_keeps_every_option(text: str, options: tuple[int, ...]) -> None:
    answers(text, *(spec(o) for o in options))


def test_a_spanish_hedge_keeps_every_option() -> None:
    answers("como un 2 y tambien un 5", spec(2), spec(5), ctx=SPANISH, group=2)


# --- 4. a greeting and a sentence of one's own before the answer -------------------------------------

def test_greeting_sentence_then_answer() -> None:
    friday = datetime(2026, 3, 7, tzinfo=CHICAGO)
    answers("hola, semana pesada. 1 y 4 hasta el viernes, mejor por mensaje",
            AnswerSpec(1, friday, "mejor por mensaje", None, None), AnswerSpec(4, friday, "mejor por mensaje", None, None),
            ctx=SPANISH, group=2)
    answers("hi, rough week. 4", spec(4))
    answers("rough week tbh, 4 pls", spec(4))
    answers("no dormi nada. 1 porfa, llamenme despues de las 6", spec(1, "llamenme despues de las 6"),
            ctx=SPANISH, group=2)
    answers("uno porfa", spec(1), ctx=SPANISH, group=2)
    answers("cansada. un 3 hasta el lunes", spec(3, until=datetime(2026, 3, 10, tzinfo=CHICAGO)), ctx=SPANISH, group=2)


@pytest.mark.parametrize("text", ["sorry i missed it, 5 kids sick", "hi 2 kids at home", "rough week"])
def test_what_is_still_no_answer(text: str) -> None:
    assert not any(isinstance(e, Answered) for e in router.respond(MEMBER, read(text)).effects)


def test_hard_news_alone_stays_hard_news() -> None:
    check(row(MEMBER, "hi, rough week", says("hard_news")))


# --- 5. filler is not the how --------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["1 thx", "1 pls", "1 ty", "1 🙏", "1 thx!!"])
def test_thanks_after_an_answer_is_no_how(text: str) -> None:
    answers(text, spec(1))


def test_thanks_after_an_answer_in_spanish_is_no_how() -> None:
    answers("1 porfa", spec(1), ctx=SPANISH, group=2)
    answers("4 lol", spec(4))
    answers("2 ty", spec(2))
    check(row(MEMBER, "1 pls, text is best", has("text is best"), effects=(Answered(1, (spec(1, "text is best"),)),)))
