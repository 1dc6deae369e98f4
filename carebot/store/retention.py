"""Retention: logs older than ``CAREBOT_RETENTION_DAYS`` (default 90) are deleted, once a day.

"Logs" are the records of things that happened, kept only to run carebot
smoothly for a while:

- the inbound dedupe log's handled rows (a provider's retry comes within hours); each
  one's dedupe key stays, hashed (``InboundSeen``), since a replayed webhook can come
  at any time: Twilio's signatures carry no timestamp;
- outbox rows that are finished (sent, failed, cancelled); pending ones are kept;
- care flags (crisis, call) and the coordinators' action log (LOG shows the latest);
- second-coordinator approvals no longer pending, gatherings (with their RSVPs) long past;
- answers that ended and pairings that ended, declined or expired, once the pairing
  engine no longer looks back at them (it remembers recent pairings and declines).

Kept as long as the member is: their current answers, open pairings, memberships,
"not with" choices, the conversation they are in, and every consent event (when,
how, which wording), which is the proof of consent. FORGET removes all of it.

The job's due time lives in the ``due_jobs`` table, so it runs at most once a day
whatever the number of ticks, restarts or processes.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from carebot.domain.pairing import DECLINE_MEMORY, RECENT_PAIRING
from carebot.domain.vocabulary import CLOSED_PAIRINGS, OutboxStatus
from carebot.store.models import (
    Answer,
    CareFlag,
    CoordAction,
    DueJob,
    Gathering,
    InboundMessage,
    InboundSeen,
    OutboxMessage,
    Pairing,
    PendingAction,
    Rsvp,
    seen_key,
)
from carebot.store.queries import DIALECT_INSERTS, rowcount

log = logging.getLogger(__name__)

JOB = "retention"
EVERY = timedelta(days=1)
DEFAULT_DAYS = 90
FINISHED_OUTBOX = (OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.CANCELLED)
KEYS_PER_STATEMENT = 5000


def purge(session: Session, now: datetime, days: int = DEFAULT_DAYS) -> dict[str, int]:
    """Delete every log older than ``days`` days; how many rows of each kind went."""
    cutoff = now - timedelta(days=days)
    # The pairing engine avoids re-pairing recent pairs and recent declines: keep what it reads.
    pairing_cutoff = min(cutoff, now - max(RECENT_PAIRING, DECLINE_MEMORY))
    old_inbound = (InboundMessage.handled_at.is_not(None), InboundMessage.received_at < cutoff)
    keep_dedupe_keys(session, *old_inbound)
    old_gatherings = select(Gathering.id).where(Gathering.starts_at < cutoff).scalar_subquery()
    statements = {
        "inbound": delete(InboundMessage).where(*old_inbound),
        "outbox": delete(OutboxMessage).where(OutboxMessage.status.in_(FINISHED_OUTBOX),
                                              OutboxMessage.created_at < cutoff),
        "care_flags": delete(CareFlag).where(CareFlag.at < cutoff),
        "coord_actions": delete(CoordAction).where(CoordAction.at < cutoff),
        "approvals": delete(PendingAction).where(PendingAction.status != "pending",
                                                 PendingAction.expires_at < cutoff),
        "rsvps": delete(Rsvp).where(Rsvp.gathering_id.in_(old_gatherings)),
        "gatherings": delete(Gathering).where(Gathering.starts_at < cutoff),
        "answers": delete(Answer).where(Answer.ended_at.is_not(None), Answer.ended_at < cutoff),
        "pairings": delete(Pairing).where(Pairing.status.in_(CLOSED_PAIRINGS),
                                          Pairing.ended_at < pairing_cutoff),
    }
    counts = {name: rowcount(session.execute(stmt.execution_options(synchronize_session=False)))
              for name, stmt in statements.items()}
    log.info("retention: deleted logs older than %d days: %s", days,
             ", ".join(f"{name} {count}" for name, count in counts.items()))
    return counts


def keep_dedupe_keys(session: Session, *where) -> int:
    """Keep the hashed dedupe keys of the inbound rows ``where`` picks, before they are deleted; how many."""
    keys = [{"key": seen_key(channel, provider_id)} for channel, provider_id
            in session.execute(select(InboundMessage.channel, InboundMessage.provider_id).where(*where))]
    insert = DIALECT_INSERTS[session.get_bind().dialect.name]
    statement = insert(InboundSeen).on_conflict_do_nothing(index_elements=["key"])
    for start in range(0, len(keys), KEYS_PER_STATEMENT):
        session.execute(statement, keys[start:start + KEYS_PER_STATEMENT])
    return len(keys)


def drop_farewells(session: Session) -> int:
    """Delete the delivered last words to forgotten members (FORGET's and STOP's kin); how many.

    They are the only outbox rows with no member: kept just until the provider
    has them, as they still hold the forgotten number (encrypted) to send to.
    """
    return rowcount(session.execute(delete(OutboxMessage).where(
        OutboxMessage.member_id.is_(None), OutboxMessage.status.in_(FINISHED_OUTBOX))
        .execution_options(synchronize_session=False)))


def run_if_due(session: Session, now: datetime, days: int = DEFAULT_DAYS) -> bool:
    """Purge when the daily job is due (and mark it done for a day); True when it ran."""
    # Read first: every tick asks, and on most ticks the day is not over (one statement, not an update too).
    due_at = session.scalar(select(DueJob.due_at).where(DueJob.name == JOB))
    if due_at is None:
        session.add(DueJob(name=JOB, due_at=now + EVERY))
        session.flush()
    elif due_at > now:
        return False
    else:
        # A conditional update: of two processes ticking at once, only one purges.
        taken = rowcount(session.execute(
            update(DueJob).where(DueJob.name == JOB, DueJob.due_at <= now).values(due_at=now + EVERY)
            .execution_options(synchronize_session=False)
        ))
        if not taken:
            return False
    purge(session, now, days)
    return True
