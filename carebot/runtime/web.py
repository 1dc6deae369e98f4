"""The ASGI app: Twilio's webhooks in, an empty TwiML answer out, fast.

A call is the exception: the caller waits on the line, so a call's webhook
is acted on at once (carebot/dispatch/calls.py) and answered with the TwiML
that speaks the replies and the next menu.

Each webhook is checked (signature against the public URL), handed to the
channel module to read, then stored in the inbound queue in one short
transaction; the inbound worker (``serve.run_inbound``) runs the dispatcher on
it. Replies go through the outbox, never in the HTTP answer, so neither the
dispatcher nor a slow provider slows a webhook.
Database work runs off the event loop, which stays free: the texts coming in
are stored on a thread of their own, through one connection kept open
(``HeldConnection``), so a webhook never waits behind the inbound worker's
batch or the sender's pass; the rest runs on the database worker (one thread on
SQLite, where a webhook's short insert is the only other writer).

``/healthz`` and ``/metrics`` say how the process and the database are; they
name no member, and the reverse proxy serves them to the local network only
(deploy/).
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import parse_qsl

from multidict import MultiDict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from carebot.channels.twilio import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    WebhookVerifier,
    parse_inbound,
    parse_status,
)
from carebot.channels.voice import VOICE_PATH, parse_call, parse_call_status
from carebot.dispatch.calls import CallDesk
from carebot.dispatch.dispatcher import Dispatcher
from carebot.dispatch.inbound_backlog import inbound_backlog
from carebot.domain import clock, metrics
from carebot.domain.phone import sender_refusal
from carebot.outbox.backlog import backlog
from carebot.outbox.status import apply_status
from carebot.store.db import UNAVAILABLE, storage_trouble
from carebot.store.group_commit import WriterThread
from carebot.store.inserts import HeldConnection
from carebot.store.queries import requests_waiting

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
# Twilio's forms have some 20 fields (60 with ten pictures); reading tens of thousands
# of them costs a forged request more than everything else together.
MAX_FIELDS = 128
FORM = b"application/x-www-form-urlencoded"  # what Twilio posts
REFUSALS_LOGGED_EVERY = 60.0  # seconds between two lines about refused webhooks
# A text's webhook is answered "204 No Content", Twilio's documented answer that sends no reply
# (carebot replies through the outbox): no TwiML to write, one send on the socket fewer per text.
# The status and call-status callbacks, whose answer Twilio ignores, get the same.
TAKEN = (204, "", "")

Lifespan = Callable[[Starlette], AbstractAsyncContextManager[None]]

# Whether a sender is an SMS number carebot serves, remembered for the numbers seen lately: reading
# one with phonenumbers costs about 30 µs, a tenth of a webhook, and members text from the same
# numbers again and again. Kept in memory only, never written or logged; a bounded LRU.
SENDERS_REMEMBERED = 4096
_sender_refusal = functools.lru_cache(maxsize=SENDERS_REMEMBERED)(sender_refusal)


M = TypeVar("M")  # what a text is to the store: an Inbound to the dispatcher
M_contra = TypeVar("M_contra", contravariant=True)


class InboundStore(Protocol[M_contra]):
    """What stores texts: the dispatcher (or a test's stand-in for it). ``prepare_inbound`` makes a text's row
    ready (on the caller's loop); ``store_prepared`` stores a batch of them in one commit (on the writer thread)."""

    def prepare_inbound(self, message: M_contra, /) -> Any: ...

    def store_prepared(self, prepared: list[Any], /) -> list[int | None]: ...


class InboundWriter(WriterThread[Any, "int | None"], Generic[M]):
    """Stores the webhooks' (and Signal's) texts, many to a commit, on a thread of its own
    (``store.group_commit.WriterThread``).

    A burst shares transactions instead of queueing one commit per request;
    a lone text is written at once, as in the benchmark's durable floor. A
    text's row is made ready (encrypted, hashed) by its caller on the event
    loop, while the thread is in its last commit's disk flush, so that the
    thread every webhook waits for only runs statements (``python -m
    carebot.bench webhook``). ``on_close`` runs on the thread as it ends
    (serve: the held connection is closed).
    """

    def __init__(self, store: InboundStore[M], *, on_close: Callable[[], None] | None = None) -> None:
        super().__init__(store.store_prepared, "carebot-inbound", on_close=on_close)
        self._prepare = store.prepare_inbound

    async def store(self, message: M) -> int | None:
        """Store ``message``; its row id once committed, or None when it is a duplicate."""
        return await self.submit(self._prepare(message))

    async def calm(self, quiet: float, longest: float) -> None:
        """Wait until no text has been stored for ``quiet`` seconds, or ``longest`` seconds at most."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + longest
        while (now := loop.time()) < deadline:
            calm_at = now + quiet if self.writing else self.last_write + quiet
            if now >= calm_at:
                return
            await asyncio.sleep(min(calm_at, deadline) - now)


class RefusalLog:
    """Refused webhooks: each one counted in ``/metrics`` at once, logged at most once every ``every`` seconds.

    A line per forged request would let a flood write thousands a minute, and
    journald's rate limit would then drop the real lines among them. Each line
    says how many of each reason since the last one.
    """

    def __init__(self, every: float = REFUSALS_LOGGED_EVERY, *, now: Callable[[], float] | None = None,
                 say: Callable[[str], None] | None = None) -> None:
        self.every = every
        self._now = now or (lambda: asyncio.get_running_loop().time())
        self._say = say or log.warning
        self._since: collections.Counter[str] = collections.Counter()
        self._last: float | None = None

    def refused(self, reason: str) -> None:
        metrics.webhook_refused(reason)
        self._since[reason] += 1
        now = self._now()
        if self._last is not None and now - self._last < self.every:
            return
        self._last = now
        counts = ", ".join(f"{count} {why}" for why, count in sorted(self._since.items()))
        # A wrong token (or public URL) refuses Twilio's own texts as forged: say where to look.
        hint = (": if members' texts go unanswered, TWILIO_AUTH_TOKEN or CAREBOT_PUBLIC_URL is wrong "
                "(`carebot check` tells)") if "bad_signature" in self._since else ""
        self._since.clear()
        self._say(f"webhooks refused, forged or malformed, since the last such line: {counts}{hint}")


REFUSED = {  # reason: (status, answer)
    "no_signature": (403, "The signature is missing or wrong."),
    "bad_signature": (403, "The signature is missing or wrong."),
    "content_type": (415, "A webhook is a form: application/x-www-form-urlencoded."),
    "too_large": (413, "A webhook is never this large."),
    "too_many_fields": (413, "A webhook never has this many fields."),
}
_NO_FORM: MultiDict[str] = MultiDict()  # a refused request's: never read
_READ_HEADERS = {b"content-type", b"content-length", SIGNATURE_HEADER, SIGNATURE_SETTINGS_HEADER}


def _cheap_refusal(headers: Mapping[bytes, bytes]) -> str | None:
    """Why a request cannot be one of Twilio's webhooks, from its headers alone; None when it may be."""
    if not headers.get(SIGNATURE_HEADER):
        return "no_signature"
    if headers.get(b"content-type", b"").split(b";")[0].strip().lower() != FORM:
        return "content_type"
    length = headers.get(b"content-length", b"0")
    if not length.isdigit() or int(length) > MAX_BODY:
        return "too_large"
    return None


class Webhook:
    """One of Twilio's webhooks as a bare ASGI app: check the request, read the form, ``handle`` it.

    Plain ASGI, not a Starlette endpoint, because webhooks are carebot's hot
    path: skipping the framework's request objects, middleware and routing takes
    about a quarter off each one's cost (``python -m carebot.bench webhook``).
    What the headers alone can refuse (no signature, not a form, too large) is
    refused before the body is read; then the form is read once and its
    signature checked with one HMAC. ``handle(form, query)`` answers (status,
    text, media type). When it raises, the answer is 503, so Twilio tries its
    fallback URL or the message again.
    """

    def __init__(self, verifier: WebhookVerifier, handle: Callable[..., Awaitable[tuple[int, str, str]]],
                 refusals: RefusalLog | None = None) -> None:
        self.verifier = verifier
        self.handle = handle
        self.refusals = refusals or RefusalLog()

    async def __call__(self, scope, receive, send) -> None:
        query = scope.get("query_string", b"").decode("latin-1")
        refusal, fields = await self._check(scope, receive, query)
        if refusal is not None:
            self.refusals.refused(refusal)
            status, text = REFUSED[refusal]
            media = "text/plain"
        else:
            try:  # the form: a repeated field's first value, as Twilio means it
                status, text, media = await self.handle(fields, dict(parse_qsl(query)) if query else {})
            except Exception as error:  # the database is away: nothing was stored, Twilio comes back
                log.error("webhook not taken (%s): answered 503", type(error).__name__)
                status, text, media = 503, "carebot cannot take this right now.", "text/plain"
        data = text.encode()
        answer = ([] if status == 204 else  # no content, so no header about it (RFC 9110, 8.6)
                  [(b"content-type", media.encode() + b"; charset=utf-8"), (b"content-length", str(len(data)).encode())])
        await send({"type": "http.response.start", "status": status, "headers": answer})
        await send({"type": "http.response.body", "body": data})

    async def _check(self, scope, receive, query: str) -> tuple[str | None, MultiDict[str]]:
        """(why the request is refused, or None; its form), cheapest checks first."""
        headers = {name: value for name, value in scope["headers"] if name in _READ_HEADERS}
        refusal = _cheap_refusal(headers)
        if refusal is not None:
            return refusal, _NO_FORM
        body = await _read_body(receive)
        if body is None:
            return "too_large", _NO_FORM
        if body.count(b"&") >= MAX_FIELDS:
            return "too_many_fields", _NO_FORM
        # Twilio posts small url-encoded forms; the standard library reads them, into one MultiDict that both
        # the signature (each distinct value of a repeated field) and the handler (its first value) read.
        fields = MultiDict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        settings = headers.get(SIGNATURE_SETTINGS_HEADER)
        if not self.verifier.valid(scope["path"], query, fields, headers[SIGNATURE_HEADER].decode("latin-1"),
                                   settings and settings.decode("latin-1")):
            return "bad_signature", _NO_FORM
        return None, fields


async def _read_body(receive) -> bytes | None:
    """The request's body; None when it is larger than any webhook (the rest is not read)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


class CarebotApp(Starlette):
    """Starlette, with Twilio's webhooks (POSTs to their paths) answered before its middleware and routing."""

    def __init__(self, *, webhooks: Mapping[str, Webhook], **kwargs) -> None:
        super().__init__(**kwargs)
        self.webhooks = dict(webhooks)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in self.webhooks:
            await self.webhooks[scope["path"]](scope, receive, send)
        else:  # everything else, including a GET to a webhook's path (405), goes the usual way
            await super().__call__(scope, receive, send)


def _runner(executor: ThreadPoolExecutor) -> Callable[..., Awaitable]:
    """Awaits a function and its arguments run on ``executor``'s thread(s)."""

    async def run(function, *args):
        return await asyncio.get_running_loop().run_in_executor(executor, function, *args)

    return run


def create_app(
    *,
    dispatcher: Dispatcher,
    verifier: WebhookVerifier,
    on_inbound: Callable[[], None] | None = None,
    now: Callable = clock.now,
    workers: int = 1,
    lifespan: Lifespan | None = None,
    webhooks: bool = True,
) -> Starlette:
    """The webhook app. ``on_inbound`` runs after each newly stored text (it wakes the inbound worker).

    Without ``webhooks`` (a worker process) it serves only /healthz and /metrics.
    """
    db = dispatcher.db
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="carebot-db")
    dispatcher.queue_connection = held = HeldConnection(db.engine)
    in_worker = _runner(executor)
    writer = InboundWriter(dispatcher, on_close=held.close)
    desk = CallDesk(dispatcher)

    async def sms(form, query) -> tuple[int, str, str]:
        message = parse_inbound(form, now())
        if message is None:
            return 400, "Not a Twilio message: MessageSid and From are needed.", "text/plain"
        refusal = _sender_refusal(message.sender)
        if refusal is not None:  # taken and dropped: an error would only bring it back by the fallback URL
            metrics.message_refused(message.channel, refusal)
            log.info("text refused: its sender is no SMS number carebot serves (%s)", refusal)
            return TAKEN
        stored = await writer.store(message) is not None
        metrics.received(message.channel, stored)
        if stored and on_inbound is not None:
            on_inbound()
        return TAKEN

    async def status(form, query) -> tuple[int, str, str]:
        report = parse_status(form, query)
        call = parse_call_status(form) if report is None else None
        if call is not None:  # the number's status callback reports its calls too
            await in_worker(desk.ended, call, now())
            return TAKEN
        if report is None:
            return 400, "Not a Twilio status callback: MessageSid and MessageStatus are needed.", "text/plain"
        await in_worker(apply_status, db, report)
        return TAKEN

    async def voice(form, query) -> tuple[int, str, str]:
        """A call's webhook: answered at once with TwiML, since the caller is waiting on the line."""
        call = parse_call(form, query)
        if call is None:
            return 400, "Not a Twilio call: CallSid and From are needed.", "text/plain"
        return 200, await in_worker(desk.answer, call, now()), "text/xml"

    def queues() -> dict[str, dict[str, int]]:
        """The outbox's backlog and the inbound queue's, for /healthz."""
        db.check_writes()  # a webhook is a write: health is whether one could be stored now
        with db.transaction() as session:
            at = now()
            return {"outbox": backlog(session, at), "inbound": inbound_backlog(session, at).as_health()}

    async def healthz(request: Request) -> Response:
        """The database, the Signal connection, the outbox's backlog and the inbound queue; 503 only when the
        database is away (texts waiting or given up are for /metrics' alerts: deploy/README.md)."""
        try:
            backlogs = await in_worker(queues)
        except Exception as error:
            kind = storage_trouble(error) or UNAVAILABLE  # a full disk or a read-only database is said so
            log.warning("health check: the database cannot take a write (%s: %s)", type(error).__name__, kind)
            return JSONResponse({"status": "database unavailable", "database": kind}, status_code=503)
        answer: dict = {"status": "ok", "database": "ok", "role": getattr(request.app.state, "role", "all")}
        signal = getattr(request.app.state, "signal", None)
        election = getattr(request.app.state, "leadership", None)
        if election is not None:
            answer["leader"] = election.leading
        if signal is not None:  # SMS still serves while Signal is down, so still 200
            answer["signal"] = signal.status
            metrics.signal_connected(signal.status != "down")
            if signal.probe_status is not None:  # the optional round-trip check (deploy/signal.md)
                answer["signal_probe"] = {"status": signal.probe_status, "round_trip": signal.probe_round_trip}
        elif election is not None and not election.leading:
            answer["signal"] = "standby"  # another process holds it, if Signal is configured
        if db.lease is not None:  # a process that sends: it sends nothing while its lease is lost (store/lease.py)
            answer["sender"] = "lease lost" if db.lease.lost else "ok"
        answer.update(backlogs)
        return JSONResponse(answer)

    def scrape_gauges() -> None:
        """The gauges read from the shared database at scrape time: the backlogs and the waiting requests."""
        with db.transaction() as session:
            at = now()
            backlog(session, at)
            inbound = inbound_backlog(session, at)
            metrics.inbound_queue(inbound.waiting, inbound.oldest_seconds, inbound.given_up_24h)
            waiting = requests_waiting(session, at).values()
            oldest = min((since for _, since in waiting), default=at)
            metrics.requests_waiting(sum(count for count, _ in waiting), (at - oldest).total_seconds())

    async def metrics_page(request: Request) -> Response:
        try:
            await in_worker(scrape_gauges)
        except Exception as error:  # the counters are still worth having
            log.warning("metrics: the database does not answer (%s)", type(error).__name__)
        signal = getattr(request.app.state, "signal", None)
        metrics.signal_connected(signal.status != "down" if signal is not None else None)
        return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)

    @asynccontextmanager
    async def life(app: Starlette) -> AsyncIterator[None]:
        try:
            if lifespan is None:
                yield
            else:
                async with lifespan(app):
                    yield
        finally:
            writer.close()  # the texts it was given are stored first; then the held connection is closed
            executor.shutdown(wait=True)

    routes = [Route("/healthz", healthz, methods=["GET"]), Route("/metrics", metrics_page, methods=["GET"])]
    refusals = RefusalLog()
    hooks = ({"/twilio/sms": Webhook(verifier, sms, refusals), "/twilio/status": Webhook(verifier, status, refusals),
              VOICE_PATH: Webhook(verifier, voice, refusals)}
             if webhooks else {})
    routes += [Route(path, hook, methods=["POST"]) for path, hook in hooks.items()]
    app = CarebotApp(webhooks=hooks, routes=routes, lifespan=life)
    app.state.in_worker = in_worker  # for the lifespan's database work
    app.state.inbound_writer = writer  # stores Signal's texts too; the inbound worker gives way to it
    return app
