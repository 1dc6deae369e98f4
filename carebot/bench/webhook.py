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

1. the bare endpoint, the durable floor, then the floor with what carebot
   cannot leave out (the signature checked once with twilio's
   ``RequestValidator``, the number encrypted and its keyed hash made), as fast
   as each goes (``concurrency`` requests in flight);
2. carebot, as fast as it goes, then the floor and the signed floor again
   (carebot stopped meanwhile), in ``--rounds`` rounds: each compares carebot
   with the mean of the floor's runs either side of it, since the shared
   machine may be busier or calmer for one of them, and the median round is
   the result. Each round starts, as the first does, once carebot has handled
   the texts before it and sent their replies: the floor stores texts and
   nothing else, and what handling them costs is measured apart (the drain,
   and ``python -m carebot.bench inbound``);
3. carebot at half the bare endpoint's throughput (the target load), paced;
4. carebot at half its own maximum, paced, to show its latency when not overloaded
   (each from a settled carebot too);

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
import contextlib
import os
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from carebot.bench.webhook_endpoints import FLOOR_DB, SIGNED_AT, QuietServer, TwilioStandIn
from carebot.bench.webhook_load import (
    ACCOUNT,
    TIME_CAP,
    TOKEN,
    fire,
    free_port,
    measure_phase,
    result_line,
    signed_requests,
    start_server,
)

MEMBERS = 200
BASELINE_SENDER = "+15155550101"


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

def _waiting(engine) -> int:
    """Stored texts the inbound worker has not handled yet (read next to the running server)."""
    from sqlalchemy import text

    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM inbound_messages WHERE handled_at IS NULL")).scalar()


SETTLE_CAP = 3 * TIME_CAP  # seconds: 3,000 texts and their replies at 75 a second take 40 s on a quiet machine


def _settle(url: str) -> int:
    """Wait (SETTLE_CAP at most) until the texts stored so far are handled and their replies sent; what is left.

    So the measured phases see carebot's steady state, not its first texts,
    first sends and first queries, each of which compiles or imports once, nor
    the work the phases before them left.
    """
    from sqlalchemy import text

    from carebot.store.db import make_engine

    engine = make_engine(url)
    deadline = time.perf_counter() + SETTLE_CAP
    busy = 0
    try:
        while time.perf_counter() < deadline:
            with engine.connect() as conn:
                busy = conn.execute(text(
                    "SELECT (SELECT count(*) FROM inbound_messages WHERE handled_at IS NULL)"
                    " + (SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending'))")).scalar() or 0
            if not busy:
                return 0
            time.sleep(0.25)
        return busy
    finally:
        engine.dispose()


def _unsettled(left: int) -> str:
    return f"  (not settled: {left} texts or replies still waiting)" if left else ""


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


@contextlib.contextmanager
def _stopped(process: subprocess.Popen) -> Iterator[None]:
    """``process`` stopped (SIGSTOP) for the block, so that it takes none of the machine's time meanwhile."""
    process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        process.send_signal(signal.SIGCONT)


