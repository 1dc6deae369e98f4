"""Crash recovery: settling rows a crash or an unclear answer left in ``sending``.

A row is looked at once nothing can still be on its way: at once when the
process that claimed it is gone (carebot/store/lease.py), ``ASK_AFTER`` after
an unclear answer (a timeout, a 5xx), else once it is ``STUCK_AFTER`` old. If
the provider has the text (the channel's ``find_sent`` finds it there) the
row becomes ``sent`` with that id; otherwise it goes back to ``pending`` and
is sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from carebot.channels import Channel
from carebot.domain.vocabulary import OutboxStatus
from carebot.outbox.retry import MAX_ATTEMPTS, backoff
from carebot.outbox.sender import InDb, inline
from carebot.outbox.write import NO_WORDS
from carebot.store.crypto import lookup_hash
from carebot.store.db import Database
from carebot.store.models import OutboxMessage

log = logging.getLogger(__name__)

# Longer than any send can take (the HTTP timeout and a bounded pass), so a row
# still in flight is never mistaken for one a crash left behind.
STUCK_AFTER = timedelta(minutes=5)
# How long after its claim a row that got no clear answer (a timeout, a 5xx) is asked of the
# provider: past the HTTP timeout, so a text the provider was still taking is in its list.
ASK_AFTER = timedelta(seconds=30)
# How far before the claim to look at the provider for a text it may have taken.
LOOKUP_MARGIN = timedelta(minutes=2)


async def recover_sending(
    db: Database,
    channels: Mapping[str, Channel],
    now: datetime,
    *,
    stuck_after: timedelta = STUCK_AFTER,
    in_db: InDb = inline,
) -> int:
    """Settle rows a crash or an unclear answer left in ``sending``; returns how many.

    A row is looked at once nothing can still be on its way: at once when the
    process that claimed it is known gone (its lease is free: a restart, a
    kill); ``ASK_AFTER`` after its claim when this process claimed it and got
    no clear answer (a timeout, a 5xx); else (an owner that may live, or none)
    once it is ``stuck_after`` old. Each becomes ``sent`` when the provider
    has it (asked through the channel's ``find_sent``), else ``pending`` again
    (or ``failed`` after ``MAX_ATTEMPTS``). A row the provider cannot be asked
    about right now stays for the next call. ``in_db`` runs each database
    step, as in :func:`carebot.outbox.sender.deliver_due`.
    """
    settled = 0
    rows, gone = await in_db(_stuck_rows, db, now, stuck_after)
    for row_id, channel_name, address, body, claimed_at, owner in rows:
        finder = getattr(channels.get(channel_name), "find_sent", None)
        provider_id = None
        if finder is not None:
            known = await in_db(_known_provider_ids, db, address)
            try:
                provider_id = await finder(address, body, (claimed_at or now) - LOOKUP_MARGIN, known)
            except Exception as error:  # the provider is unreachable: ask again next time
                log.warning("outbox row %s: cannot ask the provider yet (%s)", row_id, type(error).__name__)
                continue
        found_gone = provider_id is None and owner in gone and not _aged(claimed_at, now, stuck_after)
        if found_gone and not await in_db(_still_gone, db, owner):
            # Its sender took its lease again while the provider was asked: it lives (its lease had
            # gone with its connection), and its request may still be on its way. Left to it.
            continue
        settled += await in_db(_settle, db, row_id, provider_id, now)
    return settled


def _aged(claimed_at: datetime | None, now: datetime, stuck_after: timedelta) -> bool:
    return claimed_at is None or claimed_at <= now - stuck_after


def _still_gone(db: Database, owner: str) -> bool:
    return db.lease is not None and owner in db.lease.dead([owner])


def _stuck_rows(db: Database, now: datetime, stuck_after: timedelta) -> tuple[list[tuple], set[str]]:
    """The rows to settle now, and the owners found gone among their claimers."""
    lease = db.lease
    gone: set[str] = set()
    with db.transaction() as session:
        settle = [OutboxMessage.claimed_at.is_(None), OutboxMessage.claimed_at <= now - stuck_after]
        if lease is not None and lease.held:
            owners = session.scalars(select(OutboxMessage.claimed_by).distinct().where(
                OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_by.is_not(None))).all()
            gone = lease.dead(owner for owner in owners if owner is not None)
            if gone:
                log.info("settling the texts of %d sender process(es) that are gone", len(gone))
                # Never this process's own texts on their way: claimed under an identity it held
                # before its lease went and it took a new one, they are its to record.
                settle.append(OutboxMessage.claimed_by.in_(sorted(gone))
                              & OutboxMessage.id.not_in(sorted(lease.in_flight)))
            settle.append((OutboxMessage.claimed_by == lease.owner)
                          & OutboxMessage.id.not_in(sorted(lease.in_flight))
                          & (OutboxMessage.claimed_at <= now - ASK_AFTER))
        rows = [tuple(row) for row in session.execute(
            select(OutboxMessage.id, OutboxMessage.channel, OutboxMessage.address,
                   OutboxMessage.body, OutboxMessage.claimed_at, OutboxMessage.claimed_by)
            .where(OutboxMessage.status == OutboxStatus.SENDING, or_(*settle))
            .order_by(OutboxMessage.id)
        ).all()]
    return rows, gone


def _known_provider_ids(db: Database, address: str) -> set[str]:
    """Texts to ``address`` already matched to a row: not another row's, however alike."""
    with db.transaction() as session:
        return set(session.scalars(select(OutboxMessage.provider_id).where(
            OutboxMessage.address_hash == lookup_hash(address), OutboxMessage.provider_id.is_not(None))))


def _settle(db: Database, row_id: int, provider_id: str | None, now: datetime) -> int:
    """A stuck row becomes sent (the provider has it), pending again, or failed; 1 when settled here."""
    with db.transaction() as session:
        # Locked (PostgreSQL), so a status callback or another sender settling it meanwhile is seen.
        row = session.get(OutboxMessage, row_id, with_for_update=True)
        if row is None or row.status != OutboxStatus.SENDING:
            return 0  # a status callback settled it meanwhile
        if provider_id is not None:
            row.status, row.provider_id, row.sent_at = OutboxStatus.SENT, provider_id, row.claimed_at or now
            row.body = NO_WORDS
        elif row.attempts >= MAX_ATTEMPTS:
            row.status = OutboxStatus.FAILED
        elif row.error_code is not None:  # it met errors (an outage): it waits its backoff
            row.status, row.not_before = OutboxStatus.PENDING, now + backoff(row.attempts)
        else:  # its sender died: nothing failed, it goes at once
            row.status, row.not_before = OutboxStatus.PENDING, now
        log.info("outbox row %s recovered as %s", row_id, row.status)
        return 1
