"""Numbers encrypted at rest and found by keyed hash; the upgrade that encrypts; key rotation; retention."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select, text

from carebot.cli import main
from carebot.domain import startup
from carebot.store import crypto, retention
from carebot.store.db import Database, upgrade
from carebot.store.models import (
    CareFlag,
    ConsentEvent,
    CoordAction,
    DueJob,
    InboundMessage,
    Member,
    NotWith,
    OutboxMessage,
    Pairing,
)
from carebot.tools.transcript import Simulation
from tests.helpers import SETUP, run, texts_to

ANA = "+15155550101"


@pytest.fixture
def restore_key(monkeypatch):
    """Tests here change the process's key; the rest of the session gets its own back."""
    monkeypatch.setattr(crypto, "_active", crypto._active)


def raw(session, sql: str) -> list[tuple]:
    return [tuple(row) for row in session.execute(text(sql))]


def test_numbers_are_stored_encrypted_and_found_by_their_keyed_hash(sim) -> None:
    run(sim, *SETUP, f"{ANA} > 1 call evenings", f"{ANA} > STATUS", "signal:+15155550102 > JOIN DMMA")
    with sim.db.transaction() as session:
        stored = raw(session, "SELECT phone, phone_hash, signal_uuid FROM members")
        addresses = raw(session, "SELECT address, address_hash FROM outbox")
        senders = raw(session, "SELECT sender, sender_uuid, sender_hash FROM inbound_messages")
        assert Member.by_phone(session, ANA).name == "Ana"
        assert Member.by_phone(session, "+15155550199") is None
    assert all(phone.startswith("v1:") and "5155550" not in phone for phone, _, _ in stored)
    assert {h for _, h, _ in stored} >= {crypto.lookup_hash(ANA)}
    assert any(uuid and uuid.startswith("v1:") for _, _, uuid in stored)
    # The same number twice never looks the same: each value has its own nonce.
    to_ana = [a for a, h in addresses if h == crypto.lookup_hash(ANA)]
    assert len(to_ana) >= 2 and len(set(to_ana)) == len(to_ana)
    assert senders and all(row == (None, None, None) for row in senders)  # cleared once handled


def test_each_value_has_a_nonce_of_its_own_even_in_a_forked_process() -> None:
    """The nonces come from OpenSSL's generator (store/crypto._Nonces), not os.urandom: never one twice, in this
    process or in a child forked from it (OpenSSL reseeds after a fork), and every value still decrypts."""
    keyring = crypto.Keyring(crypto.new_secret())

    def nonces(count: int) -> list[bytes]:
        return [base64.urlsafe_b64decode(keyring.encrypt("+15155550101")[len(crypto.PREFIX):])[:12]
                for _ in range(count)]

    nonces(1)  # a block of random bytes begun before the fork: the child must not go on cutting from it
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child's nonces, to the parent
        os.close(read)
        os.write(write, b"".join(nonces(500)))
        os._exit(0)
    os.close(write)
    ours = nonces(500)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    os.waitpid(child, 0)
    theirs = [data[i:i + 12] for i in range(0, len(data), 12)]
    assert len(theirs) == 500 and len(set(ours) | set(theirs)) == 1000
    sealed = keyring.encrypt("sí, llámame 🙏")
    assert keyring.decrypt(sealed) == "sí, llámame 🙏"


def test_an_encrypted_column_refuses_a_comparison_that_could_never_match() -> None:
    with pytest.raises(TypeError, match="keyed hash"):
        select(Member).where(Member.phone == ANA)
    with pytest.raises(TypeError, match="keyed hash"):
        select(OutboxMessage).where(OutboxMessage.address.in_([ANA]))
    select(Member).where(Member.phone.is_(None))  # "is there a number" is fine


def test_the_wrong_key_says_so_in_one_line() -> None:
    stored = crypto.Keyring(crypto.new_secret()).encrypt(ANA)
    with pytest.raises(crypto.WrongKey, match="CAREBOT_SECRET_KEY is not the key") as error:
        crypto.Keyring(crypto.new_secret()).decrypt(stored)
    assert ANA not in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(crypto.MissingKey, match="carebot key new"):
        crypto.Keyring("too short")


