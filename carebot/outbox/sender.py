"""The outbox's sender: sends due rows, answers first, and records what each provider said.

A row is claimed (``pending`` -> ``sending``, committed) before the provider
is asked, and marked ``sent`` with the provider's id after it answers; a
crash or an unclear answer in between leaves it in ``sending`` for
carebot/outbox/recovery.py. Texts to different addresses go in parallel
lanes, texts to one address one after another, oldest first. A refused text
is tried again with backoff (carebot/outbox/retry.py), moved to SMS where
the member consented to SMS, or given up; the provider's word about the
member (STOP at the carrier, a number or Signal account gone) is recorded.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import datetime
from typing import NamedTuple, TypeVar

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from carebot.channels import SIGNAL, SMS, VOICE, Channel, SendError, Sent
from carebot.domain import metrics
from carebot.domain.i18n import render
from carebot.domain.logsafe import where
from carebot.domain.vocabulary import OutboxStatus
from carebot.outbox.notify import tell_coordinators_about
from carebot.outbox.policy import cancel, channel_away, consent_gone, ready, sms_consented, to_sms
from carebot.outbox.retry import MAX_ATTEMPTS, backoff
from carebot.outbox.write import NO_WORDS, NOTICE, PUSH, push
from carebot.store.db import Database
from carebot.store.group_commit import GroupCommit
from carebot.store.models import ConsentEvent, Group, Member, OutboxMessage
from carebot.store.queries import existing

log = logging.getLogger(__name__)

T = TypeVar("T")
# Awaits one database step, a function and its arguments: run ``inline``, or on a database worker thread.
InDb = Callable[..., Awaitable]

# The most steps a shared transaction takes: on SQLite it holds the write lock from its first
# write to its commit, and a webhook storing a text waits that long (a step is about a millisecond).
STEPS_A_TRANSACTION = 8


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
    if db.lease is not None and db.lease.lost:
        return 0  # others take this process for gone: it sends nothing until it holds its lease again
    due = await in_db(_due_rows, db, now, limit, only)
    lanes: dict[str, list[int]] = {}  # by address, in the order the pass reached them
    for row_id, address in due:
        lanes.setdefault(address, []).append(row_id)
    gate = asyncio.Semaphore(max(1, concurrency))  # FIFO: lanes start in that order
    steps = _Steps(db, in_db)
    lease = db.lease
    owner = lease.owner if lease is not None and lease.held else None
    in_flight = lease.in_flight if lease is not None else set()

    async def lease_intact() -> bool:
        """This process still holds the lease its claims name (cheap: see Lease.intact)."""
        if lease is None or owner is None:
            return True  # no lease: its rows have no owner, settled by age alone
        # Confirmed by a round trip (on a thread: the loop never waits) only when it looks lost.
        looks_held = lease.intact() or await asyncio.to_thread(lease.check)
        return looks_held and lease.owner == owner  # (not taken again under a new identity meanwhile)

    async def deliver_one(row_id: int) -> int:
        if not await lease_intact():
            return 0  # not claimed: it waits for this process's lease, or for another sender
        in_flight.add(row_id)  # before the claim commits: recovery must never see it claimed and idle
        try:
            claim = await steps.run(_claim, channels, row_id, now, default_tz, owner)
            if claim is None:
                return 0
            # Claimed before the pacer's wait, so that a text which may not go never takes a slot
            # (a round held till morning would otherwise hold up the replies behind it).
            pacer = getattr(channels[claim.channel], "pacer", None)
            if pacer is not None and await pacer.wait() and not await steps.run(_still_may_go, channels, claim, now):
                return 0
            # Last before the request: a sender whose lease went may have had this row settled by
            # another (it takes this process for gone); it gives the row back, if still its own.
            if not await lease_intact():
                await steps.run(_give_back, claim)
                return 0
            try:
                result = await channels[claim.channel].send(claim.address, claim.body, row_id)
            except SendError as error:
                await steps.run(_record_failure, row_id, error, now, claim, channels)
                return 0
            await steps.run(_record_sent, row_id, result, now, claim)
            return 1
        finally:
            in_flight.discard(row_id)

    async def lane(ids: list[int]) -> int:
        async with gate:
            return sum([await deliver_one(row_id) for row_id in sorted(ids)])

    done = await asyncio.gather(*(lane(ids) for ids in lanes.values()), return_exceptions=True)
    failed = [outcome for outcome in done if isinstance(outcome, BaseException)]
    for error in failed:
        if not isinstance(error, Exception):
            raise error  # cancelled: serve stops
    if failed:  # the other lanes went on: one bad row holds up no other member's texts
        log.error("sender: %d of %d lanes failed: %s", len(failed), len(done), where(failed[0]))
    return sum(outcome for outcome in done if isinstance(outcome, int))


def _due_rows(db: Database, now: datetime, limit: int, only: Collection[str] | None) -> list[tuple[int, str]]:
    # Answers first (replies and STOP confirmations): a member who just texted should not wait
    # behind a round's thousands of texts. Per member the order holds: see policy._earlier_in_the_way.
    query = (select(OutboxMessage.id, OutboxMessage.address)
             .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.not_before <= now)
             .order_by(OutboxMessage.purpose.in_((PUSH, NOTICE)), OutboxMessage.id).limit(limit))
    if only is not None:
        query = query.where(OutboxMessage.channel.in_(list(only)))
    with db.transaction() as session:
        return [(row_id, address) for row_id, address in session.execute(query)]


class _Steps:
    """The sender's database steps, many to a transaction (``store.group_commit``).

    Each lane waits for its own step's result (a text is claimed before it is
    sent, recorded before its member's next text is looked at), but the steps
    lanes ask for while the database thread is busy share one transaction and
    one commit: a commit a step would hold the database thread in a disk flush
    for each claim and each record, at a high send rate time taken from the
    texts coming in and being handled. When a shared transaction raises, nothing
    of it is kept and each of its steps runs again alone; a step that still
    raises gives its lane the error (a claim stays ``pending``; a sent text stays
    ``sending`` for carebot/outbox/recovery.py, which asks the provider).
    """

    def __init__(self, db: Database, in_db: InDb) -> None:
        self._steps: GroupCommit[tuple[Callable[..., object], tuple], object] = GroupCommit(
            functools.partial(_in_one_transaction, db), in_db, most=STEPS_A_TRANSACTION)

    async def run(self, step: Callable[..., T], *args) -> T:
        """``step(session, *args)``'s result, once the transaction it ran in is committed."""
        result = await self._steps.submit((step, args))
        if isinstance(result, _Failed):
            raise result.error
        return result  # type: ignore[return-value]


