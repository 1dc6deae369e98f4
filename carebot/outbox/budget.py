"""A daily budget of texts per group, so a runaway of carebot's own texts stops and coordinators hear of it.

A group's day runs from midnight to midnight in its timezone. The texts it
used are its outbox rows claimed for sending that day: sent, in flight, or
tried and refused by the provider (a runaway against a refusing provider is
still a runaway), each row once however often it was tried.
Once they reach the budget, carebot's own texts to the group (``push``:
rounds, check-ins, relays, announcements) wait for the group's next day, and
quiet hours still apply then. Replies to what a member just texted, and the
STOP and FORGET confirmations, still go: the flood limit bounds those. The
coordinators are told once a day (carebot/outbox/notify.py), by a ``notice``
the budget never holds.

The budget is the group's own (``carebot group edit --budget N``), else
``PER_MEMBER`` texts a day for each active member, and never below ``FLOOR``:
far above what a round, check-ins, relays and announcements use in a day.
Two senders racing at the very edge may each send one more text: the budget
stops a runaway, it is not an invoice.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from carebot.domain import metrics
from carebot.domain.i18n import render
from carebot.domain.vocabulary import MembershipStatus, OutboxStatus
from carebot.outbox.notify import tell_coordinators
from carebot.outbox.write import NOTICE, PUSH
from carebot.store.models import Group, Membership, OutboxMessage
from carebot.store.queries import existing, rowcount

log = logging.getLogger(__name__)

PER_MEMBER = 20
FLOOR = 500


def day_bounds(now: datetime, timezone: str) -> tuple[date, datetime, datetime]:
    """The group's local date at ``now``, and when that day started and when the next one starts."""
    tz = ZoneInfo(timezone)
    today = now.astimezone(tz).date()
    start = datetime.combine(today, time(0), tz).astimezone(now.tzinfo)
    following = datetime.combine(today + timedelta(days=1), time(0), tz).astimezone(now.tzinfo)
    return today, start, following


def used_since(session: Session, group_id: int, since: datetime) -> int:
    """How many of the group's texts were claimed for sending since ``since``."""
    # A range of one index (ix_outbox_group_claimed), read without touching the table.
    return session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.group_id == group_id, OutboxMessage.claimed_at >= since)) or 0


def _active_members(session: Session, group_id: int, at_most: int | None = None) -> int:
    query = select(Membership.id).where(Membership.group_id == group_id, Membership.status == MembershipStatus.ACTIVE)
    if at_most is not None:
        query = query.limit(at_most)
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def daily_budget(session: Session, group: Group) -> int:
    """The texts ``group`` may use in one of its days: its own budget, else the default for its size."""
    if group.daily_budget is not None:
        return group.daily_budget
    return max(FLOOR, PER_MEMBER * _active_members(session, group.id))


def _spent(session: Session, group: Group, used: int) -> bool:
    if group.daily_budget is not None:
        return used >= group.daily_budget
    if used < FLOOR:
        return False
    # Spent when active members * PER_MEMBER <= used; counting at most one member past that
    # keeps the check as cheap as the count of texts, even for a group of thousands.
    enough = used // PER_MEMBER
    return _active_members(session, group.id, at_most=enough + 1) <= enough


def hold_until(session: Session, row: OutboxMessage, now: datetime, *, record: bool = True) -> datetime | None:
    """When a push of ``row``'s group may go, if the group's budget for today is spent; else None.

    The outbox asks for pushes only (replies always go). With ``record`` a held
    text is counted, and the first time a day the group's coordinators are
    told, in the caller's transaction; without it (a look at a row that is not
    being sent) nothing changes.
    """
    if row.group_id is None or row.purpose == NOTICE:
        return None
    group = existing(session, Group, row.group_id)
    today, start, following = day_bounds(now, group.timezone)
    if not _spent(session, group, used_since(session, group.id, start)):
        return None
    if record:
        metrics.held_by_budget()
        _tell_once(session, group, today, now)
    return following


def reopen(session: Session, group: Group, now: datetime) -> int:
    """After ``group``'s budget changed: the texts it held for tomorrow are due now; returns how many.

    The send-time check holds them again if the new budget is spent too, and
    then the coordinators are told again: it is a new budget. A held text is
    known by its time, the group's next midnight; a push waiting for that
    moment for another reason (a member whose day starts at midnight) is only
    looked at sooner: the send-time check holds it again.
    """
    today, _, following = day_bounds(now, group.timezone)
    if group.budget_told_on == today:
        group.budget_told_on = None
    return rowcount(session.execute(
        update(OutboxMessage).where(OutboxMessage.group_id == group.id, OutboxMessage.status == OutboxStatus.PENDING,
                                    OutboxMessage.purpose == PUSH, OutboxMessage.not_before == following)
        .values(not_before=now).execution_options(synchronize_session=False)
    ))


def held_now(session: Session, now: datetime) -> dict[int, int]:
    """How many pushes each group's budget holds now (``carebot status``), by group id; groups holding none left out.

    A held text is known as ``reopen`` knows it: a push waiting for the group's next midnight, on a
    day the group's coordinators were told its budget was spent (a push waiting for midnight for
    another reason, on a day the budget held nothing, is not counted). Two queries, whatever the groups.
    """
    told = session.execute(select(Group.id, Group.timezone, Group.budget_told_on)
                           .where(Group.budget_told_on.is_not(None))).all()
    following: dict[int, datetime] = {}
    for group_id, timezone, told_on in told:
        today, _, midnight = day_bounds(now, timezone)
        if told_on == today:
            following[group_id] = midnight
    if not following:
        return {}
    rows = session.execute(
        select(OutboxMessage.group_id, OutboxMessage.not_before, func.count())
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.purpose == PUSH,
               OutboxMessage.group_id.in_(following), OutboxMessage.not_before.in_(set(following.values())))
        .group_by(OutboxMessage.group_id, OutboxMessage.not_before)).all()
    return {group_id: count for group_id, at, count in rows if group_id is not None and at == following[group_id]}


def _tell_once(session: Session, group: Group, today: date, now: datetime) -> None:
    # A conditional update, so of several senders (or a restarted one) exactly one tells.
    claimed = rowcount(session.execute(
        update(Group).where(Group.id == group.id,
                            or_(Group.budget_told_on.is_(None), Group.budget_told_on != today))
        .values(budget_told_on=today).execution_options(synchronize_session=False)
    ))
    if not claimed:
        return
    budget = daily_budget(session, group)
    coordinators = tell_coordinators(
        session, group.id, now, lambda coordinator: render(
            "budget.coordinators", coordinator.language or group.language, keyword=group.keyword, budget=budget),
        purpose=NOTICE)
    log.warning("group %s used its daily budget of %d texts; its own texts wait for tomorrow; coordinators told: %d",
                group.id, budget, len(coordinators))
