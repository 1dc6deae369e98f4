"""``carebot check`` (issue 18): each part of a deployment, ✓ or ✗ with the fix; exit 0 only when all are right.

Twilio is the fake of tests/fakes/twilio_api.py, reached by the real twilio client; Signal is the fake
signal-cli-rest-api; the public URL is a real ``carebot serve`` on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiohttp import web

from carebot.store import crypto
from carebot.store.db import upgrade
from tests.fakes.signal_api import FakeSignal
from tests.helpers import FROM, GOOD, LOG_WATCH, PUBLIC, SERVICE, SIGNAL_BOT, check, free_port, wait_for_serve

VOICE = f"{PUBLIC}/twilio/voice"  # where carebot takes calls (carebot/channels/voice.py)


class NormalModeSignal(FakeSignal):
    """The service started without MODE=json-rpc: /v1/about says "normal"."""

    async def _about(self, request: web.Request) -> web.Response:
        return web.json_response({"versions": ["v1", "v2"], "build": 2, "mode": "normal", "version": self.version,
                                  "capabilities": {"v2/send": ["quotes", "mentions"]}})


@contextmanager
def signal_service(account: str = SIGNAL_BOT, kind: type[FakeSignal] = FakeSignal):
    """The fake signal-cli-rest-api on its own event loop in a thread, for synchronous callers."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = kind(account, free_port())
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_a_right_deployment_passes_every_line(deployment) -> None:
    code, lines = check()
    assert code == 0, lines
    assert list(lines) == ["settings", "secret key", "database", "schema", "key and database", "crisis resources",
                           "Twilio", "Twilio webhooks", "Signal"]
    assert all(said.startswith("✓") for said in lines.values()), lines
    assert lines["Signal"] == "✓ off (SMS only)"


@pytest.mark.parametrize("change, what, says", [
    ({"CAREBOT_RETENTION_DAYS": "0"}, "settings", "CAREBOT_RETENTION_DAYS: must be at least 1 day"),
    ({"CAREBOT_DEFAULT_TIMEZONE": "Central"}, "settings", "'Central' is not a timezone"),
    ({"TWILIO_ACCOUNT_SID": None}, "settings", "TWILIO_ACCOUNT_SID: missing"),
    ({crypto.ENV: ""}, "secret key", "CAREBOT_SECRET_KEY is not set"),
    ({crypto.ENV: crypto.new_secret()}, "key and database", "not the key this database was encrypted with"),
    ({"CAREBOT_DATABASE_URL": "sqlite:///carebot.sqlite"}, "database", "there is no database at"),  # in tmp/run
    ({"CAREBOT_DATABASE_URL": "sqlite:////nowhere/at/all/carebot.sqlite"}, "database", "/nowhere/at/all of "),
    ({"CAREBOT_DATABASE_URL": "postgres:/carebot"}, "database", "cannot be used"),
    ({"CAREBOT_DATABASE_URL": "postgresql://carebot:pw@127.0.0.1:{port}/carebot"}, "database",
     "no database server answers"),
    ({"TWILIO_AUTH_TOKEN": "e" * 32}, "Twilio", "Twilio refused the credentials"),
    ({"TWILIO_FROM": "+15155550122"}, "Twilio", "TWILIO_FROM is not a number of this account"),
    ({"CAREBOT_PUBLIC_URL": "https://new.example.org"}, "Twilio webhooks",
     "A message comes in goes to https://care.example.org/twilio/sms, not https://new.example.org/twilio/sms"),
    # Outside report, finding 21: Twilio posts members' texts to it, so only https leaves the machine.
    ({"CAREBOT_PUBLIC_URL": "http://care.example.org/"}, "settings", "CAREBOT_PUBLIC_URL: must be https"),
    ({"CAREBOT_PUBLIC_URL": "https://care.example.org/twilio/sms"}, "settings",
     "CAREBOT_PUBLIC_URL: must be the base address without a path, https://care.example.org, not "),
    # Finding 20: signal-cli-rest-api has no login, so a public address hands the group's account to anyone.
    ({"SIGNAL_SERVICE": "8.8.8.8:8080", "SIGNAL_NUMBER": SIGNAL_BOT}, "settings",
     "SIGNAL_SERVICE: 8.8.8.8 is a public address"),
])
def test_each_wrong_part_is_its_own_line_with_the_fix(deployment, monkeypatch, tmp_path, change, what, says) -> None:
    monkeypatch.setattr(crypto, "_active", None)  # the key as this command reads it, not the suite's
    (tmp_path / "run").mkdir()
    monkeypatch.chdir(tmp_path / "run")
    for name, value in change.items():
        if value is None:
            monkeypatch.delenv(name)
        else:
            monkeypatch.setenv(name, value.format(port=free_port()))
    code, lines = check()
    assert code == 1
    assert lines[what].startswith("✗") and says in lines[what], lines
    assert sum(said.startswith("✗") for said in lines.values()) >= 1