def _in_one_transaction(db: Database, steps: list[tuple[Callable[..., object], tuple]]) -> list[object]:
    try:
        with db.transaction() as session:
            return [step(session, *args) for step, args in steps]
    except Exception:
        if len(steps) == 1:
            raise
    # A step raised, and nothing of the transaction was kept: each step again in a transaction
    # of its own, so that one bad row holds up no other lane's claim or record.
    return [_alone(db, step, args) for step, args in steps]


def _alone(db: Database, step: Callable[..., object], args: tuple) -> object:
    try:
        with db.transaction() as session:
            return step(session, *args)
    except Exception as error:
        return _Failed(error)


class _Failed:
    """A step that raised on its own: its lane gets the error."""

    def __init__(self, error: Exception) -> None:
        self.error = error


class Claim(NamedTuple):
    """A row this sender claimed: what to send, and which try it is (``claimed_by``, ``attempts``).

    A sender whose lease went while its request was on its way may find the row
    settled by another sender meanwhile (asked of the provider, sent again):
    what it then learns is recorded only where it still tells the truth
    (see :func:`_still_mine`).
    """

    row_id: int
    channel: str
    address: str
    body: str
    owner: str | None
    attempts: int


def _still_mine(row: OutboxMessage, claim: Claim) -> bool:
    """The row is still in flight on this claim: nobody settled it or claimed it again since."""
    return (row.status == OutboxStatus.SENDING and row.claimed_by == claim.owner
            and row.attempts == claim.attempts)


