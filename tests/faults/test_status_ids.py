"""Case 1 of issue 15: a text marked sent that never went.

A row id travels to Twilio (``?outbox=N`` in the status callback URL), so an id
must never name two texts: ids are never reused, on any database, however the
database was made (migration 0007's batch rebuild dropped SQLite's
AUTOINCREMENT). And a status callback is matched by Twilio's own id, never by
a row id alone: a late report for an old text must not mark a new, unsent one.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import delete, text

from carebot.store.db import Database, upgrade
from carebot.store.models import OutboxMessage
from tests.fakes.world import ANA, make_db, queue, row
from tests.helpers import app_for, post, sign, status_form


def reused(db: Database, label: str) -> None:
    """Write texts, delete the newest (as retention does), write another: it must get a new id."""
    first = [queue(db, ANA, f"text {n}") for n in range(3)]
    with db.transaction() as session:
        session.execute(delete(OutboxMessage).where(OutboxMessage.id == first[-1]))
    again = queue(db, ANA, "a new invitation")
    print(f"{label}: ids {first}, newest deleted, next id {again}")
    assert again > first[-1], f"{label}: id {again} reused after its text was deleted"


def test_ids_are_never_reused_on_a_new_database(migrated_url):
    db = make_db(migrated_url)
    try:
        reused(db, "new database")
    finally:
        db.dispose()


def test_ids_are_never_reused_on_a_database_upgraded_through_0007(database_url):
    """An existing deployment: made before 0007, upgraded with `carebot db upgrade` since."""
    upgrade(database_url, "0006")
    upgrade(database_url)
    db = make_db(database_url)
    try:
        reused(db, "upgraded database")
        if db.url.startswith("sqlite"):
            with db.engine.connect() as conn:
                schema = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'outbox'")).scalar()
            assert "AUTOINCREMENT" in schema
    finally:
        db.dispose()


def callback(db, path: str, form: dict) -> int:
    return asyncio.run(post(app_for(db), path, form, sign(path, form))).status_code


@pytest.mark.parametrize("state", ["pending", "sending"])
def test_a_late_callback_naming_a_row_without_a_provider_id_marks_nothing(db, state):
    """The old text's callback names row N; row N is now another, unsent text."""
    row_id = queue(db, ANA, "You're invited to join DMMA")
    if state == "sending":
        with db.transaction() as session:
            session.get(OutboxMessage, row_id).status = "sending"
    path = f"/twilio/status?outbox={row_id}"
    status = callback(db, path, status_form("SM" + "7" * 32, "delivered"))
    after = row(db, row_id)
    print(f"late callback for row {row_id} ({state}): answered {status}, row now {after.status}, "
          f"provider id {after.provider_id}, body kept {bool(after.body)}")
    assert status == 204
    assert (after.status, after.provider_id, after.body) == (state, None, "You're invited to join DMMA")


def test_a_callback_naming_a_row_with_another_provider_id_changes_it_not(db):
    row_id = queue(db, ANA, "Checking in")
    with db.transaction() as session:
        sent = session.get(OutboxMessage, row_id)
        sent.status, sent.provider_id = "sent", "SM" + "1" * 32
    callback(db, f"/twilio/status?outbox={row_id}", status_form("SM" + "2" * 32, "undelivered", "30003"))
    after = row(db, row_id)
    assert (after.provider_id, after.provider_status, after.error_code) == ("SM" + "1" * 32, None, None)


def test_a_callback_is_matched_by_its_provider_id_whatever_row_it_names(db):
    row_id = queue(db, ANA, "Checking in")
    with db.transaction() as session:
        sent = session.get(OutboxMessage, row_id)
        sent.status, sent.provider_id = "sent", "SM" + "3" * 32
    callback(db, f"/twilio/status?outbox={row_id + 40}", status_form("SM" + "3" * 32, "delivered"))
    assert row(db, row_id).provider_status == "delivered"


@pytest.mark.parametrize("outbox", ["99999999999999999999999999", "9223372036854775808", "-1", "1e9", "x"])
def test_an_outbox_id_out_of_range_is_ignored_not_a_503(db, outbox):
    status = callback(db, f"/twilio/status?outbox={outbox}", status_form("SM" + "4" * 32, "delivered"))
    print(f"status callback with ?outbox={outbox}: answered {status}")
    assert status in (204, 400)