def _old_database(tmp_path, now: datetime) -> str:
    """A database at 0006 with numbers in plain text, as before encryption."""
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    upgrade(url, "0006")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO members (id, phone, signal_uuid, name, channel, opted_out, phone_unusable, "
                          "created_at) VALUES (1, :p, :u, 'Ana', 'sms', 0, 0, :t), "
                          "(2, '+15155550102', NULL, 'Ben', 'sms', 0, 0, :t)"),
                     {"p": ANA, "u": "1b7a2c3d-0000-4000-8000-00000000a0a0", "t": now})
        conn.execute(text("INSERT INTO outbox (member_id, channel, address, body, purpose, status, not_before, "
                          "attempts, created_at) VALUES (1, 'sms', :p, 'hi', 'reply', 'pending', :t, 0, :t)"),
                     {"p": ANA, "t": now})
        conn.execute(text("INSERT INTO inbound_messages (channel, provider_id, received_at, sender, body, attempts) "
                          "VALUES ('sms', 'SM1', :t, :p, 'STATUS', 0)"), {"p": ANA, "t": now})
    engine.dispose()
    return url


def test_the_upgrade_encrypts_and_hashes_existing_numbers(tmp_path, monkeypatch, restore_key) -> None:
    secret = crypto.new_secret()
    monkeypatch.setenv(crypto.ENV, secret)
    url = _old_database(tmp_path, datetime(2026, 3, 2, tzinfo=UTC))
    upgrade(url)
    crypto.configure(secret)
    db = Database(url)
    with db.transaction() as session:
        assert all(p.startswith("v1:") for (p,) in raw(session, "SELECT phone FROM members"))
        ana = Member.by_phone(session, ANA)
        assert ana.name == "Ana" and ana.signal_uuid == "1b7a2c3d-0000-4000-8000-00000000a0a0"
        assert Member.by_signal(session, ana.signal_uuid).id == ana.id
        row = session.scalars(select(OutboxMessage)).one()
        assert row.address == ANA and row.address_hash == crypto.lookup_hash(ANA)
        inbound = session.scalars(select(InboundMessage)).one()
        assert inbound.sender == ANA and inbound.sender_hash == crypto.sender_hash(ANA, None)
        assert inbound.body == "STATUS" and raw(session, "SELECT body FROM inbound_messages")[0][0].startswith("v1:")
    db.dispose()
    # And back: the downgrade puts the numbers back in plain text.
    from alembic import command

    from carebot.store.db import alembic_config

    command.downgrade(alembic_config(url), "0006")
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT phone FROM members WHERE id = 1")).scalar() == ANA
        assert conn.execute(text("SELECT address FROM outbox")).scalar() == ANA
    engine.dispose()


