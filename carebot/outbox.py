"""The transactional outbox: texts are rows first, deliveries second.

``enqueue`` writes a row in the same transaction as the change that caused it.
``deliver_due`` sends due rows one at a time and re-checks, at send time, what
may have changed since: consent (STOP always wins) and quiet hours.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebot.channels import SIGNAL, Channel, SendError
from carebot.db import Database
from carebot.models import Group, Member, Membership, OutboxMessage
from carebot.quiet import next_daytime

log = logging.getLogger(__name__)

REPLY, PUSH, FINAL = "reply", "push", "final"
MAX_ATTEMPTS = 6
BASE_BACKOFF = timedelta(seconds=30)


def address_on(member: Member, channel: str) -> str | None:
    """Where ``member`` is reached on ``channel``, if they can be."""
    if channel == SIGNAL:
        return member.signal_uuid
    return member.phone


def member_timezone(session: Session, member: Member, group_id: int | None, default: str) -> tuple[ZoneInfo, int, int]:
    """The member's timezone and daytime hours: their own, else the group's."""
    group = session.get(Group, group_id) if group_id else None
    if group is None:
        group = session.scalars(
            select(Group).join(Membership).where(Membership.member_id == member.id).limit(1)
        ).first()
    zone = member.timezone or (group.timezone if group else default)
    if group is None:
        return ZoneInfo(zone), 9, 20
    return ZoneInfo(zone), group.quiet_end, group.quiet_start


def enqueue(
    session: Session,
    *,
    member: Member | None,
    channel: str,
    address: str,
    text: str,
    purpose: str,
    now: datetime,
    group_id: int | None = None,
    not_before: datetime | None = None,
) -> OutboxMessage:
    """Write one text to the outbox, in the caller's transaction."""
    row = OutboxMessage(
        member_id=member.id if member else None,
        group_id=group_id,
        channel=channel,
        address=address,
        body=text,
        purpose=purpose,
        status="pending",
        not_before=not_before or now,
        created_at=now,
    )
    session.add(row)
    return row


def push(session: Session, member: Member, text: str, now: datetime, group_id: int | None, default_tz: str = "UTC") -> OutboxMessage | None:
    """A text carebot starts on its own: on the member's channel, by day only."""
    address = address_on(member, member.channel)
    if address is None or member.opted_out:
        return None
    tz, starts, ends = member_timezone(session, member, group_id, default_tz)
    return enqueue(
        session,
        member=member,
        channel=member.channel,
        address=address,
        text=text,
        purpose=PUSH,
        now=now,
        group_id=group_id,
        not_before=next_daytime(now, tz, starts, ends),
    )


def _may_send(session: Session, row: OutboxMessage, now: datetime, default_tz: str) -> str | datetime | None:
    """Why ``row`` must not go now: "cancelled", a later time, or None when it may go."""
    if row.purpose == FINAL:
        return None
    member = session.get(Member, row.member_id) if row.member_id else None
    if member is None or member.opted_out:
        return "cancelled"
    if row.purpose != PUSH:
        return None
    if row.group_id is not None:
        membership = session.scalars(
            select(Membership).where(
                Membership.member_id == member.id,
                Membership.group_id == row.group_id,
                Membership.status == "active",
            )
        ).first()
        if membership is None:
            return "cancelled"
    tz, starts, ends = member_timezone(session, member, row.group_id, default_tz)
    morning = next_daytime(now, tz, starts, ends)
    return morning if morning != now else None


def due_ids(session: Session, now: datetime, limit: int) -> list[int]:
    """Pending rows whose time has come, oldest first."""
    return list(
        session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.status == "pending", OutboxMessage.not_before <= now)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )


def backoff(attempts: int) -> timedelta:
    """Exponential backoff with jitter, so retries never arrive as a storm."""
    delay = BASE_BACKOFF * (2 ** (attempts - 1))
    return delay + delay * random.random() * 0.25


async def deliver_due(
    db: Database,
    channels: Mapping[str, Channel],
    now: datetime,
    *,
    default_tz: str = "UTC",
    limit: int = 500,
) -> int:
    """Send every due outbox row; returns how many the providers accepted."""
    with db.transaction() as session:
        ids = due_ids(session, now, limit)
    sent = 0
    for row_id in ids:
        with db.transaction() as session:
            row = session.get(OutboxMessage, row_id)
            if row is None or row.status != "pending":
                continue
            verdict = _may_send(session, row, now, default_tz)
            if verdict == "cancelled":
                row.status = "cancelled"
                continue
            if isinstance(verdict, datetime):
                row.not_before = verdict
                continue
            channel = channels.get(row.channel)
            if channel is None:
                row.not_before = now + BASE_BACKOFF
                log.warning("no channel %s configured for outbox row %s", row.channel, row.id)
                continue
            row.status = "sending"
            row.attempts += 1
            address, body = row.address, row.body
        try:
            result = await channel.send(address, body, row_id)
        except SendError as error:
            _record_failure(db, row_id, error, now)
            continue
        with db.transaction() as session:
            row = session.get(OutboxMessage, row_id)
            row.status = "sent"
            row.provider_id = result.provider_id
            row.sent_at = now
        sent += 1
    return sent


def _record_failure(db: Database, row_id: int, error: SendError, now: datetime) -> None:
    with db.transaction() as session:
        row = session.get(OutboxMessage, row_id)
        row.error_code = error.code
        if error.retryable and row.attempts < MAX_ATTEMPTS:
            row.status = "pending"
            row.not_before = now + backoff(row.attempts)
        else:
            row.status = "failed"
        member = session.get(Member, row.member_id) if row.member_id else None
        if member is not None and error.opted_out:
            member.opted_out = True
        log.info("outbox row %s not sent (code %s, now %s)", row_id, error.code, row.status)
