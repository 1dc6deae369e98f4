"""Webhook benchmark: ``python -m carebot.bench webhook [--requests N] [--concurrency C]``.

Starts ``carebot serve`` on a fresh SQLite file, a bare ASGI endpoint (it
only answers 200) and the durable floor (it parses the form and hands the text
to one ``sqlite3`` writer thread that commits whatever waits in one
transaction: WAL, ``synchronous=FULL``, a unique key, ``INSERT OR IGNORE``;
each request answered when its commit is done: the least a webhook that must
not lose texts does),
each as a real uvicorn subprocess on 127.0.0.1 run the same way, plus a
stand-in for Twilio's API on 127.0.0.1 for the replies the sender delivers
meanwhile. Then it fires signed inbound webhooks (each a new MessageSid from
one of the group's members) and prints throughput and p50/p99 latency for:

1. the bare endpoint, then the durable floor, as fast as each goes
   (``concurrency`` requests in flight);
2. carebot, as fast as it goes;
3. carebot at half the bare endpoint's throughput (the target load), paced;
4. carebot at half its own maximum, paced, to show its latency when not overloaded;

then, since a webhook only stores the text and the inbound worker runs the
dispatcher afterwards (giving way while webhooks keep coming), how many texts
were still waiting when the load stopped and how fast the worker handled them.

Before (2), 200 warm-up webhooks are sent and handled, and their replies
sent, so the phases measure the steady state rather than first-time costs.
Targets: carebot at its max reaches 0.8 of the floor's throughput with p99
under 50 ms and no error, and keeps up with (3) with p99 under 50 ms. Loopback only; the
request count and the time are bounded. With ``--postgresql URL`` the same run
repeats (2) to (4) and the drain with carebot on a throwaway PostgreSQL
database, printed next to SQLite's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import aiohttp
from twilio.request_validator import RequestValidator

ACCOUNT = "AC" + "b" * 32
TOKEN = "c" * 32
TEXTS = ["STATUS", "1 call evenings", "HELP", "5", "HOW text me after 6", "2"]
MEMBERS = 200
TIME_CAP = 60.0  # seconds per phase, whatever the request count


async def bare_app(scope, receive, send) -> None:
    """The baseline: an ASGI endpoint that reads the request and answers 200."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


FLOOR_DB = "CAREBOT_BENCH_FLOOR_DB"  # where the durable floor keeps its texts