def test_the_upgrade_without_a_key_stops_with_one_line(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(crypto.ENV, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env here either
    url = _old_database(tmp_path, datetime(2026, 3, 2, tzinfo=UTC))
    result = CliRunner().invoke(main, ["db", "upgrade", "--url", url])
    assert result.exit_code == startup.KEY_MISSING
    assert "CAREBOT_SECRET_KEY is not set, and the database holds phone numbers" in result.output
    assert result.output.count("\n") == 1
    # Nothing happened: the numbers are as they were, and an empty database needs no key.
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT phone FROM members WHERE id = 1")).scalar() == ANA
    engine.dispose()
    fresh = CliRunner().invoke(main, ["db", "upgrade", "--url", f"sqlite:///{tmp_path / 'new.sqlite'}"])
    assert fresh.exit_code == 0, fresh.output


def test_serve_refuses_to_start_without_a_key(tmp_path, monkeypatch, restore_key) -> None:
    monkeypatch.delenv(crypto.ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(crypto, "_active", None)
    # Something is set up (a folder with nothing at all is pointed to `carebot init` first), but no key.
    monkeypatch.setenv("CAREBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'carebot.sqlite'}")
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == startup.KEY_MISSING, result.output
    assert "CAREBOT_SECRET_KEY is not set" in result.output
    assert result.output.strip().count("\n") == 0


def test_key_rotation_re_encrypts_every_number_in_one_transaction(tmp_path, monkeypatch, restore_key) -> None:
    old, new = crypto.new_secret(), crypto.new_secret()
    url = f"sqlite:///{tmp_path / 'rotate.sqlite'}"
    monkeypatch.setenv(crypto.ENV, old)
    monkeypatch.setenv("CAREBOT_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    upgrade(url)
    crypto.configure(old)
    db = Database(url)
    sim = Simulation(db)
    run(sim, *SETUP, f"{ANA} > 1 call evenings", "signal:+15155550102 > JOIN DMMA", "signal:+15155550102 > YES")
    # A text stored and not yet handled (the worker is stopped for the rotation): its words move too.
    from carebot.channels import SMS, Inbound
    from carebot.dispatch.dispatcher import Dispatcher

    [waiting] = Dispatcher(db).store_inbounds([Inbound(SMS, "SMwaiting", ANA, "STATUS please", datetime.now(UTC))])
    with db.transaction() as session:
        before = raw(session, "SELECT phone, phone_hash, signal_uuid, signal_hash FROM members ORDER BY id")
        outbox_before = raw(session, "SELECT address, address_hash FROM outbox ORDER BY id")

    # A wrong "new" key is refused before anything changes; so is a wrong old key.
    short = CliRunner().invoke(main, ["key", "rotate", "--new-key", "short"])
    assert short.exit_code == startup.KEY_MISSING, short.output
    # It names the new key, not CAREBOT_SECRET_KEY (which is right: changing it would be the wrong fix).
    assert short.output.startswith("The new key (--new-key or CAREBOT_NEW_SECRET_KEY) is too short"), short.output
    crypto.configure(crypto.new_secret())
    wrong = CliRunner().invoke(main, ["key", "rotate", "--new-key", new])
    assert wrong.exit_code == startup.KEY_WRONG and "not the key" in wrong.output
    with db.transaction() as session:
        assert raw(session, "SELECT phone, phone_hash, signal_uuid, signal_hash FROM members ORDER BY id") == before

    crypto.configure(old)
    monkeypatch.setenv("CAREBOT_NEW_SECRET_KEY", new)
    result = CliRunner().invoke(main, ["key", "rotate"])
    assert result.exit_code == 0, result.output
    assert "set CAREBOT_SECRET_KEY to the new key" in result.output
    # Run again (the operator is not sure it finished): nothing changes, and it says what is left to do.
    crypto.configure(old)
    with db.transaction() as session:
        rotated = raw(session, "SELECT phone, phone_hash, signal_uuid, signal_hash FROM members ORDER BY id")
    again = CliRunner().invoke(main, ["key", "rotate"])
    assert again.exit_code == 0 and "already encrypted with the new key" in again.output, again.output
    crypto.configure(new)
    with db.transaction() as session:
        assert raw(session, "SELECT phone, phone_hash, signal_uuid, signal_hash FROM members ORDER BY id") == rotated
    old_keys, new_keys = crypto.Keyring(old), crypto.Keyring(new)
    with db.transaction() as session:
        after = raw(session, "SELECT phone, phone_hash, signal_uuid, signal_hash FROM members ORDER BY id")
        outbox_after = raw(session, "SELECT address, address_hash FROM outbox ORDER BY id")
        assert len(after) == len(before) and len(outbox_after) == len(outbox_before)
        for (p0, h0, u0, _), (p1, h1, u1, _) in zip(before, after, strict=True):
            assert new_keys.decrypt(p1) == old_keys.decrypt(p0) and h1 == new_keys.lookup_hash(new_keys.decrypt(p1))
            assert h1 != h0 and (u0 is None) == (u1 is None)
            with pytest.raises(crypto.WrongKey):
                old_keys.decrypt(p1)
        for (a0, _), (a1, h1) in zip(outbox_before, outbox_after, strict=True):
            assert new_keys.decrypt(a1) == old_keys.decrypt(a0) and h1 == new_keys.lookup_hash(new_keys.decrypt(a1))
        [(words,)] = raw(session, f"SELECT body FROM inbound_messages WHERE id = {waiting}")
        assert new_keys.decrypt(words) == "STATUS please"
        # carebot goes on with the new key: Ana is found and answered.
        assert Member.by_phone(session, ANA).name == "Ana"
    run(sim, f"{ANA} > STATUS")
    assert "call evenings" in texts_to(sim, ANA)[-1]
    db.dispose()


# --- retention ------------------------------------------------------------------------


def test_retention_deletes_old_logs_and_keeps_what_the_care_needs(sim) -> None:
    run(sim, *SETUP, "member DMMA +15155550102 name=Ben", "coordinator DMMA +15155550100 name=Rosa",
        f"{ANA} > 1 call evenings", "+15155550102 > 2", "wait 5m", "+15155550102 > yes",
        f"{ANA} > NOT Rosa", f"{ANA} > I want to die", "+15155550100 > ROUND", "+15155550100 > yes",
        f"{ANA} > 1 call mornings")
    now = sim.now
    with sim.db.transaction() as session:
        def count(model, *where):
            return session.scalar(select(func.count()).select_from(model).where(*where))

        kept = {"consent": count(ConsentEvent), "not_with": count(NotWith),
                "open_pairings": count(Pairing, Pairing.status.in_(("offered", "active")))}
        assert count(InboundMessage) and count(OutboxMessage) and count(CareFlag) and count(CoordAction)
        assert all(kept.values()), kept
        # Nothing is old yet.
        assert not any(retention.purge(session, now, 90).values())
        # 91 days on, the logs go; the care stays.
        gone = retention.purge(session, now + timedelta(days=91), 90)
        assert gone["inbound"] and gone["outbox"] and gone["care_flags"] and gone["coord_actions"]
        assert count(InboundMessage) == count(CareFlag) == count(CoordAction) == 0
        assert count(OutboxMessage, OutboxMessage.status.in_(retention.FINISHED_OUTBOX)) == 0
        assert {"consent": count(ConsentEvent), "not_with": count(NotWith),
                "open_pairings": count(Pairing, Pairing.status.in_(("offered", "active")))} == kept
    # Her current answer is still there.
    run(sim, f"{ANA} > STATUS")
    assert "call mornings" in texts_to(sim, ANA)[-1]


def test_retention_runs_from_the_ticker_at_most_once_a_day(sim, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(retention, "purge", lambda session, now, days: calls.append((now, days)) or {})
    run(sim, *SETUP, f"{ANA} > STATUS", "wait 2h", f"{ANA} > STATUS")
    assert len(calls) == 1 and calls[0][1] == sim.dispatcher.retention_days == 90
    run(sim, "wait 22h", f"{ANA} > STATUS")
    assert len(calls) == 2
    with sim.db.transaction() as session:
        assert session.get(DueJob, retention.JOB).due_at > sim.now


# --- /healthz and /metrics --------------------------------------------------------------


def test_healthz_and_metrics_name_no_one_whatever_waits_or_is_given_up(db, monkeypatch) -> None:
    """The inbound queue's counts (texts waiting, the oldest one's wait, texts given up) and the outbox's:
    counts and seconds only, never a number, a name, a text, nor what stands in for them at rest."""
    import asyncio
    import json

    import httpx

    from carebot.channels import SMS, Inbound
    from carebot.dispatch.dispatcher import Dispatcher
    from tests.fakes.world import ANA as WORLD_ANA
    from tests.fakes.world import BEN, NOW
    from tests.helpers import E164, LOG_WATCH, app_for, inbound_form, post, sign
    from tests.test_inbound_queue_status import give_up

    words = "Ben can bring my insulin to 12 Elm St"
    dispatcher = Dispatcher(db)
    for sid, sender, body in (("SM1", WORLD_ANA, f"NAME Bea {words}"), ("SM2", BEN, words)):
        LOG_WATCH.sent(sender, body)
        dispatcher.store_inbound(Inbound(SMS, sid, sender, body, NOW - timedelta(minutes=5)))
    give_up(db, monkeypatch)  # a bug makes handling the NAME text raise, every time: given up, its words quoted
    app = app_for(db)
    form = inbound_form(sid="SM" + "3" * 32, sender="+15155550177", body=words)
    LOG_WATCH.sent("+15155550177", words)
    assert asyncio.run(post(app, "/twilio/sms", form, sign("/twilio/sms", form))).status_code == 204

    async def get(path):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return (await client.get(path)).text

    health, page = asyncio.run(get("/healthz")), asyncio.run(get("/metrics"))
    assert json.loads(health)["inbound"] == {"waiting": 1, "oldest_seconds": 0, "given_up_24h": 1}
    assert "carebot_inbound_given_up_24h 1.0" in page
    for shown in (health, page):
        assert not E164.search(shown) and "5155550" not in shown
        for word in ("Ana", "Ben", "Bea", "Cara", "insulin", "Elm", "Des Moines", "v1:"):
            assert word not in shown, word
        for phone in (WORLD_ANA, BEN, "+15155550177"):
            assert crypto.lookup_hash(phone) not in shown and crypto.sender_hash(phone, None) not in shown
