"""The transactional outbox: texts are rows first, deliveries second.

``enqueue`` writes a row in the same transaction as the change that caused it.
``deliver_due`` sends due rows and re-checks, at send time, what may have
changed since: consent (STOP always wins), a number known to be unusable, and
quiet hours. ``apply_status`` takes the provider's delivery reports.

The guarantee, for every row, whatever crashes and wherever:

* A row is claimed (``pending`` -> ``sending``, committed) before the provider
  is asked, and marked ``sent`` with the provider's id after it answers.
* A crash (or an unclear answer: a timeout, a 5xx) between the claim and that
  commit leaves the row in ``sending``. ``recover_sending`` looks at such a
  row once nothing can still be on its way: at once when the process that
  claimed it is gone (carebot/lease.py), ``ASK_AFTER`` after an unclear
  answer, else once it is ``STUCK_AFTER`` old. If the provider has the text
  (the channel's ``find_sent`` finds it there) the row becomes ``sent`` with
  that id; otherwise it goes back to ``pending`` and is sent again.
* Texts to one address go in the order they were written: a row waits while
  an earlier one to the same address is in flight or waiting for its retry
  (not while it waits for the morning: a reply still goes at once).
* So a row is never lost, and is never sent twice when the provider took it
  and can say so. The one residual risk is a provider that took a text, never
  reports it and cannot be asked (a channel without ``find_sent``): that row
  is sent again, at-least-once.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Select, or_, select, update
from sqlalchemy.orm import Session

from carebot.channels import SIGNAL, SMS, Channel, SendError, Sent, StatusUpdate
from carebot.domain import metrics
from carebot.domain.daytime import DAY_ENDS, DAY_STARTS, next_daytime
from carebot.domain.sms import fold_gsm7, is_gsm7
from carebot.outbox import budget
from carebot.store.crypto import lookup_hash
from carebot.store.db import Database
from carebot.store.models import ConsentEvent, Group, Member, Membership, OutboxMessage, ProviderPause
from carebot.store.queries import coordinators_of

log = logging.getLogger(__name__)

T = TypeVar("T")
# Awaits one database step, a function and its arguments: run ``inline``, or on a database worker thread.
InDb = Callable[..., Awaitable]

REPLY, PUSH, FINAL = "reply", "push", "final"
SENT_BODY = ""  # what a delivered text's body becomes
MAX_ATTEMPTS = 6
BASE_BACKOFF = timedelta(seconds=30)
# Longer than any send can take (the HTTP timeout and a bounded pass), so a row
# still in flight is never mistaken for one a crash left behind.
STUCK_AFTER = timedelta(minutes=5)
# How long after its claim a row that got no clear answer (a timeout, a 5xx) is asked of the
# provider: past the HTTP timeout, so a text the provider was still taking is in its list.
ASK_AFTER = timedelta(seconds=30)
# How far before the claim to look at the provider for a text it may have taken.
LOOKUP_MARGIN = timedelta(minutes=2)
# A reply goes at once, night or day: it answers a text the member just sent. One
# still waiting this long after it was written (the provider was down) waits for daytime.
STALE_REPLY = timedelta(minutes=30)


def address_on(member: Member, channel: str) -> str | None:
    """Where ``member`` is reached on ``channel``, if they can be."""
    if channel == SIGNAL:
        return member.signal_uuid
    return member.phone


def daytime(
    zone: str | None, starts: int | None, ends: int | None, group: Group | None, default: str
) -> tuple[ZoneInfo, int, int]:
    """A member's timezone and daytime hours: their own where set, else their group's."""
    tz = ZoneInfo(zone or (group.timezone if group else default))
    if starts is not None and ends is not None:
        return tz, starts, ends
    if group is None:
        return tz, DAY_STARTS, DAY_ENDS
    return tz, group.quiet_end, group.quiet_start


def member_timezone(session: Session, member: Member, group_id: int | None, default: str) -> tuple[ZoneInfo, int, int]:
    """The member's timezone and daytime hours: their own, else the group's."""
    group = session.get(Group, group_id) if group_id else None
    if group is None:
        group = session.scalars(
            select(Group).join(Membership).where(Membership.member_id == member.id).limit(1)
        ).first()
    return daytime(member.timezone, member.day_starts, member.day_ends, group, default)


def fit_sms(session: Session, member: Member | None, group_id: int | None, text: str) -> str:
    """An SMS text folded to GSM-7 where that saves segments (á, í, ó, ú force UCS-2 otherwise),
    unless the group it is for, or every group of the member, has turned folding off."""
    if is_gsm7(text):
        return text
    groups = [group_id] if group_id is not None else (list(session.scalars(
        select(Membership.group_id).where(Membership.member_id == member.id, Membership.status == "active")))
        if member is not None and member.id is not None else [])
    if groups and not any(session.scalars(select(Group.sms_fold).where(Group.id.in_(groups)))):
        return text
    return fold_gsm7(text)


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
    if channel == SMS:
        text = fit_sms(session, member, group_id, text)
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


def push(session: Session, member: Member, text: str, now: datetime, group_id: int | None,
         default_tz: str = "UTC") -> OutboxMessage | None:
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


def _consent_gone(session: Session, row: OutboxMessage) -> bool:
    """Whether ``row`` can never go: its member is gone, sent STOP, or has a number that takes no texts."""
    if row.purpose == FINAL:
        return False  # a STOP's own confirmation
    member = session.get(Member, row.member_id) if row.member_id else None
    return member is None or member.opted_out or (row.channel == SMS and member.phone_unusable)


def _may_send(session: Session, row: OutboxMessage, now: datetime, default_tz: str,
              *, look_only: bool = False) -> str | datetime | None:
    """Why ``row`` must not go now: "cancelled", a later time, or None when it may go.

    ``look_only``: another row's check asks, so a text held by the budget is
    neither counted nor told of (its own turn does that).
    """
    if _consent_gone(session, row):
        return "cancelled"
    if row.purpose == REPLY and now - row.created_at >= STALE_REPLY:
        # Held up this long (a provider's outage), it no longer answers a text just sent: by day only.
        return _morning(session, session.get(Member, row.member_id), row.group_id, now, default_tz)
    if row.purpose not in (PUSH, budget.NOTICE):
        return None
    member = session.get(Member, row.member_id)
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
    morning = _morning(session, member, row.group_id, now, default_tz)
    if morning is not None:
        return morning
    # Last: a text that waits anyway never trips the budget.
    return budget.hold_until(session, row, now, record=not look_only)


def _morning(session: Session, member: Member, group_id: int | None, now: datetime, default_tz: str) -> datetime | None:
    """When the member's day starts, if it is night for them now; None by day."""
    tz, starts, ends = member_timezone(session, member, group_id, default_tz)
    morning = next_daytime(now, tz, starts, ends)
    return morning if morning != now else None


