"""No setting routes anything to police (finding 7): a group's crisis resources naming police or an
emergency number are refused by the transcript runner's ``crisis=`` (and ``carebot group add/edit
--crisis``, tests/test_group_cli.py), and ``carebot check`` flags a database that already has them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select, update

from carebot.domain import clock
from carebot.domain.nopolice import police_words
from carebot.services.groups import add_group
from carebot.store.db import Database
from carebot.store.models import Group
from carebot.tools.transcript import Simulation, TranscriptError
from tests.helpers import check, run, texts_to

# How operators write them, in English and Spanish, with and without accents and capitals.
POLICE_RESOURCES = [
    "Call 911",
    "if it's bad call 9-1-1.",
    "police non-emergency 515-555-0100",
    "Des Moines Police Dept 515-555-0100",
    "Sheriff’s office 515-555-0100",
    "law enforcement liaison: Officer Bo",
    "Emergency services",
    "Policía municipal 515-555-0100",
    "llama a la policia",
    "llama al 911",
    "servicios de emergencia: 112",
    "Línea de emergencias 112",
    "ask them for a wellness check",
    "the cops",
    "nine one one",
]
OWN_RESOURCES = [
    "Peer warmline 515-555-0175",
    "Ames peer line 515-555-0188; Rosa's door is open",
    "Trans Lifeline 877-565-8860\nRosa on call 515-911-0100",  # 911 inside a number is not 911
    "988 Suicide & Crisis Lifeline",
    "En una emergencia, llama a Rosa: 515 911 0100",
    "Línea de apoyo entre pares 515-555-0175",
]


@pytest.mark.parametrize("resources", POLICE_RESOURCES)
def test_police_and_emergency_numbers_are_recognized(resources: str) -> None:
    assert police_words(resources), resources


@pytest.mark.parametrize("resources", OWN_RESOURCES)
def test_a_groups_own_people_and_peer_lines_are_not(resources: str) -> None:
    assert police_words(resources) == [], resources


def test_a_transcripts_crisis_setting_is_the_groups_resources(sim: Simulation) -> None:
    run(sim, 'group AMES name="Ames Care" tz=America/Chicago crisis="Ames peer line 515-555-0188\\nRosa 515-555-0100"',
        "member AMES +15155550109 name=Bo", "at 2026-03-03 10:00", "+15155550109 > I can't go on")
    with sim.db.transaction() as session:
        assert session.scalars(select(Group.crisis_resources)).one() == "Ames peer line 515-555-0188\nRosa 515-555-0100"
    reply = texts_to(sim, "+15155550109")[-1]
    assert "Ames peer line 515-555-0188" in reply and "Trans Lifeline" not in reply


@pytest.mark.parametrize("resources", ["Call 911", "police non-emergency 515-555-0100", "Policía 515-555-0100"])
def test_a_transcripts_crisis_setting_naming_police_is_refused(sim: Simulation, resources: str) -> None:
    with pytest.raises(TranscriptError, match="police or emergency services"):
        asyncio.run(sim.execute(f'group AMES name="Ames Care" crisis="{resources}"'))
    with sim.db.transaction() as session:
        assert session.scalars(select(Group)).first() is None


def test_check_flags_a_group_whose_resources_name_police(deployment) -> None:
    db = Database(deployment["CAREBOT_DATABASE_URL"])
    with db.transaction() as session:
        add_group(session, keyword="DMMA", name="Des Moines Mutual Aid", crisis_resources="Peer line 515-555-0175",
                  now=clock.now())
        add_group(session, keyword="AMES", name="Ames Care", now=clock.now())
    code, lines = check()
    assert code == 0 and lines["crisis resources"].startswith("✓"), lines
    with db.transaction() as session:  # set before carebot refused it, or straight in the database
        session.execute(update(Group).where(Group.keyword == "AMES").values(crisis_resources="Sheriff 515-555-0100"))
    db.dispose()
    code, lines = check()
    assert code == 1
    said = lines["crisis resources"]
    assert said.startswith("✗") and "AMES" in said and '"sheriff"' in said and "DMMA" not in said, said
    assert "carebot group edit" in said


def test_check_says_which_groups_have_no_crisis_resources_of_their_own(deployment) -> None:
    """A group made without its own people (as `carebot init` makes one) is no failure, but check must
    not call its resources "its own people": its members hear only the national lines carebot ships."""
    db = Database(deployment["CAREBOT_DATABASE_URL"])
    with db.transaction() as session:
        add_group(session, keyword="DMMA", name="Des Moines Mutual Aid", crisis_resources="Peer line 515-555-0175",
                  now=clock.now())
        add_group(session, keyword="AMES", name="Ames Care", now=clock.now())
    db.dispose()
    code, lines = check()
    said = lines["crisis resources"]
    assert code == 0 and said.startswith("✓"), lines
    assert "AMES has none of its own" in said and "DMMA" not in said and "its own people" not in said, said
    assert "carebot group edit AMES --crisis" in said, said
    # What they hear is named, from the code, here and in the README (outside5: "which national lines?").
    from carebot.flows.crisis import DEFAULT_RESOURCES

    assert f"members hear only carebot's default, {DEFAULT_RESOURCES['en']}" in said, said
    readme = " ".join((Path(__file__).parent.parent / "README.md").read_text().split())
    for resources in DEFAULT_RESOURCES.values():
        assert f"`{resources}`" in readme
    assert "a peer-support line, never police or 911" in readme