class _FloorWriter:
    """The durable floor's store: one ``sqlite3`` writer thread that commits whatever is waiting.

    WAL, ``synchronous=FULL`` (each commit reaches the disk), a unique key on
    the provider's id and ``INSERT OR IGNORE`` (a retry is kept once): the
    least a webhook that must not lose a text does, with nothing of carebot's
    (no signature, no encryption, no SQLAlchemy). Each request is answered when
    the commit holding its text is done.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.waiting: queue.SimpleQueue = queue.SimpleQueue()
        self.conn = self._connect()
        threading.Thread(target=self._run, daemon=True).start()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE IF NOT EXISTS texts (sid TEXT PRIMARY KEY, sender TEXT, body TEXT)")
        return conn

    def write(self, rows: list[tuple]) -> None:
        """Commit ``rows`` (sid, sender, body) in one transaction; a sid stored already is ignored."""
        self.conn.execute("BEGIN")
        try:
            self.conn.executemany("INSERT OR IGNORE INTO texts (sid, sender, body) VALUES (?, ?, ?)", rows)
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def _run(self) -> None:
        while True:
            batch = [self.waiting.get()]
            while not self.waiting.empty():  # everything that came while the last commit ran
                batch.append(self.waiting.get())
            failed: BaseException | None = None
            try:
                self.write([row for row, _, _ in batch])
            except Exception as error:
                failed = error
            for _, loop, future in batch:
                loop.call_soon_threadsafe(_resolve, future, failed)

    async def store(self, row: tuple) -> None:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.waiting.put((row, loop, future))
        await future


def _resolve(future: asyncio.Future, failed: BaseException | None) -> None:
    if future.done():
        return
    if failed is None:
        future.set_result(None)
    else:
        future.set_exception(failed)


_floor: _FloorWriter | None = None  # the floor's writer, made at its start-up


async def floor_app(scope, receive, send) -> None:
    """The durable floor: parses the form, has ``_FloorWriter`` commit the text, answers 200."""
    global _floor
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            _floor = _FloorWriter(os.environ[FLOOR_DB])
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    form = dict(parse_qsl(b"".join(chunks).decode("utf-8", "replace"), keep_blank_values=True))
    if _floor is None:
        raise RuntimeError("the durable floor answers only once its lifespan has started")
    await _floor.store((form.get("MessageSid"), form.get("From"), form.get("Body")))
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


class _TwilioStandIn(BaseHTTPRequestHandler):
    """Answers Messages.json creates like Twilio (201 and a sid), so the sender runs too."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"sid": "SM" + uuid.uuid4().hex, "status": "queued"}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # the sender's pooled connections are reset when the run ends; that is expected


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed(url: str) -> list[str]:
    """A group with MEMBERS consenting members; returns their numbers."""
    from carebot.store.db import Database, upgrade
    from carebot.store.models import Group, Member, Membership

    upgrade(url)
    db = Database(url)
    now = datetime.now(UTC)
    phones = [f"+1515555{i:04d}" for i in range(1000, 1000 + MEMBERS)]
    with db.transaction() as session:
        group = Group(keyword="BENCH", name="Bench Mutual Aid", timezone="UTC", created_at=now,
                      day_ends=24, day_starts=0)
        session.add(group)
        session.flush()
        for phone in phones:
            member = Member(phone=phone, created_at=now)
            session.add(member)
            session.flush()
            session.add(Membership(group_id=group.id, member_id=member.id, status="active",
                                   consented_at=now, created_at=now))
    db.dispose()
    return phones


def _start(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[str]:
    process = subprocess.Popen([sys.executable, *args], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _, errors = process.communicate()  # it has ended: its stderr, whole
            raise SystemExit(f"could not start {' '.join(args)}: {errors.strip()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit(f"{' '.join(args)} did not start listening")


def _requests(public: str, phones: list[str], count: int) -> list[tuple[bytes, str]]:
    """Signed webhook bodies, made before the clock starts."""
    validator = RequestValidator(TOKEN)
    url = f"{public}/twilio/sms"
    made = []
    for i in range(count):
        sid = "SM" + uuid.uuid4().hex
        form = {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT, "From": phones[i % len(phones)],
                "To": "+15155550100", "Body": TEXTS[i % len(TEXTS)], "NumMedia": "0"}
        made.append((urlencode(form).encode(), validator.compute_signature(url, form)))
    return made


async def _fire(url: str, bodies, concurrency: int, rate: float | None) -> dict:
    """Send every body; closed loop at ``concurrency``, or paced to ``rate`` a second."""
    latencies: list[float] = []
    errors = 0
    queue = list(reversed(bodies))
    started = time.perf_counter()
    deadline = started + TIME_CAP
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as client:

        async def one(body: bytes, signature: str) -> None:
            nonlocal errors
            t0 = time.perf_counter()
            async with client.post(url, data=body, headers={
                "X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded",
            }) as answer:
                await answer.read()
                if answer.status != 200:
                    errors += 1
            latencies.append(time.perf_counter() - t0)

        if rate is None:
            async def worker() -> None:
                while queue and time.perf_counter() < deadline:
                    await one(*queue.pop())

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        else:
            tasks = []
            for i, item in enumerate(reversed(queue)):
                due = started + i / rate
                if due > deadline:
                    break
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(*item)))
            await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "errors": errors,
        "throughput": len(ordered) / elapsed,
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
    }


def _waiting(engine) -> int:
    """Stored texts the inbound worker has not handled yet (read next to the running server)."""
    from sqlalchemy import text

    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM inbound_messages WHERE handled_at IS NULL")).scalar()


