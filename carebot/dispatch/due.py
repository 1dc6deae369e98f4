"""Due work the ticker runs besides conversations' timeouts (which the dispatcher runs like
texts): questions that lapsed in the queue, answers whose time is up, rounds, check-ins,
follow-ups, pairing plans, gathering reminders, and housekeeping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import ColumnElement, Select, exists, or_, select
from sqlalchemy.orm import Session

from carebot.domain.vocabulary import OutboxStatus, PairingStatus
from carebot.flows import router
from carebot.services import answers, checkins, coordination, gatherings, planner, questions, rounds
from carebot.services.handlers import Act, apply
from carebot.store import retention
from carebot.store.db import Database
from carebot.store.facts import Facts
from carebot.store.models import (
    Answer,
    Conversation,
    DueJob,
    Gathering,
    Group,
    Member,
    OutboxMessage,
    Pairing,
    PendingAction,
    QueuedQuestion,
)


def run_due(db: Database, now: datetime, *, default_timezone: str, retention_days: int) -> int:
    """Run every lapse and piece of care work due by ``now``, each in its transaction; returns how many."""
    done = 0
    with db.transaction() as session:
        due = _due_now(session, now)
        # Questions that lapsed before their turn came: silence to an offer still passes it on.
        for member_id, waiting in questions.expire_queued(session, now) if "queued" in due else ():
            member = session.get(Member, member_id)
            if member is not None:
                with Facts.load(session, now, members=[member]) as facts:
                    act = Act(session, member, now, member.channel, facts)
                    for effect in router.timeout(waiting).effects:
                        apply(act, effect)
            done += 1
    if "lapsed" in due:
        done += lapse_answers(db, now, default_timezone)
    if due & {"queued", "lapsed"}:
        with db.transaction() as session:
            due = _due_now(session, now)  # what they did may have made care work due (a plan, say)
    if due & CARE_WORK:
        with db.transaction() as session:
            # In this order, from the first piece with something due on: what one piece does may make a
            # later one due (a round's answers, a plan), but a piece before the first due one has nothing
            # to do, so it is skipped. Reminders read gatherings only, which no other piece changes.
            first = next((at for at, name in enumerate(CHAIN) if name in due), len(CHAIN))
            done += sum(PIECES[name](session, now, default_timezone) for name in CHAIN[first:])
            if "reminders" in due:
                done += gatherings.send_due_reminders(session, now)
    if due & HOUSEKEEPING:
        with db.transaction() as session:
            # Housekeeping, not counted as due care work: a forgotten member's delivered
            # farewell goes at once; logs past their time, at most once a day.
            if "farewells" in due:
                retention.drop_farewells(session)
            if "purge" in due:
                retention.run_if_due(session, now, retention_days)
    return done


# The care work's pieces in the order they run, each as (session, now, default timezone) -> how many.
PIECES: dict[str, Callable[[Session, datetime, str], int]] = {
    "rounds": rounds.start_due_rounds,
    "checkins": lambda session, now, _: checkins.send_due_checkins(session, now),
    "followups": lambda session, now, _: checkins.ask_due_followups(session, now),
    "plans": lambda session, now, _: planner.plan_due_groups(session, now),
    "approvals": coordination.expire_approvals,
}
CHAIN = list(PIECES)
CARE_WORK = {*CHAIN, "reminders"}
HOUSEKEEPING = {"farewells", "purge"}


def _due_now(session: Session, now: datetime) -> set[str]:
    """Which pieces of due work have something to do by ``now``, read in one statement.

    Each condition is the one its piece's own query looks for. The ticker runs every minute and the
    simulation after every text and due moment, and on most ticks nothing is due: a piece with nothing
    to do then costs no statement and no transaction (a seed of tests/test_invariants.py ticks some
    thousand times; on PostgreSQL each statement and each transaction is a round trip or more).
    """
    active = Pairing.status == PairingStatus.ACTIVE
    checks = {
        "queued": exists().where(QueuedQuestion.expires_at <= now),  # questions.expire_queued
        "lapsed": exists().where(Answer.ended_at.is_(None), Answer.until <= now),  # answers.lapsed
        "rounds": exists().where(or_(Group.next_round_at.is_(None), Group.next_round_at <= now)),  # rounds.start_due_rounds
        "checkins": exists().where(active, Pairing.next_checkin_at <= now),  # checkins.send_due_checkins
        "followups": exists().where(active, Pairing.followup_at <= now),  # checkins.ask_due_followups
        "plans": exists().where(Group.pairing_due_at <= now),  # planner.plan_due_groups
        "reminders": exists().where(Gathering.remind_at <= now),  # gatherings.send_due_reminders
        # coordination.expire_approvals: a second coordinator's YES nobody gave in time
        "approvals": exists().where(PendingAction.status == "pending", PendingAction.expires_at <= now),
        # retention.drop_farewells: a delivered (or given up) last word to a forgotten member
        "farewells": exists().where(OutboxMessage.member_id.is_(None), OutboxMessage.status.in_(retention.FINISHED_OUTBOX)),
        # retention.run_if_due: the daily purge, due when its time has come or it never ran
        "purge": or_(exists().where(DueJob.name == retention.JOB, DueJob.due_at <= now),
                     ~exists().where(DueJob.name == retention.JOB)),
    }
    found = session.execute(select(*(check.label(name) for name, check in checks.items()))).one()
    return {name for name, flag in zip(checks, found, strict=True) if flag}


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
        _earliest(PendingAction.expires_at, PendingAction.status == "pending"),
        questions.next_expiry(),
        *gatherings.next_due(),
    ]
    with db.transaction() as session:
        found = [c for c in session.execute(select(*(c.scalar_subquery() for c in candidates))).one() if c is not None]
    return min(found) if found else None
