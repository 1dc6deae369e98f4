"""The outbox's waiting rows, counted into the backlog gauges at scrape time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from carebot.domain.metrics import OUTBOX_BACKLOG, OUTBOX_OLDEST_DUE
from carebot.domain.vocabulary import OutboxStatus
from carebot.store.models import OutboxMessage


def backlog(session, now: datetime) -> dict[str, int]:
    """Count the outbox's waiting rows into the gauges; returns the counts (for /healthz)."""
    due = OutboxMessage.not_before <= now
    counts = {
        "pending": session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status == OutboxStatus.PENDING, due)),
        "sending": session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status == OutboxStatus.SENDING)),
        "scheduled": session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status == OutboxStatus.PENDING, ~due)),
    }
    for state, count in counts.items():
        OUTBOX_BACKLOG.labels(state).set(count)
    oldest = session.scalar(select(func.min(OutboxMessage.not_before)).where(OutboxMessage.status == OutboxStatus.PENDING, due))
    OUTBOX_OLDEST_DUE.set(max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0)
    return counts
