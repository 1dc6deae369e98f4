"""carebot's HTTP protocol cuts off a client too slow to send its request, and nobody else (#15, case 6).

A real uvicorn on 127.0.0.1 with a deadline of half a second, so this runs in
about two seconds of real time; tests/faults/test_floods.py has the flood.
"""

from __future__ import annotations

import asyncio
import contextlib

import uvicorn

from carebot.domain import metrics
from carebot.runtime.connections import GuardedH11Protocol, uvicorn_limits

DEADLINE = 0.5
# The test's keep-alive: far longer than the idle spell below (DEADLINE * 1.2), so only carebot's deadline
# could cut that connection, however long a busy machine holds this process between the two.
KEEP_ALIVE = 10
# How long the client waits for what it expects (an answer, the cut): only a real failure waits this out.
PATIENCE = 30


class Quick(GuardedH11Protocol):
    request_seconds = DEADLINE


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    if scope["path"] == "/slow":
        await asyncio.sleep(DEADLINE * 3)  # a slow database: not the client's doing
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


@contextlib.asynccontextmanager
async def server():
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off",
                            **{**uvicorn_limits(4096), "http": Quick, "timeout_keep_alive": KEEP_ALIVE})
    served = uvicorn.Server(config)
    task = asyncio.create_task(served.serve())
    while not served.started:
        await asyncio.sleep(0.01)
    port = served.servers[0].sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        served.should_exit = True
        await task


def dropped() -> float:
    return metrics.REGISTRY.get_sample_value("carebot_connections_dropped_total") or 0.0


async def answer(reader) -> bytes:
    return await asyncio.wait_for(reader.readuntil(b"ok"), PATIENCE)


def test_half_a_request_is_cut_off_at_the_deadline_and_counted():
    async def go():
        async with server() as port:
            before = dropped()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"POST /x HTTP/1.1\r\nHost: a\r\n")
            await asyncio.sleep(DEADLINE / 2)
            writer.write(b"X-Slow: 1\r\n")  # trickling does not buy more time
            assert await asyncio.wait_for(reader.read(), PATIENCE) == b""  # cut off (by the deadline: counted)
            writer.close()
            assert dropped() == before + 1

    asyncio.run(go())


def test_a_whole_request_is_answered_however_long_the_answer_takes_and_the_connection_kept():
    async def go():
        async with server() as port:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"POST /slow HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
            assert (await answer(reader)).startswith(b"HTTP/1.1 200")
            await asyncio.sleep(DEADLINE * 1.2)  # idle between requests, within keep-alive
            writer.write(b"GET /again HTTP/1.1\r\nHost: a\r\n\r\n")
            assert (await answer(reader)).startswith(b"HTTP/1.1 200")
            writer.close()

    asyncio.run(go())
