"""The ASGI app: Twilio's webhooks in, an empty TwiML answer out, fast.

Each webhook is checked (signature against the public URL), handed to the
channel module to read, then stored in the inbound queue in one short
transaction; the inbound worker (``serve.run_inbound``) runs the dispatcher on
it. Replies go through the outbox, never in the HTTP answer, so neither the
dispatcher nor a slow provider slows a webhook.
Database work runs on one worker thread: the event loop stays free, and SQLite
sees one writer at a time instead of threads queueing on its lock.

``/healthz`` and ``/metrics`` say how the process and the database are; they
name no member, and the reverse proxy serves them to the local network only
(deploy/).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from carebot import clock, metrics
from carebot.channels import Inbound
from carebot.channels.twilio import WebhookVerifier, parse_inbound, parse_status
from carebot.dispatcher import Dispatcher
from carebot.outbox import apply_status

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

Lifespan = Callable[[Starlette], AbstractAsyncContextManager[None]]


class InboundWriter:
    """Stores the webhooks' texts, many to a commit: a small group-commit writer.

    While one batch is being written on the database worker, the texts that
    arrive meanwhile gather into the next one. A lone text is written at once;
    a burst shares transactions instead of queueing one commit per request.
    """

    def __init__(self, dispatcher: Dispatcher, in_db: Callable[..., Awaitable]) -> None:
        self._store = dispatcher.store_inbounds
        self._in_db = in_db
        self._gathering: list[tuple[Inbound, asyncio.Future]] = []
        self._writing: asyncio.Task | None = None
        self.last_store = 0.0  # the loop's time when the last batch was written

    async def store(self, message: Inbound) -> int | None:
        """Store ``message``; its row id once committed, or None when it is a duplicate."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._gathering.append((message, future))
        if self._writing is None:
            self._writing = loop.create_task(self._write())
        return await future

    async def _write(self) -> None:
        try:
            while self._gathering:
                batch, self._gathering = self._gathering, []
                try:
                    ids = await self._in_db(self._store, [message for message, _ in batch])
                except Exception as error:  # each request answers 500; Twilio tries again
                    ids, failed = None, error
                self.last_store = asyncio.get_running_loop().time()
                for index, (_, future) in enumerate(batch):
                    if future.done():  # the request went away meanwhile
                        continue
                    if ids is None:
                        future.set_exception(failed)
                    else:
                        future.set_result(ids[index])
        finally:
            self._writing = None

    async def calm(self, quiet: float, longest: float) -> None:
        """Wait until no text has been stored for ``quiet`` seconds, or ``longest`` seconds at most."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + longest
        while (now := loop.time()) < deadline:
            calm_at = now + quiet if self._writing is not None else self.last_store + quiet
            if now >= calm_at:
                return
            await asyncio.sleep(min(calm_at, deadline) - now)


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

    async def in_worker(function, *args):
        return await asyncio.get_running_loop().run_in_executor(executor, function, *args)

    writer = InboundWriter(dispatcher, in_worker)

    async def verified_form(request: Request):
        # Twilio posts small url-encoded forms; the standard library reads them,
        # and nothing larger than a webhook can be is read at all.
        body = await request.body()
        if len(body) > MAX_BODY:
            return None
        form = ImmutableMultiDict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if not verifier.valid(request.url.path, request.url.query, form, request.headers):
            log.warning("webhook with a missing or wrong signature refused (%s)", request.url.path)
            return None
        return form

    async def sms(request: Request) -> Response:
        form = await verified_form(request)
        if form is None:
            return PlainTextResponse("The signature is missing or wrong.", status_code=403)
        message = parse_inbound(form, now())
        if message is None:
            return PlainTextResponse("Not a Twilio message: MessageSid and From are needed.", status_code=400)
        stored = await writer.store(message) is not None
        metrics.received(message.channel, stored)
        if stored and on_inbound is not None:
            on_inbound()
        return Response(EMPTY_TWIML, media_type="text/xml")

    async def status(request: Request) -> Response:
        form = await verified_form(request)
        if form is None:
            return PlainTextResponse("The signature is missing or wrong.", status_code=403)
        report = parse_status(form, request.query_params)
        if report is None:
            return PlainTextResponse("Not a Twilio status callback: MessageSid and MessageStatus are needed.",
                                     status_code=400)
        await in_worker(apply_status, db, report)
        return Response(status_code=204)

    def outbox_backlog() -> dict[str, int]:
        with db.transaction() as session:
            return metrics.backlog(session, now())

    async def healthz(request: Request) -> Response:
        """The database, the Signal connection and the outbox backlog; 503 only when the database is away."""
        try:
            backlog = await in_worker(outbox_backlog)
        except Exception as error:
            log.warning("health check: the database does not answer (%s)", type(error).__name__)
            return JSONResponse({"status": "database unavailable", "database": "unavailable"}, status_code=503)
        answer: dict = {"status": "ok", "database": "ok", "role": getattr(request.app.state, "role", "all")}
        signal = getattr(request.app.state, "signal", None)
        election = getattr(request.app.state, "leadership", None)
        if election is not None:
            answer["leader"] = election.leading
        if signal is not None:  # SMS still serves while Signal is down, so still 200
            answer["signal"] = signal.status
            metrics.SIGNAL_UP.set(1 if signal.status != "down" else 0)
        elif election is not None and not election.leading:
            answer["signal"] = "standby"  # another process holds it, if Signal is configured
        answer["outbox"] = backlog
        return JSONResponse(answer)

    async def metrics_page(request: Request) -> Response:
        try:
            await in_worker(outbox_backlog)
        except Exception as error:  # the counters are still worth having
            log.warning("metrics: the database does not answer (%s)", type(error).__name__)
        signal = getattr(request.app.state, "signal", None)
        metrics.SIGNAL_UP.set(1 if signal is not None and signal.status != "down" else 0)
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
            executor.shutdown(wait=True)

    routes = [Route("/healthz", healthz, methods=["GET"]), Route("/metrics", metrics_page, methods=["GET"])]
    if webhooks:
        routes += [Route("/twilio/sms", sms, methods=["POST"]), Route("/twilio/status", status, methods=["POST"])]
    app = Starlette(routes=routes, lifespan=life)
    app.state.in_worker = in_worker  # for the lifespan's own inbound work (the Signal channel)
    app.state.inbound_writer = writer  # the inbound worker gives way to it
    return app
