"""Crisis care without police: resources at once, CALL only on the member's word, nothing kept."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from carebot.domain.i18n import LANGUAGES, catalog
from carebot.flows.crisis import DEFAULT_RESOURCES, in_crisis
from carebot.flows.words import read
from carebot.store.models import CareFlag, ConsentEvent
from tests.helpers import database_text, run, texts_to

SETUP = [
    'group DMMA name="Des Moines Mutual Aid" tz=America/Chicago',
    "coordinator DMMA +15155550100 name=Rosa",
    "member DMMA +15155550101 name=Ana",
    "at 2026-03-03 10:00",
]

POLICE = re.compile(r"\b(911|112|999|police|polic[ií]a|sheriff|cops?|law enforcement)\b", re.IGNORECASE)


@pytest.mark.parametrize("text", [
    "I want to die", "i wanna die", "thinking about suicide", "I might kill myself", "kms",
    "self-harm again", "I've been cutting myself", "I can't go on", "having a panic attack",
    "took an overdose", "me quiero morir", "pienso en el suicidio", "quiero hacerme daño",
    "ya no puedo más", "estoy en crisis", "I don't want to live anymore", "unalive",
    # outside3's findings, and their near forms
    "i have a plan to end it", "i want to end it", "I want to end it tonight", "me quiero cortar otra vez",
    "quiero cortarme", "me corte otra vez", "i cut again", "going to end it with these pills",
    # outside5's: filler words between the crisis words, and more ways to say it
    "whats even the point of living anymore", "i just really want to die", "i dont even want to wake up tomorrow",
    "i honestly dont see the point anymore", "i want to disappear", "i just want to disappear",
    "ya me quiero ir de este mundo", "me quiero ir de este mundo", "quiero dejar de existir",
    "la neta ya no quiero vivir", "de verdad quiero morirme", "quisiera irme de este mundo",
    "i want to stop existing", "what is the point of living",
    # outside8's: no point in going on living, in Spanish from anyone; a plea with panic words after it
    "no vale la pena seguir viviendo la neta", "no vale la pena vivir", "ya no vale la pena seguir",
    "no tiene caso seguir viviendo", "la vida ya no vale la pena", "its not worth living anymore",
    "it’s not worth being alive", "someone pls help me im freaking out", "plz somebody help me im so scared",
    "please help me i dont know what to do", "help me im panicking", "idk what to do pls help",
    "ayudenme porfavor no se que hacer", "ayudenme por favor", "alguien ayudeme", "no se que hacer ayuda",
    "ayudame x favor tengo mucho miedo",
    # "to die for" (the cake) once took "to die, forgot..." away: answers8 found it.
    "i want to die, forgot the meeting", "i want to die for real", "i want to die, forgot",
])
def test_crisis_words_are_recognized(text: str) -> None:
    assert in_crisis(read(text))


@pytest.mark.parametrize("text", ["1 call evenings", "I can keep company", "STATUS", "kmsmith",
                                  "dying to see you all", "panic", "crisp apples",
                                  # idioms near outside3's findings
                                  "i want to end it with my boyfriend", "want to end it early today lol",
                                  "me quiero cortar el pelo", "quiero cortarme el pelo",
                                  "going to end it with my girlfriend tonight",
                                  # near outside5's
                                  "i want to disappear into my bed all weekend lol", "quiero dejar de fumar",
                                  "me quiero ir de este trabajo", "i really want to dye my hair blue",
                                  "whats even the point of this meeting", "i just want to live somewhere quiet",
                                  "no quiero estar solo aqui sin ti jaja",
                                  # near outside8's: a favour asked, a trip not worth it, supper undecided
                                  "can someone help me move saturday", "pls help me with the form",
                                  "someone pls help me find the potluck address", "no vale la pena ir",
                                  "no vale la pena seguir esperando el bus", "ayudenme a mover la mesa",
                                  "no se que hacer de cenar", "no tiene caso seguir discutiendo",
                                  "no tiene sentido seguir esperando", "this place is not worth living in",
                                  "not suicidal just tired lol", "my grandma passed on sunday, kinda numb",
                                  "that soup was to die for", "tacos to die for omg"])
def test_everyday_words_are_not_crisis(text: str) -> None:
    assert not in_crisis(read(text))


def test_crisis_words_are_never_kept_only_a_category(sim) -> None:
    run(sim, *SETUP, "+15155550101 > 1 i have been thinking about ending it all",
        "+15155550101 > HOW honestly I want to die", "+15155550101 > CALL")
    dump = database_text(sim)
    for words in ("ending it all", "want to die", "thinking about"):
        assert words not in dump
    with sim.db.transaction() as session:
        flags = session.scalars(select(CareFlag.category).order_by(CareFlag.id)).all()
        consent = session.scalars(select(ConsentEvent.wording).where(ConsentEvent.kind == "call")).all()
    assert flags == ["crisis", "crisis", "call"]
    assert consent == ["CALL: tell my group's on-call people, with my number"]
    # The answer itself counted, without the words.
    run(sim, "+15155550101 > STATUS")
    assert texts_to(sim, "+15155550101")[-1] == "DMMA: you'd like someone to reach out (ongoing)."


def test_nobody_is_told_without_call(sim) -> None:
    run(sim, *SETUP, "+15155550101 > I want to die", "wait 2d")
    assert texts_to(sim, "+15155550100") == []


def test_a_groups_own_resources_come_first(sim) -> None:
    run(sim, 'group AMES name="Ames Care" tz=America/Chicago', "member AMES +15155550109 name=Bo",
        "at 2026-03-03 10:00")
    with sim.db.transaction() as session:
        from carebot.store.models import Group

        session.scalars(select(Group)).one().crisis_resources = "Ames peer line 515-555-0188; Rosa's door is open"
    run(sim, "+15155550109 > I can't go on")
    reply = texts_to(sim, "+15155550109")[-1]
    assert "Ames peer line 515-555-0188; Rosa's door is open" in reply and "Trans Lifeline" not in reply


def test_no_template_default_or_catalog_routes_to_police_or_emergency_numbers() -> None:
    texts = [text for language in LANGUAGES for text in catalog(language).values()]
    texts += list(DEFAULT_RESOURCES.values())
    for text in texts:
        assert not POLICE.search(text), text
    # The catalogs as files, and every string default in carebot's code.
    # carebot/domain/nopolice.py holds those words only to refuse them in a group's crisis resources.
    for path in Path("carebot").rglob("*"):
        if path == Path("carebot/domain/nopolice.py"):
            continue
        if path.suffix in (".po", ".txt"):
            assert not POLICE.search(path.read_text(encoding="utf-8")), path
        if path.suffix == ".py":
            for literal in re.findall(r'"([^"\n]*)"', path.read_text(encoding="utf-8")):
                assert not POLICE.search(literal), (path, literal)
