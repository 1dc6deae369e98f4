"""Small helpers for tests that drive the simulation and look at the database."""

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
