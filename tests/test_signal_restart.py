"""No Signal text is lost across a restart of carebot serve, when the documented order is kept.

signal-cli-rest-api in json-rpc mode drops what arrives while it is up and no
client listens, and keeps (on Signal's servers) what arrives while it is down
(tests/fakes/signal_api.py). So the order in deploy/signal.md: carebot starts,
then the service; the service stops, then carebot. Here carebot's whole serve
(its lifespan: the Signal leader, the inbound worker, the sender) is stopped
and started again while members keep texting, and every text is counted:
stored once, handled once, answered once. A second test breaks the order and
shows the fake losing texts, so the first could fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx
import pytest
from sqlalchemy import func, select

from carebot.channels import SIGNAL
from carebot.dispatch.flood import FLOOD_LIMIT
from carebot.domain.config import load_serve_settings
from carebot.runtime.serve import build_app
from carebot.store.db import Database
from carebot.store.models import InboundMessage, OutboxMessage
from tests.fakes.signal_api import FakeSignal
from tests.helpers import SIGNAL_BOT as BOT
from tests.helpers import free_port

DEADLINE = 60.0  # for what must come (and the grace a stepping-down leader may take at most)
MEMBERS = 4  # who take turns texting


def sender(n: int) -> str:
    """The n-th text's sender: four members take turns; after FLOOD_LIMIT texts each, four others do. Past
    the flood limit carebot rightly answers a member no more, and how many texts the hand-over lets through
    depends on how fast the machine is (65 on a busy one, where four members got 60 replies)."""
    return f"1b7a2c3d-0000-4000-8000-{1 + n % MEMBERS + MEMBERS * (n // (MEMBERS * FLOOD_LIMIT)):012d}"


def settings_for(url: str, service: str):
    return load_serve_settings(
        carebot_public_url="https://care.example.org", twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="f" * 32, twilio_from="+15155550100", carebot_database_url=url,
        twilio_api_base_url=f"http://127.0.0.1:{free_port()}",
        signal_service=service, signal_number=BOT,
    )


@contextlib.asynccontextmanager
async def serving(settings, db: Database, grace: float = 5.0):
    """carebot serve's lifespan, as uvicorn runs it; ``grace``: how long it waits for the service to stop first."""
    app = build_app(settings, db, signal_grace=grace)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000") as client:
        yield client


class Texting:
    """Members text the account, one after another, whatever state carebot and the service are in."""

    def __init__(self, fake: FakeSignal) -> None:
        self.fake = fake
        self.sent = 0

    async def some(self, how_many: int) -> None:
        for _ in range(how_many):
            await self.fake.deliver(source_uuid=sender(self.sent), text="help")
            self.sent += 1
            await asyncio.sleep(0)  # let carebot's tasks run between texts, as the network would


def counts(db: Database) -> tuple[int, int, int]:
    """Signal texts stored, of those the ones handled, and replies written to Signal members."""
    with db.transaction() as session:
        stored = session.scalar(select(func.count()).select_from(InboundMessage)
                                .where(InboundMessage.channel == SIGNAL))
        handled = session.scalar(select(func.count()).select_from(InboundMessage)
                                 .where(InboundMessage.channel == SIGNAL, InboundMessage.handled_at.is_not(None)))
        replies = session.scalar(select(func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.channel == SIGNAL))
        return stored, handled, replies


