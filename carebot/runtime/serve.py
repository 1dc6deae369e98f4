"""``carebot serve``: the webhooks, the inbound worker, the ticker and the outbox sender.

One asyncio loop holds them all. A webhook only stores the text and wakes the
inbound worker, which runs the dispatcher on stored texts, oldest first, and
wakes the sender when replies are written. Only the sender loop delivers, so
one coroutine paces the sender number and settles rows a crash left in
``sending``; the ticker runs due timeouts and lapses, then wakes the sender.

Roles spread that over processes on PostgreSQL (design.md, "One process, and
how it grows"): ``web`` only stores webhooks; ``worker`` handles stored texts
and sends the outbox, and among the workers the one holding the advisory lock
(carebot/runtime/leader.py) also holds the Signal connection and the ticker; ``all``,
the default, is both. On SQLite only ``all`` runs: one process does everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from starlette.applications import Starlette

from carebot.channels import SIGNAL, SMS, VOICE, Channel, Inbound
from carebot.channels.signal import LET_GO_GRACE, SignalChannel
from carebot.channels.twilio import TwilioSMS, WebhookVerifier
from carebot.channels.voice import TwilioVoice
from carebot.dispatch.dispatcher import Dispatcher
from carebot.dispatch.inbound_backlog import waiting
from carebot.domain import clock, metrics
from carebot.domain.config import ConfigError, ServeSettings, load_serve_settings
from carebot.domain.logsafe import where
from carebot.domain.wakeups import woken
from carebot.outbox.backlog import backlog
from carebot.outbox.pause import load_pause, save_pause
from carebot.outbox.recovery import recover_sending
from carebot.outbox.safety_numbers import load_told, save_told
from carebot.outbox.sender import InDb, deliver_due, inline
from carebot.runtime.address import refuse_an_address_it_cannot_have
from carebot.runtime.connections import raise_open_files, uvicorn_limits
from carebot.runtime.heap import leave_start_up_out_of_collections
from carebot.runtime.leader import POLL_SECONDS, leadership
from carebot.runtime.ticker import TICK_SECONDS
from carebot.runtime.web import create_app
from carebot.store.crypto import lookup_hash
from carebot.store.db import Database, shown, start_up
from carebot.store.lease import Lease

log = logging.getLogger(__name__)

IDLE_SECONDS = 5.0  # how often the sender looks for due texts when nothing wakes it
LEASE_WATCH_SECONDS = 1.0  # how often the sender's lease is looked at (without a round trip) between passes
PASS_SECONDS = 5.0  # the texts one sender pass takes on, in seconds of sending at the configured rate
INBOUND_IDLE_SECONDS = 1.0  # how often the inbound worker looks for stored texts when nothing wakes it
# Texts the inbound worker handles in one transaction (one commit), enough to share the commit's
# cost in a round's rush; and the time after which it begins no more of them, so a webhook's store
# waits behind a batch no longer than that (and one text).
INBOUND_BATCH = 16
INBOUND_BUDGET = 0.02  # seconds
# While webhooks keep coming, the inbound worker waits for a pause this long
# before each text, but never longer than GIVE_WAY_AT_MOST: accepting a text is
# what must be fast (Twilio waits for it); handling it can follow a moment later.
GIVE_WAY_FOR = 0.02
GIVE_WAY_AT_MOST = 2.0

ALL, WEB, WORKER = "all", "web", "worker"
ROLES = (ALL, WEB, WORKER)


def check_role(role: str, url: str) -> None:
    """Refuse a role that cannot work on this database, in one line (ConfigError)."""
    if role not in ROLES:
        raise ConfigError(f"carebot serve: --role must be one of {', '.join(ROLES)}, not {role!r}")
    if role != ALL and not url.startswith("postgresql"):
        raise ConfigError(
            f"carebot serve: --role {role} needs PostgreSQL (CAREBOT_DATABASE_URL=postgresql+psycopg://...). "
            "On SQLite one process does everything: run carebot serve with --role all (the default).")


async def run_sender(
    db: Database,
    channels: Mapping[str, Channel],
    wake: asyncio.Event,
    *,
    rate: float = 1.0,
    default_tz: str = "UTC",
    now: Callable[[], datetime] = clock.now,
    idle: float = IDLE_SECONDS,
    only: Callable[[], Collection[str] | None] = lambda: None,
    in_db: InDb = inline,
) -> None:
    """Deliver the outbox until cancelled: at once when woken, else every ``idle`` seconds.

    Each pass first settles rows a crash left in ``sending``, then sends what
    is due, replies first. A pass holds about ``PASS_SECONDS`` of texts at
    ``rate``, so a member who texts during a round's thousands of texts hears
    back within a pass or two; a pass that sent something is followed at once
    by the next. ``only()`` names the channels whose texts this process sends
    (None: all): a worker that is not the leader leaves Signal's texts to the
    one that holds the Signal connection. ``in_db`` runs the database steps
    (serve: on the webhooks' database worker). No pass runs while this
    process's sender lease is lost; it is taken again before the next pass,
    or by ``watch_lease`` while a pass waits on a provider.
    """
    limit = max(10, int(rate * PASS_SECONDS))
    concurrency = min(32, max(1, math.ceil(rate)))
    lease = getattr(db, "lease", None)  # (tests/faults/test_quiet_logs.py runs the loop with no database)
    watch = asyncio.create_task(watch_lease(lease, LEASE_WATCH_SECONDS)) if lease is not None else None
    try:
        while True:
            sent = 0
            try:
                # Nothing is settled or sent without the lease (carebot/store/lease.py): others may
                # take this process for gone while it is lost.
                if await holds_lease(lease):
                    await recover_sending(db, channels, now(), in_db=in_db)
                    sent = await deliver_due(db, channels, now(), default_tz=default_tz, limit=limit,
                                             concurrency=concurrency, only=only(), in_db=in_db)
            except Exception as error:  # one bad pass must not stop the next one
                log.error("sender pass failed: %s", where(error))
            if not sent:
                await woken(wake, idle)
            wake.clear()
    finally:
        if watch is not None:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch


async def holds_lease(lease: Lease | None) -> bool:
    """Whether this process may send: it holds its lease (taken again if it was lost), or has none."""
    if lease is None:
        return True
    held = await asyncio.to_thread(lease.keep)
    metrics.SENDER_LEASE_LOST.set(0 if held else 1)
    return held


async def watch_lease(lease: Lease, every: float) -> None:
    """Between passes too (a pass may wait on a provider for its HTTP timeout): a lost lease is taken
    again within ``every`` seconds, so that others see this process alive again and leave its
    texts on their way alone."""
    while True:
        await asyncio.sleep(every)
        try:
            if not lease.intact():
                await holds_lease(lease)
        except Exception as error:  # the next look tries again; the pass checks for itself too
            log.error("sender lease check failed: %s", where(error))


async def run_inbound(
    dispatcher: Dispatcher,
    in_db: Callable[..., Awaitable],
    wake: asyncio.Event,
    replies: asyncio.Event,
    *,
    give_way: Callable[[], Awaitable] | None = None,
    idle: float = INBOUND_IDLE_SECONDS,
) -> None:
    """Handle stored inbound texts until cancelled: at once when woken, else every ``idle`` seconds.

    ``in_db`` runs a function on the database worker the webhooks use. A small
    batch per call (``INBOUND_BATCH`` texts, one commit, begun within
    ``INBOUND_BUDGET``), so a webhook's store waits little behind it;
    ``give_way`` is awaited before each batch (a pause in the webhooks).
    The first pass takes up whatever a crash or a restart left stored.
    """
    while True:
        wake.clear()  # before the pass: a text stored during it wakes the next one
        try:
            while True:
                if give_way is not None:
                    await give_way()
                if not await in_db(dispatcher.process_pending, INBOUND_BATCH, INBOUND_BATCH, INBOUND_BUDGET):
                    break
                replies.set()
        except Exception as error:  # one bad pass must not stop the next one
            log.error("inbound pass failed (%s)", type(error).__name__)
        await woken(wake, idle)


def start_beat(dispatcher: Dispatcher, wake: asyncio.Event, now: Callable[[], datetime],
               in_db: InDb = inline) -> AsyncIOScheduler:
    """The ticker: due timeouts and lapses every minute, then the sender is woken.

    Each beat also empties SQLite's write-ahead log (``Database.checkpoint``),
    which would otherwise keep texts carebot has cleared.

    It leaves delivery to ``run_sender``, so that only one coroutine sends. ``in_db`` runs the database work (serve: on
    the webhooks' database worker, so a round never holds up the event loop).
    """

    async def beat() -> None:  # a coroutine, so it runs on the loop that owns ``wake``
        try:
            moment = now()
            due = await in_db(dispatcher.next_due)
            await in_db(dispatcher.run_due, moment)
            metrics.ticked((moment - due).total_seconds() if due is not None else 0.0)
            await in_db(dispatcher.db.checkpoint)  # texts handled since the last beat leave the disk
        except asyncio.CancelledError:
            # carebot is stopping (Ctrl-C, SIGTERM) during a beat: its database work ends on the worker, in
            # its own transaction. Returned, not raised: APScheduler logs whatever a job raises as a traceback.
            log.debug("tick stopped: carebot is stopping")
            return
        except Exception as error:
            log.error("tick failed: %s", where(error))
        wake.set()

    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(beat, "interval", seconds=TICK_SECONDS, coalesce=True, max_instances=1,
                      next_run_time=now(), id="tick")
    scheduler.start()
    return scheduler


# What becomes of the texts a stopping process leaves waiting, by its role.
LEFT_FOR = {ALL: "and handled at the next start", WORKER: "and handled by another worker or at the next start",
            WEB: "for the workers"}


async def say_stopped(db: Database, role: str) -> None:
    """The one INFO line as serve stops: how many texts received wait to be handled, and how many texts due
    wait to go out, and that both are kept (counts, nothing of them).

    Both, because an outside tester read "no text is waiting" as nothing owed while 19 replies were still
    to go. Counted on a thread of its own, not the database worker, which may still be finishing a batch
    held up by a lock. When the database does not answer, the line says so, with no count.
    """
    fate = LEFT_FOR[role]
    try:
        received, due = await asyncio.to_thread(_count_waiting, db)
    except Exception as error:  # stopping goes on: the texts stored are in the database, whatever this says
        log.info("carebot stopped; the texts waiting could not be counted (the database does not answer: %s); "
                 "those stored are kept %s", type(error).__name__, fate)
        return
    said = (f"{received} {'text received is' if received == 1 else 'texts received are'} kept {fate}" if received
            else "no text received is waiting to be handled")
    going = (f"{due} {'text' if due == 1 else 'texts'} due to go out {'is' if due == 1 else 'are'} kept and sent "
             "when carebot runs again" if due else "none is due to go out")
    log.info("carebot stopped; %s; %s", said, going)


def _count_waiting(db: Database) -> tuple[int, int]:
    """(texts received not yet handled, texts due to go out: waiting for the sender or on their way)."""
    with db.transaction() as session:
        out = backlog(session, clock.now())
        return waiting(session), out["pending"] + out["sending"]


@dataclass
class _Held:
    """What the leader holds: the ticker and the Signal channel (a standby holds neither)."""

    beat: AsyncIOScheduler | None = None
    signal: SignalChannel | None = None

    def __bool__(self) -> bool:
        return self.beat is not None or self.signal is not None


def build_app(settings: ServeSettings, db: Database, *, role: str = ALL,
              now: Callable[[], datetime] = clock.now, leader_poll: float = POLL_SECONDS,
              signal_grace: float = LET_GO_GRACE) -> Starlette:
    """The process as one ASGI app for ``role``: its lifespan starts the workers the role runs."""
    check_role(role, db.url)
    token = settings.twilio_auth_token.get_secret_value()
    dispatcher = Dispatcher(db, default_timezone=settings.carebot_default_timezone,
                            retention_days=settings.carebot_retention_days)
    wake = asyncio.Event()
    inbound = asyncio.Event()
    signal_configured = bool(settings.signal_service and settings.signal_number)

    @contextlib.asynccontextmanager
    async def background(app: Starlette) -> AsyncIterator[None]:
        app.state.role = role
        if role == WEB:  # webhooks only: the workers poll the inbound queue
            log.debug("lifespan started (role web)")  # run() logged the one line at start
            try:
                yield
            finally:
                await say_stopped(db, role)
            return
        channel = TwilioSMS(
            account_sid=settings.twilio_account_sid,
            auth_token=token,
            public_url=settings.carebot_public_url,
            from_number=settings.twilio_from,
            messaging_service_sid=settings.twilio_messaging_service_sid,
            base_url=settings.twilio_api_base_url,
            rate=settings.twilio_send_rate,
        )
        channels: dict[str, Channel] = {SMS: channel}
        calls = None
        if settings.twilio_from:  # calls come from a number; a Messaging Service carries texts only
            calls = channels[VOICE] = TwilioVoice(
                account_sid=settings.twilio_account_sid, auth_token=token, public_url=settings.carebot_public_url,
                from_number=settings.twilio_from, base_url=settings.twilio_api_base_url,
                rate=settings.twilio_send_rate)
        held = _Held()

        async def signal_inbound(message: Inbound) -> None:
            # Stored as the webhooks' texts are: by their writer, many to a commit, off the loop.
            stored = await app.state.inbound_writer.store(message)
            metrics.received(SIGNAL, stored is not None)
            if stored is not None:
                inbound.set()

        def stop_for(problem: Exception) -> None:
            # The Signal service does not hold SIGNAL_NUMBER: serve stops and run() says why, in one line.
            app.state.fatal = problem
            stop = getattr(app.state, "stop", None)
            if stop is not None:
                stop()

        async def lead() -> None:
            metrics.LEADER.set(1)
            service, number = settings.signal_service, settings.signal_number
            if service and number:  # signal_configured, with both known here to be set
                # Attached in the background: carebot serves SMS while the Signal service is down.
                # A pause Signal asked for before a restart still holds (its own record, outbox.pause.save_pause),
                # and coordinators told of a member's changed safety number are not told again (their row).
                try:
                    pause = await app.state.in_worker(load_pause, db, SIGNAL)
                    told = await app.state.in_worker(load_told, db)
                except Exception as error:  # the database is away: nothing known; Signal says again if need be
                    log.warning("Signal's recorded pause cannot be read (%s)", type(error).__name__)
                    pause, told = None, set()
                signal = SignalChannel(service, number,
                                       on_inbound=signal_inbound, on_fatal=stop_for, now=now, pause=pause,
                                       on_pause=lambda state: app.state.in_worker(save_pause, db, SIGNAL, state),
                                       told_untrusted=told, blind=lookup_hash,
                                       on_told_untrusted=lambda key, at: app.state.in_worker(save_told, db, key, at),
                                       on_attached=election.listening,
                                       probe_from=settings.signal_probe_number,
                                       probe_every=settings.signal_probe_minutes * 60)
                await signal.start()
                channels[SIGNAL] = app.state.signal = held.signal = signal
            held.beat = start_beat(dispatcher, wake, now, app.state.in_worker)
            wake.set()

        async def follow() -> None:
            metrics.LEADER.set(0)
            beat, held.beat = held.beat, None
            if beat is not None:
                beat.shutdown(wait=False)
            signal, held.signal = held.signal, None
            channels.pop(SIGNAL, None)
            app.state.signal = None
            if signal is not None:
                # No text may arrive while the service is up and nobody listens (deploy/signal.md):
                # another worker may lead now, and this one keeps listening until the service has
                # stopped (it stops first) or the new leader is attached.
                await election.hand_over()
                await signal.let_go(signal_grace, handed_over=election.other_listens)
                await signal.close()

        def sends() -> Collection[str] | None:
            # A standby worker leaves Signal's texts to the leader, which holds the connection.
            return None if held or not signal_configured else (SMS,)

        # This process's sender lease: the rows it claims name it, so that once it is gone (a kill, a
        # restart) any sender settles them at once instead of after STUCK_AFTER (carebot/store/lease.py).
        db.lease = Lease(db.url)
        await asyncio.to_thread(db.lease.hold)
        sender = asyncio.create_task(run_sender(
            db, channels, wake, rate=settings.twilio_send_rate,
            default_tz=settings.carebot_default_timezone, now=now, only=sends, in_db=app.state.in_worker,
        ))
        writer = app.state.inbound_writer
        handler = asyncio.create_task(run_inbound(
            dispatcher, app.state.in_worker, inbound, wake,
            give_way=lambda: writer.calm(GIVE_WAY_FOR, GIVE_WAY_AT_MOST),
        ))
        election = leadership(db.url, lead, follow, poll=leader_poll)
        app.state.leadership = election
        # One try before serving, so a lone process serves already leading; then the standby's polling.
        await election.try_once()
        elected = asyncio.create_task(election.run())
        log.debug("lifespan started (role %s)", role)  # run() logged the one line at start
        try:
            yield
        finally:
            for task in (elected, handler, sender):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await election.release()  # in case the election's task was cancelled before it ran
            await channel.close()
            if calls is not None:
                await calls.close()
            db.lease.release()
            await say_stopped(db, role)  # the worker has stopped: what waits now waits for the next start

    workers = 1 if db.url.startswith("sqlite") else 8
    return create_app(dispatcher=dispatcher, verifier=WebhookVerifier(token, settings.carebot_public_url),
                      on_inbound=inbound.set, now=now, workers=workers, lifespan=background,
                      webhooks=role != WORKER)


def run(host: str, port: int, role: str = ALL) -> None:
    """Check the settings, the role, the database, its schema and the key, then serve until stopped.

    Each refusal (carebot.domain.startup.Refusal) is one clear line with its own exit
    code, raised before anything listens.
    """
    settings = load_serve_settings()
    check_role(role, settings.carebot_database_url)
    db = start_up(settings.carebot_database_url)
    try:
        refuse_an_address_it_cannot_have(host, port)  # after the refusals above, before the ticker and sender start
        app = build_app(settings, db, role=role)
        limits = uvicorn_limits(raise_open_files())
        log.info("%s", serving_line(settings, host, port, role))
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                               access_log=False, lifespan="on", **limits))
        app.state.fatal = None
        app.state.stop = lambda: setattr(server, "should_exit", True)
        leave_start_up_out_of_collections()  # last, once everything start-up makes is made
        server.run()
        if app.state.fatal is not None:  # e.g. SignalAccountMissing, with its own exit code
            raise app.state.fatal
    finally:
        db.dispose()


def serving_line(settings: ServeSettings, host: str, port: int, role: str) -> str:
    """The one INFO line at start: where, which role, which database (no password), Twilio, Signal.

    No number: the sender number and Signal's account are the operator's to look up, not the log's.
    """
    sender = (f"Messaging Service {settings.twilio_messaging_service_sid}" if settings.twilio_messaging_service_sid
              else "its number in TWILIO_FROM")
    twilio = f"{settings.twilio_api_base_url} account {settings.twilio_account_sid} through {sender}"
    signal = f"at {settings.signal_service}" if settings.signal_service else "off (SMS only)"
    return (f"carebot serving on http://{host}:{port}, role {role}, database {shown(settings.carebot_database_url)}, "
            f"Twilio {twilio}, webhooks signed for {settings.carebot_public_url}, Signal {signal}")
