"""A sender whose lease went while it lived never sends a text twice (docs/reliability.md).

The lease (carebot/store/lease.py) tells other senders this process lives, so
they leave its texts on their way alone. On PostgreSQL it is an advisory lock
on a connection of its own; here that connection's backend is killed
(``pg_terminate_backend``) while carebot serve's sender loop runs, with the fake
Twilio holding requests open or a request still on its way. Another process
settles whatever it then takes for a dead sender's. Every text must reach Twilio
once, none may be lost, and the sender must take its lease again and go on
sending. On SQLite the lease is a record lock on a file beside the database:
the file removed, or its descriptor closed, must not make a live sender look
gone either.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import create_engine, make_url, select, text

from carebot.channels import SMS, SendError, Sent
from carebot.domain import metrics
from carebot.outbox.recovery import _settle, recover_sending
from carebot.outbox.sender import Claim, _claim, _record_failure, _record_sent, deliver_due
from carebot.outbox.write import REPLY
from carebot.runtime.serve import holds_lease, run_sender
from carebot.store.db import Database
from carebot.store.lease import NAMESPACE, Lease, _key
from carebot.store.models import OutboxMessage
from tests.fakes.twilio_api import FakeTwilio
from tests.fakes.world import ANA, BEN, CARA, NOW, channel_for, queue, row, with_channel
from tests.faults.test_storage import health
from tests.helpers import GOOD, Process, group_with_a_due_round, wait_for

CHECK_INS = {ANA: "Checking in, Ana", BEN: "Checking in, Ben", CARA: "Checking in, Cara"}


class Running:
    """carebot serve's sender loop (``run_sender``) with a lease of its own, in a thread of its own.

    ``wrap`` may put something around the real Twilio channel (a slow network, a fault at the
    moment of the request). Its clock is ``clock[0]``, moved by the test.
    """

    def __init__(self, url: str, fake, clock: list[datetime], wrap: Callable = lambda channel: channel) -> None:
        self.db = Database(url)
        self.db.lease = Lease(url)
        self.db.lease.hold()
        self.first_owner = self.db.lease.owner
        self.clock, self.fake, self.wrap = clock, fake, wrap
        self.started = threading.Event()
        self.thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)
        self.thread.start()
        self.started.wait(30)

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.wake = asyncio.Event()
        channel = channel_for(self.fake)
        self.task = asyncio.create_task(run_sender(self.db, {SMS: self.wrap(channel)}, self.wake, rate=3,
                                                   now=lambda: self.clock[0], idle=0.2))
        self.started.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await channel.close()

    def poke(self) -> None:
        self.loop.call_soon_threadsafe(self.wake.set)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(30)
        assert self.db.lease is not None
        self.db.lease.release()
        self.db.dispose()


@contextlib.contextmanager
def running(url: str, fake, clock: list[datetime], **kw) -> Iterator[Running]:
    sender = Running(url, fake, clock, **kw)
    try:
        yield sender
    finally:
        sender.stop()


@contextlib.contextmanager
def admin(backend) -> Iterator:
    engine = create_engine(backend.server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def lease_backends(backend, url: str) -> set[int]:
    """The server's sessions that hold a sender lease on this database."""
    with admin(backend) as conn:
        return set(conn.scalars(text(
            "SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
            "WHERE a.datname = :name AND l.locktype = 'advisory' AND l.granted AND l.classid = :ns"),
            {"name": make_url(url).database, "ns": NAMESPACE}))


def kill_lease(backend, sender: Running) -> int:
    """Kill the backend of ``sender``'s lease (waiting until it is gone); its pid."""
    [pid] = lease_backends(backend, sender.db.url)
    with admin(backend) as conn:
        assert conn.scalar(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid})
    return pid


def another_process_settles(url: str, fake, now: datetime, *, sends: bool = False) -> int:
    """A second sender, with its own lease, settles what it takes for a dead sender's (and sends)."""
    other = Database(url)
    other.lease = Lease(url)
    other.lease.hold()

    async def go(channel) -> int:
        settled = await recover_sending(other, {SMS: channel}, now)
        if sends:
            await deliver_due(other, {SMS: channel}, now)
        return settled

    try:
        return with_channel(fake, go)
    finally:
        other.lease.release()
        other.dispose()


def at_twilio(fake) -> collections.Counter:
    return collections.Counter(message["body"] for message in fake.messages)


def all_sent(db, *row_ids: int) -> bool:
    return all(row(db, row_id).status == "sent" for row_id in row_ids)


