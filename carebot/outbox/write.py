"""Writing texts to the outbox: rows first, in the transaction of the change that caused them.

A row's purpose says what may hold it at send time (carebot/outbox/policy.py):
a ``reply`` answers a text the member just sent and goes at once; a ``push``
is a text carebot starts on its own, by day only and within the group's daily
budget; a ``final`` (the STOP and FORGET confirmations) goes even after STOP, and
so does an ``after_stop`` (MYDATA, FORGET's question or HELP answered after STOP);
a ``notice`` is the coordinators' "budget reached" text, a push the budget
never holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebot.channels import SIGNAL, SMS, VOICE
from carebot.domain.daytime import DAY_ENDS, DAY_STARTS, next_daytime
from carebot.domain.sms import fold_gsm7, is_gsm7
from carebot.domain.vocabulary import GO_AFTER_STOP, OutboxStatus, Purpose
from carebot.store.models import Group, Member, Membership, OutboxMessage
from carebot.store.queries import active_groups_of

REPLY, PUSH, FINAL = Purpose.REPLY, Purpose.PUSH, Purpose.FINAL
# A reply to a caller: spoken in the call's own answer (carebot/outbox/spoken.py), so the sender never takes it.
SPEAKING = OutboxStatus.SPEAKING
# The purpose of the coordinators' "budget reached" texts: a push in every way but the budget it reports.
NOTICE = Purpose.NOTICE
# What a finished text keeps of its words: nothing. Once the provider has it, it has been said on a call,
# or it will never go (cancelled), carebot needs no copy, and a text may hold a number or a care map.
NO_WORDS = ""


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
    return tz, group.day_starts, group.day_ends


def member_timezone(session: Session, member: Member, group_id: int | None, default: str) -> tuple[ZoneInfo, int, int]:
    """The member's timezone and daytime hours: their own, else the group's."""
    group = session.get(Group, group_id) if group_id else None
    if group is None:
        group = session.scalars(
            select(Group).join(Membership).where(Membership.member_id == member.id).limit(1)
        ).first()
    return daytime(member.timezone, member.day_starts, member.day_ends, group, default)


def fit_sms(session: Session, member: Member | None, group_id: int | None, text: str,
            member_groups: Sequence[int] | None = None) -> str:
    """An SMS text folded to GSM-7 where that saves segments (á, í, ó, ú force UCS-2 otherwise),
    unless the group it is for, or every group of the member (``member_groups`` when the caller
    knows them), has turned folding off."""
    if is_gsm7(text):
        return text
    if group_id is not None:
        groups = [group_id]
    elif member_groups is not None:
        groups = list(member_groups)
    else:
        groups = active_groups_of(session, member.id) if member is not None and member.id is not None else []
    # By id: a batch of texts holds its groups (store.facts), so most often no statement is needed.
    if groups and not any(group.sms_fold for g in groups if (group := session.get(Group, g)) is not None):
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
    member_groups: Sequence[int] | None = None,
) -> OutboxMessage:
    """Write one text to the outbox, in the caller's transaction (``member_groups``: see ``fit_sms``)."""
    if channel == SMS:
        text = fit_sms(session, member, group_id, text, member_groups)
    row = OutboxMessage(
        member_id=member.id if member else None,
        group_id=group_id,
        channel=channel,
        address=address,
        body=text,
        purpose=purpose,
        status=SPEAKING if channel == VOICE and purpose in (REPLY, *GO_AFTER_STOP) else OutboxStatus.PENDING,
        not_before=not_before or now,
        created_at=now,
    )
    session.add(row)
    return row


def push(session: Session, member: Member, text: str, now: datetime, group_id: int | None,
         default_tz: str = "UTC", *, purpose: str = PUSH) -> OutboxMessage | None:
    """A text carebot starts on its own: on the member's channel, by day only (a ``purpose``
    other than ``push``: a ``notice``, which the budget never holds)."""
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
        purpose=purpose,
        now=now,
        group_id=group_id,
        not_before=next_daytime(now, tz, starts, ends),
    )
