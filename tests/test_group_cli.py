"""The volunteer's set-up by command: groups and roster imports (invitations, never memberships)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner
from freezegun import freeze_time
from sqlalchemy import select

from carebot.cli import main
from carebot.domain import startup
from carebot.store.db import Database
from carebot.store.models import Group, Membership
from carebot.tools.transcript import Simulation


@pytest.fixture
def env(database_url: str, monkeypatch) -> str:
    url = database_url
    monkeypatch.setenv("CAREBOT_DATABASE_URL", url)
    return url


def carebot(*args: str):
    return CliRunner().invoke(main, list(args))


def test_commands_refuse_an_unmigrated_database(env: str) -> None:
    result = carebot("group", "list")  # SQLite: no file yet; PostgreSQL: an empty database
    assert result.exit_code in (startup.DATABASE_MISSING, startup.SCHEMA) and "carebot db upgrade" in result.output


def test_group_add_list_edit(env: str) -> None:
    assert carebot("db", "upgrade").exit_code == 0
    added = carebot("group", "add", "dmma", "--name", "Des Moines Mutual Aid", "--tz", "America/Chicago",
                    "--crisis", "Peer warmline 515-555-0175")
    assert added.exit_code == 0 and "Created DMMA" in added.output
    for bad, reason in [(["help", "--name", "X"], "already understands"),
                        (["dmma", "--name", "X"], "already a group"),
                        (["ames", "--name", "X", "--tz", "Mars/Base"], "unknown timezone"),
                        (["ames", "--name", "X", "--schedule", "every monday"], "not a crontab"),
                        (["ames", "--name", "X", "--daytime", "20-9"], "daytime")]:
        result = carebot("group", "add", *bad)
        assert result.exit_code == 1 and reason in result.output, result.output
    edited = carebot("group", "edit", "DMMA", "--daytime", "10-19", "--schedule", "30 18 * * thu",
                     "--two-coordinators")
    assert edited.exit_code == 0, edited.output
    listed = carebot("group", "list").output
    assert 'DMMA             Des Moines Mutual Aid | America/Chicago | en | rounds "30 18 * * thu" | daytime 10-19' in listed
    assert "second coordinator needed" in listed
    db = Database(env)
    with db.transaction() as session:
        group = session.scalars(select(Group)).one()
        assert group.crisis_resources == "Peer warmline 515-555-0175" and group.next_round_at is None
    db.dispose()


@pytest.mark.parametrize("resources", ["Call 911", "police non-emergency 515-555-0100", "Policía 515-555-0100",
                                       "Sheriff’s office", "law enforcement", "servicios de emergencia"])
def test_crisis_resources_naming_police_are_refused_in_one_line(env: str, resources: str) -> None:
    assert carebot("db", "upgrade").exit_code == 0
    added = carebot("group", "add", "DMMA", "--name", "Des Moines Mutual Aid", "--crisis", resources)
    assert added.exit_code == 1 and "Traceback" not in added.output
    assert len(added.output.strip().splitlines()) == 1 and "police or emergency services" in added.output, \
        added.output
    assert "No groups yet" in carebot("group", "list").output
    assert carebot("group", "add", "DMMA", "--name", "Des Moines Mutual Aid", "--crisis", "Peer line 515-555-0175"
                   ).exit_code == 0
    edited = carebot("group", "edit", "DMMA", "--name", "DMMA Care", "--crisis", resources)
    assert edited.exit_code == 1 and len(edited.output.strip().splitlines()) == 1, edited.output
    assert "police or emergency services" in edited.output
    db = Database(env)
    with db.transaction() as session:  # nothing of the refused edit is kept
        group = session.scalars(select(Group)).one()
        assert (group.name, group.crisis_resources) == ("Des Moines Mutual Aid", "Peer line 515-555-0175")
    db.dispose()


def test_roster_import_invites_good_rows_and_reports_bad_ones(env: str, tmp_path: Path) -> None:
    carebot("db", "upgrade")
    carebot("group", "add", "DMMA", "--name", "Des Moines Mutual Aid", "--tz", "America/Chicago")
    roster = tmp_path / "roster.csv"
    roster.write_text("Phone,Name,Role\n+15155550101,Ana,coordinator\n(515) 555-0101,Ana again,\n"
                      "12,Bad,\n+15155550102,Sam,boss\n,Nobody,\n515-555-0103,Lee,\n")
    with freeze_time("2026-03-03 15:00:00"):  # 09:00 in Chicago
        result = carebot("roster", "import", str(roster), "--group", "dmma")
    assert result.exit_code == 0, result.output
    assert "2 invited to DMMA" in result.output
    assert "line 3: the same number appears earlier in the file" in result.output
    assert "line 4: not a phone number carebot can text" in result.output
    assert "line 5: role must be member or coordinator" in result.output
    assert "line 6: no phone number" in result.output
    with freeze_time("2026-03-03 15:00:00"):
        again = carebot("roster", "import", str(roster), "--group", "dmma")
    assert "0 invited" in again.output and "line 2: invited less than a month ago" in again.output

    db = Database(env)
    with db.transaction() as session:
        statuses = session.scalars(select(Membership.status)).all()
    assert statuses == ["invited", "invited"]  # invitations, not memberships
    # Each invitee gets exactly one text; Ana becomes a coordinator only by her own YES.
    sim = Simulation(db)
    network = sim.network

    async def deliver() -> None:
        await sim.execute("at 2026-03-03 16:00")  # UTC: this simulation has no group line

    asyncio.run(deliver())
    invitations = [d for d in network.delivered]
    assert {d.to for d in invitations} == {"+15155550101", "+15155550103"}
    assert all("invited to Des Moines Mutual Aid's care check-ins" in d.text for d in invitations)

    async def reply() -> None:
        await sim.execute("+15155550101 > yes")
        await sim.execute("+15155550101 < Welcome to Des Moines Mutual Aid")
        await sim.execute("+15155550101 > PAIRS")
        await sim.execute("+15155550101 < DMMA: no pairs yet")
        await sim.execute("+15155550103 < invited")
        await sim.execute("wait 3d")
        await sim.execute("quiet +15155550103")

    asyncio.run(reply())
    sim.db.dispose()


def test_roster_import_needs_an_existing_group(env: str, tmp_path: Path) -> None:
    carebot("db", "upgrade")
    roster = tmp_path / "r.csv"
    roster.write_text("phone,name\n+15155550101,Ana\n")
    result = carebot("roster", "import", str(roster), "--group", "NOPE")
    assert result.exit_code == 1 and "no group with the keyword NOPE" in result.output



def test_a_roster_in_spanish_headers_is_read_and_one_bad_row_is_singular(env: str, tmp_path: Path) -> None:
    carebot("db", "upgrade")
    carebot("group", "add", "DMMA", "--name", "Des Moines Mutual Aid")
    roster = tmp_path / "r.csv"
    roster.write_text("Número,Nombre\n+15155550101,Ana\n12,Nadie\n")
    result = carebot("roster", "import", str(roster), "--group", "dmma")
    assert result.exit_code == 0, result.output
    assert "1 invited to DMMA" in result.output and "line 3: not a phone number" in result.output
    assert result.output.strip().endswith("\n1 row skipped."), result.output
    accents = tmp_path / "acentos.csv"
    accents.write_text("teléfono,nombre,rol\n+15155550102,Luz,Coordinadora\n+15155550106,Sol,jefe\n")
    spanish = carebot("roster", "import", str(accents), "--group", "dmma").output
    assert "1 invited to DMMA" in spanish and "line 3: role must be member or coordinator" in spanish, spanish
    db = Database(env)
    with db.transaction() as session:
        assert session.scalars(select(Membership.role).where(Membership.role == "coordinator")).all() == [
            "coordinator"]
    db.dispose()
    # A spreadsheet set to Spanish saves its CSV with semicolons (the comma is its decimal mark); tabs too.
    for n, separated in enumerate(["Teléfono;Nombre\n+1 515 555 0104;Eva\n", "phone\tname\n+15155550105\tIsa\n"]):
        other = tmp_path / f"other{n}.csv"
        other.write_text(separated)
        assert "1 invited to DMMA" in carebot("roster", "import", str(other), "--group", "dmma").output


@pytest.mark.parametrize("first_line, said", [
    ("cell,first name", "the header (first line) has no phone column: it has cell, first name"),
    ("+15155550101,Ana", "the first line is a row, not a header: add phone,name as the first line"),
    ("", "the file is empty"),
])
def test_a_roster_without_a_phone_column_is_one_line_and_invites_nobody(env: str, tmp_path: Path, first_line: str,
                                                                       said: str) -> None:
    carebot("db", "upgrade")
    carebot("group", "add", "DMMA", "--name", "Des Moines Mutual Aid")
    roster = tmp_path / "r.csv"
    roster.write_text(f"{first_line}\n+15155550103,Lee\n" if first_line else "")
    result = carebot("roster", "import", str(roster), "--group", "dmma")
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1 and said in result.output, result.output
    if first_line:
        assert "phone (or phone number, telefono, numero), name (or nombre), role (or rol)" in result.output
    db = Database(env)
    with db.transaction() as session:
        assert session.scalars(select(Membership)).all() == []
    db.dispose()


def test_how_long_two_are_kept_apart_after_a_pairing_ends_is_a_group_option(env: str) -> None:
    assert carebot("db", "upgrade").exit_code == 0
    assert carebot("group", "add", "DMMA", "--name", "Des Moines Mutual Aid").exit_code == 0

    def days() -> int:
        db = Database(env)
        try:
            with db.transaction() as session:
                return session.scalars(select(Group)).one().pair_again_after_days
        finally:
            db.dispose()

    assert days() == 28 and "paired again" not in carebot("group", "list").output  # the default, not shown
    for value, expected in [("14", 14), ("2w", 14), (" 10d ", 10), ("0", 0), ("365", 365)]:
        edited = carebot("group", "edit", "dmma", "--pair-again-after", value)
        assert edited.exit_code == 0 and "Updated DMMA" in edited.output, edited.output
        assert days() == expected
    assert "| the same two paired again after 365 days" in carebot("group", "list").output
    for bad in ["-1", "366", "a month", "4.5", ""]:
        refused = carebot("group", "edit", "DMMA", "--pair-again-after", bad, "--name", "Renamed")
        lines = refused.output.strip().splitlines()
        assert refused.exit_code == 1 and len(lines) == 1 and "Traceback" not in refused.output, refused.output
        assert "--pair-again-after" in lines[0] and "e.g. 28 or 4w" in lines[0], lines[0]
        assert days() == 365 and "Renamed" not in carebot("group", "list").output  # nothing of it kept


def test_a_shorter_time_apart_lets_the_engine_offer_the_same_two_again(env: str, monkeypatch) -> None:
    from carebot.domain import clock

    assert carebot("db", "upgrade").exit_code == 0
    db = Database(env)
    sim = Simulation(db)

    def run(*lines: str) -> None:
        async def go() -> None:
            for line in lines:
                await sim.execute(line)

        asyncio.run(go())

    run('group DMMA name="Des Moines Mutual Aid" tz=America/Chicago',
        "coordinator DMMA +15155550100 name=Rosa", "member DMMA +15155550101 name=Ana",
        "member DMMA +15155550102 name=Sam", "at 2026-03-03 10:00",
        "+15155550102 > 2", "+15155550101 > 1", r"+15155550102 < Ana \(DMMA\) asked for someone to reach out",
        "+15155550102 > yes", "+15155550101 < Sam from DMMA will reach out",
        "+15155550100 > UNPAIR Ana Sam", "+15155550102 < coordinators ended your pairing with Ana",
        "wait 2h", "quiet +15155550102")  # kept apart: 28 days by default
    monkeypatch.setattr(clock, "now", lambda: sim.now)
    assert carebot("group", "edit", "DMMA", "--pair-again-after", "0").exit_code == 0
    run("wait 10m", r"+15155550102 < Ana \(DMMA\) asked for someone to reach out")
    db.dispose()
