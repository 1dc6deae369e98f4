"""``carebot status`` (issue 20): counts for the operator, never a number or a text.

A database is planted with members in every state, requests waiting and answered, texts failed
and waiting after a refusal (with numbers and bodies in them), and a Signal pause; the overview
must count each, in a few queries, and hold none of the numbers or bodies.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import event

from carebot.cli import main
from carebot.domain import clock
from carebot.store.db import Database
from carebot.store.models import Answer, Group, Member, Membership, OutboxMessage, Pairing, ProviderPause

NOW = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
BODY = "Ana at 12 Elm St needs insulin tonight"
NUMBERS = ["+15155550101", "+15155550102", "+15155550103", "+15155550104", "+15155550105", "+15155550106"]


def plant(db: Database, extra_members: int = 0) -> None:
    with db.transaction() as s:
        circle = Group(keyword="CIRCLE", name="Eastside Care", timezone="America/Chicago", created_at=NOW)
        vecinos = Group(keyword="VECINOS", name="Vecinos Unidos", timezone="America/New_York", created_at=NOW)
        s.add_all([circle, vecinos])
        s.flush()
        people = []
        for i, phone in enumerate(NUMBERS + [f"+1515556{n:04d}" for n in range(extra_members)]):
            person = Member(phone=phone, name=f"Person{i}", created_at=NOW, opted_out=(i == 2))
            s.add(person)
            s.flush()
            people.append(person)
            s.add(Membership(group_id=circle.id, member_id=person.id, created_at=NOW,
                             status="invited" if i == 3 else "active", role="coordinator" if i == 0 else "member"))
        ana, ben, cara, _, eve, fay = people[:6]
        s.add(Membership(group_id=vecinos.id, member_id=fay.id, created_at=NOW, status="active"))
        s.add_all([
            Answer(group_id=circle.id, member_id=ben.id, option=3, since=NOW - timedelta(days=1)),  # resting
            Answer(group_id=circle.id, member_id=ana.id, option=1, since=NOW - timedelta(days=3, hours=2),
                   how=BODY),  # waiting three days
            Answer(group_id=circle.id, member_id=eve.id, option=4, since=NOW - timedelta(hours=5)),  # waiting
            Answer(group_id=circle.id, member_id=fay.id, option=1, since=NOW - timedelta(hours=1)),  # answered
            Answer(group_id=circle.id, member_id=cara.id, option=1, since=NOW - timedelta(hours=2)),  # stopped
            Answer(group_id=circle.id, member_id=ben.id, option=1, since=NOW - timedelta(days=9),
                   ended_at=NOW - timedelta(days=8)),  # over
        ])
        s.add(Pairing(group_id=circle.id, requester_id=fay.id, supporter_id=ana.id, kind=1, status="active",
                      offered_at=NOW - timedelta(minutes=30)))

        def text(status: str, code: str | None, *, age: timedelta = timedelta(hours=1), channel: str = "sms",
                 provider_status: str | None = None, not_before: datetime = NOW) -> OutboxMessage:
            return OutboxMessage(member_id=ana.id, group_id=circle.id, channel=channel, address=NUMBERS[0],
                                 body=f"{BODY} call {NUMBERS[1]}", purpose="push", status=status,
                                 not_before=not_before, error_code=code, provider_status=provider_status,
                                 created_at=NOW - age)
        s.add_all([
            text("failed", "21610"), text("failed", "21610"), text("failed", "Unreachable: " + NUMBERS[4]),
            text("sent", "30007", provider_status="undelivered"),
            text("pending", "rate-limit", channel="signal", not_before=NOW + timedelta(minutes=10)),
            text("failed", "21610", age=timedelta(days=8)),  # before the last 7 days
            text("pending", None, not_before=NOW - timedelta(minutes=2)),  # due
            text("pending", None, not_before=NOW + timedelta(hours=20)),  # scheduled
            text("sending", None),
        ])
        s.add(ProviderPause(channel="signal", until=NOW + timedelta(hours=2), pauses=3))


@pytest.fixture
def planted(migrated_url, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CAREBOT_DATABASE_URL", migrated_url)
    monkeypatch.setenv("CAREBOT_SYSTEM_ENV_FILE", str(tmp_path / "none.env"))
    for name in ("CAREBOT_PUBLIC_URL", "TWILIO_ACCOUNT_SID", "SIGNAL_SERVICE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(clock, "now", lambda: NOW)
    db = Database(migrated_url)
    yield db
    db.dispose()


def status() -> str:
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_overview_counts_everything_and_names_no_one(planted) -> None:
    plant(planted)
    out = status()
    lines = out.splitlines()
    assert lines[0].startswith("carebot status at 2026-03-02 16:00 UTC; schema 0")
    assert "(up to date)" in lines[0]
    circle = next(line for line in lines if "CIRCLE" in line)
    assert "Eastside Care (America/Chicago): 3 active, 1 resting, 1 stopped, 1 invited" in circle
    assert "2 requests waiting, the oldest for 3 days" in circle
    vecinos = next(line for line in lines if "VECINOS" in line)
    assert "1 active, 0 resting, 0 stopped, 0 invited; no request waiting" in vecinos
    assert "Texts waiting to be handled: none" in out and "given up" not in out
    assert "Outbox: 1 due now, 1 being sent, 2 scheduled for later" in out
    assert "Last 7 days, failed: 4 (sms 21610: 2, sms 30007: 1, sms other: 1)" in out
    assert "Last 7 days, waiting after a provider refused them: 1 (signal rate-limit: 1)" in out
    assert "Signal: paused by the service until 2026-03-02 18:00 UTC (3 in a row)" in out
    for secret in [*NUMBERS, "5155550", BODY, "insulin", "Elm", "Person"]:
        assert secret not in out


def test_a_few_queries_whatever_the_number_of_members(planted, monkeypatch) -> None:
    plant(planted, extra_members=60)
    statements: list[str] = []
    from carebot.store import db as store

    opened = store.open_database

    def counting(url, **kwargs):
        database = opened(url, **kwargs)
        event.listen(database.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        return database

    monkeypatch.setattr(store, "open_database", counting)
    out = status()
    assert "63 active" in out
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert 0 < len(selects) <= 20, selects


def test_an_empty_deployment_and_signal_off(planted, monkeypatch) -> None:
    monkeypatch.setenv("CAREBOT_PUBLIC_URL", "https://care.example.org")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "f" * 32)
    monkeypatch.setenv("TWILIO_FROM", "+15155550100")
    out = status()
    assert "Groups: none yet" in out and "Outbox: 0 due now, 0 being sent, 0 scheduled for later" in out
    assert "Last 7 days, failed: 0" in out and "Signal: off (SMS only)" in out


def carebot_in(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """``carebot ARGS`` as a process in ``folder``, with only the carebot settings given."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CAREBOT_", "TWILIO_", "SIGNAL_"))}
    clean["CAREBOT_SYSTEM_ENV_FILE"] = str(folder / "system.env")  # not the machine's own /etc/carebot
    return subprocess.run([sys.executable, "-m", "carebot", *args], cwd=folder, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def refusal(done: subprocess.CompletedProcess) -> str:
    assert done.returncode not in (0, 1) and "Traceback" not in done.stderr, done.stderr
    [line] = done.stderr.strip().splitlines()
    return line


def test_in_an_empty_folder_status_points_to_carebot_init(tmp_path) -> None:
    # Outside report, finding 24: it pointed to `carebot db upgrade`, which then refused.
    line = refusal(carebot_in(tmp_path, "status"))
    assert "`carebot init`" in line and "db upgrade" not in line, line


def test_with_no_key_status_points_to_carebot_init(tmp_path) -> None:
    # A setting in the environment, but no settings file and no key: a first run here.
    line = refusal(carebot_in(tmp_path, "status", CAREBOT_DEFAULT_TIMEZONE="America/Chicago"))
    assert "CAREBOT_SECRET_KEY is not set" in line and "`carebot init`" in line, line


def test_with_a_key_but_no_database_the_command_status_names_works(tmp_path) -> None:
    key = {"CAREBOT_SECRET_KEY": "k" * 43}
    line = refusal(carebot_in(tmp_path, "status", **key))
    assert "`carebot init`" in line, line
    suggested = re.search(r"`carebot (db upgrade [^`]+)`", line)
    assert suggested, line
    made = carebot_in(tmp_path, *suggested.group(1).split(), **key)
    assert made.returncode == 0, made.stderr
    # The database made there is the one status then reads (the settings name no other).
    shown = carebot_in(tmp_path, "status", **key)
    assert shown.returncode == 0 and "Groups: none yet" in shown.stdout, shown.stderr


def test_texts_held_by_a_daily_budget_are_counted_per_group(planted, monkeypatch) -> None:
    # A runaway of carebot's own texts in one group, stopped by its budget of 3 a day: status says how
    # many wait for the group's next day, in that group's line only, with no number or text.
    import asyncio

    from sqlalchemy import select

    from carebot.outbox.write import push
    from carebot.services.groups import edit_group
    from carebot.tools.transcript import Simulation

    sim = Simulation(planted)

    async def go(*lines: str) -> None:
        for line in lines:
            await sim.execute(line)

    asyncio.run(go('group DMMA name="Des Moines Mutual Aid" tz=America/Chicago',
                   f"coordinator DMMA {NUMBERS[0]} name=Rosa", f"member DMMA {NUMBERS[1]} name=Ana",
                   'group AMES name="Ames Care" tz=America/Chicago', f"member AMES {NUMBERS[2]} name=Ben",
                   "at 2026-03-02 10:00"))
    with planted.transaction() as session:
        edit_group(session, "DMMA", daily_budget=3)
    with planted.transaction() as session:
        for keyword, phone, count in (("DMMA", NUMBERS[1], 8), ("AMES", NUMBERS[2], 2)):
            member = Member.by_phone(session, phone)
            group = session.scalars(select(Group).where(Group.keyword == keyword)).one()
            for n in range(count):
                push(session, member, f"{BODY} {n}", sim.now, group.id)
    asyncio.run(sim.advance_to(sim.now + timedelta(minutes=1)))
    assert len([d for d in sim.network.delivered if d.to == NUMBERS[1]]) == 3  # the budget held the rest
    monkeypatch.setattr(clock, "now", lambda: sim.now)
    out = status()
    dmma = next(line for line in out.splitlines() if "DMMA" in line)
    assert dmma.endswith("; 5 texts held by its daily budget of 3 until its next day"), dmma
    ames = next(line for line in out.splitlines() if "AMES" in line)
    assert "held" not in ames, ames
    for secret in [*NUMBERS, "5155550", BODY, "insulin"]:
        assert secret not in out
    # The budget raised, the held texts are due at once: nothing is held any more.
    assert CliRunner().invoke(main, ["group", "edit", "DMMA", "--budget", "100"]).exit_code == 0
    assert "held by its daily budget" not in status()


def test_a_signal_service_without_its_number_is_named(planted, monkeypatch) -> None:
    # Last session's note: `check` said so, `status` said nothing ("Signal: no pause recorded").
    monkeypatch.setenv("CAREBOT_PUBLIC_URL", "https://care.example.org")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "f" * 32)
    monkeypatch.setenv("TWILIO_FROM", "+15155550100")
    monkeypatch.setenv("SIGNAL_SERVICE", "127.0.0.1:8080")
    monkeypatch.delenv("SIGNAL_NUMBER", raising=False)
    out = status()
    [line] = [line for line in out.splitlines() if line.startswith("Settings:")]
    assert "SIGNAL_NUMBER" in line and "carebot serve" in line, line


