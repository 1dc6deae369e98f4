"""How many SMS segments a text takes: 160 GSM-7 characters, or 70 when it needs UCS-2."""

from __future__ import annotations

import unicodedata

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
from anyascii import anyascii

GSM_SINGLE, GSM_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67


def is_gsm7(text: str) -> bool:
    """True when every character of ``text`` is in the GSM 03.38 alphabet."""
    try:
        text.encode("gsm03.38")
    except UnicodeEncodeError:
        return False
    return True


def segments(text: str) -> int:
    """The number of SMS segments ``text`` is sent in."""
    try:
        # Extension characters (€, [, ], ...) take two septets: the codec counts them.
        units, single, multi = len(text.encode("gsm03.38")), GSM_SINGLE, GSM_MULTI
    except UnicodeEncodeError:
        # UCS-2 counts UTF-16 code units, so an emoji takes two.
        units, single, multi = len(text.encode("utf-16-le")) // 2, UCS2_SINGLE, UCS2_MULTI
    if units <= single:
        return 1
    return -(-units // multi)


def _closest_gsm7(ch: str) -> str:
    """One character as its closest GSM-7 form: "á" -> "a", "’" -> "'", "—" -> "-"; kept when none."""
    if is_gsm7(ch):
        return ch
    decomposed = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    if decomposed and is_gsm7(decomposed):
        return decomposed
    if unicodedata.category(ch) in ("So", "Sk", "Cs") or 0x1F000 <= ord(ch) <= 0x1FAFF:
        return ch  # an emoji or symbol is the member's own mark: never a name such as ":yellow_heart:"
    plain = anyascii(ch)
    return plain if plain and is_gsm7(plain) else ch


def fold_gsm7(text: str) -> str:
    """``text`` with each character outside GSM-7 folded to its closest GSM-7 form, when that
    saves segments; else ``text`` as it is (an emoji, say, keeps it in UCS-2 whatever is folded)."""
    if is_gsm7(text):
        return text
    folded = "".join(_closest_gsm7(ch) for ch in text)
    return folded if segments(folded) < segments(text) else text
