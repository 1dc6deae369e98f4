"""``carebot serve``: refuses bad settings and old schemas in one line; serves end to end."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import urllib.parse
import urllib.request

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from carebot.cli import main
from carebot.domain import startup
from carebot.store.db import Database, start_up, upgrade
from carebot.store.models import OutboxMessage
from tests.fakes.twilio_api import FakeTwilio
from tests.helpers import GOOD, LOG_WATCH, free_port, wait_for, wait_for_serve

SETTINGS = [*GOOD, "TWILIO_MESSAGING_SERVICE_SID", "TWILIO_API_BASE_URL", "TWILIO_SEND_RATE",
            "CAREBOT_DATABASE_URL"]


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no stray .env file
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("change, expected", [
    ({"TWILIO_AUTH_TOKEN": None}, "TWILIO_AUTH_TOKEN: missing"),
    ({"CAREBOT_PUBLIC_URL": "care.example.org"}, "CAREBOT_PUBLIC_URL: must be an http(s) URL"),
    ({"TWILIO_ACCOUNT_SID": "AC123"}, "TWILIO_ACCOUNT_SID: must be AC followed by 32 hex digits"),
    ({"TWILIO_FROM": None}, "set TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID"),
    ({"TWILIO_FROM": "5155550100"}, "TWILIO_FROM: must be a number in E.164 form"),
    ({"TWILIO_SEND_RATE": "0"}, "TWILIO_SEND_RATE: must be above 0"),
])
def test_a_bad_setting_stops_serve_at_start_up_with_one_line(clean_env, change, expected):
    for name, value in {**GOOD, **change}.items():
        if value is not None:
            clean_env.setenv(name, value)
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "see .env.example" in lines[0]


def test_serve_refuses_an_out_of_date_schema(clean_env, database_url):
    for name, value in GOOD.items():
        clean_env.setenv(name, value)
    url = database_url
    upgrade(url, "0001")
    clean_env.setenv("CAREBOT_DATABASE_URL", url)
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == startup.SCHEMA
    [line] = result.output.strip().splitlines()
    assert line.startswith("The database schema is out of date (0001, needs ")
    assert line.endswith("run `carebot db upgrade` first.")


def test_serve_end_to_end_a_signed_text_gets_its_reply_through_twilio(tmp_path, migrated_url):
    url = migrated_url
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    with FakeTwilio() as fake:
        env = {**os.environ, **GOOD, "CAREBOT_PUBLIC_URL": public, "CAREBOT_DATABASE_URL": url,
               "TWILIO_API_BASE_URL": fake.base_url}
        server = subprocess.Popen(
            [sys.executable, "-m", "carebot", "serve", "--port", str(port)],
            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            wait_for_serve(server, public)
            form = {"MessageSid": "SM" + "9" * 32, "From": "+15155550199", "To": "+15155550100",
                    "Body": "HELP", "AccountSid": GOOD["TWILIO_ACCOUNT_SID"]}
            signature = RequestValidator(GOOD["TWILIO_AUTH_TOKEN"]).compute_signature(
                f"{public}/twilio/sms", form)
            request = urllib.request.Request(
                f"{public}/twilio/sms", data=urllib.parse.urlencode(form).encode(),
                headers={"X-Twilio-Signature": signature})
            with urllib.request.urlopen(request, timeout=10) as answer:
                assert answer.status == 204 and answer.read() == b""  # taken; the reply goes through the outbox
            wait_for(lambda: fake.sent_to("+15155550199"), "the reply to reach Twilio")
            [message] = fake.sent_to("+15155550199")
            assert fake.requests[0]["StatusCallback"].startswith(f"{public}/twilio/status?outbox=")
            db = Database(url)
            wait_for(lambda: _sent_ids(db) == [message["sid"]], "the reply's sid to be recorded")
            db.dispose()
        finally:
            server.terminate()
            out, err = server.communicate(timeout=30)
            LOG_WATCH.output("carebot serve", out + err)
    assert server.returncode in (0, -15), err  # uvicorn re-raises SIGTERM after a clean shutdown
    assert "Traceback" not in err
    assert "+1515555" not in out + err  # no phone numbers in the logs


def _sent_ids(db: Database) -> list[str]:
    with db.transaction() as session:
        return list(session.scalars(select(OutboxMessage.provider_id).where(OutboxMessage.status == "sent")))



@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_stopped_during_a_beat_stops_quietly(tmp_path, migrated_sqlite, stop):
    # Left from the last session: a stop while the ticker was at work logged APScheduler's CancelledError
    # traceback (beat() caught Exception only), and Ctrl-C ended with click's "Aborted!".
    path = tmp_path / "carebot.sqlite"
    url = migrated_sqlite(path)
    start_up(url).dispose()  # the key recorded, as the first command does
    # Another process's write lock (a backup, a sqlite3 shell) holds the first beat at its work.
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    log = tmp_path / "serve.log"
    env = {**os.environ, **GOOD, "CAREBOT_DATABASE_URL": url}
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "-m", "carebot", "serve", "--port", str(free_port())],
                                  env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "carebot serving on" in log.read_text(), "carebot serve to start", 60)
        server.send_signal(stop)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(3)  # a stop waits for nothing the lock holds
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        if server.poll() is None:
            server.wait(30)
    said = log.read_text()
    LOG_WATCH.output("carebot serve", said)
    assert server.returncode == -stop, said  # ended by the signal, as a stopped process should
    assert "Traceback" not in said and "CancelledError" not in said and "ERROR" not in said, said
    assert "Aborted" not in said, said


def test_serve_stopped_with_ctrl_c_while_it_starts_stops_quietly(tmp_path):
    # A database server that takes the connection and never answers holds serve in its start-up checks.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        env = {**os.environ, **GOOD, "CAREBOT_DATABASE_URL": f"postgresql+psycopg://carebot:pw@127.0.0.1:{port}/carebot"}
        server = subprocess.Popen([sys.executable, "-m", "carebot", "serve", "--port", str(free_port())],
                                  env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            silent.settimeout(60)
            connection, _ = silent.accept()  # carebot is connecting: it has started
            server.send_signal(signal.SIGINT)
            said, _ = server.communicate(timeout=30)
            connection.close()
        finally:
            if server.poll() is None:
                server.kill()
                server.wait(10)
    LOG_WATCH.output("carebot serve", said)
    assert server.returncode == -signal.SIGINT, said
    assert said.strip() == "", said  # no "Aborted!", no traceback
