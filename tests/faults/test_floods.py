"""Floods against a real ``carebot serve`` on 127.0.0.1: slow clients, then forged webhooks (#15, cases 6 and 7).

An adversarial run found that 1,100 slow clients, under systemd's default
limit of open files, left ``/healthz`` and the webhooks unanswered for 30 s, and
that 48 forged requests a second pushed a member's signed text to 2.8 s. Here
``carebot serve`` starts under that same default limit (1,024), and while each
flood runs a member keeps texting and a monitor keeps asking ``/healthz``: each
of their requests must be answered within its bound, and every text must get
its reply through the Twilio stand-in. The test prints what it tried and what
it observed, and fails on a missed bound.

Real time, unlike the rest of the suite: the slow clients are cut off by the
server's own clock. Bounded: about 25 s per database.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import resource
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections import Counter
from contextlib import contextmanager

from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from carebot.runtime.connections import REQUEST_SECONDS
from carebot.store.db import Database
from carebot.store.models import InboundMessage
from tests.fakes.twilio_api import FakeTwilio
from tests.fakes.world import ANA, make_db
from tests.helpers import GOOD, LOG_WATCH, free_port, wait_for, wait_for_serve, wait_until

SLOW_CLIENTS = 1100
SYSTEMD_DEFAULT_FILES = 1024  # the soft limit a unit without LimitNOFILE= starts with
HEALTH_BOUND = 1.0  # seconds, p99 of /healthz during a flood
TEXT_BOUND = 1.0  # seconds, p99 of the answer to a member's signed text during a flood
CUT_BOUND = REQUEST_SECONDS + 3.0  # seconds until the server has cut off every slow client
FORGED_PER_SECOND = 100  # twice the adversary's rate
FLOOD_SECONDS = 6.0
ANSWER_WITHIN = 5.0  # a request unanswered this long counts as unanswered


def http_request(method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close",
             *(f"{name}: {value}" for name, value in (headers or {}).items())]
    if method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def ask(port: int, data: bytes) -> tuple[int | str | None, float]:
    """One request on its own connection, as Twilio makes them: (status; seconds).

    The status is None when no answer came in time, "reset" when the server
    hung up first (as it may on a request it refused before reading its body).
    """
    started = time.perf_counter()
    writer = None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), ANSWER_WITHIN)
        writer.write(data)
        line = await asyncio.wait_for(reader.readline(), ANSWER_WITHIN - (time.perf_counter() - started))
        status = int(line.split()[1]) if line else "reset"
    except ConnectionResetError:
        status = "reset"
    except (OSError, TimeoutError, IndexError, ValueError):
        status = None
    finally:
        if writer is not None:
            writer.close()
    return status, time.perf_counter() - started


class Member:
    """A member texting STATUS now and then, each text signed as Twilio signs it, under a new MessageSid."""

    def __init__(self, public: str) -> None:
        self.public = public
        self.validator = RequestValidator(GOOD["TWILIO_AUTH_TOKEN"])
        self.sids = (f"SM{n:032d}" for n in itertools.count(1))
        self.sent = 0

    def text(self) -> bytes:
        form = {"MessageSid": next(self.sids), "From": ANA, "To": GOOD["TWILIO_FROM"], "Body": "status",
                "AccountSid": GOOD["TWILIO_ACCOUNT_SID"], "NumMedia": "0"}
        self.sent += 1
        signature = self.validator.compute_signature(f"{self.public}/twilio/sms", form)
        return http_request("POST", "/twilio/sms", urllib.parse.urlencode(form).encode(),
                            {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})


class Probes:
    """``/healthz`` every 0.2 s and a member's text every 0.5 s, each timed, while a flood runs."""

    def __init__(self, port: int, member: Member) -> None:
        self.port, self.member = port, member
        self.health: list[tuple[int | None, float]] = []
        self.texts: list[tuple[int | None, float]] = []

    async def run(self, seconds: float) -> None:
        tasks = []
        for tick in range(int(seconds / 0.1)):
            if tick % 2 == 0:
                tasks.append(asyncio.create_task(self._into(self.health, http_request("GET", "/healthz"))))
            if tick % 5 == 0:
                tasks.append(asyncio.create_task(self._into(self.texts, self.member.text())))
            await asyncio.sleep(0.1)
        await asyncio.gather(*tasks)

    async def _into(self, results: list, data: bytes) -> None:
        results.append(await ask(self.port, data))


