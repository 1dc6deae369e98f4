"""Every message fits the phones members have: one SMS segment in English unless it lists data."""

from __future__ import annotations

import re
import string

import pytest

from carebot.domain.i18n import LANGUAGES, catalog, render, template_keys
from carebot.domain.sms import is_gsm7, segments
from tests.helpers import SHORT_HOW

# Messages that list the member's own data may run longer, but stay within a few segments.
LISTS_DATA = {"goaround.confirm", "goaround.how_saved", "goaround.which_group", "status.group",
              "help.member", "help.member.named", "help.stopped", "start.kept", "care.done.which",
              "care.accepted.supporter", "care.declined.resting",
              "care.accepted.supporter.private", "help.coordinator", "coord.pairs",
              "crisis.reply", "crisis.call.sent", "crisis.call.later", "crisis.call.oncall", "relay.message", "coord.roster",
              "coord.ambiguous", "log", "pulse",
              "coord.confirm.announce", "coord.confirm.gather", "gather.count", "gather.invite",
              "gather.reminder", "gather.next", "announce.member", "mydata.about"}


# Texts that carry a care map (the member's own words, up to 300 characters an answer) are the
# only ones allowed to span several segments: as many as the longest map needs, and one more.
CARRIES_MAP = {"caremap.show", "caremap.for_other"}
MAP_SEGMENTS = segments(SHORT_HOW["parts"]) + 1


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", template_keys())
def test_english_fits_one_segment_with_long_names(key: str) -> None:
    text = render(key, "en", **SHORT_HOW)
    assert is_gsm7(text), f"{key} has a character outside GSM-7, which cuts a segment to 70"
    limit = MAP_SEGMENTS if key in CARRIES_MAP else 3 if key in LISTS_DATA else 1
    assert segments(text) <= limit, f"{key} takes {segments(text)} segments: {text!r}"


@pytest.mark.parametrize("key", template_keys())
def test_spanish_exists_with_the_same_placeholders_and_stays_short(key: str) -> None:
    english, spanish = catalog("en")[key], catalog("es").get(key)
    assert spanish, f"{key} has no Spanish translation"
    assert fields(spanish) == fields(english)
    limit = MAP_SEGMENTS if key in CARRIES_MAP else 4 if key in LISTS_DATA else 3
    assert segments(render(key, "es", **SHORT_HOW)) <= limit


def test_no_catalog_has_keys_the_english_one_lacks() -> None:
    for language in LANGUAGES:
        assert set(catalog(language)) <= set(template_keys())


def test_only_texts_carrying_a_care_map_run_past_three_segments() -> None:
    """The exception is the map's words, not the message around them: with a short map it fits one."""
    short = dict(SHORT_HOW, parts="helps: tea; also: call after 6")
    for key in CARRIES_MAP:
        assert segments(render(key, "en", **short)) == 1, key
        assert segments(render(key, "en", **SHORT_HOW)) > 3, key


def test_segments_counts_gsm7_and_ucs2() -> None:
    assert segments("a" * 160) == 1 and segments("a" * 161) == 2 and segments("a" * 306) == 2
    assert segments("é" * 160) == 1  # é is in GSM-7
    assert segments("á" * 70) == 1 and segments("á" * 71) == 2  # á is not
    assert segments("🌻" * 35) == 1 and segments("🌻" * 36) == 2  # an emoji is two UTF-16 units
    assert segments("€" * 80) == 1 and segments("€" * 81) == 2  # € takes two septets


def test_no_template_mentions_police_or_emergency_numbers() -> None:
    for language in LANGUAGES:
        for key, text in catalog(language).items():
            assert not re.search(r"\b(911|police|polic[ií]a)\b", text, re.IGNORECASE), key


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_catalog_is_a_valid_po_file(language: str) -> None:
    """Every string is quoted as gettext writes it (a bare " inside one is escaped): babel reads a
    broken one leniently, but msgfmt and translators' tools refuse the whole file."""
    from pathlib import Path

    import carebot

    po = Path(carebot.__file__).parent / "locale" / language / "LC_MESSAGES" / "carebot.po"
    quoted = re.compile(r'^(msgid|msgstr|msgctxt)? ?"(?:[^"\\]|\\.)*"$')
    broken = [f"{po.name}:{n}" for n, line in enumerate(po.read_text(encoding="utf-8").splitlines(), 1)
              if line.strip() and not line.startswith("#") and not quoted.match(line)]
    assert broken == []