@pytest.mark.postgresql
def test_a_sender_whose_lease_is_killed_mid_request_sends_nothing_twice_and_resumes(backend, db, fake, caplog):
    caplog.set_level(logging.INFO)
    ids = [queue(db, who, body) for who, body in CHECK_INS.items()]
    fake.hold(after=0)  # Twilio takes each text and answers none: all three on their way
    clock = [NOW]
    with running(db.url, fake, clock) as sender:
        wait_for(lambda: fake.held == 3, "three requests held open at Twilio")
        killed = kill_lease(backend, sender)
        settled = another_process_settles(db.url, fake, NOW + timedelta(seconds=10))
        reply = queue(db, ANA, "Rosa from the group can call you tonight.", now=NOW + timedelta(seconds=5),
                      purpose=REPLY)
        fake.release()  # the held requests are hung up on: unclear answers
        clock[0] = NOW + timedelta(seconds=40)  # past ASK_AFTER: the sender asks Twilio of its own
        sender.poke()
        wait_for(lambda: all_sent(db, *ids, reply), "every text sent, the reply too")
        again = lease_backends(backend, db.url)
        assert again and killed not in again and not sender.db.lease.lost
    print(f"lease backend {killed} killed with 3 requests open; the other process settled {settled} "
          f"as Twilio's; Twilio has {dict(at_twilio(fake))}")
    assert at_twilio(fake) == collections.Counter([*CHECK_INS.values(), "Rosa from the group can call you tonight."])
    assert all(row(db, row_id).provider_id for row_id in ids)
    lines = [record.getMessage() for record in caplog.records if record.name == "carebot.store.lease"]
    assert sum("lost its lease" in line for line in lines) == 1, lines
    assert sum("took its lease again; sending again" in line for line in lines) == 1, lines


class StruckBeforeRequest:
    """The real channel, but the lease's backend is killed after the sender's last check and before
    its request goes: the narrowest window."""

    def __init__(self, channel, strike: Callable[[], object]) -> None:
        self.channel, self.strike, self.struck = channel, strike, False

    def __getattr__(self, name: str):
        return getattr(self.channel, name)

    async def send(self, to: str, body: str, row_id: int):
        if not self.struck:
            self.struck = True
            await asyncio.to_thread(self.strike)
        return await self.channel.send(to, body, row_id)


@pytest.mark.postgresql
def test_the_lease_lost_between_the_check_and_the_request(backend, db, fake):
    checkin = queue(db, ANA, CHECK_INS[ANA])
    fake.hold(after=0)
    clock = [NOW]
    holder: list[Running] = []
    with running(db.url, fake, clock, wrap=lambda channel: StruckBeforeRequest(
            channel, lambda: kill_lease(backend, holder[0]))) as sender:
        holder.append(sender)
        wait_for(lambda: fake.held == 1, "the request held open at Twilio")
        settled = another_process_settles(db.url, fake, NOW + timedelta(seconds=10), sends=True)
        fake.release()
        clock[0] = NOW + timedelta(seconds=40)
        later = queue(db, BEN, CHECK_INS[BEN], now=clock[0])
        sender.poke()
        wait_for(lambda: all_sent(db, checkin, later), "both texts sent")
    print(f"lease killed after the check, before the request; the other process settled {settled}; "
          f"Twilio has {dict(at_twilio(fake))}")
    assert at_twilio(fake) == collections.Counter([CHECK_INS[ANA], CHECK_INS[BEN]])


class SlowNetwork:
    """The real channel, but each request waits on ``gate`` before it reaches Twilio: on its way."""

    def __init__(self, channel, gate: threading.Event) -> None:
        self.channel, self.gate, self.waiting = channel, gate, 0

    def __getattr__(self, name: str):
        return getattr(self.channel, name)

    async def send(self, to: str, body: str, row_id: int):
        self.waiting += 1
        await asyncio.to_thread(self.gate.wait, 30)
        return await self.channel.send(to, body, row_id)


