"""What is checked again at send time, since a text was written: may it go now, and by which channel.

Consent first (STOP always wins; a member gone, or a number known to be
unusable, cancels the text), then the hours: a reply goes at once, night or
day, unless a provider's outage held it ``STALE_REPLY``; carebot's own texts
go by day only, to members still in their group, within the group's daily
budget (carebot/outbox/budget.py). Texts to one address go in the order they
were written. A channel that is away (not configured here, or paused by its
provider) sends its texts by SMS where the member consented to SMS, else they wait.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebot.channels import SMS, Channel
from carebot.domain import metrics
from carebot.domain.daytime import next_daytime
from carebot.domain.vocabulary import GO_AFTER_STOP, MembershipStatus, OutboxStatus
from carebot.outbox import budget
from carebot.outbox.retry import BASE_BACKOFF
from carebot.outbox.write import NO_WORDS, NOTICE, PUSH, REPLY, fit_sms, member_timezone
from carebot.store.models import ConsentEvent, Member, Membership, OutboxMessage
from carebot.store.queries import existing

log = logging.getLogger(__name__)

# A reply goes at once, night or day: it answers a text the member just sent. One
# still waiting this long after it was written (the provider was down) waits for daytime.
STALE_REPLY = timedelta(minutes=30)


def consent_gone(session: Session, row: OutboxMessage) -> bool:
    """Whether ``row`` can never go: its member is gone, sent STOP, or has a number that takes no texts."""
    if row.purpose in GO_AFTER_STOP:
        return False  # a STOP's own confirmation, or an answer about a stopped member's own data
    member = session.get(Member, row.member_id) if row.member_id else None
    return member is None or member.opted_out or (row.channel == SMS and member.phone_unusable)


def _may_send(session: Session, row: OutboxMessage, now: datetime, default_tz: str,
              *, look_only: bool = False) -> str | datetime | None:
    """Why ``row`` must not go now: "cancelled", a later time, or None when it may go.

    ``look_only``: another row's check asks, so a text held by the budget is
    neither counted nor told of (its own turn does that).
    """
    if consent_gone(session, row):
        return "cancelled"
    if row.purpose == REPLY and now - row.created_at >= STALE_REPLY:
        # Held up this long (a provider's outage), it no longer answers a text just sent: by day only.
        return _morning(session, existing(session, Member, row.member_id), row.group_id, now, default_tz)
    if row.purpose not in (PUSH, NOTICE):
        return None
    member = existing(session, Member, row.member_id)  # consent_gone found them
    if row.group_id is not None:
        membership = session.scalars(
            select(Membership).where(
                Membership.member_id == member.id,
                Membership.group_id == row.group_id,
                Membership.status == MembershipStatus.ACTIVE,
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


def ready(session: Session, row: OutboxMessage | None, channels: Mapping[str, Channel], now: datetime, default_tz: str) -> bool:
    """Whether ``row`` may go now; records why not (cancelled, deferred) when it may not."""
    if row is None or row.status != OutboxStatus.PENDING:
        return False
    verdict = _may_send(session, row, now, default_tz)
    if verdict == "cancelled":
        cancel(row)
        return False
    if isinstance(verdict, datetime):
        row.not_before = verdict
        return False
    earlier = _earlier_in_the_way(session, row, now, default_tz)
    if earlier is not None:
        row.not_before = earlier
        return False
    if channel_away(row, channels, now):
        # The channel cannot take it now: by SMS where the member consented to SMS, else it waits.
        if to_sms(session, row, channels, now):
            return True
        if row.channel not in channels:
            row.not_before = now + BASE_BACKOFF
            log.warning("no channel %s configured for outbox row %s", row.channel, row.id)
        else:
            row.not_before = _paused_until(channels, row.channel) or now + BASE_BACKOFF  # a paused queue is not tried at all
        return False
    return True


def cancel(row: OutboxMessage) -> None:
    """``row`` will never go: it keeps none of its words (``NO_WORDS``), as a sent text keeps none."""
    row.status, row.body = OutboxStatus.CANCELLED, NO_WORDS
    metrics.out(row.channel, "cancelled")


def channel_away(row: OutboxMessage, channels: Mapping[str, Channel], now: datetime) -> bool:
    """Whether ``row``'s channel cannot take a text now: not configured here, or paused."""
    paused_until = _paused_until(channels, row.channel)
    return row.channel not in channels or (paused_until is not None and paused_until > now)


def _paused_until(channels: Mapping[str, Channel], channel: str) -> datetime | None:
    """Until when ``channel`` is paused (Signal pauses after a provider's rate limit); None: not paused."""
    return getattr(channels.get(channel), "paused_until", None)


def _earlier_in_the_way(session: Session, row: OutboxMessage, now: datetime, default_tz: str) -> datetime | None:
    """When ``row`` may be looked at again, if an earlier text to the same address must go first; else None.

    Texts to one person reach them in the order they were written. An earlier
    text is in the way while it is in flight (``sending``), due, or waiting only
    for a later moment (it could go now but for it): a failed text's retry, each
    row's own jittered time, or the wait a text was given here behind one in
    flight. Without this a later text would pass it: with two senders, one
    sender's text put off behind the other's in flight, then overtaken once that
    one is sent (tests/test_postgres.py). An earlier text waiting for the
    member's morning or its group's budget is not in the way, so a reply still
    goes at once; nor is one that will be cancelled, so a STOP's confirmation
    (FINAL) waits only for what is already on its way.
    """
    earlier = session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.address_hash == row.address_hash,
            OutboxMessage.channel == row.channel,
            OutboxMessage.id < row.id,
            OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
        ).order_by(OutboxMessage.id)
    ).all()
    for other in earlier:
        if other.status == OutboxStatus.SENDING:
            return now + BASE_BACKOFF  # in flight, or left by a crash until recover_sending settles it
        if other.not_before <= now:
            return now  # due: it goes first, in this pass or the next
        if _may_send(session, other, now, default_tz, look_only=True) is None:
            # It could go now but for its later time: a retry's backoff, or the wait this check gave it
            # behind a text then in flight (another sender's; sent since). This one waits with it.
            return other.not_before
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
    if member is None or member.phone is None or not sms_consented(session, member):
        return False  # (sms_consented asks for a number too: the check here says so to the type checker)
    log.info("outbox row %s goes by SMS instead of %s", row.id, row.channel)
    row.channel, row.address, row.status, row.not_before, row.attempts = SMS, member.phone, OutboxStatus.PENDING, now, 0
    if row.body:
        row.body = fit_sms(session, member, row.group_id, row.body)  # SMS now: folded like any SMS
    return True