async def settle(db: Database, expected: int) -> tuple[int, int, int]:
    """Wait (polling the database, with a deadline) until ``expected`` texts are handled and answered."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        now = await asyncio.to_thread(counts, db)
        if now[1] >= expected and now[2] >= expected:
            return now
        await asyncio.sleep(0.05)
    return await asyncio.to_thread(counts, db)


async def service_starts(fake: FakeSignal) -> None:
    """The service starts after carebot; carebot (polling) attaches before signal-cli receives."""
    await fake.start(receive=False)
    await fake.wait_for(lambda f: f.attached >= 1, DEADLINE)
    await fake.receive()


def test_a_restart_in_the_documented_order_loses_no_signal_text(migrated_url):
    db = Database(migrated_url)
    fake = FakeSignal(BOT, free_port())
    settings = settings_for(migrated_url, fake.url)
    texting = Texting(fake)

    async def go() -> None:
        await texting.some(2)  # before anything runs: Signal's servers keep them
        async with serving(settings, db) as client:  # carebot first
            await texting.some(2)  # carebot polls, the service is not there yet
            await service_starts(fake)
            await texting.some(5)
            assert (await client.get("/healthz")).json()["signal"] == "up"
            assert (await settle(db, 9))[1] == 9
            await fake.stop()  # the service stops first ...
            await texting.some(3)
        # ... then carebot; members keep texting while both are away, and while carebot comes back
        await texting.some(3)
        async with serving(settings, db):
            await texting.some(2)
            await service_starts(fake)
            await texting.some(4)
            final = await settle(db, texting.sent)
            await fake.stop()
        assert texting.sent == 21
        assert final == (21, 21, 21), "every text stored once, handled once, answered once"
        assert fake.dropped == 0 and fake.waiting == []

    try:
        asyncio.run(go())
    finally:
        db.dispose()


def test_the_wrong_order_loses_texts_so_the_order_matters(migrated_url):
    """carebot stopped while the service keeps running: what comes meanwhile is gone for good."""
    db = Database(migrated_url)
    fake = FakeSignal(BOT, free_port())
    settings = settings_for(migrated_url, fake.url)
    texting = Texting(fake)

    async def go() -> None:
        async with serving(settings, db, grace=0.2):
            await service_starts(fake)
            await texting.some(3)
            await settle(db, 3)
            # carebot stops first (the service is left running): carebot waits its grace, then goes.
        await texting.some(4)  # the service is up, nobody listens
        async with serving(settings, db):
            await fake.wait_for(lambda f: f.attached >= 1, DEADLINE)
            await texting.some(2)
            final = await settle(db, 5)
        await fake.stop()
        assert fake.dropped == 4
        assert final == (5, 5, 5)

    try:
        asyncio.run(go())
    finally:
        db.dispose()


@pytest.mark.postgresql
def test_a_leader_that_steps_down_hands_signal_over_before_letting_go(migrated_url):
    """Two workers on PostgreSQL; the leader stops while texts keep coming and the service stays up.

    The leader frees the lock but keeps listening until the standby, now leading, is attached:
    for a moment both are, and each text is still stored once. Nothing falls into a gap.
    """
    db = Database(migrated_url)
    fake = FakeSignal(BOT, free_port())
    settings = settings_for(migrated_url, fake.url)
    texting = Texting(fake)

    async def keep_texting(stop: asyncio.Event) -> None:
        while not stop.is_set():
            await texting.some(1)
            await asyncio.sleep(0.01)

    async def go() -> None:
        await fake.start()
        first = build_app(settings, db, role="worker", leader_poll=0.1, signal_grace=DEADLINE)
        second = build_app(settings, db, role="worker", leader_poll=0.1, signal_grace=DEADLINE)
        async with contextlib.AsyncExitStack() as leading, contextlib.AsyncExitStack() as standing:
            await leading.enter_async_context(first.router.lifespan_context(first))
            await fake.wait_for(lambda f: f.attached == 1, DEADLINE)
            assert first.state.leadership.leading
            await standing.enter_async_context(second.router.lifespan_context(second))
            assert not second.state.leadership.leading  # a hot standby, not attached
            stop = asyncio.Event()
            texter = asyncio.create_task(keep_texting(stop))
            await texting.some(3)
            await leading.aclose()  # the leader stops (SIGTERM); the service stays up
            assert second.state.leadership.leading and fake.attached == 1
            await texting.some(3)
            stop.set()
            await texter
            final = await settle(db, texting.sent)
            await fake.stop()  # the service stops first, then the last worker
        assert fake.dropped == 0, "no text arrived while nobody listened"
        assert final == (texting.sent,) * 3, "each text stored, handled and answered once"
        # Counted by the service, not sampled at each text: both may be attached for only a few
        # milliseconds, less than a busy machine takes between two texts.
        assert fake.most_attached == 2, "the new leader attached before the old one let go"

    try:
        asyncio.run(go())
    finally:
        db.dispose()