def backoff(attempts: int) -> timedelta:
    """Exponential backoff with jitter, so retries never arrive as a storm."""
    delay = BASE_BACKOFF * (2 ** (attempts - 1))
    return delay + delay * random.random() * 0.25


async def inline(function: Callable[..., T], *args) -> T:
    """Run ``function`` on the caller's own thread: for tests and one-off passes."""
    return function(*args)


async def deliver_due(
    db: Database,
    channels: Mapping[str, Channel],
    now: datetime,
    *,
    default_tz: str = "UTC",
    limit: int = 500,
    concurrency: int = 1,
    only: Collection[str] | None = None,
    in_db: InDb = inline,
) -> int:
    """Send up to ``limit`` due outbox rows, answers first; returns how many the providers accepted.

    A channel with a ``pacer`` attribute (a :class:`carebot.channels.pacing.Pacer`) is paced by it.
    Texts to different addresses go ``concurrency`` at a time, in parallel;
    texts to one address go one after another, oldest first. ``only``
    limits the pass to rows on those channels (None: every row). ``in_db``
    runs each database step: ``carebot serve`` passes its database worker, so
    the event loop never waits on a database lock while webhooks come in.
    """
    due = await in_db(_due_rows, db, now, limit, only)
    lanes: dict[str, list[int]] = {}  # by address, in the order the pass reached them
    for row_id, address in due:
        lanes.setdefault(address, []).append(row_id)
    gate = asyncio.Semaphore(max(1, concurrency))  # FIFO: lanes start in that order

    async def lane(ids: list[int]) -> int:
        async with gate:
            return sum([await _deliver_one(db, channels, row_id, now, default_tz, in_db) for row_id in sorted(ids)])

    return sum(await asyncio.gather(*(lane(ids) for ids in lanes.values())))


