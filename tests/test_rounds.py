"""Rounds live in carebot's own tables: a restart loses nothing, a missed round runs once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from carebot.channels.sim import SimNetwork
from carebot.dispatch.dispatcher import Dispatcher
from carebot.runtime.ticker import tick
from carebot.services.groups import add_group, add_member
from carebot.store.db import Database
from carebot.store.models import Group

MONDAY_10_CHICAGO = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)  # CDT from March 8


def setup(url: str) -> Database:
    db = Database(url)  # at the migrations' head (migrated_url)
    with db.transaction() as session:
        add_group(session, keyword="DMMA", name="Des Moines Mutual Aid", timezone="America/Chicago",
                  now=MONDAY_10_CHICAGO - timedelta(days=20))
        for n in range(3):
            add_member(session, keyword="DMMA", phone=f"+1515555010{n}", name=f"M{n}",
                       now=MONDAY_10_CHICAGO - timedelta(days=20))
    return db


def run_tick(db: Database, network: SimNetwork, now: datetime) -> None:
    """One beat of a freshly started carebot process (a new dispatcher every time)."""
    network.clock = now
    asyncio.run(tick(Dispatcher(db), network.channels(), now))


def test_a_round_missed_while_down_runs_once_when_back(migrated_url: str) -> None:
    db = setup(migrated_url)
    network = SimNetwork()
    run_tick(db, network, MONDAY_10_CHICAGO - timedelta(days=14))  # first start: schedules only
    assert network.delivered == []
    with db.transaction() as session:
        # 10:00 in Chicago that same Monday (CST, before the clocks change).
        assert session.scalar(select(Group.next_round_at)) == datetime(2026, 2, 23, 16, 0, tzinfo=UTC)
    # carebot was down for two rounds; it comes back on Monday at 14:00.
    back = MONDAY_10_CHICAGO + timedelta(hours=4)
    run_tick(db, network, back)
    assert len(network.delivered) == 3 and all("go-around" in d.text for d in network.delivered)
    # Restarted again at once, and an hour later: nothing is sent twice.
    run_tick(db, network, back)
    run_tick(db, network, back + timedelta(hours=1))
    assert len(network.delivered) == 3
    with db.transaction() as session:
        assert session.scalar(select(Group.next_round_at)) == MONDAY_10_CHICAGO + timedelta(days=7)
    db.dispose()


def test_a_round_due_at_night_waits_for_the_morning(migrated_url: str) -> None:
    db = setup(migrated_url)
    with db.transaction() as session:
        session.scalars(select(Group)).one().round_schedule = "0 23 * * mon"
    network = SimNetwork()
    night = MONDAY_10_CHICAGO + timedelta(hours=13)  # 23:00 in Chicago
    run_tick(db, network, night - timedelta(hours=1))
    run_tick(db, network, night)
    assert network.delivered == []
    run_tick(db, network, night + timedelta(hours=10))  # 09:00 Tuesday
    assert len(network.delivered) == 3
    assert {d.at for d in network.delivered} == {night + timedelta(hours=10)}
    db.dispose()
