"""Phone numbers, always kept in E.164 form."""

from __future__ import annotations

import phonenumbers


def normalize_phone(raw: str, region: str = "US") -> str | None:
    """``raw`` as an E.164 number, or None when it is not a valid phone number."""
    try:
        parsed = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
