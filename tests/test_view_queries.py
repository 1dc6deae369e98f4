"""PAIRS and ROSTER read a group in a fixed number of statements, however big it is (#16: no N+1).

The statements are counted at the engine (SQLAlchemy's before_cursor_execute) while a
coordinator's view is applied through the effect registry, for a group of 5 and of 50.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from carebot.domain.vocabulary import REACH_OUT_TO_ME, OutboxStatus, PairingStatus, Purpose
from carebot.flows.base import ListShown
from carebot.services.groups import add_group, add_member
from carebot.services.handlers import Act, apply
from carebot.store.db import Database
from carebot.store.facts import Facts
from carebot.store.models import Answer, Member, OutboxMessage, Pairing

NOW = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)


def group_of(url: str, size: int) -> tuple[Database, int, int]:
    """A group with ``size`` active pairings, ``size`` requests nobody took yet and ``size``
    texts that did not arrive; returns the database, the group's id and its coordinator's."""
    db = Database(url)
    then = NOW - timedelta(days=3)
    with db.transaction() as session:
        group = add_group(session, keyword="DMMA", name="Des Moines Mutual Aid", now=then)
        coordinator = add_member(session, keyword="DMMA", phone="+15155550100", name="Coco", coordinator=True, now=then)
        people = [add_member(session, keyword="DMMA", phone=f"+1515556{n:04d}", name=f"Ana{n}", now=then)
                  for n in range(3 * size)]
        session.flush()
        for n in range(size):
            requester, supporter, waiting = people[3 * n], people[3 * n + 1], people[3 * n + 2]
            session.add(Pairing(group_id=group.id, requester_id=requester.id, supporter_id=supporter.id,
                                kind=REACH_OUT_TO_ME, status=PairingStatus.ACTIVE if n % 2 else PairingStatus.OFFERED,
                                offered_at=then, cadence_days=7, missed_checkins=0))
            for member in (requester, waiting):
                session.add(Answer(group_id=group.id, member_id=member.id, option=REACH_OUT_TO_ME, since=then))
            session.add(OutboxMessage(member_id=supporter.id, group_id=group.id, channel="sms",
                                      address="+15155559999", body="hello", purpose=Purpose.PUSH,
                                      status=OutboxStatus.FAILED, not_before=then, attempts=1, created_at=then))
        return db, group.id, coordinator.id


def statements_for(db: Database, kind: str, group_id: int, coordinator_id: int) -> tuple[int, str]:
    """How many SQL statements showing the view takes, and its first page."""
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    with db.transaction() as session:
        coordinator = session.get(Member, coordinator_id)
        session.expunge_all()  # nothing read before the view counts for it
        coordinator = session.get(Member, coordinator_id)
        facts = Facts.load(session, NOW, members=[coordinator])
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            outcome = apply(Act(session, coordinator, NOW, "sms", facts), ListShown(kind, group_id))
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
            facts.close()
    return len(seen), outcome.texts[0]


@pytest.mark.parametrize("kind", ["pairs", "roster"])
def test_a_view_takes_as_many_statements_for_50_pairings_as_for_5(kind: str, backend) -> None:
    counts = {}
    for size in (5, 50):
        url = backend.url(migrated=True)
        try:
            db, group_id, coordinator_id = group_of(url, size)
            counts[size], page = statements_for(db, kind, group_id, coordinator_id)
            # The view is really there, names and all.
            assert "Ana1" in page, page
            db.dispose()
        finally:
            backend.drop(url)
    assert counts[50] == counts[5], f"{kind}: {counts[5]} statements for 5, {counts[50]} for 50"
