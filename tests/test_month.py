"""A whole month for a group of 30, hour by hour, with carebot's promises checked after every hour.

Time comes from freezegun through carebot.domain.clock, the one module that reads the wall clock; the
members' replies are scripted by a seeded random generator, so a failure replays exactly.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import or_, select

from carebot.domain import clock
from carebot.domain.daytime import is_daytime
from carebot.domain.vocabulary import OFFER_FOR
from carebot.services.planner import WAITING_GRACE
from carebot.store.models import Answer, Conversation, Group, Member, OutboxMessage, Pairing
from carebot.tools.transcript import Simulation

CHICAGO = ZoneInfo("America/Chicago")
MEMBERS = [f"+1515555{n:04d}" for n in range(101, 131)]  # 30 members
ANSWERS = ["1", "1 2w call evenings", "4 text me", "2", "2 x2", "5", "5 x3", "2 5", "3 1w",
           "3 until friday", "1 5", "0", "4 1w"]


def current(session, now: datetime) -> dict[int, dict[int, int | None]]:
    """Every member's current answers, read at once: member id -> option -> capacity."""
    options: dict[int, dict[int, int | None]] = {}
    for member_id, option, capacity in session.execute(select(Answer.member_id, Answer.option, Answer.capacity).where(
            Answer.ended_at.is_(None), or_(Answer.until.is_(None), Answer.until > now)).order_by(Answer.id)):
        options.setdefault(member_id, {}).setdefault(option, capacity)
    return options


@dataclass
class Watched:
    """What check() has already read: the deliveries before ``seen`` and the outbox rows they sent."""

    seen: int = 0
    sent: set[int] = field(default_factory=set)


def check(sim: Simulation, now: datetime, stopped_at: dict[str, int], watched: Watched) -> None:
    # Each delivery is checked once, in the hour it was made (a row's purpose never changes); re-reading
    # every outbox row every hour made this check most of the test's time (1 Dec 2026).
    start, fresh = watched.seen, sim.network.delivered[watched.seen:]
    watched.seen = len(sim.network.delivered)
    with sim.db.transaction() as session:
        purposes = dict(session.execute(select(OutboxMessage.id, OutboxMessage.purpose).where(
            OutboxMessage.id.in_([d.outbox_id for d in fresh]))).all()) if fresh else {}
        members = {m.id: m for m in session.scalars(select(Member))}
        by_phone = {m.phone: m for m in members.values()}
        pairings = session.scalars(select(Pairing).where(Pairing.status.in_(("offered", "active")))).all()
        group = session.scalars(select(Group)).one()

        for delivered in fresh:
            # No text is sent twice.
            assert delivered.outbox_id not in watched.sent, "a text was sent twice"
            watched.sent.add(delivered.outbox_id)
            # Nothing carebot starts on its own reaches anyone at night.
            if purposes[delivered.outbox_id] == "push":
                assert is_daytime(delivered.at, CHICAGO), f"sent at night: {delivered.text!r}"
        # Nobody who sent STOP gets anything afterwards (but the STOP confirmation itself).
        for phone, index in stopped_at.items():
            for delivered in sim.network.delivered[max(index, start):]:
                if delivered.to == phone:
                    assert purposes[delivered.outbox_id] in ("final", "after_stop"), f"texted after STOP: {delivered.text!r}"

        answers = current(session, now)
        load: Counter = Counter()
        for pairing in pairings:
            supporter = members[pairing.supporter_id]
            options = answers.get(pairing.supporter_id, {})
            # Nobody resting is asked to support, nor keeps supporting.
            assert 3 not in options, "a resting member is supporting"
            assert not supporter.opted_out and not members[pairing.requester_id].opted_out
            load[(pairing.supporter_id, pairing.kind)] += 1
        # No pairing exceeds what its supporter offered.
        for (supporter_id, kind), count in load.items():
            capacity = answers.get(supporter_id, {}).get(OFFER_FOR[kind])
            assert capacity is not None and count <= capacity, "a supporter carries more than offered"

        # Every request is paired, or visibly waiting: in its grace period, told, or being planned.
        served = {(p.requester_id, p.kind) for p in pairings}
        requests = session.scalars(select(Answer).where(
            Answer.option.in_((1, 4)), Answer.ended_at.is_(None),
            or_(Answer.until.is_(None), Answer.until > now))).all()
        for answer in requests:
            member = by_phone.get(members[answer.member_id].phone)
            if member is None or member.opted_out:
                continue
            visible = (
                (answer.member_id, answer.option) in served
                or answer.told_waiting_at is not None
                or answer.since + WAITING_GRACE > now - timedelta(hours=1)
                or (group.pairing_due_at is not None and group.pairing_due_at <= now + timedelta(hours=1))
            )
            if not visible:
                history = session.execute(select(Pairing.status, Pairing.kind, Pairing.end_reason, Pairing.offered_at,
                                                 Pairing.ended_at).where(Pairing.requester_id == answer.member_id)).all()
                raise AssertionError(
                    f"a request is neither paired nor visibly waiting: option {answer.option} since "
                    f"{answer.since}, now {now}, due {group.pairing_due_at}, pairings {history}")


