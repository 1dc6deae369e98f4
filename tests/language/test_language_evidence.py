"""outside6's finding 5: a member's language changes for good on clear evidence (README): a sentence in
Spanish; one "gracias", "hola" or "ya" is not, nor a command word alone ("estado" after LANG EN: outside5's
transcript words_language_switch)."""

from __future__ import annotations

import pytest

from carebot.flows.understanding import writes_spanish
from carebot.flows.words import read


@pytest.mark.parametrize("text", [
    "hola, esta semana soy un 3 porque estoy muy cansada", "no puedo esta semana, tengo mucho trabajo",
    "esta semana soy un 3 porque tengo mucho trabajo",
])
def test_clear_evidence_of_spanish(text: str) -> None:
    assert writes_spanish(read(text))


@pytest.mark.parametrize("text", [
    "gracias", "hola", "ok gracias", "ya we talked", "quiero suicidarme",  # crisis words: answered in Spanish, once
    "thanks! see you at the taqueria, hasta luego", "1 5", "status", "ESTADO", "ayuda", "PARAR", "unirme dmma",
])
def test_not_evidence_enough(text: str) -> None:
    assert not writes_spanish(read(text))
