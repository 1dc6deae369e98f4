"""Due work the ticker runs besides conversations' timeouts (which the dispatcher runs like
texts): questions that lapsed in the queue, answers whose time is up, rounds, check-ins,
follow-ups, pairing plans, gathering reminders, and housekeeping.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Select, select

from carebot.domain.vocabulary import OutboxStatus, PairingStatus
from carebot.flows import router
from carebot.services import answers, checkins, gatherings, planner, questions, rounds
from carebot.services.handlers import Act, apply
from carebot.store import retention
from carebot.store.db import Database
from carebot.store.facts import Facts
from carebot.store.models import Answer, Conversation, Group, Member, OutboxMessage, Pairing


def run_due(db: Database, now: datetime, *, default_timezone: str, retention_days: int) -> int:
    """Run every lapse and piece of care work due by ``now``, each in its transaction; returns how many."""
    done = 0
    with db.transaction() as session:
        # Questions that lapsed before their turn came: silence to an offer still passes it on.
        for member_id, waiting in questions.expire_queued(session, now):
            member = session.get(Member, member_id)
            if member is not None:
                with Facts.load(session, now, members=[member]) as facts:
                    act = Act(session, member, now, member.channel, facts)
                    for effect in router.timeout(waiting).effects:
                        apply(act, effect)
            done += 1
    done += lapse_answers(db, now, default_timezone)
    with db.transaction() as session:
        done += (rounds.start_due_rounds(session, now, default_timezone) + checkins.send_due_checkins(session, now)
                 + checkins.ask_due_followups(session, now) + planner.plan_due_groups(session, now))
        done += gatherings.send_due_reminders(session, now)
    with db.transaction() as session:
        # Housekeeping, not counted as due care work: a forgotten member's delivered
        # farewell goes at once; logs past their time, at most once a day.
        retention.drop_farewells(session)
        retention.run_if_due(session, now, retention_days)
    return done


def lapse_answers(db: Database, now: datetime, default_timezone: str) -> int:
    """Answers whose time is up lapse, one member's group at a time; returns how many (member, group)."""
    with db.transaction() as session:
        pairs = answers.lapsed(session, now)
    for member_id, group_id in pairs:
        with db.transaction() as session:
            answers.lapse(session, member_id, group_id, now, default_timezone)
    return len(pairs)


def _earliest(column, *where: ColumnElement[bool]) -> Select:
    """The earliest value of ``column`` among the rows ``where`` holds, as a query."""
    return select(column).where(column.is_not(None), *where).order_by(column).limit(1)


def next_due(db: Database) -> datetime | None:
    """The earliest moment at which something is due: a timeout, a lapse, a deferred text, care work.

    One statement, each candidate a subquery: the ticker and the simulation ask after every tick
    (a seed of tests/test_invariants.py some thousand times), and on PostgreSQL each statement is a round trip.
    """
    candidates = [
        _earliest(Conversation.wait_until),
        _earliest(Answer.until, Answer.ended_at.is_(None)),
        _earliest(OutboxMessage.not_before, OutboxMessage.status == OutboxStatus.PENDING),
        _earliest(Group.next_round_at),
        _earliest(Group.pairing_due_at),
        _earliest(Pairing.next_checkin_at, Pairing.status == PairingStatus.ACTIVE),
        _earliest(Pairing.followup_at, Pairing.status == PairingStatus.ACTIVE),
        questions.next_expiry(),
        *gatherings.next_due(),
    ]
    with db.transaction() as session:
        found = [c for c in session.execute(select(*(c.scalar_subquery() for c in candidates))).one() if c is not None]
    return min(found) if found else None