def _claim(session: Session, channels: Mapping[str, Channel], row_id: int, now: datetime,
           default_tz: str, owner: str | None) -> Claim | None:
    """Mark ``row_id`` as being sent when it may go now: what to send; else None (and why not is
    recorded: cancelled, deferred, rerouted). In the transaction of its checks, so nothing can
    change between them and the claim."""
    row = session.scalars(claimable(session, row_id)).first()
    held = _member_and_group(session, row)  # noqa: F841 (kept referenced for the checks)
    if not ready(session, row, channels, now, default_tz):
        return None  # (also when it was erased since it was listed: its member said FORGET)
    assert row is not None  # ready says so; this tells the type checker
    # A conditional update, so two senders can never both claim the row (on SQLite,
    # whose writers take turns, it is the whole guard; on PostgreSQL the row lock is).
    # Its try as the update made it: the row read above may be one the transaction loaded earlier
    # (a member's earlier texts are looked at for each of their texts), and stale.
    attempts = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.SENDING, attempts=OutboxMessage.attempts + 1, claimed_at=now, claimed_by=owner)
        .returning(OutboxMessage.attempts)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    found = (row.channel, row.address, row.body)
    session.expire(row)  # the update went around it: a later step of the transaction reads it afresh
    return None if attempts is None else Claim(row_id, *found, owner, attempts)


def _member_and_group(session: Session, row: OutboxMessage | None) -> tuple[Member, Group | None] | None:
    """``row``'s member and group, read in one statement, for the claim to hold while its checks run.

    The checks (consent, the member's daytime, the group's budget) each get them by id from the
    session, whose identity map keeps a row only while something refers to it: unheld, each check
    would read them again (some four statements a text more, each a round trip on PostgreSQL).
    """
    if row is None or row.member_id is None:
        return None
    found = session.execute(select(Member, Group).outerjoin(Group, Group.id == row.group_id)
                            .where(Member.id == row.member_id)).first()
    return None if found is None else (found[0], found[1])


def _still_may_go(session: Session, channels: Mapping[str, Channel], claim: Claim, now: datetime) -> bool:
    """After the pacer's wait, which lasts a moment: whether the claimed ``row_id`` may still go.

    Only what a moment can change is looked at again: a STOP may have come in
    (the text is cancelled), or the channel paused (the text waits for the next
    pass, which reroutes or defers it). Quiet hours, the budget and the
    member's earlier texts were checked at the claim.
    """
    row = session.get(OutboxMessage, claim.row_id)
    if row is None or not _still_mine(row, claim):
        return False  # erased meanwhile (FORGET), or settled by another sender
    if consent_gone(session, row):
        cancel(row)
        return False
    if channel_away(row, channels, now):
        row.status, row.attempts = OutboxStatus.PENDING, max(0, row.attempts - 1)  # not tried: not counted
        return False
    return True


def _give_back(session: Session, claim: Claim) -> None:
    """This process's lease went before the request: the row, not tried, waits for the next pass,
    unless another sender settled it meanwhile."""
    row = session.get(OutboxMessage, claim.row_id)
    if row is not None and _still_mine(row, claim):
        row.status, row.attempts = OutboxStatus.PENDING, max(0, row.attempts - 1)  # not tried: not counted


def claimable(session: Session, row_id: int) -> Select:
    """The pending row ``row_id``, locked for this transaction where the database locks rows.

    On PostgreSQL, ``FOR UPDATE SKIP LOCKED``: a row another sender is
    claiming right now is skipped at once, not waited for and sent twice.
    SQLite has no row locks (its writers take turns), so the clause is left out.
    """
    query = select(OutboxMessage).where(OutboxMessage.id == row_id, OutboxMessage.status == OutboxStatus.PENDING)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return query


