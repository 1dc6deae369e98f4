"""What carebot reads in a text, as a table (the reading ``carebot parse`` and the language corpus
use): its intent, the command, options, end date, "how", the language it tells, and crisis."""

from __future__ import annotations

import pytest

from carebot.flows.understanding import (
    Reading,
    corrected_word,
    guess_language,
    is_courtesy,
    is_reaction,
    read,
    tells_hard_news,
)
from tests.flows.kit import NOW


def reading(intent: str, **fields) -> Reading:
    return Reading(intent, **fields)


@pytest.mark.parametrize(("text", "expected"), [
    ("1 5 2w", reading("goaround", options=[1, 5], until="2026-03-16")),
    ("1 5 call evenings", reading("goaround", options=[1, 5], how="call evenings", lang="en")),
    ("3 until blorpday", reading("goaround", options=[3], lang="en")),  # the options read, nothing guessed
    ("0", reading("goaround", options=[0])),
    ("cero", reading("goaround", options=[0])),
    ("sip", reading("yes")),
    ("dale", reading("yes", lang="es")),
    ("de una", reading("yes", lang="es")),
    ("nel", reading("no")),
    ("no gracias", reading("no", lang="es")),
    ("maybe later", reading("later")),
    ("stop pls", reading("stop", lang="en")),
    ("start again", reading("start")),
    ("what is this number", reading("help", lang="en")),
    ("ayuda por favor", reading("help", lang="es")),
    ("hepl", reading("help")),  # a typo of HELP
    ("STAUTS", reading("status")),
    ("join dmma pls", reading("join", lang="en")),
    ("how text after 6", reading("how", how="text after 6", lang="en")),
    ("como estas", reading("courtesy", lang="es")),  # a greeting, not HOW
    ("lang español", reading("lang", lang="es")),
    ("hablo español", reading("lang", lang="es")),
    ("borrame", reading("command", command="FORGET", lang="es")),
    ("misdatos", reading("command", command="MYDATA")),
    ("NOT Sam", reading("command", command="NOT", lang="en")),
    ("done", reading("command", command="DONE")),
    ("weekly", reading("command", command="EVERY")),
    ("hours 8 21", reading("command", command="HOURS")),
    ("channel signal", reading("command", command="CHANNEL")),
    ("call", reading("command", command="CALL", lang="en")),
    ("thx!!", reading("courtesy")),
    ("👍", reading("courtesy")),
    ("estoy bien gracias", reading("courtesy", lang="es")),
    ("Liked “see you at 5”", reading("reaction", lang="en")),
    ("i want to die", reading("crisis", lang="en", crisis=True)),
    ("lol what", reading("unknown", lang="en")),
    ("stpo", reading("unknown")),  # never guessed into STOP
    ("ahorita no", reading("later", lang="es")),
    ("not rn", reading("later", lang="en")),
    ("hi! 1 and 5", reading("goaround", options=[1, 5], lang="en")),
    ("not suicidal just tired", reading("unknown", lang="en")),
])
def test_reading(text: str, expected: Reading) -> None:
    assert read(text, lang=None, tz="America/Chicago", now=NOW) == expected


@pytest.mark.parametrize(("word", "meant"), [
    ("stauts", "status"), ("hepl", "help"), ("rostr", "roster"), ("forgett", "forget"),
    ("stpo", None), ("yse", None), ("strat", None),  # STOP, YES and START are never guessed
    ("ok", None),
])
def test_typos(word: str, meant: str | None) -> None:
    assert corrected_word(word) == meant


@pytest.mark.parametrize(("text", "language"), [
    ("hola", "es"), ("gracias", "es"), ("¿qué?", "es"), ("quiero morir", "es"),
    ("hello", "en"), ("ok", "en"), ("1 5", None),
])
def test_language_of_a_text(text: str, language: str | None) -> None:
    assert guess_language(text) == language


@pytest.mark.parametrize(("text", "reaction"), [
    ("Liked “see you at 5”", True), ("Loved \"thanks!\"", True), ("Le gustó “hola”", True),
    ("Reacted 👍 to “ok”", True), ("liked it a lot", False), ("I loved the potluck", False),
])
def test_reactions(text: str, reaction: bool) -> None:
    assert is_reaction(text) is reaction


@pytest.mark.parametrize(("text", "courtesy"), [
    ("thanks!", True), ("ty so much", True), ("👍🏽", True), ("❤️🙏", True), ("ok cool", True),
    ("gracias, bendiciones", True), ("thanks but i need help", False), ("thanks, when is the next one?", False),
    ("what time is it", False), ("🍕", False),
])
def test_courtesy(text: str, courtesy: bool) -> None:
    assert is_courtesy(text) is courtesy


@pytest.mark.parametrize(("text", "hard"), [
    ("my cat died last week, sad but ok", True), ("estoy triste", True),
    # outside8's: a death told as "passed", a loss, and being exhausted (a reassurance that says so)
    ("my grandma passed on sunday, kinda numb", True), ("my dad passed away", True), ("My Abuela passed last night", True),
    ("mi abuela fallecio el domingo", True), ("lost my grandpa last week", True), ("our dog passed this morning 💔", True),
    ("not suicidal just tired lol", True), ("im just exhausted", True), ("so burnt out this week", True),
    ("no me quiero morir, solo estoy cansada", True), ("estoy agotada", True),
    # "passed" that is no death, and tiredness that is not the news
    ("i passed my exam", False), ("passed on the offer", False), ("my brother passed his driving test!!", False),
    ("my dog passed out on the couch lol", False), ("i passed by the park", False), ("he passed me the salt", False),
    ("tired", False),
])
def test_hard_news(text: str, hard: bool) -> None:
    assert tells_hard_news(text) is hard
