"""The webhook benchmark runs end to end and prints its figures (a smoke run, not a timing)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

import pytest

from carebot.bench import webhook
from carebot.bench.webhook_endpoints import FloorWriter


@pytest.mark.slow  # about a minute (1 Dec 2026 CI): begun first (conftest)
def test_webhook_benchmark_runs_and_prints_every_phase(capsys, no_key) -> None:
    assert webhook.main(["--requests", "150", "--concurrency", "4", "--rounds", "2"]) == 0  # it makes a throwaway key
    out = capsys.readouterr().out
    for phase in ("bare ASGI endpoint (max)", "durable floor (max)", "floor + signature + encryption (max)",
                  "carebot serve (max), round 1", "durable floor (max), after round 2",
                  "floor + signature + encryption, round 2", "(half its max)"):
        line = next(line for line in out.splitlines() if phase in line)
        assert re.search(r"errors 0", line), line
    assert re.search(r"ratio carebot/bare \(max throughput\): \d+\.\d\d", out)
    assert re.search(r"ratio carebot/durable floor \(max throughput\): \d+\.\d\d \(target >= 0.8; the median of 2 "
                     r"rounds: \d+\.\d\d, \d+\.\d\d\); floor/bare: \d+\.\d\d", out)
    assert re.search(r"ratio floor with signature and encryption/floor \(max throughput\): \d+\.\d\d \(the median of the "
                     r"rounds: \d+\.\d\d, \d+\.\d\d\)", out)
    assert re.search(r"ratio carebot/floor with signature and encryption \(max throughput\): \d+\.\d\d \(the median of "
                     r"the rounds: \d+\.\d\d, \d+\.\d\d\)", out)
    assert re.search(r"server CPU per request at max \(the median of the rounds\): floor \d+ µs, floor with signature "
                     r"and encryption \d+ µs, carebot \d+ µs", out)
    assert re.search(r"carebot at max: p99 \d+\.\d, \d+\.\d ms in the rounds, errors 0", out)
    assert re.search(r"target \(0.8 of the floor, p99 < 50 ms, no error; the median round\): (met|NOT met)", out)
    assert re.search(r"target \(half the bare throughput with p99 < 50 ms\): (met|NOT met)", out)
    # Each round began from a settled carebot: the texts before it handled and their replies sent.
    assert "not settled" not in out, out
    # Every text the phases stored was handled before the benchmark stopped watching.
    assert re.search(r"inbound worker: \d+ texts waiting when the load stopped; \d+ handled .*, 0 still waiting", out), out


def test_the_durable_floor_stores_each_text_once_and_durably(tmp_path) -> None:
    """The floor does the least a durable webhook must: every text kept, a retry kept once, fsynced."""
    floor = FloorWriter(str(tmp_path / "floor.sqlite"))
    floor.write([("SM1", "+15155550101", None, "hello"), ("SM2", "+15155550102", None, "hi")])
    floor.write([("SM2", "+15155550102", None, "hi"), ("SM3", "+15155550103", None, "hey")])
    assert floor.conn.execute("SELECT sid FROM texts ORDER BY sid").fetchall() == [("SM1",), ("SM2",), ("SM3",)]
    assert floor.conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL: each commit reaches the disk
    assert floor.conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_the_signed_floor_refuses_a_forged_signature_and_stores_the_number_and_words_encrypted(tmp_path, monkeypatch) -> None:
    """The floor with carebot's two musts: a forged webhook gets 403 and stores nothing; a signed one is stored
    with its number and words encrypted (never the digits) and the number's keyed hash."""
    import asyncio
    import gc

    import httpx

    from carebot.bench import webhook_endpoints
    from carebot.bench.webhook_load import TOKEN, signed_requests
    from carebot.store import crypto

    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("CAREBOT_SECRET_KEY", secret := crypto.new_secret())
    monkeypatch.setenv(webhook_endpoints.FLOOR_DB, str(tmp_path / "signed.sqlite"))
    webhook_endpoints._signing.cache_clear()
    (good, signature), = signed_requests(webhook_endpoints.SIGNED_AT, ["+15155550101"], 1)

    async def post(body: bytes, signature: str) -> int:
        queue: asyncio.Queue = asyncio.Queue()
        await queue.put({"type": "lifespan.startup"})
        started = asyncio.Event()

        async def said(message) -> None:
            started.set()

        asyncio.create_task(webhook_endpoints.signed_floor_app({"type": "lifespan"}, queue.get, said))
        await started.wait()
        transport = httpx.ASGITransport(app=webhook_endpoints.signed_floor_app)
        async with httpx.AsyncClient(transport=transport, base_url=webhook_endpoints.SIGNED_AT) as client:
            answer = await client.post("/twilio/sms", content=body, headers={
                "X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"})
        return answer.status_code

    try:
        assert asyncio.run(post(good, "forged" + signature)) == 403
        assert asyncio.run(post(good, signature)) == 200
        assert gc.get_freeze_count() > 0  # its start-up frozen, as carebot serve's is: no cost of carebot's left out
    finally:
        gc.unfreeze()  # the test process goes on as before
    floor = webhook_endpoints._floor
    [(sender, sender_hash, words)] = floor.conn.execute("SELECT sender, sender_hash, body FROM texts").fetchall()
    keyring = crypto.Keyring(secret)
    assert "+15155550101" not in sender and keyring.decrypt(sender) == "+15155550101"
    assert sender_hash == keyring.lookup_hash("+15155550101")
    assert keyring.decrypt(words) == dict(parse_qsl(good.decode()))["Body"]  # the words too, as carebot keeps them


def test_the_in_process_benchmark_says_which_thread_each_apps_cpu_goes_to(capsys, monkeypatch, no_key) -> None:
    """``webhook_threads`` calls carebot's webhook app and the signed floor's in one process, alternating, and
    prints each one's CPU a request on the event loop and on the writer thread, and carebot's difference."""
    import gc

    from carebot.bench import webhook_endpoints, webhook_threads
    from carebot.store import crypto

    for name in (crypto.ENV, "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", webhook_endpoints.FLOOR_DB):
        monkeypatch.setenv(name, "")  # what the run sets is undone afterwards
    try:
        assert webhook_threads.main(["--requests", "60", "--rounds", "2", "--concurrency", "4"]) == 0
    finally:
        gc.unfreeze()  # it freezes its start-up, as serve does; the test process goes on as before
    out = capsys.readouterr().out
    for app in ("carebot", "signed floor"):
        assert re.search(rf"^{app} +event loop +\d+\.\d +writer thread +\d+\.\d +total +\d+\.\d +\(the phases' totals: "
                         r"\d+, \d+\)$", out, re.MULTILINE), out
    assert re.search(r"carebot beyond the signed floor: event loop [+-]\d+\.\d µs, writer thread [+-]\d+\.\d µs, "
                     r"total [+-]\d+\.\d µs a request", out), out
