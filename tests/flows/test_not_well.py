"""Hard words that are not crisis words (outside9): "im not ok", "i feel so alone", "no estoy bien", "nada bien".

A member who says they are not well gets the kind word hard news gets (``hard_news``: sorry, and how to ask for
someone to reach out), in their language; never "didn't understand", never a negated "bien" or "ok" read as OK
("no estoy bien" is not "no, I'm fine"), and never the crisis reply unless crisis words are there too. And a
reason after the answer's comma ("i can't this week, super busy") does not lose the answer: it is 3 for that time
(3 keeps no reason, as "3 this week, finals are killing me" keeps none).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from carebot.bench.understanding import _Loader, _same
from carebot.flows import crisis, router, understanding
from carebot.flows.base import Answered, AnswerSpec, CrisisNoted, OfferAnswered, PairingInfo, Waiting
from carebot.flows.words import read
from tests.flows.kit import KEEP, NOW, check, context, row, says

MEMBER = context("DMMA")
SPANISH = context("COMIDA")
OFFER = context("DMMA", waiting=Waiting("pairing", "offer", {"pairing_id": 7}, NOW + timedelta(days=1)),
                pairings=(PairingInfo(7, 1, "DMMA", 1, "supporter", "Sam", "offered", 7),))
CHICAGO = ZoneInfo("America/Chicago")
CORPUS = Path(__file__).resolve().parents[1] / "language"

NOT_WELL_EN = ["im not ok", "i feel so alone", "i’m really struggling", "i feel hopeless",
               "everything is too much right now", "Not ok.", "not doing well tbh", "honestly im not doing great",
               "been feeling really lonely lately", "its all too much rn", "i’m not okay", "feeling really down today",
               "im so overwhelmed", "not good tbh", "going through a lot rn", "no im not ok", "never felt so alone",
               "no i feel so alone", "i dont know why but i feel so alone"]
NOT_WELL_ES = ["no estoy bien", "me siento muy sola", "nada bien", "no me siento bien", "no muy bien la verdad",
               "la estoy pasando muy mal", "me siento tan sola ultimamente", "estoy muy agobiada, todo es demasiado",
               "no ando bien", "para nada bien", "no estoy nada bien", "ando bien bajoneada"]


@pytest.mark.parametrize("text", NOT_WELL_EN)
def test_not_well_in_english_gets_the_kind_word(text: str) -> None:
    check(row(MEMBER, text, says("hard_news")))


@pytest.mark.parametrize("text", NOT_WELL_ES)
def test_not_well_in_spanish_gets_the_kind_word_in_spanish(text: str) -> None:
    check(row(SPANISH, text, says("hard_news")))


@pytest.mark.parametrize("text", NOT_WELL_EN + NOT_WELL_ES)
def test_not_well_is_hard_news_and_no_crisis(text: str) -> None:
    assert understanding.says_not_well(text) and understanding.tells_hard_news(text)
    assert not crisis.in_crisis(read(text))


# Crisis words still win: the crisis reply (the group's own resources, never police), nothing else.
@pytest.mark.parametrize("text", ["im not ok, im scared", "im not ok i dont want to be here anymore",
                                  "no estoy bien, no quiero vivir", "me siento muy sola y quiero morirme"])
def test_crisis_words_still_get_the_crisis_reply(text: str) -> None:
    result = router.respond(MEMBER, read(text))
    assert [effect for effect in result.effects if isinstance(effect, CrisisNoted)] == [CrisisNoted((1,))]
    assert len(result.replies) == 1 and result.replies[0].purpose == "final"


# Not distress: "ok", "bien" and "good" that are not negated, a "not ok" about something else, "no, estoy bien"
# (with its comma: "no, I'm fine"), and "bien" as "quite" ("no estoy bien segura": not sure).
@pytest.mark.parametrize("text", ["im ok", "estoy bien gracias", "no, estoy bien gracias", "no gracias estoy bien",
                                  "im not ok with that plan", "not ok to text after 9 pls", "no estoy bien segura",
                                  "leave me alone", "im down", "not too much, thanks", "i feel bad for missing it",
                                  "me siento mal por no contestar", "estoy sola en casa hoy",
                                  # negated: "not feeling hopeless", "no me siento sola", "no estoy deprimida"
                                  "not feeling hopeless anymore", "i dont feel alone", "im not depressed",
                                  "not really struggling", "no me siento sola", "ya no me siento tan sola",
                                  "no estoy deprimida", "no ando mal"])
def test_words_that_are_not_distress(text: str) -> None:
    assert not understanding.says_not_well(text)


def test_a_negated_bien_is_never_read_as_ok() -> None:
    for text in ("no estoy bien", "nada bien", "no muy bien"):
        assert not understanding.is_courtesy(text)
        assert understanding.read(text, lang="es", tz="America/Chicago", now=NOW).intent == "unknown"


def test_while_an_offer_waits_not_well_gets_the_kind_word_and_the_offer_stays_open() -> None:
    check(row(OFFER, "im not ok", says("hard_news"), wait=KEEP))


def test_no_estoy_bien_to_an_offer_still_declines_it() -> None:
    """To "can you reach out to Sam?", "no estoy bien" says no: the offer goes to someone else."""
    assert [(e.pairing_id, e.accepted) for e in router.respond(OFFER, read("no estoy bien")).effects
            if isinstance(e, OfferAnswered)] == [(7, False)]


# A reason after the answer's comma (or full stop, or dash) keeps the answer; 3 keeps no reason.
THIS_WEEK = datetime(2026, 3, 9, tzinfo=CHICAGO)
FRIDAY = datetime(2026, 3, 7, tzinfo=CHICAGO)


@pytest.mark.parametrize(("ctx", "text", "until", "summary"), [
    (MEMBER, "i can’t this week, super busy", THIS_WEEK, "(until Mar 8)"),
    (MEMBER, "cant this week. work is insane", THIS_WEEK, "(until Mar 8)"),
    (MEMBER, "im unavailable till friday - moving apartments", FRIDAY, "(until Mar 6)"),
    (SPANISH, "no puedo esta semana, mucho trabajo", THIS_WEEK, "(hasta 8 mar)"),
    (SPANISH, "no puedo hasta el viernes. estoy de mudanza", FRIDAY, "(hasta 6 mar)"),
    (SPANISH, "no puedo esta semana, no tengo tiempo", THIS_WEEK, "(hasta 8 mar)"),
    (MEMBER, "cant this week super busy", THIS_WEEK, "(until Mar 8)"),  # no comma: only the words a NO carries
])
def test_a_reason_after_the_comma_keeps_the_answer(ctx, text: str, until: datetime, summary: str) -> None:
    result = router.respond(ctx, read(text))
    group = ctx.memberships[0].group.id
    assert result.effects == (Answered(group, (AnswerSpec(3, until, None, None, None),)),)
    assert summary in result.replies[0].text


@pytest.mark.parametrize("text", ["i cant this week, but next week yes", "cant this week, can i do 2 next week?",
                                  "i cant this week, 1 maybe", "cant this week, maybe",
                                  "no puedo esta semana, pero la otra si"])
def test_more_than_a_reason_is_not_read_as_3(text: str) -> None:
    assert not any(isinstance(e, Answered) and any(a.option == 3 for a in e.answers)
                   for e in router.respond(MEMBER, read(text)).effects)


def _distress9_block(name: str) -> list[dict]:
    """The entries of the corpus block ``# distress9``: from its opening comment to the next comment or the end."""
    lines = (CORPUS / name).read_text(encoding="utf-8").splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("# distress9"))
    while lines[start].startswith("#"):
        start += 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("#")), len(lines))
    return yaml.load("\n".join(lines[start:end]), Loader=_Loader)


def test_the_corpus_block_reads_right() -> None:
    """The corpus entries added for these wordings (``# distress9``), each read exactly as labelled."""
    for name in ("corpus_en.yaml", "corpus_es.yaml"):
        entries = _distress9_block(name)
        assert len(entries) >= 12
        for entry in entries:
            got = understanding.read(entry["text"], lang=entry["lang"], tz=entry["tz"],
                                     now=datetime.fromisoformat(entry["now"])).as_dict()
            assert all(_same(key, value, got.get(key)) for key, value in entry["expect"].items()), (entry, got)


def test_to_an_offer_a_reason_after_the_comma_still_rests() -> None:
    effects = router.respond(OFFER, read("cant this week, super busy")).effects
    assert [(e.pairing_id, e.accepted) for e in effects if isinstance(e, OfferAnswered)] == [(7, False)]
    assert [[(a.option, a.until) for a in e.answers] for e in effects if isinstance(e, Answered)] == [[(3, THIS_WEEK)]]