def _settle(url: str) -> None:
    """Wait (TIME_CAP at most) until the warm-up's texts are handled and their replies sent.

    So the measured phases see carebot's steady state, not its first texts,
    first sends and first queries, each of which compiles or imports once.
    """
    from sqlalchemy import text

    from carebot.store.db import make_engine

    engine = make_engine(url)
    deadline = time.perf_counter() + TIME_CAP
    try:
        while time.perf_counter() < deadline:
            with engine.connect() as conn:
                busy = conn.execute(text(
                    "SELECT (SELECT count(*) FROM inbound_messages WHERE handled_at IS NULL)"
                    " + (SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending'))")).scalar()
            if not busy:
                return
            time.sleep(0.25)
    finally:
        engine.dispose()


def _drain(url: str) -> str:
    """Watch the worker work off what the phases left, for TIME_CAP seconds at most."""
    from carebot.store.db import make_engine

    engine = make_engine(url)
    try:
        return _drained(engine)
    finally:
        engine.dispose()


def _drained(engine) -> str:
    left = start = _waiting(engine)
    started = time.perf_counter()
    while left and time.perf_counter() - started < TIME_CAP:
        time.sleep(0.25)
        left = _waiting(engine)
    elapsed = time.perf_counter() - started
    rate = (start - left) / elapsed if elapsed else 0.0
    return (f"inbound worker: {start} texts waiting when the load stopped; {start - left} handled "
            f"in {elapsed:.1f} s ({rate:.0f} texts/s), {left} still waiting")


