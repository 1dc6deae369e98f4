"""Scale-out on one PostgreSQL: web processes store, workers send each row once, one leader at a time.

Real ``carebot serve`` processes against a real PostgreSQL server; only
Twilio's API and the Signal service are fakes, on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from carebot.channels import SMS
from carebot.outbox.write import REPLY, enqueue
from carebot.runtime.leader import POLL_SECONDS
from carebot.services.groups import add_group, add_member
from carebot.store.db import Database
from carebot.store.models import InboundMessage, Member, OutboxMessage
from tests.fakes.signal_api import FakeSignal
from tests.fakes.twilio_api import FakeTwilio
from tests.helpers import GOOD, Process, free_port, wait_for

pytestmark = pytest.mark.postgresql

PUBLIC = GOOD["CAREBOT_PUBLIC_URL"]
BOT = "+15155550999"
DEADLINE = 60.0


@pytest.fixture
def processes():
    started: list[Process] = []
    yield started
    for process in started:
        process.stop()
    for process in started:  # never a phone number or a text in any log
        assert "+1515555" not in process.output()
        assert "Traceback" not in process.output(), process.output()


PEOPLE = [f"+1515555{n:04d}" for n in range(200, 220)]


def setup_group(url: str) -> Database:
    db = Database(url)
    now = datetime.now(UTC)
    with db.transaction() as session:
        add_group(session, keyword="DMMA", name="Des Moines Mutual Aid", timezone="America/Chicago", now=now)
        for index, phone in enumerate(PEOPLE):
            add_member(session, keyword="DMMA", phone=phone, name=f"M{index}", now=now)
    return db


def queue_replies(db: Database, count: int) -> list[int]:
    """``count`` replies, due now, spread over the members (replies ignore quiet hours)."""
    now = datetime.now(UTC) - timedelta(seconds=1)
    with db.transaction() as session:
        members = session.scalars(select(Member).order_by(Member.id)).all()
        rows = [enqueue(session, member=members[i % len(members)], channel=SMS,
                        address=PEOPLE[i % len(members)], text=f"check-in number {i}", purpose=REPLY, now=now)
                for i in range(count)]
        session.flush()
        return [row.id for row in rows]


def test_two_workers_and_a_web_process_send_every_row_exactly_once(migrated_url, tmp_path, processes):
    db = setup_group(migrated_url)
    try:
        with FakeTwilio() as fake:
            # Each worker sends from its own number, so the fake can tell who sent what.
            env = {"TWILIO_API_BASE_URL": fake.base_url, "TWILIO_SEND_RATE": "8"}
            workers = [Process("worker", migrated_url, tmp_path, **env, TWILIO_FROM=number)
                       for number in ("+15155550100", "+15155550109")]
            web = Process("web", migrated_url, tmp_path, **env)
            processes.extend([*workers, web])
            for process in processes:
                wait_for(lambda p=process: (p.health() or {}).get("database") == "ok", f"{process.role} to start", DEADLINE)
            assert web.get("/healthz") and web.health()["role"] == "web"
            assert {w.health()["leader"] for w in workers} == {True, False}

            ids = queue_replies(db, 80)  # at 8 a second each: about ten seconds of work to share
            for index, phone in enumerate(PEOPLE):  # and texts in through the web process
                assert web.post("/twilio/sms", {"MessageSid": f"SM{index:032d}", "From": phone,
                                                "To": GOOD["TWILIO_FROM"], "Body": "HELP"}) == 204

            def settled() -> bool:
                with db.transaction() as session:
                    waiting = session.scalar(select(func.count()).select_from(OutboxMessage).where(
                        OutboxMessage.status.in_(("pending", "sending"))))
                    unhandled = session.scalar(select(func.count()).select_from(InboundMessage).where(
                        InboundMessage.handled_at.is_(None)))
                return waiting == 0 and unhandled == 0 and len(fake.requests) >= len(ids) + len(PEOPLE)

            wait_for(settled, "every text to be handled and every row sent", 120)
            # A double send would show up once every request Twilio took is a send a worker has counted.
            wait_for(lambda: sum(w.metric('carebot_messages_out_total{channel="sms",status="sent"}')
                                 for w in workers) >= len(fake.requests), "the workers to count every send", 30)
            sends = Counter(urllib.parse.parse_qs(urllib.parse.urlsplit(r["StatusCallback"]).query)["outbox"][0]
                            for r in fake.requests)
            with db.transaction() as session:
                rows = session.execute(select(OutboxMessage.id, OutboxMessage.status)).all()
            assert {status for _, status in rows} == {"sent"}
            assert len(rows) == len(ids) + len(PEOPLE)  # each HELP got its one reply
            assert sends == Counter({str(row_id): 1 for row_id, _ in rows}), "a row was sent twice"
            by_worker = Counter(r["From"] for r in fake.requests)
            assert set(by_worker) == {"+15155550100", "+15155550109"}, by_worker  # both did share the work
            assert web.metric('carebot_messages_in_total{channel="sms",status="stored"}') == len(PEOPLE)
            sent = sum(w.metric('carebot_messages_out_total{channel="sms",status="sent"}') for w in workers)
            assert sent == len(rows)
    finally:
        db.dispose()


class SignalService:
    """The fake Signal service on its own event loop in a thread, for processes to attach to."""

    def __init__(self) -> None:
        self.fake = FakeSignal(BOT, free_port())
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> FakeSignal:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.fake.start(), self.loop).result(10)
        return self.fake

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self.fake.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def lock_holders(db: Database) -> list[int]:
    """The backends holding carebot's leader lock (advisory locks live in pg_locks)."""
    from carebot.runtime.leader import LOCK_KEY

    with db.engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND ((classid::bigint << 32) | objid::bigint) = :key"), {"key": LOCK_KEY}).scalars())


