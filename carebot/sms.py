"""How many SMS segments a text takes: 160 GSM-7 characters, or 70 when it needs UCS-2."""

from __future__ import annotations

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

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
