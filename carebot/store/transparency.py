"""The log every member can read: what coordinators did, who and when, never contents or numbers."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from carebot.store.models import CoordAction

log = logging.getLogger(__name__)


def record(session: Session, group_id: int, actor_id: int | None, action: str, now: datetime,
           target_id: int | None = None, other_id: int | None = None, *, digest: str | None = None) -> None:
    """Write one coordinator action to the group's log (``digest``: a keyed hash of what it said)."""
    session.add(CoordAction(group_id=group_id, actor_id=actor_id, action=action,
                            target_id=target_id, other_id=other_id, at=now, digest=digest))
    log.info("coordinator %s did %s in group %s", actor_id, action, group_id)