def _due_rows(db: Database, now: datetime, limit: int, only: Collection[str] | None) -> list[tuple[int, str]]:
    # Answers first (replies and STOP confirmations): a member who just texted should not wait
    # behind a round's thousands of texts. Per member the order holds: see _earlier_in_the_way.
    query = (select(OutboxMessage.id, OutboxMessage.address)
             .where(OutboxMessage.status == "pending", OutboxMessage.not_before <= now)
             .order_by(OutboxMessage.purpose.in_((PUSH, budget.NOTICE)), OutboxMessage.id).limit(limit))
    if only is not None:
        query = query.where(OutboxMessage.channel.in_(list(only)))
    with db.transaction() as session:
        return [tuple(row) for row in session.execute(query).all()]


def _ready(session: Session, row: OutboxMessage | None, channels: Mapping[str, Channel], now: datetime, default_tz: str) -> bool:
    """Whether ``row`` may go now; records why not (cancelled, deferred) when it may not."""
    if row is None or row.status != "pending":
        return False
    verdict = _may_send(session, row, now, default_tz)
    if verdict == "cancelled":
        _cancel(row)
        return False
    if isinstance(verdict, datetime):
        row.not_before = verdict
        return False
    earlier = _earlier_in_the_way(session, row, now, default_tz)
    if earlier is not None:
        row.not_before = earlier
        return False
    if _channel_away(row, channels, now):
        # The channel cannot take it now: by SMS where the member consented to SMS, else it waits.
        if to_sms(session, row, channels, now):
            return True
        if row.channel not in channels:
            row.not_before = now + BASE_BACKOFF
            log.warning("no channel %s configured for outbox row %s", row.channel, row.id)
        else:
            row.not_before = channels[row.channel].paused_until  # a paused queue is not tried at all
        return False
    return True


def _cancel(row: OutboxMessage) -> None:
    row.status = "cancelled"
    metrics.out(row.channel, "cancelled")


def _channel_away(row: OutboxMessage, channels: Mapping[str, Channel], now: datetime) -> bool:
    """Whether ``row``'s channel cannot take a text now: not configured here, or paused."""
    paused_until = getattr(channels.get(row.channel), "paused_until", None)
    return row.channel not in channels or (paused_until is not None and paused_until > now)


def _earlier_in_the_way(session: Session, row: OutboxMessage, now: datetime, default_tz: str) -> datetime | None:
    """When ``row`` may be looked at again, if an earlier text to the same address must go first; else None.

    Texts to one person reach them in the order they were written. An earlier
    text is in the way while it is in flight (``sending``), due, or failed and
    waiting only for its retry (it could go now but for its backoff): each row
    has its own jittered retry time, so without this a later text would pass it.
    An earlier text waiting for the member's morning (or its group's budget, or
    its own later time) is not in the way, so a reply still goes at once; nor
    is one that will be cancelled, so a STOP's confirmation (FINAL) waits only
    for what is already on its way.
    """
    earlier = session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.address_hash == row.address_hash,
            OutboxMessage.channel == row.channel,
            OutboxMessage.id < row.id,
            OutboxMessage.status.in_(("pending", "sending")),
        ).order_by(OutboxMessage.id)
    ).all()
    for other in earlier:
        if other.status == "sending":
            return now + BASE_BACKOFF  # in flight, or left by a crash until recover_sending settles it
        if other.not_before <= now:
            return now  # due: it goes first, in this pass or the next
        tried = other.attempts > 0 or other.error_code is not None
        if tried and _may_send(session, other, now, default_tz, look_only=True) is None:
            return other.not_before  # it waits for its retry only: this one waits with it
    return None