def test_an_old_schema(deployment, tmp_path, monkeypatch) -> None:
    old = tmp_path / "old.sqlite"
    upgrade(f"sqlite:///{old}", "0008")
    monkeypatch.setenv("CAREBOT_DATABASE_URL", f"sqlite:///{old}")
    code, lines = check()
    head = sorted(path.name[:4] for path in (Path(__file__).parent.parent / "migrations" / "versions").glob("0*.py"))[-1]
    assert code == 1 and lines["schema"] == f"✗ at 0008, this carebot needs {head}: run `carebot db upgrade`", lines


def test_a_schema_a_newer_carebot_made_is_not_told_to_upgrade(deployment, tmp_path, monkeypatch) -> None:
    import sqlite3

    newer = tmp_path / "newer.sqlite"
    upgrade(f"sqlite:///{newer}")
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    conn.close()
    monkeypatch.setenv("CAREBOT_DATABASE_URL", f"sqlite:///{newer}")
    code, lines = check()
    said = lines["schema"]
    assert code == 1 and said.startswith("✗ at 0099, which this carebot does not know"), lines
    assert "newer carebot" in said and "db upgrade" not in said, said


def test_a_number_whose_webhooks_point_elsewhere(deployment, twilio) -> None:
    twilio.add_number(FROM, sms_url=f"{PUBLIC}/twilio/sms", status_callback="https://old-bot.example.net/status")
    code, lines = check()
    assert code == 1 and "its status callback is https://old-bot.example.net/status" in lines["Twilio webhooks"]
    twilio.add_number(FROM, sms_url=f"{PUBLIC}/twilio/sms", sms_method="GET")
    assert "uses GET: choose HTTP POST" in check()[1]["Twilio webhooks"]
    twilio.add_number(FROM, sms_url=f"{PUBLIC}/twilio/sms", sms_application_sid="AP" + "1" * 32)
    assert "TwiML App" in check()[1]["Twilio webhooks"]
    twilio.add_number(FROM, sms_url=f"{PUBLIC}/twilio/sms", status_callback=f"{PUBLIC}/twilio/status", voice_url=VOICE)
    assert check()[0] == 0


def test_a_number_whose_calls_go_elsewhere(deployment, twilio) -> None:
    # Calls by phone (the go-around read aloud) reach carebot only at its own "A call comes in" URL.
    sms = f"{PUBLIC}/twilio/sms"
    twilio.add_number(FROM, sms_url=sms, voice_url="https://demo.twilio.com/welcome/voice/")
    code, lines = check()
    assert code == 1 and lines["Twilio webhooks"] == (
        f"✗ the number's A call comes in goes to https://demo.twilio.com/welcome/voice/, not {VOICE} "
        "(fix it in Twilio's console, or run `carebot twilio connect`)"), lines
    twilio.add_number(FROM, sms_url=sms)
    assert f"A call comes in goes to nowhere, not {VOICE}" in check()[1]["Twilio webhooks"]
    twilio.add_number(FROM, sms_url=sms, voice_url=VOICE, voice_method="GET")
    assert "A call comes in uses GET: choose HTTP POST" in check()[1]["Twilio webhooks"]
    # A TwiML App answering calls is the group's own choice (connect leaves it too): said, not refused.
    twilio.add_number(FROM, sms_url=sms, voice_application_sid="AP" + "2" * 32)
    code, lines = check()
    assert code == 0 and "calls go to a TwiML App" in lines["Twilio webhooks"], lines
    twilio.add_number(FROM, sms_url=sms, voice_url=VOICE)
    code, lines = check()
    assert code == 0 and lines["Twilio webhooks"] == f"✓ the number's point at {PUBLIC}", lines