def _record_sent(session: Session, row_id: int, result: Sent, now: datetime, claim: Claim) -> None:
    row = session.get(OutboxMessage, row_id)
    if row is None:
        return  # forgotten (FORGET) while the text was on its way
    if row.status == OutboxStatus.SENDING and not _still_mine(row, claim):
        # Settled by another sender while this process's lease was lost, and claimed again: a
        # second request is on its way (the provider did not list this one when asked).
        log.warning("outbox row %s: sent again by another sender while this one's answer was on its way", row_id)
        return  # its own answer records it
    if row.status in (OutboxStatus.SENDING, OutboxStatus.PENDING, OutboxStatus.FAILED):
        # Ours, or settled back to pending (or failed) by another sender that did not find it at the
        # provider: the provider has it, and it must not go again. (A status callback may have come first.)
        row.status = OutboxStatus.SENT
        row.sent_at = now
        metrics.out(row.channel, "sent")
    if row.channel != VOICE:  # a call's words are said when it is picked up (carebot/outbox/spoken.py)
        row.body = NO_WORDS
    row.provider_id = result.provider_id
    log.info("outbox row %s sent", row_id)


def _record_failure(session: Session, row_id: int, error: SendError, now: datetime, claim: Claim,
                    channels: Mapping[str, Channel] | None = None) -> None:
    row = session.get(OutboxMessage, row_id)
    if row is None:
        return
    if not _still_mine(row, claim):
        # Settled by another sender while this process's lease was lost: its settling stands.
        log.info("outbox row %s: settled by another sender meanwhile; this answer (code %s) is left", row_id, error.code)
        return
    row.error_code = error.code
    metrics.send_error(row.channel, error.code)
    if error.ambiguous:
        pass  # stays "sending": recover_sending asks the provider (after ASK_AFTER) before sending again
    elif error.retry_at is not None:
        # The provider asked carebot to wait; the text did nothing wrong, so the try is not counted.
        row.status, row.not_before, row.attempts = OutboxStatus.PENDING, error.retry_at, max(0, row.attempts - 1)
    elif error.retryable and row.attempts < MAX_ATTEMPTS:
        row.status = OutboxStatus.PENDING
        row.not_before = now + backoff(row.attempts)
    else:
        row.status = OutboxStatus.FAILED
    metrics.out(row.channel, {"pending": "retry", "sending": "unknown"}.get(row.status, row.status))
    tried_on = row.channel  # before a fall-back to SMS changes it
    if (error.held or row.status == OutboxStatus.FAILED) and channels is not None:
        to_sms(session, row, channels, now)
    member = session.get(Member, row.member_id) if row.member_id else None
    # No Signal account any more: a member who consented to SMS moves there, and nobody needs telling.
    moved = (member is not None and error.unusable and tried_on == SIGNAL
             and signal_gone(session, member, row.group_id, now))
    if member is not None and error.notice is not None and not moved:
        tell_coordinators_about(session, member, error.notice, now)
    if member is not None and error.opted_out and not member.opted_out:
        member.opted_out = True
        session.add(ConsentEvent(member_id=member.id, kind="opt_out", channel=row.channel,
                                 wording=f"carrier {error.code}", at=now))
        log.info("member %s opted out at the carrier", member.id)
    if member is not None and error.unusable and tried_on == SMS:
        member.phone_unusable = True
        log.info("member %s has an unusable number", member.id)
    log.info("outbox row %s not sent (code %s, now %s)", row_id, error.code, row.status)


def signal_gone(session: Session, member: Member, group_id: int | None, now: datetime) -> bool:
    """The member has no Signal account any more: where they consented to SMS, what carebot starts
    goes by SMS from now on, and they are told so once (the move happens once); False otherwise."""
    if member.channel != SIGNAL or not sms_consented(session, member):
        return False
    member.channel = SMS
    language = member.language or (existing(session, Group, group_id).language if group_id else "en")
    push(session, member, render("signal.gone", language), now, group_id)
    log.info("member %s moved to SMS: no Signal account", member.id)
    return True
