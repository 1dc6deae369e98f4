"""The providers' delivery reports: a sent text's status moves forward, never back."""

from __future__ import annotations

import logging

from sqlalchemy import select

from carebot.channels import StatusUpdate
from carebot.domain import metrics
from carebot.store.db import Database
from carebot.store.models import OutboxMessage

log = logging.getLogger(__name__)

# Provider states in the order a text moves through them; a report never moves a row back.
_PROGRESS = {
    "accepted": 1, "scheduled": 1, "queued": 1, "sending": 2, "sent": 3,
    "delivered": 4, "undelivered": 4, "failed": 4, "canceled": 4, "partially_delivered": 4,
    "read": 5,
}
UNDELIVERED = ("undelivered", "failed")


def apply_status(db: Database, report: StatusUpdate) -> bool:
    """Move a sent text's provider status forward; False when no row matches it.

    Matched by the provider's own id only. The row id in the callback URL is
    never trusted alone: a late report for an old text must not mark another
    row, unsent, as sent (ids are not reused, but a report is not proof of
    which row it is about). A row a crash left in ``sending`` is settled by
    ``recover_sending``, which asks the provider.
    """
    with db.transaction() as session:
        # Locked (PostgreSQL): a sender recording the same row waits, and neither undoes the other.
        row = session.scalars(
            select(OutboxMessage).where(OutboxMessage.provider_id == report.provider_id).with_for_update()
        ).first()
        if row is None:
            log.info("status report for an unknown message ignored")
            return False
        if _PROGRESS.get(report.status, 0) > _PROGRESS.get(row.provider_status or "", 0):
            row.provider_status = report.status
            metrics.out(row.channel, report.status)  # only known states get here: a closed list
            if report.status in UNDELIVERED and report.error_code:
                row.error_code = report.error_code
        return True