def test_the_inbound_queue_texts_waiting_and_given_up_in_plain_words(planted, monkeypatch) -> None:
    # An outside tester's finding: a stalled worker, or a text that keeps failing, showed nowhere.
    from carebot.channels import SMS, Inbound
    from carebot.dispatch.dispatcher import Dispatcher
    from tests.helpers import LOG_WATCH
    from tests.test_inbound_queue_status import give_up

    plant(planted)
    dispatcher = Dispatcher(planted)

    def text(body: str, sid: str, sender: str, ago: timedelta) -> None:
        LOG_WATCH.sent(sender, body)
        assert dispatcher.store_inbound(Inbound(SMS, sid, sender, body, NOW - ago)) is not None

    text(f"NAME Bea {BODY}", "SM1", NUMBERS[0], timedelta(days=2))  # given up two days ago
    text(f"NAME Cleo {BODY}", "SM2", NUMBERS[1], timedelta(hours=3))  # given up today
    give_up(planted, monkeypatch)  # a bug makes handling them raise, every time
    text("join circle", "SM3", "+15155550177", timedelta(minutes=2, seconds=30))  # the worker is stopped
    text("status", "SM4", NUMBERS[4], timedelta(seconds=20))
    out = status()
    assert "Texts waiting to be handled: 2 (the oldest 2 minutes)" in out
    assert "Texts given up after 5 failed tries: 1 in the last day, 2 in all (see the log lines 'given up')" in out
    for secret in [*NUMBERS, "5155550", BODY, "insulin", "Bea", "Cleo"]:
        assert secret not in out

    monkeypatch.setattr(clock, "now", lambda: NOW + timedelta(hours=5))
    assert "Texts waiting to be handled: 2 (the oldest 5 hours)" in status()
    monkeypatch.setattr(clock, "now", lambda: NOW + timedelta(days=3))
    assert "Texts waiting to be handled: 2 (the oldest 3 days)" in status()
    dispatcher.process_pending()
    out = status()
    assert "Texts waiting to be handled: none" in out
    assert "Texts given up after 5 failed tries: 0 in the last day, 2 in all" in out
