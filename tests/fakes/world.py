"""A small carebot world for channel tests: a migrated SQLite file, a group, its members."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy import select

from carebot.channels import SMS
from carebot.channels.twilio import TwilioSMS
from carebot.outbox.write import PUSH, enqueue
from carebot.store.db import Database, upgrade
from carebot.store.models import Group, Member, Membership, OutboxMessage
from tests.fakes.twilio_api import FakeTwilio

NOW = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # 10:00 in Des Moines: daytime
PUBLIC_URL = "https://care.example.org"
FROM = "+15155550100"
ANA, BEN, CARA = "+15155550101", "+15155550102", "+15155550103"


def make_db(url: str) -> Database:
    """The database at ``url``, migrated, with group DMMA and three active members."""
    upgrade(url)
    db = Database(url)
    with db.transaction() as session:
        group = Group(keyword="DMMA", name="Des Moines Mutual Aid", timezone="America/Chicago", created_at=NOW)
        session.add(group)
        session.flush()
        for phone, name in ((ANA, "Ana"), (BEN, "Ben"), (CARA, "Cara")):
            member = Member(phone=phone, name=name, created_at=NOW)
            session.add(member)
            session.flush()
            session.add(Membership(group_id=group.id, member_id=member.id, status="active",
                                   consented_at=NOW, created_at=NOW))
    return db


def queue(db: Database, phone: str, text: str, *, now: datetime = NOW, purpose: str = PUSH) -> int:
    """Write a check-in (a push, unless ``purpose`` says otherwise) for ``phone``; returns the outbox id."""
    with db.transaction() as session:
        member = Member.by_phone(session, phone)
        group = session.scalars(select(Group)).one()
        row = enqueue(session, member=member, channel=SMS, address=phone, text=text,
                      purpose=purpose, now=now, group_id=group.id)
        session.flush()
        return row.id


def row(db: Database, row_id: int) -> OutboxMessage:
    with db.transaction() as session:
        return session.get(OutboxMessage, row_id)


def member(db: Database, phone: str) -> Member:
    with db.transaction() as session:
        return Member.by_phone(session, phone)


def channel_for(fake: FakeTwilio, **kw) -> TwilioSMS:
    """The real Twilio channel, pointed at the fake (build it inside the event loop)."""
    options = dict(account_sid=fake.account_sid, auth_token=fake.auth_token, public_url=PUBLIC_URL,
                   from_number=FROM, base_url=fake.base_url, rate=1000)
    options.update(kw)
    return TwilioSMS(**options)


def with_channel(fake: FakeTwilio, body: Callable[[TwilioSMS], Awaitable], **kw):
    """Run ``body(channel)`` in a fresh event loop with a real channel to the fake."""

    async def go():
        channel = channel_for(fake, **kw)
        try:
            return await body(channel)
        finally:
            await channel.close()

    return asyncio.run(go())
