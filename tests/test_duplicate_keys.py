"""A catalog key or a word added twice is a mistake that hides: a .po catalog read with Babel keeps one
of the two messages without a word, a dict literal keeps its last value, a set drops the copy. Each
is caught here, by file and line, so the second one is looked at (and the one meant is kept)."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = sorted((ROOT / "carebot" / "locale").glob("*/LC_MESSAGES/carebot.po"))
# The word and key tables: every module of the flows (words.py, understanding.py ...) and of the domain
# (vocabulary.py ...).
TABLES = sorted([*(ROOT / "carebot" / "flows").glob("*.py"), *(ROOT / "carebot" / "domain").glob("*.py")])
_MSGID = re.compile(r'^msgid\s+"(.*)"\s*$')
_MSGCTXT = re.compile(r'^msgctxt\s+"(.*)"\s*$')
# Calls whose one argument is a table: its entries must differ.
_TABLE_CALLS = frozenset({"frozenset", "set", "_words", "words"})


def catalog_duplicates(text: str) -> list[tuple[int, str]]:
    """(line, key) of each msgid (with its msgctxt) that an earlier entry of the catalog already has."""
    seen: set[tuple[str | None, str]] = set()
    found, context = [], None
    for number, line in enumerate(text.splitlines(), start=1):
        if (ctx := _MSGCTXT.match(line)) is not None:
            context = ctx.group(1)
        elif (msgid := _MSGID.match(line)) is not None:
            key = (context, msgid.group(1))
            if key[1] and key in seen:  # the header's empty msgid is not a key
                found.append((number, key[1]))
            seen.add(key)
            context = None
    return found


def _entries(node: ast.AST) -> list[tuple[int, object]]:
    """(line, value) of a table literal's entries that are constants (strings, numbers, tuples of them)."""
    items: list[ast.expr | None]
    if isinstance(node, ast.Dict):
        items = list(node.keys)
    elif isinstance(node, ast.Set | ast.List | ast.Tuple):
        items = list(node.elts)
    else:
        return []
    out = []
    for item in items:
        if item is None:
            continue
        try:
            out.append((item.lineno, ast.literal_eval(item)))
        except ValueError:
            continue  # a name or an expression: not a literal to compare
    return out


def table_duplicates(source: str) -> list[tuple[int, object]]:
    """(line, entry) of each entry a dict's keys, a set literal, or a frozenset/set/_words table has twice."""
    found = []
    for node in ast.walk(ast.parse(source)):
        groups: list[list[tuple[int, object]]] = []
        if isinstance(node, ast.Dict | ast.Set):
            groups.append(_entries(node))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _TABLE_CALLS \
                and len(node.args) == 1:
            arg = node.args[0]
            if isinstance(arg, ast.List | ast.Tuple):
                groups.append(_entries(arg))
            elif isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                groups.append([(arg.lineno, word) for word in arg.value.split()])
            elif isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute) and arg.func.attr == "split" \
                    and isinstance(arg.func.value, ast.Constant) and isinstance(arg.func.value.value, str):
                groups.append([(arg.lineno, word) for word in arg.func.value.value.split()])
        for entries in groups:
            counts = Counter(value for _, value in entries)
            found += [(line, value) for line, value in entries if counts[value] > 1]
    return found


@pytest.mark.parametrize("path", CATALOGS, ids=[p.parent.parent.name for p in CATALOGS])
def test_no_catalog_key_twice(path: Path) -> None:
    assert catalog_duplicates(path.read_text(encoding="utf-8")) == [], f"{path}: a msgid added twice"


@pytest.mark.parametrize("path", TABLES, ids=[f"{p.parent.name}/{p.name}" for p in TABLES])
def test_no_word_or_key_twice_in_a_table(path: Path) -> None:
    assert table_duplicates(path.read_text(encoding="utf-8")) == [], f"{path}: an entry added twice"


def test_a_catalog_key_added_twice_is_caught() -> None:
    po = ('msgid ""\nmsgstr ""\n\nmsgid "help"\nmsgstr "a"\n\nmsgctxt "sms"\nmsgid "help"\nmsgstr "b"\n\n'
          'msgid "stop"\nmsgstr "c"\n\nmsgid "help"\nmsgstr "d"\n')
    assert catalog_duplicates(po) == [(14, "help")]  # the same key in another context is another key


@pytest.mark.parametrize(("source", "twice"), [
    ('T = {"si": 1, "no": 2, "si": 3}', "si"),
    ('T = frozenset({("same", "again"), ("no", "change"), ("same", "again")})', ("same", "again")),
    ('T = _words("hi hey hola hey")', "hey"),
    ('T = frozenset("ok okay ok".split())', "ok"),
    ('T = frozenset(["stop", "parar", "stop"])', "stop"),
    ('T = {"a": {"x", "y", "x"}}', "x"),
])
def test_a_word_or_key_added_twice_is_caught(source: str, twice: object) -> None:
    assert [value for _, value in table_duplicates(source)] == [twice, twice]


def test_a_table_without_repeats_passes() -> None:
    assert table_duplicates('T = {"si": 1, "no": 2}\nU = frozenset("ok okay".split())\nV = {x: 1 for x in "ab"}') == []