def sms_consented(session: Session, member: Member | None) -> bool:
    """Whether ``member`` agreed to texts by SMS.

    Consent per channel is the channel of the member's consent records: the
    latest one made over SMS (joining, START, or CHANNEL SMS) must be an
    opt-in, and no STOP may stand.
    """
    if member is None or member.opted_out or not member.phone or member.phone_unusable:
        return False
    kind = session.scalar(
        select(ConsentEvent.kind)
        .where(ConsentEvent.member_id == member.id, ConsentEvent.channel == SMS)
        .order_by(ConsentEvent.at.desc(), ConsentEvent.id.desc())
        .limit(1)
    )
    return kind in ("opt_in", "resubscribe")


def to_sms(session: Session, row: OutboxMessage, channels: Mapping[str, Channel], now: datetime) -> bool:
    """Send ``row`` by SMS instead, where the member consented to SMS; False when it cannot."""
    if row.channel == SMS or SMS not in channels or row.member_id is None:
        return False
    member = session.get(Member, row.member_id)
    if not sms_consented(session, member):
        return False
    log.info("outbox row %s goes by SMS instead of %s", row.id, row.channel)
    row.channel, row.address, row.status, row.not_before, row.attempts = SMS, member.phone, "pending", now, 0
    if row.body:
        row.body = fit_sms(session, member, row.group_id, row.body)  # SMS now: folded like any SMS
    return True


def load_pause(db: Database, channel: str) -> tuple[datetime, int, bool] | None:
    """A pause ``channel``'s provider asked for (until, pauses in a row, coordinators told), if recorded."""
    with db.transaction() as session:
        pause = session.get(ProviderPause, channel)
        return None if pause is None else (pause.until, pause.pauses, pause.told)


def save_pause(db: Database, channel: str, state: tuple[datetime, int, bool] | None) -> None:
    """Record ``channel``'s pause, or clear it (None) once a text goes through again."""
    with db.transaction() as session:
        pause = session.get(ProviderPause, channel)
        if state is None:
            if pause is not None:
                session.delete(pause)
            return
        if pause is None:
            pause = ProviderPause(channel=channel)
            session.add(pause)
        pause.until, pause.pauses, pause.told = state


def signal_gone(session: Session, member: Member, group_id: int | None, now: datetime) -> bool:
    """The member has no Signal account any more: where they consented to SMS, what carebot starts
    goes by SMS from now on, and they are told so once (the move happens once); False otherwise."""
    from carebot.domain.i18n import render

    if member.channel != SIGNAL or not sms_consented(session, member):
        return False
    member.channel = SMS
    language = member.language or (session.get(Group, group_id).language if group_id else "en")
    push(session, member, render("signal.gone", language), now, group_id)
    log.info("member %s moved to SMS: no Signal account", member.id)
    return True


def tell_coordinators(session: Session, member: Member, key: str, now: datetime) -> None:
    """Catalog message ``key`` (about ``member``, as {name}) to the coordinators of their groups, by day."""
    from carebot.domain.i18n import render

    groups = session.scalars(select(Membership.group_id).where(
        Membership.member_id == member.id, Membership.status == "active")).all()
    told: set[int] = set()
    for group_id in groups:
        for coordinator in coordinators_of(session, group_id):
            if coordinator.id in told:
                continue
            told.add(coordinator.id)
            language = coordinator.language or session.get(Group, group_id).language
            name = member.name or render("notice.someone", language)
            push(session, coordinator, render(key, language, name=name), now, group_id)


async def _deliver_one(db: Database, channels: Mapping[str, Channel], row_id: int, now: datetime,
                       default_tz: str, in_db: InDb) -> int:
    channel_name = await in_db(_check, db, channels, row_id, now, default_tz)
    if channel_name is None:
        return 0
    pacer = getattr(channels[channel_name], "pacer", None)
    if pacer is not None:
        await pacer.wait()
    in_flight = db.lease.in_flight if db.lease is not None else set()
    in_flight.add(row_id)  # before the claim commits: recovery must never see it claimed and idle
    try:
        claimed = await in_db(_claim, db, channels, row_id, now)
        if claimed is None:
            return 0
        channel_name, address, body = claimed
        try:
            result = await channels[channel_name].send(address, body, row_id)
        except SendError as error:
            await in_db(_record_failure, db, row_id, error, now, channels)
            return 0
        await in_db(_record_sent, db, row_id, result, now)
        return 1
    finally:
        in_flight.discard(row_id)