def observed(name: str, results: list[tuple[int | None, float]], ok: int, bound: float) -> list[str]:
    """Print what ``results`` show; the missed bounds, as lines."""
    answered = [seconds for status, seconds in results if status == ok]
    unanswered = len(results) - len(answered)
    p50 = statistics.median(answered) if answered else float("inf")
    p99 = statistics.quantiles(answered, n=100)[98] if len(answered) >= 2 else float("inf")
    print(f"  {name}: {len(results)} sent, {len(answered)} answered {ok}, {unanswered} not;"
          f" p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms (bound {bound * 1000:.0f} ms)")
    missed = []
    if unanswered:
        missed.append(f"{name}: {unanswered} of {len(results)} not answered {ok}")
    if p99 > bound:
        missed.append(f"{name}: p99 {p99 * 1000:.0f} ms over {bound * 1000:.0f} ms")
    return missed


@contextmanager
def serving(url: str, tmp_path):
    """``carebot serve`` on 127.0.0.1, started as systemd would start a unit without LimitNOFILE=."""
    port = free_port()
    public = f"http://127.0.0.1:{port}"

    def systemd_default_limit() -> None:  # in the child, before carebot starts
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (SYSTEMD_DEFAULT_FILES, hard))

    with FakeTwilio() as fake:
        env = {**os.environ, **GOOD, "CAREBOT_PUBLIC_URL": public, "CAREBOT_DATABASE_URL": url,
               "TWILIO_API_BASE_URL": fake.base_url, "TWILIO_SEND_RATE": "50"}
        server = subprocess.Popen([sys.executable, "-m", "carebot", "serve", "--port", str(port)],
                                  env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, preexec_fn=systemd_default_limit)
        output = {"text": ""}
        try:
            wait_for_serve(server, public)
            yield port, public, fake, output
        finally:
            server.terminate()
            out, err = server.communicate(timeout=30)
            output["text"] = out + err
            LOG_WATCH.output("carebot serve", out + err)


def room_for(clients: int) -> None:
    """This test process opens ``clients`` sockets at once: raise its own soft limit if it is lower."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < clients + 256:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(clients + 256, hard), hard))


async def slow_client(port: int, outcome: Counter, cut_after: list[float]) -> None:
    """A slowloris: half a request, then a header line every 2 s, never the end; it gives up
    CUT_BOUND + 1 s after its own connection (not after the flood began: on a busy machine
    the 1,100 connections can take seconds to open)."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        outcome["not connected"] += 1
        return
    opened = time.perf_counter()
    until = opened + CUT_BOUND + 1
    outcome["connected"] += 1
    writer.write(b"POST /twilio/sms HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    try:
        while time.perf_counter() < until:
            try:
                if await asyncio.wait_for(reader.read(1024), 2.0) == b"":
                    break
            except TimeoutError:
                writer.write(b"X-Slow: 1\r\n")
                continue
            except OSError:
                break
        else:
            outcome["still open at the end"] += 1
            return
        outcome["cut off by the server"] += 1
        cut_after.append(time.perf_counter() - opened)
    finally:
        writer.close()


def handled(db: Database) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(InboundMessage)
                              .where(InboundMessage.handled_at.is_not(None)))


