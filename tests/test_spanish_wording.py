"""Spanish texts: gender-neutral, Spanish command words, and the care relationship never called "pareja"."""

from __future__ import annotations

import re

from carebot.domain.i18n import catalog
from carebot.flows.words import DONE, STOP_STRONG

ES = catalog("es")


def test_the_care_relationship_is_never_a_pareja() -> None:
    found = {key: text for key, text in ES.items() if re.search(r"pareja|emparej", text, re.I)}
    assert not found, found


def test_spanish_texts_name_spanish_command_words() -> None:
    english = re.compile(r"\b(DONE|STOP|START|HELP|STATUS|JOIN|LATER|YES|FORGET)\b")
    found = {key: text for key, text in ES.items() if english.search(text)}
    assert not found, found
    # ... and carebot understands the words its Spanish texts name.
    assert "parar" in STOP_STRONG and "terminar" in DONE


def test_spanish_texts_are_gender_neutral() -> None:
    # Forms that assume a gender (neutral rephrasings instead; see also the next test).
    gendered = re.compile(r"\b(ambos|ambas|invitad[oa]|emparejad[oa]s?|acompañad[oa]s?|listo para|"
                          r"bienvenid[oa]|suscrit[oa]|segur[oa]|coordinador|coordinadores)\b(?!/)", re.I)
    found = {key: text for key, text in ES.items() if gendered.search(text)}
    assert not found, found


def test_spanish_texts_never_mark_gender_with_slashes_or_symbols() -> None:
    # "sola/o", "coordinador/a", "bienvenido(a)", "todxs", "amig@s": neutral wording instead, such as
    # "Aquí hay gente contigo" or "el rol de coordinación". "@{name}" (a relay's address) is not one.
    marked = re.compile(r"\w/[oae]s?\b|\w\([oae]s?\)|\w@|\w(x|@)s\b", re.I)
    found = {key: text for key, text in ES.items() if marked.search(text)}
    assert not found, found