def _carebot(url: str, args, env: dict[str, str], baselines: dict[str, dict],
             served_at: dict[str, tuple[subprocess.Popen, str]]) -> None:
    """Seed a fresh database at ``url``, start carebot serve on it, run phases 2 to 4 and the drain.

    ``served_at`` (each baseline's process and URL): carebot's maximum is
    measured in ``--rounds`` rounds, each followed by the floor's and the
    signed floor's (carebot stopped meanwhile); each round compares carebot
    with the mean of the floor's runs either side of it, so that what else the
    shared machine does weighs on both, and the median round is the result.
    """
    bare, floor = baselines["bare"], baselines["floor"]
    name = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    phones = _seed(url)
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    env = {**env, "CAREBOT_DATABASE_URL": url, "CAREBOT_PUBLIC_URL": public}
    carebot = start_server(["-m", "carebot", "serve", "--port", str(port)], env, port)
    try:
        n, c = args.requests, args.concurrency
        sms = f"{public}/twilio/sms"
        asyncio.run(fire(sms, signed_requests(public, phones, 200), c, None))  # warm up
        _settle(url)
        rounds: list[tuple[float, dict]] = []  # (carebot / the mean of the floor's runs either side, carebot's phase)
        musts: list[float] = []  # the signed floor / the floor just before it, each round
        # carebot / the mean of the signed floor's runs either side: against the least endpoint that also does
        # carebot's two musts (the signature, the encryption)
        against_signed: list[float] = []
        signed_before = baselines["signed"]
        cpu: dict[str, list[float]] = {"floor": [], "signed": [], "carebot": []}  # server µs a request, each round
        loop_cpu: dict[str, list[float]] = {"floor": [], "signed": [], "carebot": []}  # the event loop's share
        before = floor
        for number in range(1, args.rounds + 1):
            # Each round from the state the first starts from: the texts of the phases before handled and their
            # replies sent. Else a round would also measure the worker working off the last round's texts and
            # the sender sending their replies, which the floor has no part of (the drain, below, measures those).
            left = _settle(url)
            full = measure_phase(carebot, sms, signed_requests(public, phones, n), c, None)
            print(result_line(f"carebot serve (max), round {number}", full) + f"  [{name}]" + _unsettled(left))
            with _stopped(carebot):  # its inbound worker works off the texts meanwhile: not on the baselines' time
                after = measure_phase(*served_at["floor"], signed_requests(SIGNED_AT, [BASELINE_SENDER], n), c, None)
                print(result_line(f"durable floor (max), after round {number}", after))
                signed_after = measure_phase(*served_at["signed"], signed_requests(SIGNED_AT, [BASELINE_SENDER], n),
                                             c, None)
                print(result_line(f"floor + signature + encryption, round {number}", signed_after))
            rounds.append((full["throughput"] / ((before["throughput"] + after["throughput"]) / 2), full))
            musts.append(signed_after["throughput"] / after["throughput"])
            against_signed.append(full["throughput"] / ((signed_before["throughput"] + signed_after["throughput"]) / 2))
            signed_before = signed_after
            for key, phase in (("floor", after), ("signed", signed_after), ("carebot", full)):
                if "cpu_us" in phase:
                    cpu[key].append(phase["cpu_us"])
                if "loop_cpu_us" in phase:
                    loop_cpu[key].append(phase["loop_cpu_us"])
            before = after
        floor_ratio, full = sorted(rounds, key=lambda each: each[0])[len(rounds) // 2]  # the median round
        target = bare["throughput"] / 2
        left = _settle(url)
        paced = measure_phase(carebot, sms, signed_requests(public, phones, n), c * 4, target)
        print(result_line(f"carebot at {target:.0f} req/s", paced) + f"  [{name}]" + _unsettled(left))
        own = full["throughput"] / 2
        left = _settle(url)
        easy = measure_phase(carebot, sms, signed_requests(public, phones, min(n, int(own * 20))), c * 4, own)
        print(result_line(f"carebot at {own:.0f} req/s (half its max)", easy) + f"  [{name}]" + _unsettled(left))
        ratio = full["throughput"] / bare["throughput"]
        kept_up = paced["throughput"] >= 0.95 * target and paced["errors"] == 0
        verdict = "met" if kept_up and paced["p99_ms"] < 50 else "NOT met"
        print(f"[{name}] ratio carebot/bare (max throughput): {ratio:.2f}")
        if "cpu_us" in full and "cpu_us" in bare:
            print(f"[{name}] ratio bare/carebot (server CPU per request at max): {bare['cpu_us'] / full['cpu_us']:.2f}")
        print(f"[{name}] target (half the bare throughput with p99 < 50 ms): {verdict}")
        each = ", ".join(f"{ratio:.2f}" for ratio, _ in rounds)
        print(f"[{name}] ratio carebot/durable floor (max throughput): {floor_ratio:.2f} (target >= 0.8; the median "
              f"of {len(rounds)} rounds: {each}); floor/bare: {floor['throughput'] / bare['throughput']:.2f}")
        print(f"[{name}] ratio floor with signature and encryption/floor (max throughput): {statistics.median(musts):.2f} "
              f"(the median of the rounds: {', '.join(f'{must:.2f}' for must in musts)})")
        print(f"[{name}] ratio carebot/floor with signature and encryption (max throughput): "
              f"{statistics.median(against_signed):.2f} (the median of the rounds: "
              f"{', '.join(f'{each:.2f}' for each in against_signed)})")
        if all(cpu.values()):
            floor_cpu, signed_cpu, carebot_cpu = (statistics.median(cpu[key]) for key in ("floor", "signed", "carebot"))
            print(f"[{name}] server CPU per request at max (the median of the rounds): floor {floor_cpu:.0f} µs, "
                  f"floor with signature and encryption {signed_cpu:.0f} µs, carebot {carebot_cpu:.0f} µs")
        if all(loop_cpu.values()):
            floor_loop, signed_loop, carebot_loop = (statistics.median(loop_cpu[key])
                                                     for key in ("floor", "signed", "carebot"))
            print(f"[{name}] of which the event loop's (the rest: the database writer and carebot's inbound "
                  f"worker and sender): floor {floor_loop:.0f} µs, floor with signature and encryption "
                  f"{signed_loop:.0f} µs, carebot {carebot_loop:.0f} µs")
        p99s = sorted(phase["p99_ms"] for _, phase in rounds)
        floor_met = (floor_ratio >= 0.8 and p99s[len(p99s) // 2] < 50
                     and not any(phase["errors"] for _, phase in rounds))
        print(f"[{name}] carebot at max: p99 {', '.join(f'{p99:.1f}' for p99 in p99s)} ms in the rounds, "
              f"errors {sum(phase['errors'] for _, phase in rounds)}")
        print(f"[{name}] target (0.8 of the floor, p99 < 50 ms, no error; the median round): "
              f"{'met' if floor_met else 'NOT met'}")
        print(f"[{name}] " + _drain(url))
    finally:
        carebot.terminate()
        carebot.wait(timeout=30)


def main(argv: list[str]) -> int:
    from carebot.bench import postgres

    parser = argparse.ArgumentParser(prog="python -m carebot.bench webhook", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per phase (default 3000)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of carebot's maximum, each next to the floor's "
                                                              "(default 3; the median is the result)")
    parser.add_argument("--send-rate", type=float, default=75.0, help="the sender's pace meanwhile (texts/s)")
    postgres.add_option(parser)
    args = parser.parse_args(argv)

    stand_in = QuietServer(("127.0.0.1", 0), TwilioStandIn)
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
            baselines, served_at = {}, {}
            for key, name, app, extra in (("bare", "bare ASGI endpoint (max)", "bare_app", {}),
                                          ("floor", "durable floor (max)", "floor_app",
                                           {FLOOR_DB: str(Path(tmp) / "floor.sqlite")}),
                                          ("signed", "floor + signature + encryption (max)", "signed_floor_app",
                                           {FLOOR_DB: str(Path(tmp) / "signed.sqlite")})):
                port = free_port()
                served = f"carebot.bench.webhook_endpoints:{app}"
                process = start_server([*uvicorn, "--port", str(port), served], {**env, **extra}, port)
                running.append(process)
                url = f"http://127.0.0.1:{port}/twilio/sms"
                asyncio.run(fire(url, signed_requests(SIGNED_AT, [BASELINE_SENDER], 200), c, None))  # warm up
                baselines[key] = measure_phase(process, url, signed_requests(SIGNED_AT, [BASELINE_SENDER], n), c, None)
                served_at[key] = (process, url)
                print(result_line(name, baselines[key]))
            postgres.on_each(lambda url: _carebot(url, args, env, baselines, served_at), "webhook",
                             args.postgresql)
            if not args.postgresql:
                print(postgres.NOT_MEASURED)
            return 0
        finally:
            for process in running:
                process.terminate()
                process.wait(timeout=30)
            stand_in.shutdown()
