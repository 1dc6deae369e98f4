"""The webhook benchmark's load: signed Twilio webhooks, fired closed-loop or paced, and what they measure.

Each phase's throughput, p50/p99 latency and errors, and the server's CPU time per request.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from twilio.request_validator import RequestValidator

ACCOUNT = "AC" + "b" * 32
TOKEN = "c" * 32
TEXTS = ["STATUS", "1 call evenings", "HELP", "5", "HOW text me after 6", "2"]
TIME_CAP = 60.0  # seconds per phase, whatever the request count


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def start_server(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[str]:
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


def signed_requests(public: str, phones: list[str], count: int) -> list[tuple[bytes, str]]:
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


async def fire(url: str, bodies, concurrency: int, rate: float | None) -> dict:
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
                if answer.status not in (200, 204):  # the floors answer 200, carebot 204 (no reply)
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

def cpu_seconds(pid: int, *, main_thread: bool = False) -> float | None:
    """CPU time a process has used so far, all its threads or only its main one (where uvicorn runs the
    event loop); Linux's /proc, None elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/task/{pid}/stat" if main_thread else f"/proc/{pid}/stat")
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_phase(server: subprocess.Popen, url: str, bodies, concurrency: int, rate: float | None) -> dict:
    """One phase of requests at ``server``, with the server's CPU time per request.

    CPU per request is steadier than throughput on a shared machine: other
    work slows both servers' clocks, not what each request costs. The event
    loop's share (the main thread's) is kept apart from the other threads'
    (the database writer, carebot's inbound worker and sender).
    """
    before, loop_before = cpu_seconds(server.pid), cpu_seconds(server.pid, main_thread=True)
    result = asyncio.run(fire(url, bodies, concurrency, rate))
    after, loop_after = cpu_seconds(server.pid), cpu_seconds(server.pid, main_thread=True)
    if before is not None and after is not None and result["requests"]:
        result["cpu_us"] = 1e6 * (after - before) / result["requests"]
    if loop_before is not None and loop_after is not None and result["requests"]:
        result["loop_cpu_us"] = 1e6 * (loop_after - loop_before) / result["requests"]
    return result


def result_line(name: str, result: dict) -> str:
    cpu = f"  cpu {result['cpu_us']:>5.0f} µs/req" if "cpu_us" in result else ""
    if "loop_cpu_us" in result:
        cpu += f" (loop {result['loop_cpu_us']:.0f})"
    return (f"{name:<36} {result['requests']:>6} req  {result['throughput']:>6.0f} req/s  "
            f"p50 {result['p50_ms']:>6.1f} ms  p99 {result['p99_ms']:>6.1f} ms  errors {result['errors']}{cpu}")
