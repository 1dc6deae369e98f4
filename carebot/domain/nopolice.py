"""No police, ever: a group's crisis resources never send anyone to police or an emergency number.

carebot's own texts name no such thing (tests/test_crisis.py reads every catalog and default);
a group's crisis resources are the one text an operator writes into a crisis reply. So
``carebot group add/edit --crisis``, a transcript's ``crisis=`` and ``carebot check`` read
them here, in English and Spanish, the usual ways people write them. This module holds the
words only to refuse them.
"""

from __future__ import annotations

import re
import unicodedata

# Each alternative is one way of pointing at police or emergency services; accents and
# case are folded first ("Policía" reads as "policia"). An emergency number counts only
# standing alone: the same three digits inside a phone number ("515-9..-0100") are part of it,
# while spelled out with dashes or in brackets they are the emergency number still.
_POLICE = re.compile(
    r"(?<![\d.-])(?<!\d\s)(?:9\s?[-.]?\s?1\s?[-.]?\s?1|112|999|091|092)(?!\s?[-.]?\s?\d)"
    r"|\bnine[\s-]+one[\s-]+one\b|\bnueve[\s-]+uno[\s-]+uno\b"
    r"|\bpolic(?:e|ia)\w*|\bcops?\b|\bsherr?iffs?\b|\bsherr?ifs?\b|\balguacil(?:es)?\b"
    r"|\blaw[\s-]+enforcement\b|\b(?:fuerzas?|agentes?|cuerpos?)\s+(?:del\s+orden|de\s+seguridad)\b"
    r"|\bemergency\s+(?:services?|numbers?|dispatch|responders?)\b"
    r"|\b(?:servicios?|numeros?)\s+de\s+emergencias?\b"
    r"|\b(?:state|highway)\s+patrol\b|\bpatrullas?\b|\bguardia\s+(?:civil|nacional)\b|\bcarabineros?\b"
    r"|\b(?:welfare|wellness)\s+checks?\b",
)


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("’", "'"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def police_words(text: str) -> list[str]:
    """The words in ``text`` that point at police or an emergency number, as written (accents folded)."""
    found: list[str] = []
    for match in _POLICE.finditer(_folded(text)):
        word = match.group(0).strip()
        if word not in found:
            found.append(word)
    return found


def refusal(text: str) -> str | None:
    """Why ``text`` cannot be a group's crisis resources, in one line; None when it can."""
    found = police_words(text)
    if not found:
        return None
    named = ", ".join(f'"{word}"' for word in found)
    return (f"crisis resources must not send anyone to police or emergency services ({named}): "
            "list the group's own peer lines and on-call people instead")
