"""Care across a network, seen in the database: whose group each text goes as, and what is kept."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from carebot.services import care_requests
from carebot.services.care_requests import State
from carebot.store.models import Answer, CoordAction, Group, Member, OutboxMessage, Pairing
from carebot.tools.transcript import Simulation

SETUP = """
group DMMA name="Des Moines Mutual Aid" tz=America/Chicago network=MIDWEST overflow=24h
group MADRID name="Apoyo Mutuo Madrid" tz=Europe/Madrid lang=es network=MIDWEST budget=40
member DMMA +15155550101 name=Ana
member MADRID +34600000001 name=Lucia lang=es
at 2026-03-03 18:00
+34600000001 > 2
+15155550101 > 1
"""


async def say(sim: Simulation, text: str) -> None:
    """Transcript lines, on the same simulation (its database kept for the checks between)."""
    for line in text.strip().splitlines():
        await sim.execute(line)


def state(sim) -> State:
    with sim.db.transaction() as session:
        ana = session.scalars(select(Member).where(Member.name == "Ana")).one()
        dmma = session.scalars(select(Group).where(Group.keyword == "DMMA")).one()
        return care_requests.state_of(session, ana.id, dmma.id, 1, sim.now)


def test_a_request_goes_across_only_through_the_members_yes_and_each_side_texts_as_its_own_group(sim) -> None:
    asyncio.run(across(sim))


async def across(sim: Simulation) -> None:
    await say(sim, SETUP + "wait 23h")
    assert state(sim) == State.REQUESTED
    await say(sim, "wait 1h\n+15155550101 < May I ask")
    assert state(sim) == State.NETWORK_ASKED
    with sim.db.transaction() as session:
        assert session.scalar(select(Pairing.id)) is None  # nobody asked across before the YES
    await say(sim, "wait 1h\n+15155550101 > yes")
    assert state(sim) == State.OFFERED
    with sim.db.transaction() as session:
        groups = {g.keyword: g.id for g in session.scalars(select(Group))}
        pairing = session.scalars(select(Pairing)).one()
        assert (pairing.group_id, pairing.supporter_group_id) == (groups["DMMA"], groups["MADRID"])
        lucia = session.scalars(select(Member).where(Member.name == "Lucia")).one()
        offer = session.scalars(select(OutboxMessage).where(OutboxMessage.member_id == lucia.id)
                                .order_by(OutboxMessage.id.desc())).first()
        # As MADRID's: its budget, and Lucia's morning (09:00 in Madrid is 02:00 in Des Moines).
        assert offer.group_id == groups["MADRID"] and offer.body.startswith("Ana (DMMA, red MIDWEST)")
        assert offer.not_before.hour == 8 and offer.not_before.minute == 0  # 09:00 CET in UTC
        answer = session.scalars(select(Answer).where(Answer.option == 1)).one()
        assert answer.network_consent is True and answer.network_asked_at is not None
    await say(sim, "wait 8h\n+34600000001 > si")
    assert state(sim) == State.ACCEPTED
    with sim.db.transaction() as session:
        logged = {(a.group_id, a.action) for a in session.scalars(select(CoordAction))}
        assert logged == {(groups["DMMA"], "network"), (groups["MADRID"], "network")}
        checkin_due = session.scalars(select(Pairing)).one().next_checkin_at
    await say(sim, "wait 7d")
    with sim.db.transaction() as session:
        checkin = session.scalars(select(OutboxMessage).where(
            OutboxMessage.member_id == lucia.id, OutboxMessage.created_at >= checkin_due)).first()
        assert checkin is not None and checkin.group_id == groups["MADRID"]


def test_no_keeps_the_request_local_and_nothing_is_asked_again(sim) -> None:
    asyncio.run(kept_local(sim))


async def kept_local(sim: Simulation) -> None:
    await say(sim, SETUP + "wait 24h\n+15155550101 < May I ask\n+15155550101 > no gracias")
    assert state(sim) == State.WAITING
    await say(sim, "wait 10d")
    with sim.db.transaction() as session:
        assert session.scalar(select(Pairing.id)) is None
    asked = [d for d in sim.network.delivered if "May I ask" in d.text]
    assert len(asked) == 1
