"""Other machines' automatic replies: carebot answers none, so no two bots ever loop.

A loop the phrases here miss is still cut by the flood limit (carebot.dispatch.flood).
"""

from __future__ import annotations

import re

from carebot.flows.words import Text, plain

# Only strong machine markers: a person writing "I'll get back to you" is answered as a person.
_PHRASES = [
    r"auto(matic|mated)?[- ]?(reply|response|responder)", r"this is an automated", r"sent automatically",
    r"do not reply", r"out of (the )?office", r"driving focus", r"see your message when i get where",
    r"\bno[- ]?reply\b", r"respuesta automatica", r"mensaje automatico", r"enviado automaticamente",
    r"no responda", r"fuera de la oficina",
]
_AUTOREPLY = re.compile("|".join(f"(?:{p})" for p in _PHRASES))


def is_autoreply(text: Text) -> bool:
    """True when the text reads like a machine's automatic reply."""
    return bool(_AUTOREPLY.search(plain(text.raw)))
