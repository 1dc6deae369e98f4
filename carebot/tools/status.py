"""``carebot status``: the deployment at a glance, for whoever has a shell on the server.

Groups and their members (active, resting, stopped, invited), the requests for care still
waiting and the oldest one's wait, the texts a group's spent daily budget holds for its next
day, the members' texts waiting for the inbound worker and those it gave up, the outbox's
backlog, the texts that failed or wait
after a provider's refusal in the last 7 days by error class, Signal's recorded pause, and
the schema. Only counts, names of groups and error classes: never a number or a text.
A handful of grouped queries, whatever the number of members.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from carebot.dispatch.dispatcher import MAX_INBOUND_ATTEMPTS
from carebot.dispatch.inbound_backlog import given_up_kept, inbound_backlog
from carebot.domain.metrics import error_code
from carebot.domain.vocabulary import UNAVAILABLE, MembershipStatus, OutboxStatus
from carebot.outbox import budget
from carebot.outbox.backlog import backlog
from carebot.store.db import Database
from carebot.store.models import Answer, Group, Member, Membership, OutboxMessage, ProviderPause
from carebot.store.queries import existing, requests_waiting

LOOK_BACK = timedelta(days=7)
UNDELIVERED = ("undelivered", "failed")  # a provider's report that a sent text did not arrive


@dataclass
class GroupLine:
    keyword: str
    name: str
    timezone: str
    members: dict[str, int] = field(default_factory=dict)  # active | resting | stopped | invited
    waiting: int = 0
    oldest_since: datetime | None = None


def _members(session: Session, now: datetime) -> dict[int, dict[str, int]]:
    """Each group's members by state, in one grouped query."""
    resting = (select(Answer.group_id, Answer.member_id).where(Answer.option == UNAVAILABLE, Answer.current(now))
               .distinct().subquery())
    state = case((Member.opted_out.is_(True), literal("stopped")),
                 (Membership.status == MembershipStatus.INVITED, literal("invited")),
                 (resting.c.member_id.is_not(None), literal("resting")), else_=literal("active"))
    rows = session.execute(
        select(Membership.group_id, state, func.count())
        .join(Member, Member.id == Membership.member_id)
        .outerjoin(resting, and_(resting.c.group_id == Membership.group_id, resting.c.member_id == Member.id))
        .where(Membership.status.in_((MembershipStatus.ACTIVE, MembershipStatus.INVITED)))
        .group_by(Membership.group_id, state)).all()
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for group_id, name, count in rows:
        counts[group_id][name] = count
    return counts


def _troubles(session: Session, now: datetime) -> dict[str, dict[str, int]]:
    """Texts of the last 7 days that failed, or wait after a provider refused them, by error class."""
    failed = or_(OutboxMessage.status == OutboxStatus.FAILED, OutboxMessage.provider_status.in_(UNDELIVERED))
    held = and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.error_code.is_not(None))
    kind = case((failed, literal("failed")), else_=literal("held"))
    rows = session.execute(
        select(kind, OutboxMessage.channel, OutboxMessage.error_code, func.count())
        .where(OutboxMessage.created_at >= now - LOOK_BACK, or_(failed, held))
        .group_by(kind, OutboxMessage.channel, OutboxMessage.error_code)).all()
    found: dict[str, dict[str, int]] = {"failed": defaultdict(int), "held": defaultdict(int)}
    for which, channel, code, count in rows:
        # The same label /metrics gives a code: a provider's own words never reach the terminal.
        found[which][f"{channel} {error_code(code)}"] += count
    return found


