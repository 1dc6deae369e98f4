"""Due work the ticker runs besides conversations' timeouts (which the dispatcher runs like
texts): questions that lapsed in the queue, answers whose time is up, rounds, check-ins,
follow-ups, pairing plans, gathering reminders, and housekeeping.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

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


def _earliest(session: Session, column) -> datetime | None:
    return session.scalar(select(column).where(column.is_not(None)).order_by(column).limit(1))


def next_due(db: Database) -> datetime | None:
    """The earliest moment at which something is due: a timeout, a lapse, a deferred text, care work."""
    with db.transaction() as session:
        candidates = [
            _earliest(session, Conversation.wait_until),
            session.scalar(select(Answer.until).where(Answer.ended_at.is_(None), Answer.until.is_not(None))
                           .order_by(Answer.until).limit(1)),
            session.scalar(select(OutboxMessage.not_before).where(OutboxMessage.status == OutboxStatus.PENDING)
                           .order_by(OutboxMessage.not_before).limit(1)),
            _earliest(session, Group.next_round_at),
            _earliest(session, Group.pairing_due_at),
            session.scalar(select(Pairing.next_checkin_at).where(Pairing.status == PairingStatus.ACTIVE,
                           Pairing.next_checkin_at.is_not(None)).order_by(Pairing.next_checkin_at).limit(1)),
            session.scalar(select(Pairing.followup_at).where(Pairing.status == PairingStatus.ACTIVE,
                           Pairing.followup_at.is_not(None)).order_by(Pairing.followup_at).limit(1)),
            questions.next_expiry(session),
            *gatherings.next_due(session),
        ]
    found = [c for c in candidates if c is not None]
    return min(found) if found else None