@pytest.mark.postgresql
def test_a_text_still_on_its_way_is_left_to_its_sender_that_took_its_lease_again(backend, db, fake):
    gate = threading.Event()
    network: list[SlowNetwork] = []

    def slow(channel):
        network.append(SlowNetwork(channel, gate))
        return network[0]

    clock = [NOW]
    with running(db.url, fake, clock, wrap=slow) as sender:
        killed = kill_lease(backend, sender)  # while idle: nothing tells it, till it looks
        checkin = queue(db, ANA, CHECK_INS[ANA])
        sender.poke()
        wait_for(lambda: network[0].waiting == 1, "the text on its way, not yet at Twilio")
        # Another process looks now: Twilio has nothing yet. Were the sender still without its lease,
        # it would take the text for a dead sender's and send it again.
        settled = another_process_settles(db.url, fake, NOW + timedelta(seconds=10), sends=True)
        assert settled == 0 and row(db, checkin).status == "sending"
        gate.set()
        wait_for(lambda: all_sent(db, checkin), "the text sent")
        assert killed not in lease_backends(backend, db.url)
    print(f"killed while idle; the text went under the lease taken again; Twilio has {dict(at_twilio(fake))}")
    assert at_twilio(fake) == collections.Counter([CHECK_INS[ANA]])


@pytest.mark.postgresql
def test_an_identity_still_held_is_never_shared_and_its_rows_wait(backend, db, fake):
    checkin = queue(db, ANA, CHECK_INS[ANA])
    fake.hold(after=0)
    clock = [NOW]
    zombie_engine = create_engine(db.url, isolation_level="AUTOCOMMIT")  # advisory locks are per database
    with running(db.url, fake, clock) as sender, zombie_engine.connect() as zombie:
        wait_for(lambda: fake.held == 1, "the request held open at Twilio")
        old = sender.first_owner
        [pid] = lease_backends(backend, db.url)
        # Killed, and its identity at once held elsewhere (say by its own old session, which the server
        # has not yet seen die).
        zombie.execute(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid})
        zombie.execute(text("SELECT pg_advisory_lock(:ns, :key)"), {"ns": NAMESPACE, "key": _key(old)})
        wait_for(lambda: sender.db.lease.owner != old and not sender.db.lease.lost, "a new identity")
        assert another_process_settles(db.url, fake, NOW + timedelta(seconds=10), sends=True) == 0
        fake.release()
        clock[0] = NOW + timedelta(seconds=40)
        sender.poke()
        assert another_process_settles(db.url, fake, clock[0], sends=True) == 0
        assert row(db, checkin).status == "sending"  # its old identity looks alive: nobody settles it yet
        zombie.execute(text("SELECT pg_advisory_unlock_all()"))
        sender.poke()
        wait_for(lambda: all_sent(db, checkin), "the old identity's text settled once it was free")
        assert row(db, checkin).claimed_by == old
    zombie_engine.dispose()
    print(f"old identity held elsewhere: a new one taken; Twilio has {dict(at_twilio(fake))}")
    assert at_twilio(fake) == collections.Counter([CHECK_INS[ANA]])


@pytest.mark.postgresql
def test_health_and_metrics_say_while_the_lease_is_lost(backend, db):
    name = make_url(db.url).database
    health(db)  # the web's own connection, opened before the database refuses new ones
    db.lease = Lease(db.url)
    db.lease.hold()
    try:
        with admin(backend) as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            [pid] = lease_backends(backend, db.url)
            conn.execute(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid})
        try:
            assert asyncio.run(holds_lease(db.lease)) is False  # lost, and not to be taken again yet
            status, answer = health(db)
            print(f"while lost: /healthz {status} {answer}")
            assert (status, answer["sender"]) == (200, "lease lost")
            assert "carebot_sender_lease_lost 1.0" in metrics.render().decode()
        finally:
            with admin(backend) as conn:
                conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        assert asyncio.run(holds_lease(db.lease)) is True
        assert health(db)[1]["sender"] == "ok"
        assert "carebot_sender_lease_lost 0.0" in metrics.render().decode()
    finally:
        db.lease.release()
        db.lease = None


PROBE = """
import sys
from carebot.store.lease import Lease
lease = Lease(sys.argv[1])
lease.hold()
print("gone" if lease.dead([sys.argv[2]]) else "alive")
"""


def looks(url: str, owner: str) -> str:
    """What another process sees of ``owner``'s lease."""
    return subprocess.run([sys.executable, "-c", PROBE, url, owner], capture_output=True, text=True,
                          check=True, timeout=60).stdout.strip()


@pytest.mark.parametrize("how", ["file removed", "descriptor closed"])
def test_a_sqlite_lease_that_went_is_seen_and_taken_again(backend, db, how):
    if not db.url.startswith("sqlite"):
        pytest.skip("the lease file is SQLite's")
    lease = Lease(db.url)
    lease.hold()
    try:
        assert looks(db.url, lease.owner) == "alive"
        if how == "file removed":
            os.remove(f"{make_url(db.url).database}-senders")
        else:
            assert lease._file is not None
            os.close(lease._file)
        print(f"{how}: another process sees it {looks(db.url, lease.owner)}")
        assert not lease.intact()  # the sender sends nothing now
        assert lease.keep() and lease.intact() and not lease.lost
        assert looks(db.url, lease.owner) == "alive"
    finally:
        lease.release()