def standby_waits(standby: Process, *, polls: int) -> None:
    """``standby`` stays a standby through ``polls`` of its polls for the lock (real time: it is a real
    process); asked all along, so a takeover at any moment fails the test."""
    since = time.monotonic()

    def still_waiting_long_enough() -> bool:
        assert (standby.health() or {}).get("leader") is False, "the standby took over while the leader lived"
        return time.monotonic() - since > polls * POLL_SECONDS

    wait_for(still_waiting_long_enough, f"{polls} polls of the standby", DEADLINE)


def test_one_leader_holds_signal_and_the_ticker_and_a_standby_takes_over_after_a_kill(
        migrated_url, tmp_path, processes):
    db = setup_group(migrated_url)
    try:
        with SignalService() as service:
            env = {"TWILIO_API_BASE_URL": f"http://127.0.0.1:{free_port()}",
                   "SIGNAL_SERVICE": service.url, "SIGNAL_NUMBER": BOT}
            first = Process("worker", migrated_url, tmp_path, **env)
            processes.append(first)
            wait_for(lambda: (first.health() or {}).get("leader") is True, "the first worker to lead", DEADLINE)
            wait_for(lambda: service.attached == 1, "the leader to attach to Signal", DEADLINE)
            wait_for(lambda: first.metric("carebot_scheduler_ticks_total") >= 1, "the leader to tick", DEADLINE)

            standby = Process("worker", migrated_url, tmp_path, **env)
            processes.append(standby)
            wait_for(lambda: (standby.health() or {}).get("database") == "ok", "the standby to start", DEADLINE)
            # Two of the standby's polls, watched all along: it keeps waiting while the leader lives.
            standby_waits(standby, polls=2)
            assert standby.health()["leader"] is False and standby.health()["signal"] == "standby"
            assert service.attached == 1  # only one process may attach to a Signal account
            assert standby.metric("carebot_scheduler_ticks_total") == 0
            assert len(lock_holders(db)) == 1

            first.proc.send_signal(signal.SIGKILL)
            first.proc.wait(10)
            killed = time.monotonic()
            wait_for(lambda: (standby.health() or {}).get("leader") is True, "the standby to take over", 30)
            took = time.monotonic() - killed
            wait_for(lambda: standby.metric("carebot_scheduler_ticks_total") >= 1, "the new leader to tick", DEADLINE)
            wait_for(lambda: service.attached == 1 and standby.health()["signal"] in ("up", "paused"),
                     "the new leader to attach to Signal", DEADLINE)
            assert len(lock_holders(db)) == 1
            assert took < 15, f"the takeover took {took:.1f}s"
    finally:
        db.dispose()
