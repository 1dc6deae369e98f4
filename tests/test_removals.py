"""A removal by coordinators outlives FORGET, keeps no number, and only their ADD ends it (issue 14)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from carebot.services.roster import REASONS, import_roster
from carebot.store.models import Group, Removal
from carebot.tools.transcript import Simulation
from tests.helpers import database_text, run

SAM = "+15155550102"
NOW = datetime(2026, 3, 3, 17, 0, tzinfo=UTC)


def removed_and_forgotten(sim: Simulation) -> None:
    run(sim, 'group DMMA name="Des Moines Mutual Aid" tz=America/Chicago',
        "coordinator DMMA +15155550100 name=Rosa", f"member DMMA {SAM} name=Sam", "at 2026-03-03 10:00",
        "+15155550100 > REMOVE sam", "+15155550100 > yes", f"{SAM} < no longer in",
        f"{SAM} > forget", f"{SAM} > YES", f"{SAM} < Everything about you is erased")


def test_the_removal_record_keeps_no_number_and_survives_forget(sim: Simulation) -> None:
    removed_and_forgotten(sim)
    with sim.db.transaction() as session:
        rows = session.scalars(select(Removal)).all()
        assert len(rows) == 1 and len(rows[0].identity_hash) == 64
    everything = database_text(sim)
    assert SAM not in everything and SAM[2:] not in everything and "Sam" not in everything


def test_a_roster_import_does_not_invite_a_removed_number_back_but_add_does(sim: Simulation) -> None:
    removed_and_forgotten(sim)
    with sim.db.transaction() as session:
        group = session.scalars(select(Group)).one()
        report = import_roster(session, group, "phone,name\n(515) 555-0102,Sam\n+15155550103,Lee\n", NOW)
    assert report.invited == 1 and report.bad == [(2, REASONS["removed"])]
    run(sim, "+15155550100 > add 515 555 0102 Sam", "+15155550100 < Invited", f"{SAM} < Reply YES")
    with sim.db.transaction() as session:
        assert session.scalars(select(Removal)).all() == []
