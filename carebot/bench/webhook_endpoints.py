"""The webhook benchmark's baselines and stand-in, each served apart from carebot.

``bare_app`` only answers 200; ``floor_app``, the durable floor, commits each text (``FloorWriter``)
before answering; ``signed_floor_app`` is the floor plus the two things carebot cannot leave out (the
signature checked with twilio's ``RequestValidator``, once; the number and the words encrypted and the
number's keyed hash made), to show what of carebot's cost they explain; ``TwilioStandIn`` answers the sender's creates as
Twilio would. uvicorn serves the three apps as ``carebot.bench.webhook_endpoints:<app>`` (``python -m carebot.bench webhook``).
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import os
import queue
import sqlite3
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

from multidict import MultiDict
from twilio.request_validator import RequestValidator

from carebot.runtime.heap import leave_start_up_out_of_collections
from carebot.store.crypto import Keyring


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


class FloorWriter:
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
        conn.execute("CREATE TABLE IF NOT EXISTS texts (sid TEXT PRIMARY KEY, sender TEXT, sender_hash TEXT, body TEXT)")
        return conn

    def write(self, rows: list[tuple]) -> None:
        """Commit ``rows`` (sid, sender, its keyed hash or None, body) in one transaction; a sid stored already
        is ignored."""
        self.conn.execute("BEGIN")
        try:
            self.conn.executemany("INSERT OR IGNORE INTO texts (sid, sender, sender_hash, body) VALUES (?, ?, ?, ?)",
                                  rows)
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


_floor: FloorWriter | None = None  # the floor's writer, made at its start-up
SIGNED_AT = "http://x"  # the public URL the benchmark signs the baselines' webhooks for


async def _floor_lifespan(receive, send) -> None:
    global _floor
    while (await receive())["type"] != "lifespan.shutdown":
        _floor = FloorWriter(os.environ[FLOOR_DB])
        leave_start_up_out_of_collections()  # as carebot serve does: the floor does all carebot may do
        await send({"type": "lifespan.startup.complete"})
    await send({"type": "lifespan.shutdown.complete"})


async def _read_form(receive) -> list[tuple[str, str]]:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return parse_qsl(b"".join(chunks).decode("utf-8", "replace"), keep_blank_values=True)


async def _answer(send, status: int) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


async def floor_app(scope, receive, send) -> None:
    """The durable floor: parses the form, has ``FloorWriter`` commit the text, answers 200."""
    if scope["type"] == "lifespan":
        await _floor_lifespan(receive, send)
        return
    form = dict(await _read_form(receive))
    if _floor is None:
        raise RuntimeError("the durable floor answers only once its lifespan has started")
    await _floor.store((form.get("MessageSid"), form.get("From"), None, form.get("Body")))
    await _answer(send, 200)


@functools.cache
def _signing() -> tuple[RequestValidator, Keyring]:
    return RequestValidator(os.environ["TWILIO_AUTH_TOKEN"]), Keyring(os.environ["CAREBOT_SECRET_KEY"])


async def signed_floor_app(scope, receive, send) -> None:
    """The floor plus what carebot must add: the signature checked once (403 when wrong), the number and the
    words encrypted and the number's keyed hash made; nothing else of carebot's."""
    if scope["type"] == "lifespan":
        await _floor_lifespan(receive, send)
        return
    fields = MultiDict(await _read_form(receive))
    validator, keyring = _signing()
    signature = dict(scope["headers"]).get(b"x-twilio-signature", b"").decode("latin-1")
    expected = validator.compute_signature(SIGNED_AT + scope["path"], fields)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        await _answer(send, 403)
        return
    if _floor is None:
        raise RuntimeError("the durable floor answers only once its lifespan has started")
    sender = fields.get("From", "")
    await _floor.store((fields.get("MessageSid"), keyring.encrypt(sender), keyring.lookup_hash(sender),
                        keyring.encrypt(fields.get("Body", ""))))
    await _answer(send, 200)


class TwilioStandIn(BaseHTTPRequestHandler):
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


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # the sender's pooled connections are reset when the run ends; that is expected