def _wait(since: datetime, now: datetime) -> str:
    hours = max(0, int((now - since).total_seconds() // 3600))
    return "under an hour" if hours < 1 else _hours(hours)


def _hours(hours: int) -> str:
    return f"{hours} hour{'s' if hours != 1 else ''}" if hours < 48 else f"{hours // 24} days"


def _age(seconds: int) -> str:
    """A text's wait in the inbound queue, where minutes matter: members wait for the answer."""
    minutes = seconds // 60
    if minutes < 1:
        return "under a minute"
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return _hours(minutes // 60)


def _inbound(session: Session, now: datetime) -> list[str]:
    """The texts waiting for the inbound worker and, when any, those given up (the log's 'given up' lines)."""
    queue = inbound_backlog(session, now)
    lines = [f"Texts waiting to be handled: {queue.waiting} (the oldest {_age(queue.oldest_seconds)})"
             if queue.waiting else "Texts waiting to be handled: none"]
    kept = given_up_kept(session)
    if kept:
        lines.append(f"Texts given up after {MAX_INBOUND_ATTEMPTS} failed tries: {queue.given_up_24h} in the last "
                     f"day, {kept} in all (see the log lines 'given up')")
    return lines


def _classes(counts: dict[str, int]) -> str:
    return ", ".join(f"{label}: {count}" for label, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _held(session: Session, group_id: int, held: dict[int, int]) -> str:
    """The texts the group's spent budget holds for its next day, with the budget (`group edit --budget` changes it)."""
    count = held.get(group_id, 0)
    if not count:
        return ""
    allowed = budget.daily_budget(session, existing(session, Group, group_id))
    return f"; {count} text{'s' if count != 1 else ''} held by its daily budget of {allowed} until its next day"


def report(session: Session, now: datetime, *, schema: str, signal_on: bool | None,
           unservable: str | None = None) -> list[str]:
    """The overview's lines; ``unservable``: why ``carebot serve`` would refuse these settings, if it would."""
    groups = session.execute(select(Group.id, Group.keyword, Group.name, Group.timezone).order_by(Group.keyword)).all()
    members, waiting, held = _members(session, now), requests_waiting(session, now), budget.held_now(session, now)
    lines = [f"carebot status at {now:%Y-%m-%d %H:%M} UTC; schema {schema}", ""]
    lines.append(f"Groups ({len(groups)}):" if groups else "Groups: none yet (`carebot group add` makes one).")
    for group_id, keyword, name, timezone in groups:
        counts = members.get(group_id, {})
        people = ", ".join(f"{counts.get(state, 0)} {state}" for state in ("active", "resting", "stopped", "invited"))
        count, oldest = waiting.get(group_id, (0, None))
        asks = (f"{count} request{'s' if count != 1 else ''} waiting, the oldest for {_wait(oldest, now)}"
                if count and oldest is not None else "no request waiting")
        lines.append(f"  {keyword:<16} {name} ({timezone}): {people}; {asks}" + _held(session, group_id, held))
    queue = backlog(session, now)
    lines += ["", *_inbound(session, now), f"Outbox: {queue['pending']} due now, {queue['sending']} being sent, "
                  f"{queue['scheduled']} scheduled for later"]
    troubles = _troubles(session, now)
    for which, words in (("failed", "failed"), ("held", "waiting after a provider refused them")):
        total = sum(troubles[which].values())
        lines.append(f"Last 7 days, {words}: {total}" + (f" ({_classes(troubles[which])})" if total else ""))
    pause = session.get(ProviderPause, "signal")
    if signal_on is False:
        signal = "off (SMS only)"
    elif pause is not None and pause.until > now:
        signal = f"paused by the service until {pause.until:%Y-%m-%d %H:%M} UTC ({pause.pauses} in a row)"
    else:
        signal = "on, no pause recorded" if signal_on else "no pause recorded"
    lines.append(f"Signal: {signal}")
    if unservable is not None:
        lines.append(f"Settings: `carebot serve` would not start: {unservable}")
    return lines


def run(db: Database, echo: Callable[[str], None]) -> None:
    """The overview of ``db`` (opened by the caller's start-up checks), echoed line by line; ``db`` disposed."""
    from carebot.domain import clock
    from carebot.domain.startup import Refusal
    from carebot.store.db import revisions

    try:
        current, head = revisions(db.engine)
        schema = f"{current} (up to date)" if current == head else f"{current}, this carebot needs {head}"
        try:
            from carebot.domain.config import load_serve_settings

            signal_on: bool | None = bool(load_serve_settings().signal_service)
            unservable = None
        except Refusal as refusal:  # the serving settings are incomplete or wrong here: say so, in their words
            signal_on, unservable = None, str(refusal).removeprefix("carebot serve: ")
        with db.transaction() as session:
            for line in report(session, clock.now(), schema=schema, signal_on=signal_on, unservable=unservable):
                echo(line)
    finally:
        db.dispose()
