"""Relayed words are delivered and then not kept; floods and NOT lists apply to the relay."""

from __future__ import annotations

from sqlalchemy import select

from carebot.domain.vocabulary import OutboxStatus
from carebot.store.models import OutboxMessage
from tests.helpers import database_text, run, texts_to

SETUP = [
    'group DMMA name="Des Moines Mutual Aid" tz=America/Chicago private=yes',
    "coordinator DMMA +15155550100 name=Rosa",
    "member DMMA +15155550101 name=Ana",
    "member DMMA +15155550102 name=Sam",
    "at 2026-03-03 10:00",
    "+15155550100 > 0",
    "+15155550102 > 2",
    "+15155550101 > 1",
    "+15155550102 > yes",
]


def test_relayed_words_are_not_kept_once_delivered(sim) -> None:
    run(sim, *SETUP, "+15155550102 > @Ana the blue heron came back to the pond today",
        "+15155550101 > what a lovely thing to hear about the heron")
    assert "Sam (DMMA): the blue heron came back to the pond today" in texts_to(sim, "+15155550101")
    assert "Ana (DMMA): what a lovely thing to hear about the heron" in texts_to(sim, "+15155550102")
    dump = database_text(sim)
    assert "heron" not in dump
    with sim.db.transaction() as session:
        assert all(row.body == "" for row in session.scalars(select(OutboxMessage)) if row.status == "sent")


def test_a_relay_waiting_for_the_morning_is_kept_only_until_it_goes(sim) -> None:
    run(sim, *SETUP, "at 2026-03-03 23:00", "+15155550102 > @Ana goodnight from the porch")
    with sim.db.transaction() as session:  # waiting in the outbox, read through carebot
        waiting = session.scalars(select(OutboxMessage.body).where(OutboxMessage.status == OutboxStatus.PENDING)).all()
    assert any("goodnight from the porch" in body for body in waiting)
    assert "porch" not in database_text(sim)  # encrypted while it waits
    run(sim, "at 2026-03-04 09:00")
    assert "Sam (DMMA): goodnight from the porch" in texts_to(sim, "+15155550101")
    assert "porch" not in database_text(sim)


def test_a_flood_is_not_relayed_and_coordinators_hear_once(sim) -> None:
    run(sim, *SETUP)
    before = len(texts_to(sim, "+15155550101"))
    run(sim, *[f"+15155550102 > @Ana message number {n}" for n in range(30)])
    relayed = [t for t in texts_to(sim, "+15155550101")[before:] if t.startswith("Sam (DMMA)")]
    assert 0 < len(relayed) < 30
    assert "Sam (DMMA): message number 29" not in relayed
    notices = [t for t in texts_to(sim, "+15155550100") if "a great many texts" in t]
    assert len(notices) == 1
    # STOP still works, with its one confirmation.
    run(sim, "+15155550102 > STOP")
    assert "unsubscribed" in texts_to(sim, "+15155550102")[-1]


def test_not_with_ends_an_active_pairing_without_saying_why(sim) -> None:
    run(sim, *SETUP, "+15155550101 > NOT Sam")
    # Her request is still open and nobody else is free: she hears that in the same one text.
    said = texts_to(sim, "+15155550101")[-1]
    assert "nobody else will know" in said and "No one else in DMMA is free yet" in said
    assert "Sam from DMMA will reach out" in texts_to(sim, "+15155550101")[-2]
    ended = texts_to(sim, "+15155550102")[-1]
    assert "pairing with Ana has ended" in ended and "NOT" not in ended
    run(sim, "+15155550102 > @Ana hello?")
    assert "Ana can't receive messages right now" in texts_to(sim, "+15155550102")[-1]
