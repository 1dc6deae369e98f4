"""Twilio's API failing for ten minutes while rounds' questions and replies are due for many members.

The local fake of Twilio answers every request with an error for ten minutes
of simulated time: 500s and 503s, hang-ups before it takes the text, and
hang-ups after it took it (the text is at Twilio, carebot never hears so). The
sender runs as ``serve.run_sender`` runs it, ``recover_sending`` then
``deliver_due`` each pass, here every 5 simulated seconds through the outage
and the half hour after, then every 5 minutes through the night.

It is 19:50 in Chicago and 17:50 in Los Angeles when it starts: each group's
round is due, each member texts STATUS a minute later and HELP five minutes
after that, and carebot starts a second text to each of them in between, so
every member has four texts waiting, two it started (pushes) and two replies.

What must hold afterwards:

* every text reached Twilio exactly once, and none was marked failed (the
  outbox's six tries with doubling backoff span about 15 minutes, longer than
  the outage);
* a member's texts reach Twilio in the order they were written, with one
  exception the product asks for: a reply to the member's own text goes at
  once, so it may pass a text carebot started that is waiting for the morning;
* nothing carebot started reaches a member outside their daytime (Chicago's
  texts, pushed past 20:00 by the outage, wait for 09:00); replies are direct
  answers to the member's own text and go when Twilio is back, whatever the
  hour, within the retry schedule's reach (the longest backoff is 10 minutes).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from carebot.channels import SMS, Inbound
from carebot.dispatch.dispatcher import Dispatcher
from carebot.domain.daytime import is_daytime
from carebot.outbox.recovery import recover_sending
from carebot.outbox.retry import BASE_BACKOFF, MAX_ATTEMPTS
from carebot.outbox.sender import deliver_due
from carebot.outbox.write import PUSH, REPLY, push
from carebot.services.groups import add_group, add_member
from carebot.store.db import Database
from carebot.store.models import Group, Member, Membership, OutboxMessage
from tests.fakes import world
from tests.fakes.twilio_api import DROP_AFTER, DROP_BEFORE, FakeTwilio
from tests.fakes.world import channel_for

T0 = datetime(2026, 3, 3, 1, 50, tzinfo=UTC)  # Monday 19:50 in Chicago, 17:50 in Los Angeles
OUTAGE = timedelta(minutes=10)
CHICAGO_MORNING = datetime(2026, 3, 3, 9, 0, tzinfo=ZoneInfo("America/Chicago"))
GROUPS = {"CHI": "America/Chicago", "LAX": "America/Los_Angeles"}
PER_GROUP = 6
# What Twilio answers during the outage, request after request.
FAILING = ((500, 20500), DROP_BEFORE, (503, 20503), (500, 20500), DROP_AFTER)


def phones(keyword: str) -> list[str]:
    base = {"CHI": 300, "LAX": 400}[keyword]
    return [f"+1515555{base + n:04d}" for n in range(PER_GROUP)]


def build(db: Database) -> None:
    with db.transaction() as session:
        for keyword, zone in GROUPS.items():
            group = add_group(session, keyword=keyword, name=f"Group {keyword}", timezone=zone,
                              now=T0 - timedelta(days=30))
            group.next_round_at = T0 - timedelta(minutes=1)
            for n, phone in enumerate(phones(keyword)):
                add_member(session, keyword=keyword, phone=phone, name=f"{keyword}{n}", now=T0 - timedelta(days=30))


def text_everyone(dispatcher: Dispatcher, words: str, now: datetime) -> None:
    for keyword in GROUPS:
        for n, phone in enumerate(phones(keyword)):
            assert dispatcher.handle_inbound(Inbound(SMS, f"SM{words}{keyword}{n:04d}", phone, words, now))


def start_a_text_to_everyone(db: Database, now: datetime) -> None:
    with db.transaction() as session:
        for membership in session.scalars(select(Membership)):
            member = session.get(Member, membership.member_id)
            assert push(session, member, "A check-in from your group: how are you doing?", now, membership.group_id)


def moments():
    """The sender's passes: every 5 s for 45 minutes, then every 5 minutes until Chicago's morning is past."""
    moment = T0
    while moment < T0 + timedelta(minutes=45):
        yield moment
        moment += timedelta(seconds=5)
    while moment < CHICAGO_MORNING + timedelta(hours=1):
        yield moment
        moment += timedelta(minutes=5)


@pytest.fixture
def db(migrated_url):
    database = Database(migrated_url)
    yield database
    database.dispose()


def test_ten_minutes_of_twilio_failing_then_everything_once_in_order_by_day(db):
    # Even without jitter, a row's six tries span longer than the outage: none can run out of tries in it.
    assert sum((BASE_BACKOFF * 2 ** (k - 1) for k in range(1, MAX_ATTEMPTS)), timedelta()) > OUTAGE
    build(db)
    dispatcher = Dispatcher(db)
    clock = [T0]
    tried: list[int] = []  # requests Twilio got during the outage
    events = {
        T0: lambda now: dispatcher.run_due(now),  # both groups' rounds
        T0 + timedelta(minutes=1): lambda now: text_everyone(dispatcher, "STATUS", now),
        T0 + timedelta(minutes=3): lambda now: start_a_text_to_everyone(db, now),
        T0 + timedelta(minutes=6): lambda now: text_everyone(dispatcher, "HELP", now),
    }
    with FakeTwilio(clock=lambda: clock[0]) as fake:
        fake.outage(*FAILING)

        async def run():
            channel = channel_for(fake)
            try:
                for now in moments():
                    clock[0] = now
                    if now == T0 + OUTAGE:
                        fake.outage()  # Twilio is back
                        tried.append(len(fake.requests))
                    if now in events:
                        events[now](now)
                    await recover_sending(db, {SMS: channel}, now)
                    await deliver_due(db, {SMS: channel}, now, concurrency=8)
            finally:
                await channel.close()

        asyncio.run(run())
        taken = {message["sid"]: (index, message["to"], parsedate_to_datetime(message["date_created"]))
                 for index, message in enumerate(fake.messages)}

    with db.transaction() as session:
        rows = session.execute(
            select(OutboxMessage.id, OutboxMessage.address, OutboxMessage.purpose, OutboxMessage.status,
                   OutboxMessage.provider_id, OutboxMessage.error_code, Group.keyword)
            .join(Group, Group.id == OutboxMessage.group_id, isouter=True).order_by(OutboxMessage.id)).all()
    zones = {phone: ZoneInfo(zone) for keyword, zone in GROUPS.items() for phone in phones(keyword)}

    members = PER_GROUP * len(GROUPS)
    print(f"Twilio failing {OUTAGE} ({len(FAILING)} answers in turn) for {members} members, 4 texts each: "
          f"{tried[0] if tried else 0} requests during the outage; after: rows {len(rows)}, "
          f"sent {sum(1 for row in rows if row.status == 'sent')}, at Twilio {len(taken)}, "
          f"twice {len(taken) - len({row.provider_id for row in rows if row.provider_id})}")
    assert len(rows) == 4 * members
    # The outage was real: every member's first text met it, many of them more than once (each
    # unclear answer is asked about at Twilio before the next try, so tries are fewer than requests were).
    assert tried and tried[0] > members + members // 2
    # Everything delivered, exactly once; nothing given up.
    assert {row.status for row in rows} == {"sent"}
    assert sorted(row.provider_id for row in rows) == sorted(taken), "a text went twice, or a row names none"
    for row in rows:
        assert taken[row.provider_id][1] == row.address

    by_member: dict[str, list] = defaultdict(list)
    for row in rows:
        by_member[row.address].append(row)
    for address, mine in by_member.items():
        tz = ZoneInfo(str(zones[address]))
        assert [row.purpose for row in mine] == [PUSH, REPLY, PUSH, REPLY]
        assert mine[0].error_code is not None
        for row in mine:
            at = taken[row.provider_id][2]
            if row.purpose == PUSH:  # carebot's own texts: only by day, in the member's timezone
                assert is_daytime(at, tz), f"row {row.id} reached a member at {at.astimezone(tz)}"
            else:  # replies: as soon as Twilio is back and the retry schedule allows
                assert at < T0 + OUTAGE + timedelta(minutes=15), f"reply {row.id} waited until {at}"
        # In order: a later text never reaches Twilio before an earlier one, unless the earlier
        # one is carebot's own and it was the member's night when the later one went.
        for i, earlier in enumerate(mine):
            for later in mine[i + 1:]:
                if taken[later.provider_id][0] < taken[earlier.provider_id][0]:
                    when = taken[later.provider_id][2]
                    assert earlier.purpose == PUSH and not is_daytime(when, tz), (
                        f"row {later.id} ({later.purpose}) overtook row {earlier.id} ({earlier.purpose}) "
                        f"at {when.astimezone(tz)}")

    # The outage pushed Chicago's texts past 20:00: they went in the morning, after the replies.
    chicago = [row for row in rows if row.keyword == "CHI" and row.purpose == PUSH]
    mornings = [row for row in chicago if taken[row.provider_id][2] >= CHICAGO_MORNING]
    assert mornings, "no text of Chicago's waited for the morning: the test lost its point"


# --- the rule behind the order, one case at a time --------------------------------------------

NOW = world.NOW


@pytest.fixture
def small(migrated_url):
    database = world.make_db(migrated_url)
    yield database
    database.dispose()


def send(db, fake, now):
    return world.with_channel(fake, lambda channel: deliver_due(db, {SMS: channel}, now, concurrency=8))


def test_a_later_text_waits_while_an_earlier_one_waits_for_its_retry(small):
    with FakeTwilio() as fake:
        fake.script(world.ANA, (429, 20429))  # a clear "not now": the row waits for its retry
        first = world.queue(small, world.ANA, "First, the go-around")
        assert send(small, fake, NOW) == 0
        retry_at = world.row(small, first).not_before
        assert retry_at > NOW + timedelta(seconds=29)
        second = world.queue(small, world.ANA, "Then a check-in", now=NOW + timedelta(seconds=1))
        other = world.queue(small, world.BEN, "Someone else's text", now=NOW + timedelta(seconds=1))
        assert send(small, fake, NOW + timedelta(seconds=5)) == 1  # Ben's: nobody's text is in its way
        assert world.row(small, second).not_before == retry_at  # Ana's second waits with her first
        assert [m["body"] for m in fake.sent_to(world.ANA)] == []
        assert send(small, fake, retry_at) == 2
        assert [m["body"] for m in fake.sent_to(world.ANA)] == ["First, the go-around", "Then a check-in"]
        assert {world.row(small, i).status for i in (first, second, other)} == {"sent"}


def test_a_stop_confirmation_does_not_wait_for_texts_the_stop_cancels(small):
    with FakeTwilio() as fake:
        fake.script(world.ANA, (429, 20429))  # a clear "not now": the row waits for its retry
        checkin = world.queue(small, world.ANA, "Checking in")
        assert send(small, fake, NOW) == 0  # backing off
        later = NOW + timedelta(seconds=2)
        assert Dispatcher(small).handle_inbound(Inbound(SMS, "SM" + "5" * 32, world.ANA, "STOP", later))
        assert send(small, fake, later) == 1  # the confirmation goes at once
        [confirmation] = fake.sent_to(world.ANA)
        assert send(small, fake, NOW + timedelta(minutes=5)) == 0
        assert world.row(small, checkin).status == "cancelled"  # and nothing follows it
        assert fake.sent_to(world.ANA) == [confirmation]


def test_a_reply_does_not_wait_for_a_text_held_for_the_morning(small):
    night = datetime(2026, 3, 3, 4, 0, tzinfo=UTC)  # 22:00 in Des Moines
    with FakeTwilio() as fake:
        fake.script(world.ANA, (429, 20429))  # a clear "not now": the row waits for its retry
        evening = world.queue(small, world.ANA, "The go-around", now=night - timedelta(hours=2, minutes=1))
        assert send(small, fake, night - timedelta(hours=2, minutes=1)) == 0  # 19:59: Twilio fails
        assert send(small, fake, night - timedelta(hours=1)) == 0  # 21:00: now it waits for the morning
        assert world.row(small, evening).not_before.astimezone(ZoneInfo("America/Chicago")).hour == 9
        assert Dispatcher(small).handle_inbound(Inbound(SMS, "SM" + "6" * 32, world.ANA, "HELP", night))
        assert send(small, fake, night) == 1  # the answer to her own text goes now
        assert len(fake.sent_to(world.ANA)) == 1 and world.row(small, evening).status == "pending"