def _check(db: Database, channels: Mapping[str, Channel], row_id: int, now: datetime, default_tz: str) -> str | None:
    """The channel ``row_id`` goes by when it may go now, else None (and why not is recorded)."""
    with db.transaction() as session:
        row = session.get(OutboxMessage, row_id)
        return row.channel if _ready(session, row, channels, now, default_tz) else None


def _claim(db: Database, channels: Mapping[str, Channel], row_id: int, now: datetime) -> tuple[str, str, str] | None:
    """Mark ``row_id`` as being sent; its channel, address and body, or None when it may not go."""
    with db.transaction() as session:
        row = session.scalars(claimable(session, row_id)).first()
        if row is None or row.status != "pending":
            return None
        # Checked again after the pacer's wait, which lasts a moment: only what a moment can
        # change. A STOP may have come in, or the channel paused; quiet hours, the budget and
        # the member's earlier texts were checked before the wait (_check).
        if _consent_gone(session, row):
            _cancel(row)
            return None
        if _channel_away(row, channels, now):
            return None  # still pending: the next pass's _check reroutes or defers it
        # A conditional update, so two senders can never both claim the row (on SQLite,
        # whose writers take turns, it is the whole guard; on PostgreSQL the row lock is).
        claimed = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, OutboxMessage.status == "pending")
            .values(status="sending", attempts=OutboxMessage.attempts + 1, claimed_at=now,
                    claimed_by=db.lease.owner if db.lease is not None and db.lease.held else None)
            .execution_options(synchronize_session=False)
        ).rowcount
        return (row.channel, row.address, row.body) if claimed else None


def claimable(session: Session, row_id: int) -> Select:
    """The pending row ``row_id``, locked for this transaction where the database locks rows.

    On PostgreSQL, ``FOR UPDATE SKIP LOCKED``: a row another sender is
    claiming right now is skipped at once, not waited for and sent twice.
    SQLite has no row locks (its writers take turns), so the clause is left out.
    """
    query = select(OutboxMessage).where(OutboxMessage.id == row_id, OutboxMessage.status == "pending")
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return query


def _record_sent(db: Database, row_id: int, result: Sent, now: datetime) -> None:
    with db.transaction() as session:
        row = session.get(OutboxMessage, row_id)
        if row is None:
            return  # forgotten (FORGET) while the text was on its way
        if row.status == "sending":
            row.status = "sent"
            row.sent_at = now
            metrics.out(row.channel, "sent")
        row.body = SENT_BODY  # keep little: once the provider has the text, carebot needs no copy
        row.provider_id = result.provider_id
        log.info("outbox row %s sent", row_id)


