"""The Signal channel end to end: the real signalbot against a local fake signal-cli-rest-api.

Nothing here sleeps to synchronize: tests wait on the fake's condition (a
client attached) or on the handled-inbound condition, each with a deadline.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from carebot.channels import SIGNAL, SMS, Inbound
from carebot.channels.signal import CAPTCHA_PAUSE, RATE_LIMIT_PAUSE, UNTRUSTED_HOLD, SignalChannel
from carebot.channels.sim import SimNetwork
from carebot.dispatch.dispatcher import Dispatcher
from carebot.domain.config import ConfigError, load_serve_settings
from carebot.outbox.pause import load_pause, save_pause
from carebot.outbox.safety_numbers import load_told, save_told
from carebot.outbox.sender import deliver_due
from carebot.outbox.write import push
from carebot.services.groups import add_group, add_member
from carebot.store.crypto import lookup_hash
from carebot.store.db import Database, upgrade
from carebot.store.models import ConsentEvent, InboundMessage, Member, OutboxMessage
from tests.fakes.signal_api import CONTRACT, PROOF_REQUIRED, RATE_LIMIT, UNREGISTERED, UNTRUSTED, FakeSignal
from tests.helpers import SIGNAL_BOT, free_port, wait_until

NOW = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # 10:00 in Des Moines: daytime
BOT = SIGNAL_BOT
ROSA = "+15155550100"  # the coordinator, on SMS
ANA, BEN, CARA = "+15155550101", "+15155550102", "+15155550103"
ANA_ID = "1b7a2c3d-0000-4000-8000-00000000a0a0"
BEN_ID = "1b7a2c3d-0000-4000-8000-00000000b0b0"
CARA_ID = "1b7a2c3d-0000-4000-8000-00000000c0c0"
DEADLINE = 30.0  # for what must come; only a real failure waits it out, a busy machine takes seconds


HASHED = {"phone": "phone_hash", "signal_uuid": "signal_hash", "address": "address_hash"}


def _column(model, name: str, value):
    """``model.name == value``; an encrypted column is compared through its keyed hash."""
    if name in HASHED:
        return getattr(model, HASHED[name]) == lookup_hash(value)
    return getattr(model, name) == value


class World:
    """A migrated database, group DMMA with coordinator Rosa on SMS, the fake service and a channel."""

    def __init__(self, url: str) -> None:
        upgrade(url)
        self.db = Database(url)
        with self.db.transaction() as session:
            add_group(session, keyword="DMMA", name="Des Moines Mutual Aid", timezone="America/Chicago", now=NOW)
            add_member(session, keyword="DMMA", phone=ROSA, name="Rosa", coordinator=True, now=NOW)
        self.dispatcher = Dispatcher(self.db)
        self.now = NOW
        self.network = SimNetwork(clock=NOW)
        self.fake = FakeSignal(BOT, free_port())
        self.executor = ThreadPoolExecutor(max_workers=1)  # as carebot serve: one database worker
        self.handled: list[Inbound] = []
        self.changed: asyncio.Condition | None = None
        self.channel: SignalChannel | None = None

    def add(self, phone: str | None, uuid: str | None, channel: str, name: str) -> None:
        with self.db.transaction() as session:
            add_member(session, keyword="DMMA", phone=phone, signal_uuid=uuid, channel=channel, name=name, now=NOW)

    async def on_inbound(self, message: Inbound) -> None:
        await asyncio.get_running_loop().run_in_executor(self.executor, self.dispatcher.handle_inbound, message)
        async with self.changed:
            self.handled.append(message)
            self.changed.notify_all()

    async def start(self, *, fake: bool = True) -> None:
        self.changed = asyncio.Condition()
        if fake:
            await self.fake.start()
        self.channel = SignalChannel(self.fake.url, BOT, on_inbound=self.on_inbound, now=lambda: self.now,
                                     retry=(0.05, 0.2), pause=load_pause(self.db, SIGNAL),
                                     on_pause=self.record_pause, told_untrusted=load_told(self.db),
                                     blind=lookup_hash, on_told_untrusted=self.record_told)
        await self.channel.start()
        if fake:
            await self.fake.wait_for(lambda f: f.attached >= 1, DEADLINE)

    async def record_pause(self, state) -> None:  # as serve does, on the database worker
        await asyncio.get_running_loop().run_in_executor(self.executor, save_pause, self.db, SIGNAL, state)

    async def record_told(self, key, at) -> None:
        await asyncio.get_running_loop().run_in_executor(self.executor, save_told, self.db, key, at)

    async def restart(self) -> None:
        """carebot serve stopped and started again: a new channel, with what the database recorded."""
        await self.channel.close()
        await self.fake.wait_for(lambda f: f.attached == 0, DEADLINE)
        await self.start(fake=False)
        await self.fake.wait_for(lambda f: f.attached >= 1, DEADLINE)

    async def stop(self) -> None:
        if self.channel is not None:
            await self.channel.close()
        await self.fake.stop()
        self.executor.shutdown()
        self.db.dispose()

    async def says(self, uuid: str, text: str, number: str | None = None, **kw) -> None:
        """A member writes; returns once carebot has handled it."""
        before = len(self.handled)
        await self.fake.deliver(source_uuid=uuid, source_number=number, text=text, **kw)
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: len(self.handled) > before), DEADLINE)

    async def deliver(self) -> int:
        self.network.clock = self.now
        channels = {SMS: self.network.channels()[SMS], SIGNAL: self.channel}
        return await deliver_due(self.db, channels, self.now)

    def push_to(self, uuid: str, text: str) -> int:
        with self.db.transaction() as session:
            member = Member.by_signal(session, uuid)
            group_id = member.memberships[0].group_id
            row = push(session, member, text, self.now, group_id)
            session.flush()
            return row.id

    def rows(self, **where) -> list[OutboxMessage]:
        with self.db.transaction() as session:
            query = select(OutboxMessage).order_by(OutboxMessage.id)
            for name, value in where.items():
                query = query.where(_column(OutboxMessage, name, value))
            return list(session.scalars(query))

    def member(self, **where) -> Member:
        with self.db.transaction() as session:
            query = select(Member)
            for name, value in where.items():
                query = query.where(_column(Member, name, value))
            return session.scalars(query).one()

    def sms_to(self, phone: str) -> list[str]:
        return [d.text for d in self.network.delivered if d.to == phone]


def play(url, body, *, fake: bool = True):
    async def go():
        world = World(url)
        try:
            await world.start(fake=fake)
            await body(world)
        finally:
            await world.stop()

    asyncio.run(go())


def test_a_member_joins_and_answers_the_go_around_over_signal(migrated_url):
    async def body(w: World):
        await w.says(ANA_ID, "JOIN DMMA", ANA)
        await w.deliver()
        assert "YES" in w.fake.texts_to(ANA_ID)[-1]
        await w.says(ANA_ID, "yes", ANA)
        await w.deliver()
        assert "Welcome to Des Moines Mutual Aid" in w.fake.texts_to(ANA_ID)[-1]
        await w.says(ANA_ID, "1 5 call evenings", ANA)
        await w.deliver()
        assert w.fake.texts_to(ANA_ID)[-1].startswith("Got it, DMMA")
        # Replies go to the UUID, never the number, from the bot's own account.
        assert all(s.recipients == [ANA_ID] and s.number == BOT for s in w.fake.sent)
        ana = w.member(signal_uuid=ANA_ID)
        assert (ana.phone, ana.channel) == (ANA, SIGNAL)
        with w.db.transaction() as session:
            consent = session.scalars(select(ConsentEvent).where(ConsentEvent.member_id == ana.id)).one()
            assert (consent.kind, consent.channel) == ("opt_in", SIGNAL)
        assert ("GET", "/v1/about") in w.fake.requests

    play(migrated_url, body)


def test_a_check_in_is_delivered_over_signal(migrated_url):
    async def body(w: World):
        w.add(None, BEN_ID, SIGNAL, "Ben")
        row_id = w.push_to(BEN_ID, "Checking in: how are you this week?")
        assert await w.deliver() == 1
        assert w.fake.texts_to(BEN_ID) == ["Checking in: how are you this week?"]
        [row] = w.rows(id=row_id)
        assert row.status == "sent" and row.provider_id == str(w.fake.sent[-1].timestamp)

    play(migrated_url, body)


def test_a_member_on_both_channels_is_one_member(migrated_url):
    async def body(w: World):
        w.add(ANA, None, SMS, "Ana")
        await w.says(ANA_ID, "STATUS", ANA)
        w.dispatcher.handle_inbound(Inbound(SMS, "SM1", ANA, "STATUS", NOW))
        await w.deliver()
        with w.db.transaction() as session:
            assert session.scalar(select(func.count()).select_from(Member).where(Member.name == "Ana")) == 1
        ana = w.member(phone=ANA)
        assert ana.signal_uuid == ANA_ID and ana.channel == SMS  # writing on Signal does not move pushes
        assert "DMMA" in w.fake.texts_to(ANA_ID)[-1] and "DMMA" in w.sms_to(ANA)[-1]

    play(migrated_url, body)


def test_signal_sync_and_group_messages_are_not_a_member_writing(migrated_url):
    async def body(w: World):
        await w.fake.deliver(source_uuid=BEN_ID, source_number=BEN, text="STOP", sync=True)
        await w.fake.deliver(source_uuid=BEN_ID, source_number=BEN, text="STOP", group=True)
        await w.says(ANA_ID, "HELP", ANA)  # handed on in order: the two above were skipped
        assert [m.sender_uuid for m in w.handled] == [ANA_ID]
        with w.db.transaction() as session:
            assert session.scalar(select(func.count()).select_from(InboundMessage)) == 1
        assert w.handled[0].provider_id.endswith(":" + ANA_ID)

    play(migrated_url, body)


def test_a_picture_with_no_words_is_a_text_with_no_words_as_by_sms(migrated_url):
    """outside9: a Signal picture (or file) with no text arrives as an MMS with an empty Body does, and is told that
    carebot reads only words; a message with neither text nor a file (a timer, a profile key) is still nothing."""
    async def body(w: World):
        w.add(ANA, ANA_ID, SIGNAL, "Ana")
        await w.says(ANA_ID, "", ANA, attachments=("image/jpeg",))
        await w.fake.deliver(source_uuid=ANA_ID, source_number=ANA, text="")
        await w.says(ANA_ID, "HELP", ANA)  # handed on in order: the one before was skipped
        assert [m.text for m in w.handled] == ["", "HELP"]
        await w.deliver()
        assert "only read words" in w.fake.texts_to(ANA_ID)[0]

    play(migrated_url, body)


def test_channel_switching_moves_pushes_and_needs_a_way_to_reach_the_member(migrated_url):
    async def body(w: World):
        w.add(ANA, None, SMS, "Ana")  # joined by SMS: consented to SMS
        await w.says(ANA_ID, "CHANNEL SIGNAL", ANA)
        await w.deliver()
        assert "on Signal from now on" in w.fake.texts_to(ANA_ID)[-1]
        assert w.member(phone=ANA).channel == SIGNAL
        w.push_to(ANA_ID, "Checking in")
        await w.deliver()
        assert w.fake.texts_to(ANA_ID)[-1] == "Checking in"
        await w.says(ANA_ID, "canal sms", ANA)
        await w.deliver()
        assert "by SMS from now on" in w.fake.texts_to(ANA_ID)[-1]  # the Spanish word works too
        assert w.member(phone=ANA).channel == SMS
        w.push_to(ANA_ID, "Checking in again")
        await w.deliver()
        assert w.sms_to(ANA)[-1] == "Checking in again"

        # Joined over Signal only: CHANNEL SMS is their consent to SMS, recorded as such.
        await w.says(BEN_ID, "JOIN DMMA", BEN)
        await w.says(BEN_ID, "YES", BEN)
        await w.says(BEN_ID, "CHANNEL SMS", BEN)
        ben = w.member(signal_uuid=BEN_ID)
        assert ben.channel == SMS
        with w.db.transaction() as session:
            kinds = session.execute(select(ConsentEvent.kind, ConsentEvent.channel)
                                    .where(ConsentEvent.member_id == ben.id).order_by(ConsentEvent.id)).all()
        assert [tuple(k) for k in kinds] == [("opt_in", SIGNAL), ("opt_in", SMS)]

        # A Signal member whose number Signal hides cannot choose SMS; an SMS member unknown to Signal cannot choose Signal.
        await w.says(CARA_ID, "CHANNEL SMS")
        w.dispatcher.handle_inbound(Inbound(SMS, "SM9", "+15155550104", "CHANNEL SIGNAL", NOW))
        await w.deliver()
        assert "phone number" in w.fake.texts_to(CARA_ID)[-1]
        assert "can't reach you on Signal" in w.sms_to("+15155550104")[-1]
        assert w.member(signal_uuid=CARA_ID).channel == SIGNAL

    play(migrated_url, body)


def test_service_down_at_start_keeps_retrying_and_a_dropped_websocket_reconnects(migrated_url):
    async def body(w: World):
        assert w.channel.status == "down"
        await w.fake.start()  # the service comes up later: the channel finds it on its own
        await w.fake.wait_for(lambda f: f.attached >= 1, DEADLINE)
        await w.says(ANA_ID, "HELP", ANA)
        assert w.channel.status == "up"
        await w.fake.drop_clients()
        await w.fake.wait_for(lambda f: f.attached >= 1, DEADLINE)
        await w.says(ANA_ID, "STATUS", ANA)
        assert [m.text for m in w.handled] == ["HELP", "STATUS"] and w.channel.status == "up"

    play(migrated_url, body, fake=False)


def test_a_rate_limit_pauses_the_signal_queue_and_tells_coordinators_once(migrated_url):
    async def body(w: World):
        w.add(None, ANA_ID, SIGNAL, "Ana")
        w.add(None, BEN_ID, SIGNAL, "Ben")
        w.add(CARA, CARA_ID, SMS, "Cara")  # consented to SMS, then chose Signal
        with w.db.transaction() as session:
            Member.by_phone(session, CARA).channel = SIGNAL
        w.fake.failures[ANA_ID] = [RATE_LIMIT]
        for uuid in (ANA_ID, BEN_ID, ANA_ID, BEN_ID, CARA_ID):
            w.push_to(uuid, "Checking in")
        await w.deliver()
        await w.deliver()  # a second pass while paused asks the service nothing
        posts = [r for r in w.fake.requests if r == ("POST", "/v2/send")]
        assert len(posts) == 1 and w.fake.sent == [] and w.channel.status == "paused"
        waiting = w.rows(channel=SIGNAL, status="pending")
        assert len(waiting) == 4 and {r.not_before for r in waiting} == {NOW + RATE_LIMIT_PAUSE}
        assert all(r.attempts == 0 for r in waiting)  # a pause is not the text's failure
        assert w.sms_to(CARA) == ["Checking in"]  # Cara consented to SMS: her text did not wait
        assert len([t for t in w.sms_to(ROSA) if "slow down" in t]) == 1
        w.now = NOW + RATE_LIMIT_PAUSE
        await w.deliver()
        assert sorted(w.fake.texts_to(ANA_ID) + w.fake.texts_to(BEN_ID)) == ["Checking in"] * 4
        assert w.channel.status == "up" and len(w.sms_to(ROSA)) == 1

    play(migrated_url, body)


def test_a_captcha_pauses_the_queue_until_later_and_names_the_fix(migrated_url):
    async def body(w: World):
        w.add(None, ANA_ID, SIGNAL, "Ana")
        w.fake.failures[ANA_ID] = [PROOF_REQUIRED]
        row_id = w.push_to(ANA_ID, "Checking in")
        await w.deliver()
        [row] = w.rows(id=row_id)
        assert (row.status, row.error_code, row.not_before) == ("pending", "proof-required", NOW + CAPTCHA_PAUSE)
        await w.deliver()  # the coordinators' notice, written during the first pass
        assert len([t for t in w.sms_to(ROSA) if "captcha" in t]) == 1 and w.channel.status == "paused"
        w.now = NOW + CAPTCHA_PAUSE
        await w.deliver()
        assert w.fake.texts_to(ANA_ID) == ["Checking in"]

    play(migrated_url, body)


def test_an_untrusted_identity_holds_the_text_and_trusts_nothing(migrated_url):
    async def body(w: World):
        w.add(None, ANA_ID, SIGNAL, "Ana")
        w.add(BEN, BEN_ID, SMS, "Ben")
        with w.db.transaction() as session:
            Member.by_phone(session, BEN).channel = SIGNAL
        w.fake.failures[ANA_ID] = [UNTRUSTED, UNTRUSTED]
        w.fake.failures[BEN_ID] = [UNTRUSTED]
        ana_row = w.push_to(ANA_ID, "Checking in")
        ben_row = w.push_to(BEN_ID, "Checking in")
        await w.deliver()
        [row] = w.rows(id=ana_row)
        assert (row.status, row.error_code, row.not_before) == ("pending", "untrusted-identity", NOW + UNTRUSTED_HOLD)
        [row] = w.rows(id=ben_row)
        assert row.channel == SMS  # Ben consented to SMS: the held text went that way
        await w.deliver()
        assert w.sms_to(BEN) == ["Checking in"]
        told = [t for t in w.sms_to(ROSA) if "safety number" in t]
        assert len(told) == 2 and any("Ana" in t for t in told) and any("Ben" in t for t in told)
        w.now = NOW + UNTRUSTED_HOLD  # one more try after the hold: still untrusted, nobody told twice
        await w.deliver()
        assert w.fake.texts_to(ANA_ID) == [] and w.rows(id=ana_row)[0].status == "pending"
        assert len([t for t in w.sms_to(ROSA) if "safety number" in t]) == 2
        w.now = NOW + timedelta(days=1)  # the deployer verified the new safety number; 10:00 next day
        await w.deliver()
        assert w.fake.texts_to(ANA_ID) == ["Checking in"]

    play(migrated_url, body)


def test_the_fake_answers_in_the_contract_shapes():
    about = CONTRACT["definitions"]["client.About"]["required"]
    assert set(about) <= {"versions", "build", "mode", "version", "capabilities"}
    assert CONTRACT["definitions"]["api.SendMessageError"]["required"] == ["account", "error"]


@pytest.mark.parametrize("change, expected", [
    ({"SIGNAL_SERVICE": "http://127.0.0.1:8080", "SIGNAL_NUMBER": BOT}, "SIGNAL_SERVICE: must be host:port"),
    ({"SIGNAL_SERVICE": "127.0.0.1:8080", "SIGNAL_NUMBER": "5155550199"}, "SIGNAL_NUMBER: must be the bot's"),
    ({"SIGNAL_SERVICE": "127.0.0.1:8080"}, "set both SIGNAL_SERVICE and SIGNAL_NUMBER"),
    ({"SIGNAL_SERVICE": "127.0.0.1:8080", "SIGNAL_NUMBER": BOT, "SIGNAL_PROBE_NUMBER": BOT},
     "SIGNAL_PROBE_NUMBER must be a second account"),
])
def test_a_bad_signal_setting_fails_at_start_up_in_one_line(monkeypatch, tmp_path, change, expected):
    monkeypatch.chdir(tmp_path)
    for name in ("SIGNAL_SERVICE", "SIGNAL_NUMBER", "SIGNAL_PROBE_NUMBER"):
        monkeypatch.delenv(name, raising=False)
    for name, value in change.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_serve_settings(carebot_public_url="https://care.example.org", twilio_account_sid="AC" + "0" * 32,
                            twilio_auth_token="t", twilio_from="+15155550100")
    message = str(error.value)
    assert expected in message and "\n" not in message


def test_signal_settings_are_optional(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ("SIGNAL_SERVICE", "SIGNAL_NUMBER"):
        monkeypatch.delenv(name, raising=False)
    settings = load_serve_settings(carebot_public_url="https://care.example.org", twilio_account_sid="AC" + "0" * 32,
                                   twilio_auth_token="t", twilio_from="+15155550100")
    assert settings.signal_service is None and settings.signal_number is None


def test_serve_starts_and_serves_sms_while_the_signal_service_is_down(monkeypatch, tmp_path, migrated_url):
    """carebot serve with Signal configured but unreachable: up, SMS answered, /healthz says so."""
    import httpx
    from twilio.request_validator import RequestValidator

    from carebot.runtime.serve import build_app

    monkeypatch.chdir(tmp_path)
    url = migrated_url
    db = Database(url)
    token = "f" * 32
    settings = load_serve_settings(
        carebot_public_url="https://care.example.org", twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token=token, twilio_from="+15155550100", carebot_database_url=url,
        twilio_api_base_url=f"http://127.0.0.1:{free_port()}",
        signal_service=f"127.0.0.1:{free_port()}", signal_number=BOT, signal_probe_number="+15155550198",
    )
    form = {"MessageSid": "SM" + "1" * 32, "From": ANA, "Body": "HELP"}
    signature = RequestValidator(token).compute_signature("https://care.example.org/twilio/sms", form)
    app = build_app(settings, db)

    async def serve_briefly() -> None:
        # The app's own lifespan (the workers, the Signal attempt), as uvicorn runs it.
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000") as client:
            health = (await client.get("/healthz")).json()
            assert (health["status"], health["database"], health["signal"]) == ("ok", "ok", "down")
            assert health["signal_probe"] == {"status": "waiting", "round_trip": None}
            answer = await client.post("/twilio/sms", data=form, headers={"X-Twilio-Signature": signature})
            assert answer.status_code == 204

    try:
        asyncio.run(serve_briefly())
        with db.transaction() as session:  # the member's SMS was taken
            assert session.scalar(select(func.count()).select_from(InboundMessage)) == 1
    finally:
        db.dispose()


def test_receive_error_frames_are_logged_without_their_text_and_counted(migrated_url, caplog):
    from carebot.domain import metrics

    def count(kind: str) -> float:
        return metrics.SIGNAL_RECEIVE_ERRORS.labels(kind)._value.get()

    async def body(w: World):
        before = count("decryption"), count("other")
        await w.fake.report_error(f"Failed to decrypt message from {BEN}: InvalidMessageException")
        await w.fake.report_error("something new went wrong for " + CARA_ID)
        await w.says(ANA_ID, "HELP", ANA)  # frames are read in order: the errors came first
        assert (count("decryption"), count("other")) == (before[0] + 1, before[1] + 1)
        assert [m.text for m in w.handled] == ["HELP"] and w.channel.status == "up"

    play(migrated_url, body)
    said = [r.getMessage() for r in caplog.records if "receive error" in r.getMessage()]
    assert said == ["the Signal service reported a receive error (decryption)",
                    "the Signal service reported a receive error (other)"]
    assert not any(BEN in r.getMessage() or CARA_ID in r.getMessage() for r in caplog.records)


def test_an_unregistered_recipient_is_final_and_a_member_who_consented_to_sms_moves_to_sms(migrated_url):
    async def body(w: World):
        w.add(None, ANA_ID, SIGNAL, "Ana")  # Signal only
        w.add(CARA, CARA_ID, SMS, "Cara")  # consented to SMS, then chose Signal
        with w.db.transaction() as session:
            Member.by_phone(session, CARA).channel = SIGNAL
        w.fake.failures[ANA_ID] = [UNREGISTERED, UNREGISTERED]
        w.fake.failures[CARA_ID] = [UNREGISTERED]
        ana_row, cara_row = w.push_to(ANA_ID, "Checking in"), w.push_to(CARA_ID, "Checking in")
        await w.deliver()
        [row] = w.rows(id=ana_row)
        assert (row.status, row.error_code, row.attempts) == ("failed", "unregistered", 1)  # final: tried once
        [row] = w.rows(id=cara_row)
        assert row.channel == SMS
        await w.deliver()
        assert w.sms_to(CARA)[0] == "Checking in" and "SMS from now on" in w.sms_to(CARA)[1]
        assert w.member(phone=CARA).channel == SMS and w.member(signal_uuid=ANA_ID).channel == SIGNAL
        told = [t for t in w.sms_to(ROSA) if "no Signal account" in t]
        assert len(told) == 1 and "Ana" in told[0]  # Cara moved to SMS: nobody needed telling about her
        w.push_to(ANA_ID, "Checking in again")  # the second failure: coordinators are not told twice
        w.push_to(CARA_ID, "Checking in again")  # Cara's pushes go by SMS now; her notice is not repeated
        await w.deliver()
        await w.deliver()
        assert len([t for t in w.sms_to(ROSA) if "no Signal account" in t]) == 1
        assert w.sms_to(CARA)[2:] == ["Checking in again"]
        assert len([r for r in w.fake.requests if r == ("POST", "/v2/send")]) == 3

    play(migrated_url, body)


def test_a_signal_number_the_service_does_not_hold_stops_serve_in_one_line(migrated_url, monkeypatch, tmp_path):
    import httpx

    from carebot.channels.signal import SignalAccountMissing
    from carebot.runtime.serve import build_app

    monkeypatch.chdir(tmp_path)
    db = Database(migrated_url)
    fake = FakeSignal(BOT, free_port())
    fake.accounts = ["+15155550000"]  # another account: SIGNAL_NUMBER is not registered there
    settings = load_serve_settings(
        carebot_public_url="https://care.example.org", twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="f" * 32, twilio_from="+15155550100", carebot_database_url=migrated_url,
        twilio_api_base_url=f"http://127.0.0.1:{free_port()}", signal_service=fake.url, signal_number=BOT)
    app = build_app(settings, db)
    stopped = []
    app.state.stop = lambda: stopped.append(True)  # serve.run: uvicorn's should_exit

    async def serve_briefly() -> None:
        await fake.start()
        try:
            async with app.router.lifespan_context(app), httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000") as client:
                await fake.wait_for(lambda f: ("GET", "/v1/accounts") in f.requests, DEADLINE)
                # the channel reads the answer a moment after the request
                await wait_until(lambda: stopped, "the channel to stop serve", DEADLINE)
                assert (await client.get("/healthz")).json()["signal"] == "down"
                assert fake.attached == 0  # never attached to an account that is not carebot's
        finally:
            await fake.stop()

    try:
        asyncio.run(serve_briefly())
    finally:
        db.dispose()
    assert stopped and isinstance(app.state.fatal, SignalAccountMissing)
    message = str(app.state.fatal)
    assert "SIGNAL_NUMBER" in message and "\n" not in message and BOT not in message
    assert app.state.fatal.exit_code not in (0, 1, 2)


def test_a_pause_and_its_told_once_outlive_a_restart_through_their_own_record(migrated_url):
    async def body(w: World):
        w.add(None, ANA_ID, SIGNAL, "Ana")
        w.add(None, BEN_ID, SIGNAL, "Ben")
        w.fake.failures[ANA_ID] = [RATE_LIMIT]
        w.push_to(ANA_ID, "Checking in")
        await w.deliver()
        await w.deliver()  # the coordinators' notice, written during the first pass
        assert len([t for t in w.sms_to(ROSA) if "slow down" in t]) == 1
        assert load_pause(w.db, SIGNAL) == (NOW + RATE_LIMIT_PAUSE, 1, True)
        w.now = NOW + timedelta(minutes=5)
        await w.restart()
        assert w.channel.status == "paused" and w.channel.paused_until == NOW + RATE_LIMIT_PAUSE
        posts = len([r for r in w.fake.requests if r == ("POST", "/v2/send")])
        w.push_to(BEN_ID, "Checking in")  # new since the pause: it waits too, untried
        await w.deliver()
        assert len([r for r in w.fake.requests if r == ("POST", "/v2/send")]) == posts
        w.now = NOW + RATE_LIMIT_PAUSE
        w.fake.failures[ANA_ID] = [RATE_LIMIT]  # not over yet: the same run of pauses, not news
        await w.deliver()
        await w.deliver()
        assert len([t for t in w.sms_to(ROSA) if "slow down" in t]) == 1
        assert load_pause(w.db, SIGNAL) == (NOW + 3 * RATE_LIMIT_PAUSE, 2, True)  # twice as long
        w.now = NOW + 3 * RATE_LIMIT_PAUSE
        await w.deliver()
        assert w.fake.texts_to(ANA_ID) == ["Checking in"] and w.fake.texts_to(BEN_ID) == ["Checking in"]
        assert load_pause(w.db, SIGNAL) is None and w.channel.status == "up"

    play(migrated_url, body)


def test_the_round_trip_probe_is_reported_and_never_handled_as_a_member_text(migrated_url):
    from carebot.domain import metrics
    from tests.fakes.signal_api import OTHER_UUID

    probe = "+15155550198"

    async def body(w: World):
        await w.channel.close()  # the same channel, with the probe configured
        w.fake.others = [probe]
        w.channel = SignalChannel(w.fake.url, BOT, on_inbound=w.on_inbound, now=lambda: w.now, retry=(0.05, 0.2),
                                  probe_from=probe, probe_every=1.0)
        assert w.channel.probe_status == "waiting"
        answered = metrics.SIGNAL_PROBES.labels("answered")._value.get()
        await w.channel.start()
        await w.fake.wait_for(lambda f: f.attached >= 1, DEADLINE)
        # A probe is sent every second and comes back over the websocket. Not every 0.2 s: a probe out
        # longer than probe_every is "late", and a busy machine (or a full collection in a big test
        # process) can hold this loop that long between the probe's return and the check below.
        await wait_until(lambda: w.channel.probe_round_trip is not None, "a probe to come back", DEADLINE)
        assert w.channel.probe_status == "ok" and w.channel.probe_round_trip >= 0
        assert metrics.SIGNAL_PROBES.labels("answered")._value.get() > answered
        assert metrics.SIGNAL_PROBE_ROUND_TRIP._value.get() == w.channel.probe_round_trip
        # The probe account used by hand is not a member either.
        await w.fake.deliver(source_uuid=OTHER_UUID, source_number=probe, text="JOIN DMMA")
        await w.says(ANA_ID, "HELP", ANA)
        assert [m.text for m in w.handled] == ["HELP"]
        with w.db.transaction() as session:
            assert session.scalar(select(func.count()).select_from(InboundMessage)) == 1
        w.fake.silent = True  # Signal goes quiet: the next probe does not come back
        await wait_until(lambda: w.channel.probe_status == "late", "the probe to be late", DEADLINE)
        assert w.channel.probe_status == "late"
        await wait_until(lambda: metrics.SIGNAL_PROBE_LATE._value.get() == 1, "the late probe counted", DEADLINE)
        assert metrics.SIGNAL_PROBE_LATE._value.get() == 1

    play(migrated_url, body)


def test_a_changed_safety_number_is_told_once_across_a_restart_and_again_only_after_it_was_trusted(migrated_url):
    # Left from the last session: "told once" lived in the channel's memory, so each restart told the
    # coordinators again about the same member's changed safety number. It is kept in the member's row.
    async def body(w: World):
        w.add(None, ANA_ID, SIGNAL, "Ana")
        w.fake.failures[ANA_ID] = [UNTRUSTED, UNTRUSTED]
        w.push_to(ANA_ID, "Checking in")
        await w.deliver()
        await w.deliver()  # the coordinators' notice, written during the first pass
        told = lambda: len([t for t in w.sms_to(ROSA) if "safety number" in t])  # noqa: E731
        assert told() == 1
        w.now = NOW + UNTRUSTED_HOLD
        await w.restart()
        await w.deliver()  # still untrusted, tried again by a new channel
        await w.deliver()
        assert told() == 1 and w.fake.texts_to(ANA_ID) == []
        w.now = NOW + timedelta(days=1)  # the deployer verified it (10:00 next day): it goes, the record cleared
        await w.deliver()
        assert w.fake.texts_to(ANA_ID) == ["Checking in"]
        with w.db.transaction() as session:
            assert Member.by_signal(session, ANA_ID).safety_number_told_at is None
        await w.restart()
        w.fake.failures[ANA_ID] = [UNTRUSTED]  # changed once more, later: news again
        w.push_to(ANA_ID, "How are you?")
        await w.deliver()
        await w.deliver()
        assert told() == 2

    play(migrated_url, body)


def test_an_unreachable_service_is_one_line_then_one_every_ten_minutes_not_one_a_retry(caplog):
    """A deployer's journal got a WARNING every retry (26 in 33 s) while the Signal service was away."""
    from datetime import timedelta

    from carebot.channels.signal import UNREACHABLE_SAID_EVERY

    moment = [datetime(2026, 12, 1, 12, 0, tzinfo=UTC)]

    async def handled(inbound) -> None:
        pass

    async def body() -> None:
        channel = SignalChannel(f"127.0.0.1:{free_port()}", BOT, on_inbound=handled, now=lambda: moment[0],
                                retry=(0.005, 0.01))
        await channel.start()
        try:
            while channel._failed_tries < 20:
                await asyncio.sleep(0.01)
            moment[0] += UNREACHABLE_SAID_EVERY + timedelta(seconds=1)
            tried = channel._failed_tries
            while channel._failed_tries < tried + 20:
                await asyncio.sleep(0.01)
        finally:
            await channel.close()

    with caplog.at_level(logging.INFO, logger="carebot.channels.signal"):
        asyncio.run(body())
    said = [r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(said) == 2, said
    assert said[0].startswith("Signal service unreachable (") and "said again every 10 minutes" in said[0]
    assert said[1].startswith("Signal service still unreachable (") and " tries; retrying" in said[1]