def _cpu_seconds(pid: int) -> float | None:
    """CPU time a process has used so far, all its threads (Linux's /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _phase(server: subprocess.Popen, url: str, bodies, concurrency: int, rate: float | None) -> dict:
    """One phase of requests at ``server``, with the server's CPU time per request.

    CPU per request is steadier than throughput on a shared machine: other
    work slows both servers' clocks, not what each request costs.
    """
    before = _cpu_seconds(server.pid)
    result = asyncio.run(_fire(url, bodies, concurrency, rate))
    after = _cpu_seconds(server.pid)
    if before is not None and after is not None and result["requests"]:
        result["cpu_us"] = 1e6 * (after - before) / result["requests"]
    return result


def _line(name: str, result: dict) -> str:
    cpu = f"  cpu {result['cpu_us']:>5.0f} µs/req" if "cpu_us" in result else ""
    return (f"{name:<36} {result['requests']:>6} req  {result['throughput']:>6.0f} req/s  "
            f"p50 {result['p50_ms']:>6.1f} ms  p99 {result['p99_ms']:>6.1f} ms  errors {result['errors']}{cpu}")


def _carebot(url: str, args, env: dict[str, str], bare: dict, floor: dict) -> None:
    """Seed a fresh database at ``url``, start carebot serve on it, run phases 2 to 4 and the drain."""
    name = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    phones = _seed(url)
    port = _free_port()
    public = f"http://127.0.0.1:{port}"
    env = {**env, "CAREBOT_DATABASE_URL": url, "CAREBOT_PUBLIC_URL": public}
    carebot = _start(["-m", "carebot", "serve", "--port", str(port)], env, port)
    try:
        n, c = args.requests, args.concurrency
        sms = f"{public}/twilio/sms"
        asyncio.run(_fire(sms, _requests(public, phones, 200), c, None))  # warm up
        _settle(url)
        full = _phase(carebot, sms, _requests(public, phones, n), c, None)
        print(_line("carebot serve (max)", full) + f"  [{name}]")
        target = bare["throughput"] / 2
        paced = _phase(carebot, sms, _requests(public, phones, n), c * 4, target)
        print(_line(f"carebot at {target:.0f} req/s", paced) + f"  [{name}]")
        own = full["throughput"] / 2
        easy = _phase(carebot, sms, _requests(public, phones, min(n, int(own * 20))), c * 4, own)
        print(_line(f"carebot at {own:.0f} req/s (half its max)", easy) + f"  [{name}]")
        ratio = full["throughput"] / bare["throughput"]
        kept_up = paced["throughput"] >= 0.95 * target and paced["errors"] == 0
        verdict = "met" if kept_up and paced["p99_ms"] < 50 else "NOT met"
        print(f"[{name}] ratio carebot/bare (max throughput): {ratio:.2f}")
        if "cpu_us" in full and "cpu_us" in bare:
            print(f"[{name}] ratio bare/carebot (server CPU per request at max): {bare['cpu_us'] / full['cpu_us']:.2f}")
        print(f"[{name}] target (half the bare throughput with p99 < 50 ms): {verdict}")
        print(f"[{name}] ratio carebot/durable floor (max throughput): {full['throughput'] / floor['throughput']:.2f}"
              f" (target >= 0.8); floor/bare: {floor['throughput'] / bare['throughput']:.2f}")
        floor_met = full["throughput"] >= 0.8 * floor["throughput"] and full["p99_ms"] < 50 and not full["errors"]
        print(f"[{name}] target (0.8 of the floor, p99 < 50 ms, no error): {'met' if floor_met else 'NOT met'}")
        print(f"[{name}] " + _drain(url))
    finally:
        carebot.terminate()
        carebot.wait(timeout=30)


def main(argv: list[str]) -> int:
    from carebot.bench import postgres

    parser = argparse.ArgumentParser(prog="python -m carebot.bench webhook", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per phase (default 3000)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    parser.add_argument("--send-rate", type=float, default=75.0, help="the sender's pace meanwhile (texts/s)")
    postgres.add_option(parser)
    args = parser.parse_args(argv)

    stand_in = _QuietServer(("127.0.0.1", 0), _TwilioStandIn)
    threading.Thread(target=stand_in.serve_forever, daemon=True).start()
    from carebot.store import crypto

    # A throwaway database, so a throwaway key unless one is configured; the served process gets the same one.
    secret = crypto.configured_secret() or crypto.new_secret()
    crypto.configure(secret)
    env = {**os.environ, "CAREBOT_SECRET_KEY": secret, "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN,
           "TWILIO_FROM": "+15155550100",
           "TWILIO_API_BASE_URL": f"http://127.0.0.1:{stand_in.server_address[1]}",
           "TWILIO_SEND_RATE": str(args.send_rate),
           # Warnings only: a line a text is not what is measured, and nothing reads the pipe until the end.
           "CAREBOT_LOG_LEVEL": "WARNING"}
    uvicorn = ["-m", "uvicorn", "--host", "127.0.0.1", "--log-level", "warning", "--no-access-log"]
    n, c = args.requests, args.concurrency
    print(f"{n} signed webhooks per phase, {c} in flight, 127.0.0.1, one process each")
    with tempfile.TemporaryDirectory(prefix="carebot-bench-") as tmp:
        running: list[subprocess.Popen] = []
        try:
            baselines = {}
            for key, name, app, extra in (("bare", "bare ASGI endpoint (max)", "bare_app", {}),
                                          ("floor", "durable floor (max)", "floor_app",
                                           {FLOOR_DB: str(Path(tmp) / "floor.sqlite")})):
                port = _free_port()
                process = _start([*uvicorn, "--port", str(port), f"carebot.bench.webhook:{app}"], {**env, **extra}, port)
                running.append(process)
                url = f"http://127.0.0.1:{port}/twilio/sms"
                asyncio.run(_fire(url, _requests("http://x", ["+15155550101"], 200), c, None))  # warm up
                baselines[key] = _phase(process, url, _requests("http://x", ["+15155550101"], n), c, None)
                print(_line(name, baselines[key]))
            postgres.on_each(lambda url: _carebot(url, args, env, **baselines), "webhook", args.postgresql)
            if not args.postgresql:
                print(postgres.NOT_MEASURED)
            return 0
        finally:
            for process in running:
                process.terminate()
                process.wait(timeout=30)
            stand_in.shutdown()
