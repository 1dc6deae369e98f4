"""Spanish on SMS costs no more than English: accents outside GSM-7 are folded (a group setting,
on by default, SMS only), and every template fits the English one's segment budget."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from carebot.domain.i18n import render, template_keys
from carebot.domain.sms import fold_gsm7, is_gsm7, segments
from carebot.store.models import Group
from tests.helpers import SHORT_HOW, run, texts_to


def test_folding_keeps_what_gsm7_has_and_folds_the_rest() -> None:
    text = "Perdón, no entendí “¿qué?” — ñ ü é. " * 3  # 108 characters: 2 segments in UCS-2
    assert fold_gsm7(text) == "Perdon, no entendi \"¿qué?\" - ñ ü é. " * 3
    assert segments(fold_gsm7(text)) == 1
    assert fold_gsm7("Perdón") == "Perdón"  # one segment either way: kept as written
    assert fold_gsm7("plain text") == "plain text"


def test_folding_happens_only_when_it_saves_a_segment() -> None:
    text = "Gracias 🌻 está bien"  # the emoji keeps it in UCS-2 whatever is folded
    assert fold_gsm7(text) == text


# A call's words (``call.*``) and a key's ``.voice`` variant are spoken, never sent as a text: no segments.
@pytest.mark.parametrize("key", [key for key in template_keys()
                                 if not key.endswith(".voice") and not key.startswith("call.")])
def test_spanish_fits_the_english_segment_budget_on_sms(key: str) -> None:
    english = segments(render(key, "en", **SHORT_HOW))
    spanish = fold_gsm7(render(key, "es", **SHORT_HOW))
    assert segments(spanish) <= english, f"{key}: {segments(spanish)} segments in Spanish: {spanish!r}"


def test_the_goaround_question_is_one_gsm7_segment_in_spanish() -> None:
    question = fold_gsm7(render("goaround.prompt", "es", keyword="DMMA"))
    assert is_gsm7(question) and segments(question) == 1


SETUP = ['group DMMA name="Des Moines Mutual Aid" tz=America/Chicago', "member DMMA +15155550101 name=Ana",
         "member DMMA signal:+15155550102 name=Bo", "at 2026-03-02 10:00"]


def test_sms_is_folded_signal_keeps_accents_and_a_group_can_turn_it_off(sim) -> None:
    run(sim, *SETUP, "+15155550101 > LANG ES", "+15155550101 > que onda con eso", "signal:+15155550102 > LANG ES",
        "signal:+15155550102 > que onda con eso")
    assert texts_to(sim, "+15155550101")[-1].startswith("Perdon, no entendi.")
    signal = [d.text for d in sim.network.delivered if "15155550102" in d.to]
    assert signal[-1].startswith("Perdón, no entendí.")
    with sim.db.transaction() as session:
        session.scalars(select(Group)).one().sms_fold = False
    run(sim, "+15155550101 > que onda con eso")
    assert texts_to(sim, "+15155550101")[-1].startswith("Perdón, no entendí.")


def test_an_emoji_is_never_folded_into_its_name() -> None:
    # A long text with one 💛: folding the rest could not save segments while the emoji stays, and the
    # emoji is never written out as ":yellow_heart:" to save them (README: answers kept as written).
    text = "Your care map - helps: tea and someone texting me 💛. " + "Ésta es una línea larga. " * 3
    assert fold_gsm7(text) == text