# --- What a sender learns after another settled its row -------------------------------------------


class Named:
    """A channel as a claim sees it: only its name."""

    name = SMS



def claimed_by_a_sender_whose_lease_went(db, row_id: int) -> Claim:
    """``row_id`` claimed by sender "a" (its request then on its way), then settled by another that did
    not find it at Twilio: pending again."""
    with db.transaction() as session:
        claim = _claim(session, {SMS: Named()}, row_id, NOW, "UTC", "a")
    assert claim is not None
    assert _settle(db, row_id, None, NOW + timedelta(seconds=10)) == 1
    return claim


def test_a_text_twilio_took_is_never_made_pending_again_by_a_late_answer(db):
    checkin = queue(db, ANA, CHECK_INS[ANA])
    claim = claimed_by_a_sender_whose_lease_went(db, checkin)
    with db.transaction() as session:  # its answer comes: Twilio has the text
        _record_sent(session, checkin, Sent("SM" + "a" * 32), NOW + timedelta(seconds=11), claim)
    assert (row(db, checkin).status, row(db, checkin).provider_id) == ("sent", "SM" + "a" * 32)


def test_a_late_refusal_never_undoes_another_senders_settling(db):
    checkin = queue(db, ANA, CHECK_INS[ANA])
    claim = claimed_by_a_sender_whose_lease_went(db, checkin)
    with db.transaction() as session:  # the other sender claims it again, and Twilio takes it
        again = _claim(session, {SMS: Named()}, checkin, NOW + timedelta(seconds=10), "UTC", "b")
    assert again is not None
    with db.transaction() as session:
        _record_sent(session, checkin, Sent("SM" + "b" * 32), NOW + timedelta(seconds=11), again)
    with db.transaction() as session:  # then the first request's answer: a refusal worth trying again
        _record_failure(session, checkin, SendError("30001", retryable=True), NOW + timedelta(seconds=12), claim)
    assert (row(db, checkin).status, row(db, checkin).provider_id) == ("sent", "SM" + "b" * 32)


# --- carebot serve itself ---------------------------------------------------------------------------

ROUND = [f"+1515{7100000 + n:07d}" for n in range(30)]


@pytest.mark.slow
@pytest.mark.postgresql
def test_carebot_serve_whose_lease_is_killed_mid_round_sends_each_text_once(backend, migrated_url, tmp_path):
    db = Database(migrated_url)
    try:
        group_with_a_due_round(db, ROUND)
        with FakeTwilio(account_sid=GOOD["TWILIO_ACCOUNT_SID"], auth_token=GOOD["TWILIO_AUTH_TOKEN"]) as fake:
            fake.hold(after=5)  # five answered, then Twilio takes the rest of a pass and answers none
            serving = Process("all", migrated_url, tmp_path, TWILIO_API_BASE_URL=fake.base_url,
                              TWILIO_SEND_RATE="1000")
            try:
                wait_for(lambda: fake.held >= 1, "requests held open at Twilio")
                [killed] = lease_backends(backend, migrated_url)
                with admin(backend) as conn:
                    assert conn.scalar(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": killed})
                wait_for(lambda: lease_backends(backend, migrated_url) - {killed}, "the lease taken again")
                fake.release()
                wait_for(lambda: fake_sent_to_all(fake), "every member's text at Twilio", 90)
                wait_for(lambda: all_rows_sent(db), "every row settled as sent", 90)
                assert serving.health()["sender"] == "ok"
                assert serving.metric("carebot_sender_lease_lost") == 0
            finally:
                serving.stop()
        received = collections.Counter(message["to"] for message in fake.messages)
        log = serving.output()
        print(f"lease killed mid-round of {len(ROUND)}: sent {len(received)}, "
              f"twice {sum(1 for n in received.values() if n > 1)}")
        assert received == collections.Counter(ROUND)
        assert log.count("lost its lease") == 1 and log.count("took its lease again") == 1, log
        assert "Traceback" not in log and "+1515" not in log
    finally:
        db.dispose()


def fake_sent_to_all(fake) -> bool:
    return {message["to"] for message in fake.messages} == set(ROUND)


def all_rows_sent(db) -> bool:
    with db.transaction() as session:
        return set(session.scalars(select(OutboxMessage.status))) == {"sent"}