def _record_failure(db: Database, row_id: int, error: SendError, now: datetime,
                    channels: Mapping[str, Channel] | None = None) -> None:
    with db.transaction() as session:
        row = session.get(OutboxMessage, row_id)
        if row is None:
            return
        row.error_code = error.code
        metrics.send_error(row.channel, error.code)
        if error.ambiguous:
            pass  # stays "sending": recover_sending asks the provider (after ASK_AFTER) before sending again
        elif error.retry_at is not None:
            # The provider asked carebot to wait; the text did nothing wrong, so the try is not counted.
            row.status, row.not_before, row.attempts = "pending", error.retry_at, max(0, row.attempts - 1)
        elif error.retryable and row.attempts < MAX_ATTEMPTS:
            row.status = "pending"
            row.not_before = now + backoff(row.attempts)
        else:
            row.status = "failed"
        metrics.out(row.channel, {"pending": "retry", "sending": "unknown"}.get(row.status, row.status))
        tried_on = row.channel  # before a fall-back to SMS changes it
        if (error.held or row.status == "failed") and channels is not None:
            to_sms(session, row, channels, now)
        member = session.get(Member, row.member_id) if row.member_id else None
        # No Signal account any more: a member who consented to SMS moves there, and nobody needs telling.
        moved = (member is not None and error.unusable and tried_on == SIGNAL
                 and signal_gone(session, member, row.group_id, now))
        if member is not None and error.notice is not None and not moved:
            tell_coordinators(session, member, error.notice, now)
        if member is not None and error.opted_out and not member.opted_out:
            member.opted_out = True
            session.add(ConsentEvent(member_id=member.id, kind="opt_out", channel=row.channel,
                                     wording=f"carrier {error.code}", at=now))
            log.info("member %s opted out at the carrier", member.id)
        if member is not None and error.unusable and tried_on == SMS:
            member.phone_unusable = True
            log.info("member %s has an unusable number", member.id)
        log.info("outbox row %s not sent (code %s, now %s)", row_id, error.code, row.status)


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
    step, as in :func:`deliver_due`.
    """
    settled = 0
    for row_id, channel_name, address, body, claimed_at in await in_db(_stuck_rows, db, now, stuck_after):
        finder = getattr(channels.get(channel_name), "find_sent", None)
        provider_id = None
        if finder is not None:
            known = await in_db(_known_provider_ids, db, address)
            try:
                provider_id = await finder(address, body, (claimed_at or now) - LOOKUP_MARGIN, known)
            except Exception as error:  # the provider is unreachable: ask again next time
                log.warning("outbox row %s: cannot ask the provider yet (%s)", row_id, type(error).__name__)
                continue
        settled += await in_db(_settle, db, row_id, provider_id, now)
    return settled


def _stuck_rows(db: Database, now: datetime, stuck_after: timedelta) -> list[tuple]:
    lease = db.lease
    with db.transaction() as session:
        settle = [OutboxMessage.claimed_at.is_(None), OutboxMessage.claimed_at <= now - stuck_after]
        if lease is not None and lease.held:
            owners = session.scalars(select(OutboxMessage.claimed_by).distinct().where(
                OutboxMessage.status == "sending", OutboxMessage.claimed_by.is_not(None))).all()
            gone = lease.dead(owners)
            if gone:
                log.info("settling the texts of %d sender process(es) that are gone", len(gone))
                settle.append(OutboxMessage.claimed_by.in_(sorted(gone)))
            settle.append((OutboxMessage.claimed_by == lease.owner)
                          & OutboxMessage.id.not_in(sorted(lease.in_flight))
                          & (OutboxMessage.claimed_at <= now - ASK_AFTER))
        return [tuple(row) for row in session.execute(
            select(OutboxMessage.id, OutboxMessage.channel, OutboxMessage.address,
                   OutboxMessage.body, OutboxMessage.claimed_at)
            .where(OutboxMessage.status == "sending", or_(*settle))
            .order_by(OutboxMessage.id)
        ).all()]


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
        if row is None or row.status != "sending":
            return 0  # a status callback settled it meanwhile
        if provider_id is not None:
            row.status, row.provider_id, row.sent_at = "sent", provider_id, row.claimed_at or now
            row.body = SENT_BODY
        elif row.attempts >= MAX_ATTEMPTS:
            row.status = "failed"
        elif row.error_code is not None:  # it met errors (an outage): it waits its backoff
            row.status, row.not_before = "pending", now + backoff(row.attempts)
        else:  # its sender died: nothing failed, it goes at once
            row.status, row.not_before = "pending", now
        log.info("outbox row %s recovered as %s", row_id, row.status)
        return 1


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


def undelivered_for_group(session: Session, group_id: int) -> list[OutboxMessage]:
    """Texts for the group's members that did not arrive, for its coordinators to see."""
    members = select(Membership.member_id).where(Membership.group_id == group_id)
    return list(session.scalars(
        select(OutboxMessage)
        .where(
            or_(OutboxMessage.provider_status.in_(UNDELIVERED), OutboxMessage.status == "failed"),
            or_(OutboxMessage.group_id == group_id,
                OutboxMessage.group_id.is_(None) & OutboxMessage.member_id.in_(members)),
        )
        .order_by(OutboxMessage.id)
    ))