@pytest.mark.slow  # 25-70 s: begun first, it never keeps one core busy alone at the end (conftest)
def test_a_month_of_care_for_thirty_members(sim: Simulation) -> None:
    rng = random.Random(20260302)
    stopped_at: dict[str, int] = {}
    answered: set[str] = set()
    watched = Watched()

    async def month() -> None:
        await sim.execute('group DMMA name="Des Moines Mutual Aid" tz=America/Chicago')
        await sim.execute("coordinator DMMA +15155550100 name=Rosa")
        for index, phone in enumerate(MEMBERS):
            await sim.execute(f"member DMMA {phone} name=M{index:02d}")
        with freeze_time("2026-03-02 06:00:00") as frozen:  # midnight in Chicago
            sim.now = clock.now()
            for _hour in range(30 * 24):
                frozen.tick(timedelta(hours=1))
                now = clock.now()
                await sim.advance_to(now)
                if is_daytime(now, CHICAGO):
                    await script_hour(now)
                check(sim, now, stopped_at, watched)

    async def script_hour(now: datetime) -> None:
        with sim.db.transaction() as session:
            waiting = {m.phone: c.flow for c, m in session.execute(
                select(Conversation, Member).join(Member, Member.id == Conversation.member_id))}
        for phone in MEMBERS:
            if phone in stopped_at:
                if rng.random() < 0.01:
                    await sim.send(phone, "START")
                    del stopped_at[phone]
                continue
            if phone in waiting and rng.random() < 0.6:
                await sim.send(phone, rng.choices(["yes", "no", "later"], weights=[6, 2, 1])[0])
            elif rng.random() < (0.2 if phone not in answered else 0.008):
                # Everyone answers early in the month; then answers change every ten days or so.
                answered.add(phone)
                await sim.send(phone, rng.choice(ANSWERS))
            elif rng.random() < 0.002:
                await sim.send(phone, "STOP")
                stopped_at[phone] = len(sim.network.delivered)
            elif rng.random() < 0.003:
                await sim.send(phone, "DONE")

    try:
        asyncio.run(month())
        with sim.db.transaction() as session:
            statuses = Counter(session.scalars(select(Pairing.status)))
        # The month really exercised the care: offers were made, taken, declined and ended.
        assert statuses["active"] + statuses["ended"] >= 5, statuses
        assert statuses["declined"] + statuses["expired"] >= 1, statuses
        texts = [d.text for d in sim.network.delivered]
        assert sum("go-around" in t for t in texts) >= 30  # four Monday rounds
        assert any("Time to check in" in t for t in texts)
        assert any("Did you connect" in t for t in texts)
    finally:
        sim.db.dispose()