def test_a_messaging_service_is_checked_instead_of_the_number(deployment, twilio, monkeypatch) -> None:
    monkeypatch.setenv("TWILIO_MESSAGING_SERVICE_SID", SERVICE)
    code, lines = check()
    assert code == 1 and "no such resource" in lines["Twilio"], lines  # not on this account
    twilio.add_service(SERVICE, inbound_request_url="https://old-bot.example.net/sms")
    code, lines = check()
    assert code == 1 and lines["Twilio webhooks"].startswith(
        "✗ the Messaging Service's Incoming Messages goes to https://old-bot.example.net/sms"), lines
    twilio.add_service(SERVICE, inbound_request_url=f"{PUBLIC}/twilio/sms", status_callback=f"{PUBLIC}/twilio/status")
    code, lines = check()
    assert code == 0 and lines["Twilio webhooks"] == f"✓ the Messaging Service's point at {PUBLIC}", lines


def test_the_signal_service(deployment, monkeypatch) -> None:
    with signal_service() as fake:
        monkeypatch.setenv("SIGNAL_SERVICE", fake.url)
        monkeypatch.setenv("SIGNAL_NUMBER", SIGNAL_BOT)
        code, lines = check()
        assert code == 0 and lines["Signal"].startswith("✓ json-rpc mode"), lines
        assert ("GET", "/v1/accounts") in fake.requests
        monkeypatch.setenv("SIGNAL_NUMBER", "+15155550198")
        code, lines = check()
        assert code == 1 and "SIGNAL_NUMBER is not registered or linked on the service" in lines["Signal"]
    code, lines = check()  # the service is gone
    assert code == 1 and "signal-cli-rest-api does not answer" in lines["Signal"], lines
    with signal_service(kind=NormalModeSignal) as fake:
        monkeypatch.setenv("SIGNAL_SERVICE", fake.url)
        monkeypatch.setenv("SIGNAL_NUMBER", SIGNAL_BOT)
        assert "runs in normal mode: set MODE=json-rpc" in check()[1]["Signal"]