def metric(page: str, name: str) -> float:
    return sum(float(value) for value in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", page, re.M))


def test_slow_clients_and_forged_requests_leave_health_and_texts_answered(migrated_url, tmp_path):
    make_db(migrated_url).dispose()  # a group, and Ana in it
    room_for(SLOW_CLIENTS)
    missed: list[str] = []
    with serving(migrated_url, tmp_path) as (port, public, fake, output):
        member = Member(public)

        async def slow_flood() -> None:
            outcome, cut_after = Counter(), []
            clients = [asyncio.create_task(slow_client(port, outcome, cut_after))
                       for _ in range(SLOW_CLIENTS)]
            await wait_until(lambda: outcome["connected"] + outcome["not connected"] >= SLOW_CLIENTS,
                             "every slow client to connect and hold its half request")
            print(f"\nslow-client flood: {SLOW_CLIENTS} connections each sending half a request and a header"
                  f" line every 2 s, under a soft limit of {SYSTEMD_DEFAULT_FILES} open files;"
                  f" probes for {FLOOD_SECONDS:.0f} s meanwhile")
            probes = Probes(port, member)
            await probes.run(FLOOD_SECONDS)
            missed.extend(observed("/healthz", probes.health, 200, HEALTH_BOUND))
            missed.extend(observed("member's signed text", probes.texts, 204, TEXT_BOUND))
            await asyncio.gather(*clients)
            print(f"  slow clients: {dict(outcome)}; cut off after at most"
                  f" {max(cut_after, default=0):.1f} s (bound {CUT_BOUND:.0f} s)")
            if outcome["cut off by the server"] != SLOW_CLIENTS:
                missed.append(f"slow clients: {dict(outcome)}, not all {SLOW_CLIENTS} cut off by the server")

        async def forged_flood() -> Counter:
            many = urllib.parse.urlencode({f"f{n}": "v" * 8 for n in range(5000)}).encode()[:60_000]
            long = urllib.parse.urlencode({f"f{n}": "v" * 450 for n in range(127)}).encode()[:60_000]
            form_type = {"Content-Type": "application/x-www-form-urlencoded"}
            forged_signature = {**form_type, "X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJlIGF0IGFsbA=="}
            forms = {
                "no signature, 60 kB": http_request("POST", "/twilio/sms", many, form_type),
                "wrong signature, 60 kB in 5,000 fields": http_request("POST", "/twilio/sms", many, forged_signature),
                "wrong signature, 60 kB in 127 fields": http_request("POST", "/twilio/sms", long, forged_signature),
                "wrong content type": http_request("POST", "/twilio/sms", b'{"Body": "STOP"}',
                                                   {"Content-Type": "application/json", "X-Twilio-Signature": "x"}),
            }
            kinds = itertools.cycle(forms.items())
            answers: Counter = Counter()

            async def forge() -> None:
                name, data = next(kinds)
                status, _ = await ask(port, data)
                answers[(name, status)] += 1

            print(f"forged flood: {FORGED_PER_SECOND} forged requests a second for {FLOOD_SECONDS:.0f} s,"
                  f" of {len(forms)} kinds; probes meanwhile")
            probes = Probes(port, member)
            probing = asyncio.create_task(probes.run(FLOOD_SECONDS))
            forged = []
            for _ in range(int(FLOOD_SECONDS * 10)):
                forged += [asyncio.create_task(forge()) for _ in range(FORGED_PER_SECOND // 10)]
                await asyncio.sleep(0.1)
            await asyncio.gather(probing, *forged)
            for (name, status), count in sorted(answers.items(), key=str):
                print(f"  {name}: {count} answered {status}")
            missed.extend(observed("/healthz", probes.health, 200, HEALTH_BOUND))
            missed.extend(observed("member's signed text", probes.texts, 204, TEXT_BOUND))
            unrefused = {key: count for key, count in answers.items() if key[1] not in (403, 413, 415, "reset")}
            if unrefused:
                missed.append(f"forged requests not refused: {unrefused}")
            return answers

        asyncio.run(slow_flood())
        answers = asyncio.run(forged_flood())

        db = Database(migrated_url)
        wait_for(lambda: handled(db) == member.sent, "each of the member's texts to be handled", 30)
        db.dispose()
        print(f"  member: {member.sent} texts sent, each handled; {len(fake.sent_to(ANA))} replies reached Twilio")
        if not fake.sent_to(ANA):
            missed.append("no reply reached the member")
        with urllib.request.urlopen(f"{public}/metrics", timeout=5) as page:
            metrics_page = page.read().decode()
        refused, dropped = metric(metrics_page, "carebot_webhooks_refused_total"), metric(
            metrics_page, "carebot_connections_dropped_total")
        print(f"  /metrics: {refused:.0f} webhooks refused, {dropped:.0f} slow connections dropped")
        if refused < sum(answers.values()) or dropped < SLOW_CLIENTS:
            missed.append(f"/metrics counted {refused:.0f} refused and {dropped:.0f} dropped")
    lines = [line for line in output["text"].splitlines() if "webhooks refused" in line]
    print(f"  log: {len(lines)} lines about refused webhooks")
    if len(lines) > 2:  # one a minute: the whole test is shorter
        missed.append(f"{len(lines)} log lines about refused webhooks")
    assert "Traceback" not in output["text"], output["text"][-3000:]
    assert not missed, "\n".join(missed)
