"""The suite's shared helpers: driving the simulation, looking at the database, waiting on a condition,
and the log watch (no number and no member's text in any log). Test modules import shared pieces
from here (or fakes from tests/fakes/), never from one another."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from carebot.store.models import Answer, Member, Membership, OutboxMessage
from carebot.tools.transcript import Simulation

SETUP = [
    'group DMMA name="Des Moines Mutual Aid" tz=America/Chicago',
    "member DMMA +15155550101 name=Ana",
    "at 2026-03-02 10:00",
]


def run(sim: Simulation, *lines: str) -> None:
    async def go() -> None:
        for line in lines:
            await sim.execute(line)

    asyncio.run(go())


def texts_to(sim: Simulation, address: str) -> list[str]:
    return [d.text for d in sim.network.delivered if d.to == address]


def snapshot(sim: Simulation, phone: str) -> tuple:
    """Everything carebot holds about one member, to show it did not change."""
    with sim.db.transaction() as session:
        member = Member.by_phone(session, phone)
        if member is None:
            return ()
        answers = session.execute(
            select(Answer.option, Answer.until, Answer.how, Answer.capacity, Answer.ended_at)
            .where(Answer.member_id == member.id).order_by(Answer.id)
        ).all()
        memberships = session.execute(
            select(Membership.group_id, Membership.role, Membership.status)
            .where(Membership.member_id == member.id)
        ).all()
        return (member.opted_out, member.language, member.name, tuple(answers), tuple(memberships))


def outbox_rows(sim: Simulation) -> list[OutboxMessage]:
    with sim.db.transaction() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def wait_for(check, what: str, seconds: float = 30.0) -> None:
    """Poll until ``check()`` is true; a generous deadline, never a fixed sleep."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    pytest.fail(f"gave up waiting for {what}")


def carebot_units() -> list[Path]:
    """deploy/'s systemd units that run carebot itself (not the Signal service's)."""
    deploy = Path(__file__).resolve().parent.parent / "deploy"
    units = [unit for unit in sorted(deploy.glob("*.service"))
             if re.search(r"^ExecStart=\S*/carebot ", unit.read_text(), re.M)]
    assert units, "no systemd unit in deploy/ runs carebot"
    return units


# --- No numbers or texts in logs (issue 8) ----------------------------------------------
# tests/conftest.py hands every log record (every logger, non-propagating ones too, at DEBUG
# on the root) and every text members send to LOG_WATCH, and checks it after each test:
# a test fails if its own records, or the output of processes it started, hold a phone
# number or one of the texts it sent. tests/test_logs.py tests the check itself.

E164 = re.compile(r"\+\d{8,15}\b")
NANP = re.compile(r"\(?\b\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b")
DIGIT_RUN = re.compile(r"\d[\d\s().-]{6,}\d")


class LogWatch:
    """What was logged during one test, and what members sent in it that must never be logged."""

    def __init__(self) -> None:
        self.records: list[tuple[str, str, str]] = []  # (logger, level, message with its exception)
        self.texts: set[str] = set()
        self.numbers: set[str] = set()

    def keep(self, record) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string is still a record to check
            message = f"{record.msg} {record.args}"
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            message += f" [{type(error).__name__}: {error}]"
        self.records.append((record.name, record.levelname, message))

    def saw(self, messages) -> None:
        for message in messages:
            self.sent(message.sender, message.text)

    def sent(self, sender: str | None, text: str | None) -> None:
        """A text a member sent (here, or to a carebot in another process): it must never be logged."""
        if sender:
            self.numbers.add(sender)
        # A member's own words: anything longer than a keyword or two.
        body = (text or "").strip()
        if len(body) >= 8 and " " in body:
            self.texts.add(body)

    def output(self, source: str, text: str) -> None:
        """What another process (a ``carebot serve``, a crashed sender) printed: each line is checked as a record."""
        self.records.extend((source, "OUTPUT", line) for line in text.splitlines() if line.strip())

    def take(self) -> LogWatch:
        """Everything watched so far, handed over; this watch starts again empty."""
        taken = LogWatch()
        taken.records, taken.texts, taken.numbers = self.records, self.texts, self.numbers
        self.records, self.texts, self.numbers = [], set(), set()
        return taken


def leaks(watch: LogWatch) -> list[str]:
    """The records that give away a number (in any formatting) or a member's text, each with why."""
    national = {re.sub(r"\D", "", n)[-10:] for n in watch.numbers if len(re.sub(r"\D", "", n)) >= 10}
    found = []
    for name, level, message in watch.records:
        why = None
        if E164.search(message) or NANP.search(message):
            why = "a phone number"
        elif any(n in re.sub(r"\D", "", run) for run in DIGIT_RUN.findall(message) for n in national):
            why = "a member's number"
        else:
            said = next((t for t in watch.texts if t in message), None)
            if said is not None:
                why = f"a member's text {said!r}"
        if why:
            found.append(f"{name} {level}: {message[:300]!r} holds {why}")
    return found


# The watch of the test that runs now (between tests: of what runs between them).
LOG_WATCH = LogWatch()
