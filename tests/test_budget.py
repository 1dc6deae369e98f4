"""A group's daily budget of texts: a runaway of carebot's own texts stops, and coordinators hear of it once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from freezegun import freeze_time
from sqlalchemy import insert, select

from carebot.cli import BUDGET_HELP, main
from carebot.domain import metrics
from carebot.outbox import budget
from carebot.outbox.sender import deliver_due
from carebot.outbox.write import REPLY, enqueue, push
from carebot.services.groups import GroupError, edit_group
from carebot.store.db import Database
from carebot.store.models import Group, Member, OutboxMessage
from carebot.tools.transcript import Simulation

ROSA, ANA, BEN = "+15155550100", "+15155550101", "+15155550102"
ZOE, YUSUF = "+15155550200", "+15155550201"
MONDAY_10AM = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # 10:00 in Des Moines
CHICAGO_MIDNIGHT = datetime(2026, 3, 3, 6, 0, tzinfo=UTC)
TUESDAY_9AM = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
WEDNESDAY_9AM = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
NOTICE = "today's 3 texts"


def run(sim: Simulation, *lines: str) -> None:
    async def go():
        for line in lines:
            await sim.execute(line)

    asyncio.run(go())


def setup(sim: Simulation, daily: int | None = 3) -> None:
    run(sim,
        'group DMMA name="Des Moines Mutual Aid" tz=America/Chicago',
        f"coordinator DMMA {ROSA} name=Rosa",
        f"member DMMA {ANA} name=Ana",
        f"member DMMA {BEN} name=Ben",
        "at 2026-03-02 10:00")
    with sim.db.transaction() as session:
        edit_group(session, "DMMA", daily_budget=daily)


def runaway(sim: Simulation, phone: str, count: int, keyword: str = "DMMA") -> None:
    """``count`` texts carebot starts on its own to one member, as a loop gone wrong would."""
    with sim.db.transaction() as session:
        member = Member.by_phone(session, phone)
        group = session.scalars(select(Group).where(Group.keyword == keyword)).one()
        for n in range(count):
            push(session, member, f"check-in {n}", sim.now, group.id)


def texts(sim: Simulation, to: str) -> list[str]:
    return [d.text for d in sim.network.delivered if d.to == to]


def advance(sim: Simulation, moment: datetime) -> None:
    asyncio.run(sim.advance_to(moment))


def test_a_runaway_stops_at_the_budget_and_the_rest_go_on_the_next_days_by_day(sim: Simulation) -> None:
    setup(sim)
    runaway(sim, ANA, 8)
    held = metrics.REGISTRY.get_sample_value("carebot_held_by_budget_total")
    advance(sim, MONDAY_10AM + timedelta(minutes=1))
    assert texts(sim, ANA) == ["check-in 0", "check-in 1", "check-in 2"]
    assert metrics.REGISTRY.get_sample_value("carebot_held_by_budget_total") == held + 5
    [notice] = texts(sim, ROSA)
    assert NOTICE in notice and "DMMA" in notice and "--budget" in notice
    with sim.db.transaction() as session:
        held = session.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending")).all()
        assert len(held) == 5 and {row.not_before for row in held} == {CHICAGO_MIDNIGHT}
    # Midnight is a new day, but still night: nothing reaches anyone before the morning.
    advance(sim, TUESDAY_9AM - timedelta(minutes=1))
    assert len(texts(sim, ANA)) == 3 and len(texts(sim, ROSA)) == 1
    advance(sim, TUESDAY_9AM + timedelta(minutes=1))
    assert texts(sim, ANA)[3:] == ["check-in 3", "check-in 4", "check-in 5"]  # in order, the day's 3
    assert len(texts(sim, ROSA)) == 2  # told again: it is a new day
    advance(sim, WEDNESDAY_9AM + timedelta(minutes=1))
    assert texts(sim, ANA)[6:] == ["check-in 6", "check-in 7"]
    assert len(texts(sim, ROSA)) == 2  # two texts of a budget of three: nothing to tell


def test_replies_stop_and_crisis_answers_still_go_past_the_budget(sim: Simulation) -> None:
    setup(sim)
    runaway(sim, BEN, 5)
    advance(sim, MONDAY_10AM + timedelta(minutes=1))
    assert len(texts(sim, BEN)) == 3
    with sim.db.transaction() as session:  # even a reply filed under the group is not held
        ana, group = Member.by_phone(session, ANA), session.scalars(select(Group)).one()
        enqueue(session, member=ana, channel="sms", address=ANA, text="a reply", purpose=REPLY,
                now=sim.now, group_id=group.id)
    run(sim,
        f"{ANA} > STATUS", f"{ANA} < a reply", f"{ANA} < DMMA",
        f"{ANA} > honestly I feel like I want to die lately", f"{ANA} < not alone",
        f"{ANA} > STOP", f"{ANA} < unsubscribed",
        f"quiet {ANA}")
    assert len(texts(sim, BEN)) == 3


async def two_senders(sim: Simulation) -> None:
    other = Database(str(sim.db.engine.url.render_as_string(hide_password=False)))
    try:
        await asyncio.gather(deliver_due(sim.db, sim.channels, sim.now), deliver_due(other, sim.channels, sim.now))
    finally:
        other.dispose()


def test_a_held_text_looked_at_for_a_later_reply_is_neither_counted_nor_told(sim: Simulation) -> None:
    """A reply checks whether an earlier text to the same member must go first; that look changes nothing.

    Only the held text's own turn counts it as held and tells the coordinators.
    """
    setup(sim)
    runaway(sim, BEN, 3)
    advance(sim, MONDAY_10AM + timedelta(minutes=1))
    assert len(texts(sim, BEN)) == 3  # the day's budget, spent
    with sim.db.transaction() as session:
        ana, group = Member.by_phone(session, ANA), session.scalars(select(Group)).one()
        earlier = push(session, ana, "check-in, tried once", sim.now, group.id)
        earlier.attempts, earlier.error_code = 1, "500"
        earlier.not_before = sim.now + timedelta(minutes=2)  # waiting for its retry
        enqueue(session, member=ana, channel="sms", address=ANA, text="a reply", purpose=REPLY,
                now=sim.now, group_id=group.id)
    held = metrics.REGISTRY.get_sample_value("carebot_held_by_budget_total")
    advance(sim, sim.now + timedelta(seconds=30))
    assert texts(sim, ANA) == ["a reply"]  # the held check-in was not in its way
    assert metrics.REGISTRY.get_sample_value("carebot_held_by_budget_total") == held
    assert texts(sim, ROSA) == []
    advance(sim, sim.now + timedelta(minutes=3))  # the check-in's own turn: held, counted once, told
    assert texts(sim, ANA) == ["a reply"]
    assert metrics.REGISTRY.get_sample_value("carebot_held_by_budget_total") == held + 1
    assert len(texts(sim, ROSA)) == 1


def test_coordinators_are_told_once_a_day_across_passes_and_restarts(migrated_url: str) -> None:
    first = Simulation(Database(migrated_url))
    setup(first)
    runaway(first, ANA, 5)
    advance(first, MONDAY_10AM + timedelta(minutes=1))
    first.db.dispose()
    # carebot restarts (or another process sends): the group row remembers the day it told.
    second = Simulation(Database(migrated_url))
    second.now = MONDAY_10AM + timedelta(minutes=1)
    runaway(second, BEN, 5)
    for minute in range(2, 6):
        advance(second, MONDAY_10AM + timedelta(minutes=minute))
        asyncio.run(two_senders(second))
    with second.db.transaction() as session:
        rosa = Member.by_phone(session, ROSA)
        notices = session.scalars(select(OutboxMessage).where(OutboxMessage.member_id == rosa.id)).all()
        assert [row.purpose for row in notices] == [budget.NOTICE]
        assert session.scalars(select(Group)).one().budget_told_on.isoformat() == "2026-03-02"
    assert texts(second, BEN) == [] and len(texts(first, ANA)) == 3
    second.db.dispose()


def test_one_groups_budget_does_not_hold_another_groups_texts(sim: Simulation) -> None:
    setup(sim)
    run(sim, 'group AMES name="Ames Mutual Aid" tz=America/Chicago',
        f"coordinator AMES {ZOE} name=Zoe", f"member AMES {YUSUF} name=Yusuf")
    with sim.db.transaction() as session:
        edit_group(session, "AMES", daily_budget=3)
    runaway(sim, ANA, 6)
    runaway(sim, YUSUF, 3, keyword="AMES")
    advance(sim, MONDAY_10AM + timedelta(minutes=1))
    assert len(texts(sim, ANA)) == 3 and len(texts(sim, YUSUF)) == 3
    assert len(texts(sim, ROSA)) == 1 and texts(sim, ZOE) == []


def test_the_default_is_twenty_a_day_for_each_active_member_and_never_below_the_floor(sim: Simulation) -> None:
    setup(sim, daily=None)
    with sim.db.transaction() as session:
        group = session.scalars(select(Group)).one()
        assert budget.daily_budget(session, group) == budget.FLOOR  # 3 members
    run(sim, *(f"member DMMA +1641555{n:04d}" for n in range(40)))
    today = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # midnight in Des Moines
    with sim.db.transaction() as session:
        group = session.scalars(select(Group)).one()
        assert budget.daily_budget(session, group) == 43 * budget.PER_MEMBER == 860
        rows = [{"group_id": group.id, "channel": "sms", "address": ANA, "body": "", "purpose": "push",
                 "status": "sent", "not_before": today, "created_at": today, "claimed_at": today + timedelta(hours=1)}
                for _ in range(858)]
        rows.append(dict(rows[0], status="failed"))  # tried today, refused: it counts
        # Not today's: sent before the group's midnight, or never tried.
        rows += [dict(rows[0], claimed_at=today - timedelta(seconds=1)), dict(rows[0], status="pending", claimed_at=None)]
        session.execute(insert(OutboxMessage), rows)
        row = push(session, Member.by_phone(session, ANA), "one more", MONDAY_10AM, group.id)
        session.flush()
        assert budget.used_since(session, group.id, today) == 859
        assert budget.hold_until(session, row, MONDAY_10AM) is None
        session.execute(insert(OutboxMessage), [dict(rows[0], status="sending")])
        assert budget.hold_until(session, row, MONDAY_10AM) == CHICAGO_MIDNIGHT
    assert "20 a day for each active member, at least 500" in BUDGET_HELP
    assert (budget.PER_MEMBER, budget.FLOOR) == (20, 500)


@pytest.fixture
def env(migrated_url: str, monkeypatch) -> str:
    monkeypatch.setenv("CAREBOT_DATABASE_URL", migrated_url)
    return migrated_url


def carebot(*args: str):
    return CliRunner().invoke(main, list(args))


def daily_of(url: str) -> int | None:
    db = Database(url)
    with db.transaction() as session:
        value = session.scalars(select(Group)).one().daily_budget
    db.dispose()
    return value


def test_group_add_and_edit_set_the_groups_own_budget(env: str) -> None:
    assert carebot("group", "add", "DMMA", "--name", "Des Moines", "--budget", "5000").exit_code == 0
    assert daily_of(env) == 5000 and "5000 texts a day" in carebot("group", "list").output
    assert carebot("group", "edit", "DMMA", "--budget", "2").exit_code == 0
    assert daily_of(env) == 2
    for bad in ("0", "-4", "lots"):
        result = carebot("group", "edit", "DMMA", "--budget", bad)
        assert result.exit_code != 0 and daily_of(env) == 2, result.output
    assert carebot("group", "edit", "DMMA", "--name", "Des Moines Mutual Aid").exit_code == 0
    assert daily_of(env) == 2  # left out, left as it was
    assert carebot("group", "edit", "DMMA", "--budget", "default").exit_code == 0
    assert daily_of(env) is None and "texts a day" not in carebot("group", "list").output
    assert carebot("group", "add", "AMES", "--name", "Ames", "--budget", "0").exit_code != 0


def held_by_the_command(url: str, runaway_texts: int) -> Simulation:
    """A group given a budget of 2 by ``carebot group edit``, and a runaway it holds on Monday morning."""
    assert carebot("group", "add", "DMMA", "--name", "Des Moines", "--tz", "America/Chicago").exit_code == 0
    assert carebot("group", "edit", "DMMA", "--budget", "2").exit_code == 0
    sim = Simulation(Database(url))
    sim.tz = ZoneInfo("America/Chicago")
    run(sim, f"coordinator DMMA {ROSA} name=Rosa", f"member DMMA {ANA} name=Ana", "at 2026-03-02 10:00")
    runaway(sim, ANA, runaway_texts)
    advance(sim, MONDAY_10AM + timedelta(minutes=1))
    assert texts(sim, ANA) == ["check-in 0", "check-in 1"]
    return sim


def test_a_groups_own_budget_from_the_command_holds_its_texts(env: str) -> None:
    sim = held_by_the_command(env, 4)
    assert "today's 2 texts" in texts(sim, ROSA)[0]
    sim.db.dispose()


def test_a_raised_budget_sends_todays_held_texts_and_coordinators_hear_of_the_new_one(env: str) -> None:
    sim = held_by_the_command(env, 6)
    assert len(texts(sim, ROSA)) == 1
    with freeze_time(MONDAY_10AM + timedelta(minutes=2)):
        raised = carebot("group", "edit", "DMMA", "--budget", "5")
    assert raised.exit_code == 0 and "4 texts held by the budget today are due again" in raised.output
    advance(sim, MONDAY_10AM + timedelta(minutes=3))
    # Today, not tomorrow: two more, as the first notice counts too (2 + 1 + 2 = 5).
    assert texts(sim, ANA) == [f"check-in {n}" for n in range(4)]
    notices = texts(sim, ROSA)
    assert len(notices) == 2 and "today's 5 texts" in notices[1]  # the new budget, spent too
    with sim.db.transaction() as session:
        held = session.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending",
                                                           OutboxMessage.member_id.is_not(None))).all()
        assert {row.not_before for row in held} == {CHICAGO_MIDNIGHT} and len(held) == 2
    sim.db.dispose()


def test_edit_group_refuses_a_budget_below_one(sim: Simulation) -> None:
    setup(sim)
    with sim.db.transaction() as session, pytest.raises(GroupError, match="at least 1"):
        edit_group(session, "DMMA", daily_budget=0)
