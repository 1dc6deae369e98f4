"""Phone numbers, always kept in E.164 form."""

from __future__ import annotations

import re

import phonenumbers

# How people and providers write a number: digits, a leading +, and the spaces, dots,
# dashes and brackets between them. Nothing else: phonenumbers would read letters as a
# keypad ("+1515555ABCD" becomes somebody else's digits) and skip a prefix
# ("whatsapp:+1…" is another channel's address, not that SMS number).
_WRITTEN = re.compile(r"\+?[\d\s().\-]+")
_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")

PREFIXED = "prefixed"
NOT_A_NUMBER = "not_a_number"


def normalize_phone(raw: str, region: str = "US") -> str | None:
    """``raw`` as an E.164 number, or None when it is not a valid phone number."""
    raw = raw.strip()
    if not _WRITTEN.fullmatch(raw):
        return None
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def sender_refusal(raw: str) -> str | None:
    """Why a provider's sender is no SMS number carebot serves (``PREFIXED``, ``NOT_A_NUMBER``), or None."""
    if _PREFIX.match(raw.strip()):
        return PREFIXED  # whatsapp:, messenger:…: refused until a channel handles them
    return None if normalize_phone(raw) else NOT_A_NUMBER
