"""Message catalogs (gettext .po files, read with Babel) and rendering in a member's language."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from babel.dates import format_date, get_day_names
from babel.lists import format_list
from babel.messages.pofile import read_po

LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = "en"
LANGUAGE_NAMES = {"en": "English", "es": "español"}


@cache
def catalog(language: str) -> dict[str, str]:
    """The messages of one language, by key."""
    path = resources.files("carebot") / "locale" / language / "LC_MESSAGES" / "carebot.po"
    with path.open("rb") as po:
        parsed = read_po(po, locale=language, domain="carebot")
    # A plural message would have a tuple id; the catalogs have none, so only singular ones are read.
    return {m.id: m.string for m in parsed if isinstance(m.id, str) and isinstance(m.string, str) and m.id and m.string}


def template_keys() -> list[str]:
    """Every message key carebot can send (the English catalog lists them all)."""
    return list(catalog(DEFAULT_LANGUAGE))


def render(key: str, language: str | None, **params: Any) -> str:
    """The message ``key`` in ``language`` (English where it has no translation)."""
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    text = catalog(language).get(key) or catalog(DEFAULT_LANGUAGE)[key]
    return text.format(**params)


def names_list(names: list[str], language: str | None) -> str:
    """Names joined as a sentence says them: "RCMA and LAKE", "RCMA, LAKE, and EAST", "RCMA y LAKE"."""
    return format_list(names, locale=language if language in LANGUAGES else DEFAULT_LANGUAGE) if names else ""


def short_date(moment: datetime, language: str | None) -> str:
    """A day as members write it: "Dec 5" or "5 dic"."""
    pattern = "d MMM" if language == "es" else "MMM d"
    return format_date(moment.date(), pattern, locale=language or DEFAULT_LANGUAGE)


def day_name(weekday: int, language: str | None) -> str:
    """The name of a weekday (0 is Monday) in ``language``."""
    return get_day_names("wide", locale=language or DEFAULT_LANGUAGE)[weekday]