def test_from_outside_reaches_a_running_carebot_and_its_start_is_one_info_line(deployment, monkeypatch, twilio,
                                                                                tmp_path) -> None:
    """The public URL answers (a real carebot serve); that carebot logs one JSON line at start, Signal on."""
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    twilio.add_number(FROM, sms_url=f"{public}/twilio/sms", voice_url=f"{public}/twilio/voice")
    monkeypatch.setenv("CAREBOT_PUBLIC_URL", public)
    code, lines = check("--from-outside")
    assert code == 1 and lines["public URL"].startswith(f"✗ {public}/twilio/sms does not answer"), lines
    with signal_service() as fake:
        monkeypatch.setenv("SIGNAL_SERVICE", fake.url)
        monkeypatch.setenv("SIGNAL_NUMBER", SIGNAL_BOT)
        server = subprocess.Popen([sys.executable, "-m", "carebot", "serve", "--port", str(port)],
                                  env={**os.environ, "CAREBOT_LOG_FORMAT": "json"}, cwd=tmp_path,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_for_serve(server, public)
            code, lines = check("--from-outside")
            assert code == 0 and lines["public URL"] == f"✓ {public}/twilio/ (sms, status, voice) reaches carebot", lines
        finally:
            server.terminate()
            out, err = server.communicate(timeout=30)
            LOG_WATCH.output("carebot serve", out + err)
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    started = [r for r in records if r["message"].startswith("carebot serving on")]
    assert len(started) == 1 and started[0]["level"] == "INFO" and started[0]["logger"] == "carebot.runtime.serve"
    line = started[0]["message"]
    assert f"on http://127.0.0.1:{port}, role all, database sqlite:///" in line
    assert f"Twilio {twilio.base_url} account {GOOD['TWILIO_ACCOUNT_SID']}" in line
    assert f"Signal at {fake.url}" in line and FROM not in line and SIGNAL_BOT not in line
    assert f"webhooks signed for {public}," in line  # every signature check depends on it (a deployer asked)
    # Libraries speak at WARNING and up only (CAREBOT_LOG_LEVEL is carebot's own).
    assert all(r["logger"].startswith("carebot") or r["level"] in ("WARNING", "ERROR", "CRITICAL") for r in records)
    assert "Traceback" not in err


def test_an_empty_folder_is_pointed_to_carebot_init_in_one_line(tmp_path, monkeypatch) -> None:
    # A volunteer's first `carebot check`, before anything is set up: one line saying what to run,
    # not seven lines about each missing part.
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith(("CAREBOT_", "TWILIO_", "SIGNAL_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CAREBOT_SYSTEM_ENV_FILE", str(tmp_path / "system.env"))
    code, lines = check()
    assert code == 1
    assert list(lines) == ["settings"], lines
    assert "carebot init" in lines["settings"] and "no settings" in lines["settings"], lines


def test_every_settings_problem_is_in_the_one_line(deployment, monkeypatch) -> None:
    # Outside report, finding 24: SIGNAL_SERVICE without SIGNAL_NUMBER was not said while Twilio's
    # settings were missing too; the line names each problem, so one edit of the file fixes them all.
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("SIGNAL_SERVICE", "127.0.0.1:8080")
    code, lines = check()
    said = lines["settings"]
    assert code == 1 and said.startswith("✗"), lines
    for problem in ("TWILIO_ACCOUNT_SID: missing", "TWILIO_AUTH_TOKEN: missing",
                    "set TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID",
                    "set both SIGNAL_SERVICE and SIGNAL_NUMBER, or neither (SMS only)"):
        assert problem in said, said


@pytest.mark.parametrize("service", ["127.0.0.1:8080", "localhost:8080", "signal:8080", "signal-cli:8080",
                                     "10.0.0.5:8080", "192.168.1.20:8080", "172.16.0.3:8080", "100.101.2.3:8080",
                                     "[::1]:8080", "[fd00::5]:8080", "signal.internal:8080", "pi.local:8080"])
def test_a_signal_service_on_loopback_or_a_private_network_passes(deployment, monkeypatch, service) -> None:
    # Compose's service names (no dot) and private-use names are taken as they are: nothing is looked up.
    from carebot.domain.config import load_serve_settings

    monkeypatch.setenv("SIGNAL_SERVICE", service)
    monkeypatch.setenv("SIGNAL_NUMBER", SIGNAL_BOT)
    assert load_serve_settings().signal_service == service


@pytest.mark.parametrize("service, says", [
    ("8.8.8.8:8080", "8.8.8.8 is a public address"),
    ("[2001:4860:4860::8888]:8080", "2001:4860:4860::8888 is a public address"),
    ("signal.example.org:8080", "signal.example.org is a name carebot cannot tell is private"),
])
def test_a_signal_service_on_a_public_address_is_refused(deployment, monkeypatch, service, says) -> None:
    from carebot.domain.config import ConfigError, load_serve_settings

    monkeypatch.setenv("SIGNAL_SERVICE", service)
    monkeypatch.setenv("SIGNAL_NUMBER", SIGNAL_BOT)
    with pytest.raises(ConfigError) as refused:
        load_serve_settings()
    assert f"SIGNAL_SERVICE: {says}" in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize("url", ["https://care.example.org/", "https://care.example.org:8443",
                                 "http://127.0.0.1:8000", "http://localhost:8000/"])
def test_a_public_url_that_works_passes(deployment, monkeypatch, url) -> None:
    # Plain http only where it never leaves the machine: the tests' and the demo's own carebot.
    from carebot.domain.config import load_serve_settings

    monkeypatch.setenv("CAREBOT_PUBLIC_URL", url)
    assert load_serve_settings().carebot_public_url == url.rstrip("/")


def test_no_database_at_the_default_place_names_the_commands_that_make_it(deployment, monkeypatch, tmp_path) -> None:
    # Outside report, finding 24: "make it with `carebot db upgrade`", which then refused without --url.
    monkeypatch.delenv("CAREBOT_DATABASE_URL")
    (tmp_path / "new").mkdir()
    monkeypatch.chdir(tmp_path / "new")
    code, lines = check()
    assert code == 1 and "`carebot init`" in lines["database"], lines
    assert f"`carebot db upgrade --url sqlite:///{tmp_path / 'new' / 'carebot.sqlite'}`" in lines["database"], lines


@pytest.mark.parametrize("change, problems", [
    # Twilio's settings go together: each one missing (or blank) is named, whatever else is wrong.
    ({"TWILIO_AUTH_TOKEN": None}, ["TWILIO_AUTH_TOKEN: missing"]),
    ({"TWILIO_AUTH_TOKEN": "  ", "TWILIO_FROM": None},
     ["TWILIO_AUTH_TOKEN: is empty", "set TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID"]),
    ({"TWILIO_ACCOUNT_SID": ""}, ["TWILIO_ACCOUNT_SID: is empty"]),
    ({"TWILIO_API_BASE_URL": None, "TWILIO_ACCOUNT_SID": "AC123", "TWILIO_FROM": None},
     ["TWILIO_ACCOUNT_SID: must be AC followed by 32 hex digits", "set TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID"]),
    ({"TWILIO_API_BASE_URL": None, "TWILIO_ACCOUNT_SID": "AC123", "TWILIO_MESSAGING_SERVICE_SID": "MG123"},
     ["TWILIO_ACCOUNT_SID: must be AC followed by 32 hex digits",
      "TWILIO_MESSAGING_SERVICE_SID: must be MG followed by 32 hex digits"]),
    ({"CAREBOT_RETENTION_DAYS": "0", "TWILIO_AUTH_TOKEN": None},
     ["CAREBOT_RETENTION_DAYS: must be at least 1 day", "TWILIO_AUTH_TOKEN: missing"]),
    # A malformed SIGNAL_SERVICE does not hide a missing SIGNAL_NUMBER.
    ({"SIGNAL_SERVICE": "http://127.0.0.1:8080"},
     ["SIGNAL_SERVICE: must be host:port", "set both SIGNAL_SERVICE and SIGNAL_NUMBER, or neither (SMS only)"]),
    ({"SIGNAL_NUMBER": "5155550199"},  # nor a malformed SIGNAL_NUMBER a missing SIGNAL_SERVICE
     ["SIGNAL_NUMBER: must be the bot's Signal number in E.164 form",
      "set both SIGNAL_SERVICE and SIGNAL_NUMBER, or neither (SMS only)"]),
    ({"SIGNAL_SERVICE": "8.8.8.8:8080", "TWILIO_FROM": None},
     ["SIGNAL_SERVICE: 8.8.8.8 is a public address", "set both SIGNAL_SERVICE and SIGNAL_NUMBER",
      "set TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID"]),
    ({"SIGNAL_PROBE_NUMBER": SIGNAL_BOT, "SIGNAL_PROBE_MINUTES": "0", "TWILIO_AUTH_TOKEN": ""},
     ["SIGNAL_PROBE_NUMBER must be a second account", "SIGNAL_PROBE_MINUTES: must be more than 0",
      "TWILIO_AUTH_TOKEN: is empty"]),
])
def test_check_names_every_settings_problem_and_still_checks_the_rest(deployment, monkeypatch, change,
                                                                      problems) -> None:
    for name, value in change.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    code, lines = check()
    said = lines["settings"]
    assert code == 1 and said.startswith("✗"), lines
    for problem in problems:
        assert problem in said, said
    if "CAREBOT_RETENTION_DAYS" not in change:  # the database's settings are right: it is checked all the same
        for what in ("secret key", "database", "schema", "key and database", "crisis resources"):
            assert lines[what].startswith("✓"), lines
        assert lines["Twilio"] == "✗ not checked: fix the settings first", lines


HTTPS_ONLY = "must be https (every call carries TWILIO_AUTH_TOKEN)"


@pytest.mark.parametrize("url, says", [
    ("https://api.example.org", None), ("http://127.0.0.1:8080", None), ("http://localhost:9000/", None),
    ("http://[::1]:8080", None), ("http://api.example.org", HTTPS_ONLY), ("http://10.0.0.5:8080", HTTPS_ONLY),
    ("ftp://api.example.org", "must be an http(s) URL such as https://api.twilio.com, not 'ftp://api.example.org'"),
])
def test_the_twilio_api_is_https_or_this_machine(deployment, monkeypatch, url, says) -> None:
    # Twilio's API gets the auth token with every call: plain http only where it never leaves the machine.
    from carebot.domain.config import ConfigError, load_serve_settings

    monkeypatch.setenv("TWILIO_API_BASE_URL", url)
    if says is None:
        assert load_serve_settings().twilio_api_base_url == url.rstrip("/")
        return
    with pytest.raises(ConfigError) as refused:
        load_serve_settings()
    said = str(refused.value)
    assert f"TWILIO_API_BASE_URL: {says}" in said and "\n" not in said, said
    assert says != HTTPS_ONLY or "plain http only for 127.0.0.1 or localhost" in said, said


def test_from_outside_names_a_webhook_the_proxy_does_not_forward(deployment, monkeypatch, twilio) -> None:
    """A proxy that forwards texts but not calls (deploy/Caddyfile did, once): the line names the path."""
    import http.server

    class Proxy(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(403 if self.path in ("/twilio/sms", "/twilio/status") else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Proxy)
    public = f"http://127.0.0.1:{server.server_port}"
    twilio.add_number(FROM, sms_url=f"{public}/twilio/sms", voice_url=f"{public}/twilio/voice")
    monkeypatch.setenv("CAREBOT_PUBLIC_URL", public)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        code, lines = check("--from-outside")
    finally:
        server.shutdown()
    assert code == 1 and lines["public URL"] == (
        f"✗ {public}/twilio/voice answers 404, not carebot's 403 to an unsigned webhook: does the proxy forward "
        "/twilio/voice to carebot? (deploy/Caddyfile)"), lines
