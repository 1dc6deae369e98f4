"""Where a webhook's CPU goes, by thread: ``python -m carebot.bench webhook_threads [--requests N] [--rounds R]``.

carebot's webhook app, as ``carebot serve`` builds it (``create_app``: the
signature, the form, the sender check, the texts' writer thread on a held
SQLite connection; not the inbound worker nor the sender), and the signed floor
(``webhook_endpoints.signed_floor_app``) run in this one process and are called
directly as ASGI apps, ``--concurrency`` requests in flight, with no HTTP server
or socket in between: what is left is what each app itself costs. Phases of
``--requests`` webhooks alternate between the two, ``--rounds`` times each, so
that what else the machine does weighs on both; each phase's CPU a request is
read per thread from the threads' own CPU clocks (the event loop; the writer
thread: carebot's ``carebot-inbound``, the floor's ``FloorWriter``). The
medians are the result. ``python -m carebot.bench webhook`` measures the whole
servers; this says which thread, and so which part of the path, a difference
between them comes from.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from carebot.bench.webhook_endpoints import FLOOR_DB, SIGNED_AT
from carebot.bench.webhook_load import ACCOUNT, TOKEN, signed_requests

PUBLIC = "http://127.0.0.1:8000"  # the public URL carebot's webhooks are signed for here
SENDER = "+15155550101"
LOOP, WRITER = "event loop", "writer thread"


def thread_cpu() -> dict[int, float]:
    """Each running thread's CPU time so far (seconds), by its identity."""
    seen = {}
    for thread in threading.enumerate():
        if thread.ident is not None:
            try:
                seen[thread.ident] = time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
            except (OSError, AttributeError):  # a thread that just ended; a platform without per-thread clocks
                pass
    return seen


async def lifespan(app) -> Callable[[], Awaitable[None]]:
    """Start ``app``'s lifespan; the coroutine function that ends it."""
    events: asyncio.Queue = asyncio.Queue()
    started, ended = asyncio.Event(), asyncio.Event()

    async def send(message) -> None:
        if message["type"].endswith(".failed"):
            raise RuntimeError(message.get("message", "lifespan failed"))
        (started if message["type"] == "lifespan.startup.complete" else ended).set()

    running = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, events.get, send))
    await events.put({"type": "lifespan.startup"})
    await started.wait()

    async def stop() -> None:
        await events.put({"type": "lifespan.shutdown"})
        await ended.wait()
        await running

    return stop


async def fire(app, host: bytes, bodies: list[tuple[bytes, str]], concurrency: int) -> dict[int, int]:
    """Call ``app`` with each signed body, ``concurrency`` at a time; how many answers of each status."""
    statuses: dict[int, int] = {}
    waiting = list(reversed(bodies))

    async def one(body: bytes, signature: str) -> None:
        sent = False

        async def receive() -> dict:
            nonlocal sent
            if sent:  # the app never asks again for a request it has whole
                await asyncio.Event().wait()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message) -> None:
            if message["type"] == "http.response.start":
                statuses[message["status"]] = statuses.get(message["status"], 0) + 1

        headers = [(b"host", host), (b"x-twilio-signature", signature.encode()),
                   (b"content-type", b"application/x-www-form-urlencoded"), (b"content-length", str(len(body)).encode())]
        await app({"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                   "scheme": "http", "path": "/twilio/sms", "raw_path": b"/twilio/sms", "query_string": b"",
                   "root_path": "", "headers": headers, "client": ("127.0.0.1", 50000),
                   "server": ("127.0.0.1", 8000), "state": {}}, receive, send)

    async def worker() -> None:
        while waiting:
            await one(*waiting.pop())

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses


async def measure(requests: int, rounds: int, concurrency: int, folder: Path) -> dict[str, list[dict[str, float]]]:
    """Alternating phases of carebot's app and the signed floor's; each phase's µs a request, by thread."""
    from carebot.bench import webhook, webhook_endpoints
    from carebot.channels.twilio import WebhookVerifier
    from carebot.dispatch.dispatcher import Dispatcher
    from carebot.runtime.heap import leave_start_up_out_of_collections
    from carebot.runtime.web import create_app
    from carebot.store.db import start_up

    url = f"sqlite:///{folder / 'carebot.sqlite'}"
    phones = webhook._seed(url)
    db = start_up(url)
    woken = asyncio.Event()  # the inbound worker's wake-up, as serve gives it; nothing waits on it here
    carebot = create_app(dispatcher=Dispatcher(db), verifier=WebhookVerifier(TOKEN, PUBLIC), on_inbound=woken.set)
    webhook_endpoints._signing.cache_clear()  # the floor signs and encrypts with this run's token and key
    stops = [await lifespan(carebot), await lifespan(webhook_endpoints.signed_floor_app)]
    leave_start_up_out_of_collections()  # as serve and the floors do
    loop_thread = threading.get_ident()
    apps = {"carebot": (carebot, PUBLIC.split("//")[1].encode(), lambda n: signed_requests(PUBLIC, phones, n)),
            "signed floor": (webhook_endpoints.signed_floor_app, SIGNED_AT.split("//")[1].encode(),
                             lambda n: signed_requests(SIGNED_AT, [SENDER], n))}
    found: dict[str, list[dict[str, float]]] = {name: [] for name in apps}
    try:
        for number in range(rounds + 1):  # round 0 warms both up and is not kept
            for name in (list(apps) if number % 2 else list(apps)[::-1]):
                app, host, make = apps[name]
                count = requests if number else min(requests, 300)
                bodies = make(count)
                before = thread_cpu()
                statuses = await fire(app, host, bodies, concurrency)
                after = thread_cpu()
                if set(statuses) - {200, 204}:
                    raise SystemExit(f"{name} answered {statuses}")
                if number:
                    loop = after[loop_thread] - before.get(loop_thread, 0.0)
                    rest = sum(spent - before.get(ident, 0.0) for ident, spent in after.items() if ident != loop_thread)
                    found[name].append({LOOP: 1e6 * loop / count, WRITER: 1e6 * rest / count})
    finally:
        for stop in stops:
            await stop()
        db.dispose()
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m carebot.bench webhook_threads", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="webhooks a phase (default 3000)")
    parser.add_argument("--rounds", type=int, default=6, help="phases of each app, alternating (default 6)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    args = parser.parse_args(argv)
    from carebot.store import crypto

    secret = crypto.configured_secret() or crypto.new_secret()  # a throwaway database: a throwaway key will do
    crypto.configure(secret)
    with tempfile.TemporaryDirectory(prefix="carebot-bench-") as folder:
        os.environ.update({"CAREBOT_SECRET_KEY": secret, "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN,
                           FLOOR_DB: str(Path(folder) / "signed.sqlite")})
        found = asyncio.run(measure(args.requests, args.rounds, args.concurrency, Path(folder)))
    print(f"{args.requests} signed webhooks a phase, {args.concurrency} in flight, {args.rounds} phases of each app "
          "alternating, called in-process as ASGI apps; CPU a request by thread (µs):")
    medians = {}
    for name, phases in found.items():
        medians[name] = {part: statistics.median(phase[part] for phase in phases) for part in (LOOP, WRITER)}
        each = ", ".join(f"{phase[LOOP] + phase[WRITER]:.0f}" for phase in phases)
        print(f"{name:<13} {LOOP} {medians[name][LOOP]:6.1f}  {WRITER} {medians[name][WRITER]:6.1f}  "
              f"total {sum(medians[name].values()):6.1f}  (the phases' totals: {each})")
    carebot, floor = medians["carebot"], medians["signed floor"]
    print(f"carebot beyond the signed floor: {LOOP} {carebot[LOOP] - floor[LOOP]:+.1f} µs, {WRITER} "
          f"{carebot[WRITER] - floor[WRITER]:+.1f} µs, total {sum(carebot.values()) - sum(floor.values()):+.1f} µs "
          "a request (the medians)")
    return 0
