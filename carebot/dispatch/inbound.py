"""The inbound queue's batches: which stored texts a worker takes next, claimed in its transaction.

A worker handles a batch of waiting texts in one transaction (one commit, not
one per text), each text in a savepoint of its own so that a failure applies
nothing of that text. A batch holds at most one text per sender, the oldest
one still waiting: a member's next text waits for the next batch, so texts act
in each sender's order. On PostgreSQL the batch's rows are locked with SKIP
LOCKED, so a second worker takes the next senders' texts instead of waiting.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from carebot.domain import clock
from carebot.store.models import InboundMessage

# Waiting texts looked at for a batch of ``limit``: a few times more, since a
# sender's later texts in the window are left for later batches, and a second
# worker's batch comes from the same window, past the rows the first one locked.
WINDOW = 4


def first_of_each_sender(rows) -> list[int]:
    """The ids, among (id, channel, sender_hash) oldest first, of each sender's oldest text."""
    seen: set[tuple[str, str | None]] = set()
    first = []
    for row_id, channel, sender_hash in rows:
        if (channel, sender_hash) not in seen:
            seen.add((channel, sender_hash))
            first.append(row_id)
    return first


def take(session: Session, limit: int) -> list[InboundMessage]:
    """Claim up to ``limit`` waiting texts from different senders, oldest first, in ``session``'s transaction.

    Claimed by a conditional update that commits with their effects: a crash
    undoes both, and a worker that comes second finds nothing to claim.
    """
    window = session.execute(
        select(InboundMessage.id, InboundMessage.channel, InboundMessage.sender_hash)
        .where(InboundMessage.handled_at.is_(None)).order_by(InboundMessage.id).limit(limit * WINDOW)
    ).all()
    first = first_of_each_sender(window)
    if not first:
        return []
    free = session.scalars(
        select(InboundMessage.id).where(InboundMessage.id.in_(first), InboundMessage.handled_at.is_(None))
        .order_by(InboundMessage.id).limit(limit).with_for_update(skip_locked=True)
    ).all()
    return claim(session, list(free))


def claim(session: Session, ids: list[int]) -> list[InboundMessage]:
    """Mark the waiting texts among ``ids`` as handled, in this transaction; those rows, oldest first."""
    if not ids:
        return []
    claimed = session.scalars(
        update(InboundMessage)
        .where(InboundMessage.id.in_(ids), InboundMessage.handled_at.is_(None))
        .values(handled_at=clock.now())
        .returning(InboundMessage.id)
        .execution_options(synchronize_session=False)
    ).all()
    if not claimed:
        return []
    return list(session.scalars(select(InboundMessage).where(InboundMessage.id.in_(claimed))
                                .order_by(InboundMessage.id).execution_options(populate_existing=True)))


def release(session: Session, rows: list[InboundMessage]) -> None:
    """Put claimed texts back in the queue, untouched, for a later pass."""
    for row in rows:
        row.handled_at = None
