"""Random conversations never crash carebot, and its promises hold after every step."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from carebot.domain.daytime import is_daytime
from carebot.store.models import Member, OutboxMessage
from carebot.tools.transcript import Simulation

CHICAGO = ZoneInfo("America/Chicago")
PEOPLE = ["+15155550101", "+15155550102", "+15155550103", "signal:+15155550104"]
WORDS = ["JOIN DMMA", "DMMA", "yes", "no", "1", "1 5", "2 x3", "3 2w", "4 until friday", "5",
         "1 call evenings", "HOW text me", "STATUS", "STOP", "stop please", "START", "HELP",
         "FORGET", "LANG ES", "LANG EN", "NAME Ana", "0", "7", "3 5", "parar", "sí", "AMES 1"]
texts = st.one_of(
    st.sampled_from(WORDS),
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1000, max_size=2100),
    st.sampled_from(["", "\x00", "\u202e\u200f", "🌻🙏🏽", "'; DROP TABLE members; --", "LANG", "JOIN"]),
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("text"), st.sampled_from(PEOPLE), texts),
        st.tuples(st.just("wait"), st.integers(min_value=1, max_value=60 * 24 * 20), st.none()),
    ),
    min_size=1,
    max_size=25,
)


def check_invariants(sim: Simulation, stopped_since: dict[str, int]) -> None:
    with sim.db.transaction() as session:
        rows = session.scalars(select(OutboxMessage)).all()
        opted_out = {m.phone for m in session.scalars(select(Member).where(Member.opted_out))}
    sent_ids = [d.outbox_id for d in sim.network.delivered]
    assert len(sent_ids) == len(set(sent_ids)), "a text was sent twice"
    by_id = {r.id: r for r in rows}
    for delivered in sim.network.delivered:
        row = by_id.get(delivered.outbox_id)
        if row is not None and row.purpose == "push":
            assert is_daytime(delivered.at, CHICAGO), "carebot wrote first at night"
    for person, index in stopped_since.items():
        number = person.removeprefix("signal:")
        if number not in opted_out:
            continue
        for delivered in sim.network.delivered[index:]:
            if delivered.to == person:
                row = by_id.get(delivered.outbox_id)
                assert row is None or row.purpose in ("final", "after_stop"), "a text reached someone after STOP"


ANA = "+15155550101"


@pytest.mark.slow  # up to a minute on PostgreSQL (1 Dec 2026 CI): begun first (conftest)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=steps)
# Paths random search finds rarely: an answer lapsing at midnight, STOP before a lapse.
@example(steps=[("text", ANA, "4 until friday"), ("wait", 60 * 24 * 5, None)])
@example(steps=[("text", ANA, "3 until tuesday"), ("text", ANA, "STOP"), ("wait", 60 * 24 * 3, None)])
@example(steps=[("text", ANA, "1 1d"), ("text", ANA, "STOP"), ("text", ANA, "START"),
                ("wait", 60 * 30, None), ("text", ANA, "FORGET"), ("text", ANA, "yes")])
def test_random_conversations_keep_every_promise(backend, steps) -> None:
    with backend.scratch() as db:
        one_conversation(Simulation(db), steps)


def one_conversation(sim: Simulation, steps) -> None:

    async def go() -> None:
        for line in ['group DMMA name="Des Moines Mutual Aid" tz=America/Chicago',
                     'group AMES name="Ames Care" tz=America/Chicago',
                     "member DMMA +15155550101 name=Ana", "at 2026-03-02 10:00"]:
            await sim.execute(line)
        stopped_since: dict[str, int] = {}
        for kind, who, text in steps:
            if kind == "wait":
                await sim.advance_to(sim.now + timedelta(minutes=who))
            else:
                await sim.send(who, text)
                if text.strip().lower() in ("stop", "stop please", "parar"):
                    stopped_since.setdefault(who, len(sim.network.delivered))
                if text.strip().upper() == "START":
                    stopped_since.pop(who, None)
            check_invariants(sim, stopped_since)

    try:
        asyncio.run(go())
    finally:
        sim.db.dispose()
