"""The ASGI app: Twilio's webhooks in, an empty TwiML answer out, fast.

Each webhook is checked (signature against the public URL), handed to the
channel module to read, then to the one dispatcher; replies go through the
outbox, never in the HTTP answer, so a slow provider never slows a webhook.
Database work runs on one worker thread: the event loop stays free, and SQLite
sees one writer at a time instead of threads queueing on its lock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from urllib.parse import parse_qsl

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from carebot import clock
from carebot.channels.twilio import WebhookVerifier, parse_inbound, parse_status
from carebot.dispatcher import Dispatcher
from carebot.outbox import apply_status

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

Lifespan = Callable[[Starlette], AbstractAsyncContextManager[None]]


def create_app(
    *,
    dispatcher: Dispatcher,
    verifier: WebhookVerifier,
    on_inbound: Callable[[], None] | None = None,
    now: Callable = clock.now,
    workers: int = 1,
    lifespan: Lifespan | None = None,
) -> Starlette:
    """The webhook app. ``on_inbound`` runs after each new text (it wakes the sender)."""
    db = dispatcher.db
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="carebot-db")

    async def in_worker(function, *args):
        return await asyncio.get_running_loop().run_in_executor(executor, function, *args)

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
        if await in_worker(dispatcher.handle_inbound, message) and on_inbound is not None:
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

    def database_answers() -> None:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    async def healthz(request: Request) -> Response:
        try:
            await in_worker(database_answers)
        except Exception as error:
            log.warning("health check: the database does not answer (%s)", type(error).__name__)
            return JSONResponse({"status": "database unavailable"}, status_code=503)
        answer = {"status": "ok"}
        signal = getattr(request.app.state, "signal", None)
        if signal is not None:  # SMS still serves while Signal is down, so still 200
            answer["signal"] = signal.status
        return JSONResponse(answer)

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

    app = Starlette(
        routes=[
            Route("/twilio/sms", sms, methods=["POST"]),
            Route("/twilio/status", status, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=life,
    )
    app.state.in_worker = in_worker  # for the lifespan's own inbound work (the Signal channel)
    return app
