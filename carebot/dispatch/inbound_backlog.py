"""The inbound queue at a glance: the texts waiting for the inbound worker, how long the oldest has waited,
and the texts given up after ``MAX_INBOUND_ATTEMPTS`` failed tries.

A stalled or crashed worker shows as a wait that grows; a text that keeps failing as a wait that grows
for a few passes (it holds the queue behind it), then as one given up. /healthz and /metrics ask at
every scrape, so each count reads an index, never the whole kept queue: the waiting texts are the
partial index ``ix_inbound_waiting``'s (rows where ``handled_at`` IS NULL), and since ids grow with
time the oldest is the smallest id there; the texts given up in the last day are counted among the
texts received in that day (the index on ``received_at``). Only ``carebot status`` counts every text
given up (``given_up_kept``): that reads each row kept, which retention bounds (CAREBOT_RETENTION_DAYS).
Counts and seconds only, never a number or a text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carebot.dispatch.dispatcher import MAX_INBOUND_ATTEMPTS
from carebot.store.models import InboundMessage

RECENT = timedelta(hours=24)  # "in the last day", for the texts given up
_WAITING = InboundMessage.handled_at.is_(None)  # ix_inbound_waiting's own condition, so it is the index read
_GIVEN_UP = InboundMessage.attempts >= MAX_INBOUND_ATTEMPTS  # dispatcher.Dispatcher._failed


@dataclass(frozen=True)
class InboundBacklog:
    waiting: int  # texts stored and not yet handled (those failing and to be tried again among them)
    oldest_seconds: int  # how long the oldest of them has waited; 0 when none waits
    given_up_24h: int  # texts received in the last 24 hours and given up

    def as_health(self) -> dict[str, int]:
        """What /healthz says of the queue."""
        return {"waiting": self.waiting, "oldest_seconds": self.oldest_seconds, "given_up_24h": self.given_up_24h}


def waiting(session: Session) -> int:
    """How many texts wait for the inbound worker."""
    return session.scalar(select(func.count()).select_from(InboundMessage).where(_WAITING)) or 0


def inbound_backlog(session: Session, now: datetime) -> InboundBacklog:
    """The queue as it is at ``now``: three statements, each reading an index."""
    count = waiting(session)
    oldest = session.scalar(select(InboundMessage.received_at).where(_WAITING).order_by(InboundMessage.id).limit(1))
    given_up = session.scalar(select(func.count()).select_from(InboundMessage)
                              .where(InboundMessage.received_at >= now - RECENT, _GIVEN_UP)) or 0
    age = max(0, int((now - oldest).total_seconds())) if oldest is not None else 0
    return InboundBacklog(count, age, given_up)


def given_up_kept(session: Session) -> int:
    """Every text given up among those kept (``carebot status``; it reads every row kept, not for scrapes)."""
    return session.scalar(select(func.count()).select_from(InboundMessage).where(_GIVEN_UP)) or 0
