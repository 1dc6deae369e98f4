"""The Signal channel: signal-cli-rest-api (json-rpc mode) through signalbot.

The only module that sees a Signal envelope or one of the service's error
texts. It runs inside ``carebot serve``'s event loop as one background task
that connects, checks the service (signalbot's ``about``), reads the receive
websocket, turns each member's private text into an :class:`Inbound` and hands
it to ``on_inbound``; and it sends one text, answering :class:`Sent` or a
classified :class:`SendError`.

Where it departs from ``SignalBot.start()`` and why (design.md's traps):

* ``bot.stop()`` stops the loop it runs in, which here is carebot's own: it
  is never called; :meth:`SignalChannel.close` cancels carebot's task and
  closes signalbot's HTTP session with ``bot.close()``.
* ``wait_until_ready()`` waits forever while the service is down: nothing
  waits on it. The receive task keeps retrying with backoff while carebot
  serves SMS, and :attr:`SignalChannel.status` says "down" meanwhile.
* signalbot's pipeline reads a sync message (a text the account's own phone
  sent) as if the recipient had written it, logs raw envelopes at INFO and may
  reorder texts across its consumers; so carebot reads the websocket itself,
  drops sync and group messages, and hands texts on in order, one at a time,
  still parsed by signalbot's own ``parse``.
* signalbot's send drops the error body (aiohttp's ``raise_for_status`` keeps
  only the reason phrase), and the body is what tells a rate limit from a
  captcha from an untrusted identity; so the text is posted here, with the
  payload signalbot's ``SendMessage`` builds (``signal_sending.py``).
* Replies go to the member's Signal UUID, never the number.
* In json-rpc mode every client attached to the account receives every
  message: run one ``carebot serve`` per Signal account (inbound dedupe on
  the envelope's timestamp and sender keeps a second one from acting twice).

:class:`SignalChannel` is this module's life and receiving, with sending and pauses from
``signal_sending.py`` and the round-trip probe from ``signal_probe.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import aiohttp
from packaging.version import InvalidVersion, Version
from signalbot import MIN_SIGNAL_CLI_REST_API_VERSION, SignalAPIError, SignalBot
from signalbot.messages import DataMessage, EditMessage, UnknownMessageFormatError, parse

from carebot.channels import SIGNAL, Inbound
from carebot.channels.signal_probe import PROBE_EVERY, PROBE_PREFIX, SignalProbe
from carebot.channels.signal_sending import (
    CAPTCHA_PAUSE,
    MAX_PAUSE,
    PROOF_REQUIRED,
    RATE_LIMIT_PAUSE,
    RATE_LIMITED,
    SEND_TIMEOUT,
    UNREGISTERED_TEXT,
    UNTRUSTED_HOLD,
    UNTRUSTED_TEXTS,
    SignalSending,
)
from carebot.domain import clock, metrics, startup
from carebot.domain.logsafe import where
from carebot.domain.startup import Refusal
from carebot.domain.wakeups import woken

# The constants of sending and of the probe are named here too, where they always were.
__all__ = [
    "CAPTCHA_PAUSE", "DOWN", "HEARTBEAT", "INBOUND_TRIES", "LET_GO_GRACE", "LET_GO_POLL", "MAX_PAUSE", "PAUSED",
    "PROBE_EVERY", "PROBE_PREFIX", "PROOF_REQUIRED", "RATE_LIMITED", "RATE_LIMIT_PAUSE", "RECEIVE_ERROR_KINDS",
    "RETRY", "SEND_TIMEOUT", "UNREGISTERED_TEXT", "UNTRUSTED_HOLD", "UNTRUSTED_TEXTS", "UP",
    "SignalAccountMissing", "SignalChannel", "receive_error_kind",
]

log = logging.getLogger(__name__)
# signalbot logs raw envelopes, bodies and recipients' numbers below ERROR; carebot never logs those.
logging.getLogger("signalbot").setLevel(logging.ERROR)
HEARTBEAT = 30.0  # seconds between websocket pings, so a dead link is noticed
# Reconnect backoff in seconds: first wait, longest wait. Short, because the service must find carebot
# attached the moment it starts receiving: a text it takes in while nobody is attached is lost
# (deploy/signal.md, "start and stop order"). A refused connect on the service's own network costs nothing.
RETRY = (0.5, 2.0)
# While the service stays unreachable, a line this often (a retry's line every 2 s filled the journal: 2,800 an hour).
UNREACHABLE_SAID_EVERY = timedelta(minutes=10)
INBOUND_TRIES = 3  # a text the database could not take is tried again this often

# Stopping, carebot waits this long for the service to stop first (let_go); compose's stop grace is longer.
LET_GO_GRACE = 15.0
LET_GO_POLL = 0.5  # how often it asks whether another carebot has taken over meanwhile

UP, DOWN, PAUSED = "up", "down", "paused"

# What a receive error frame ({"error": …}) is about, for the log and /metrics: never its text,
# which may name a number.
RECEIVE_ERROR_KINDS = (("untrusted", "untrusted-identity"), ("rate limit", "rate-limit"),
                       ("decrypt", "decryption"), ("connect", "connection"), ("timeout", "connection"))


class SignalAccountMissing(Refusal):
    """SIGNAL_NUMBER is not an account of the Signal service: ``carebot serve`` stops, in one line."""

    exit_code = startup.SIGNAL_ACCOUNT


class SignalChannel(SignalProbe, SignalSending):
    """The Signal channel for one account on one signal-cli-rest-api service.

    Build it anywhere, ``await start()`` it inside the running loop and
    ``await close()`` it when done. ``on_inbound`` is awaited for each text, in
    the order the service delivered them.
    """

    name = SIGNAL

    def __init__(
        self,
        service: str,
        number: str,
        *,
        on_inbound: Callable[[Inbound], Awaitable[object]],
        on_fatal: Callable[[SignalAccountMissing], object] | None = None,
        pause: tuple[datetime, int, bool] | None = None,
        on_pause: Callable[[tuple[datetime, int, bool] | None], Awaitable[object]] | None = None,
        on_attached: Callable[[bool], Awaitable[object]] | None = None,
        told_untrusted: set[str] | None = None,
        on_told_untrusted: Callable[[str, datetime | None], Awaitable[object]] | None = None,
        blind: Callable[[str], str | None] = lambda address: address,
        probe_from: str | None = None,
        probe_every: float = PROBE_EVERY,
        now: Callable[[], datetime] = clock.now,
        retry: tuple[float, float] = RETRY,
        send_timeout: float = SEND_TIMEOUT,
    ) -> None:
        self.service = service
        self.number = number
        self.on_inbound = on_inbound
        self.on_fatal = on_fatal  # called when the service does not hold SIGNAL_NUMBER
        self.now = now
        self.retry = retry
        self.send_timeout = send_timeout
        self.connected = False
        # A pause recorded before a restart (until, pauses in a row, coordinators told) still holds;
        # ``on_pause`` records each change (outbox.pause.save_pause).
        self.paused_until: datetime | None
        self.paused_until, self._pauses, self._pause_told = pause or (None, 0, False)
        self.on_pause = on_pause  # the outbox sender honours paused_until
        self.on_attached = on_attached  # told when the websocket opens and closes (the leader's hand-over)
        # The round-trip check: a second account on the service texts the bot every probe_every seconds.
        self.probe_from, self.probe_every = probe_from, probe_every
        self.probe_round_trip: float | None = None  # seconds, the last probe's
        self._probes: dict[str, float] = {}  # nonce -> when it was sent (the loop's monotonic time)
        self._probe_task: asyncio.Task | None = None
        # The members whose changed safety number the coordinators were told of, by ``blind(address)`` (the
        # keyed hash carebot serve gives, so no UUID is kept): loaded at start, each change recorded through
        # ``on_told_untrusted`` (outbox.safety_numbers), so a restart does not tell them again.
        self.blind = blind
        self._told_untrusted: set[str] = set(told_untrusted or ())
        self.on_told_untrusted = on_told_untrusted
        self._told_unregistered: set[str] = set()
        self._bot: SignalBot | None = None
        self._http: aiohttp.ClientSession | None = None
        self._task: asyncio.Task | None = None
        self._detached = asyncio.Event()  # set when the service closes the websocket
        self._failed_tries = 0  # since the service last answered
        self._unreachable_said: datetime | None = None

    # --- life -------------------------------------------------------------

    async def start(self) -> None:
        """Start receiving in the background; returns at once, even if the service is down."""
        self._bot = SignalBot({
            "signal_service": self.service,
            "phone_number": self.number,
            "storage": {"type": "in-memory"},
            "connection_mode": "http_only",  # the service has no TLS: loopback or a private network
            "download_attachments": False,  # carebot keeps no attachments
            "logging_level": logging.ERROR,
        })
        self._http = aiohttp.ClientSession()
        self._task = asyncio.create_task(self._receive_forever(), name="carebot-signal")
        if self.probe_from:
            self._probe_task = asyncio.create_task(self._probe_forever(), name="carebot-signal-probe")

    async def let_go(self, grace: float, *, handed_over: Callable[[], Awaitable[bool]] | None = None) -> bool:
        """Keep reading, up to ``grace`` seconds, until the service closes the websocket (it was stopped
        first, as deploy/signal.md orders) or ``handed_over()`` says another carebot is attached; whether
        it let go in time. Texts that come meanwhile are stored as ever: none falls into a gap where the
        service is up and nobody listens."""
        deadline = asyncio.get_running_loop().time() + grace
        while self.connected and asyncio.get_running_loop().time() < deadline:
            if handed_over is not None and await handed_over():
                return True
            await woken(self._detached, LET_GO_POLL)
        if self.connected:
            log.warning("the Signal service still runs as carebot stops: texts it takes in now are lost "
                        "(stop it first, deploy/signal.md)")
        return not self.connected

    async def close(self) -> None:
        """Stop receiving and close the connections; never stops the event loop."""
        for task in (self._probe_task, self._task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._http is not None:
            await self._http.close()
        if self._bot is not None:
            await self._bot.close()  # not bot.stop(): that would stop carebot's loop
        self.connected = False

    @property
    def status(self) -> str:
        """"up", "down" (the service or its websocket is unreachable) or "paused" (sends wait)."""
        if not self.connected:
            return DOWN
        if self.paused_until is not None and self.paused_until > self.now():
            return PAUSED
        return UP

    # --- receiving --------------------------------------------------------

    async def _receive_forever(self) -> None:
        wait = self.retry[0]
        while True:
            try:
                if await self._service_ready():
                    await self._read_websocket()
                    wait = self.retry[0]  # it was up: reconnect soon
            except asyncio.CancelledError:
                raise
            except (SignalAPIError, aiohttp.ClientError, OSError, TimeoutError) as error:
                self._unreachable(type(error).__name__)
            except Exception as error:  # its text could quote a message: where, never what (logsafe)
                log.error("Signal receive loop failed; retrying: %s", where(error))
            self.connected = False
            self._detached.set()
            if self.on_attached is not None:
                await self.on_attached(False)
            # Jittered, doubling backoff: a service that is down is not hammered.
            await asyncio.sleep(wait * (0.5 + random.random() / 2))
            wait = min(self.retry[1], wait * 2)

    def _unreachable(self, kind: str) -> None:
        """One line when the service stops answering, then one every UNREACHABLE_SAID_EVERY while it lasts."""
        self._failed_tries += 1
        now = self.now()
        if self._unreachable_said is not None and now - self._unreachable_said < UNREACHABLE_SAID_EVERY:
            return
        if self._unreachable_said is None:
            log.warning("Signal service unreachable (%s); retrying every %g s or so, said again every %d minutes "
                        "while it lasts", kind, self.retry[1], UNREACHABLE_SAID_EVERY.seconds // 60)
        else:
            log.warning("Signal service still unreachable (%s) after %d tries; retrying", kind, self._failed_tries)
        self._unreachable_said = now

    async def _service_ready(self) -> bool:
        """signalbot's own checks: the service answers, in json-rpc mode, recent enough."""
        assert self._bot is not None
        about = await self._bot.general.about()
        if about.mode != "json-rpc":
            log.error("the Signal service runs in %r mode; carebot needs MODE=json-rpc", about.mode)
            return False
        try:
            if about.version != "unset" and Version(about.version) < MIN_SIGNAL_CLI_REST_API_VERSION:
                log.error("signal-cli-rest-api %s is too old; signalbot needs %s or later",
                          about.version, MIN_SIGNAL_CLI_REST_API_VERSION)
                return False
        except InvalidVersion:
            log.warning("signal-cli-rest-api reports an unreadable version %r", about.version)
        return await self._account_listed()

    async def _account_listed(self) -> bool:
        """Whether the service holds SIGNAL_NUMBER (``GET /v1/accounts``); if not, carebot cannot work."""
        assert self._http is not None
        async with self._http.get(self._url("/v1/accounts")) as response:
            if response.status != 200:
                return True  # an older service, or a moment's trouble: the websocket will tell
            accounts = await response.json(content_type=None)
        if isinstance(accounts, list) and self.number not in accounts:
            problem = SignalAccountMissing(
                "carebot serve: SIGNAL_NUMBER is not an account of the Signal service at SIGNAL_SERVICE: "
                "register or link it there first (deploy/signal.md, step 2)")
            log.error("%s", problem)
            if self.on_fatal is not None:
                self.on_fatal(problem)
            return False
        return True

    async def _read_websocket(self) -> None:
        assert self._http is not None
        url = f"ws://{self.service}/v1/receive/{self.number}"
        async with self._http.ws_connect(url, heartbeat=HEARTBEAT) as ws:
            self.connected = True
            self._detached.clear()
            if self._failed_tries:
                log.info("Signal connected, after %d tries", self._failed_tries + 1)
            else:
                log.info("Signal connected")
            self._failed_tries, self._unreachable_said = 0, None
            if self.on_attached is not None:
                await self.on_attached(True)
            async for frame in ws:
                if frame.type == aiohttp.WSMsgType.TEXT:
                    inbound = await self._read_envelope(frame.data)
                    if inbound is not None:
                        await self._hand_on(inbound)
                elif frame.type == aiohttp.WSMsgType.ERROR:
                    break
        self.connected = False
        self._detached.set()
        log.warning("Signal websocket closed; reconnecting")

    async def _read_envelope(self, raw: str) -> Inbound | None:
        """A member's private text from one websocket frame; None for anything else."""
        try:
            frame = json.loads(raw)
            envelope = frame.get("envelope") or {}
        except (ValueError, AttributeError):
            return None
        if self.probe_from and isinstance(envelope, dict) and self._probe_back(envelope):
            return None  # carebot's own probe: never a member's text
        if "error" in frame and not envelope:
            # signal-cli could not receive something (src/api/api.go sends {"error": …}): said, never its text.
            kind = receive_error_kind(str(frame["error"]))
            metrics.signal_receive_error(kind)
            log.warning("the Signal service reported a receive error (%s)", kind)
            return None
        # A sync message is a copy of what the account's own devices sent: signalbot would
        # name its recipient as the sender. Receipts, typing and the rest carry no text.
        if not isinstance(envelope, dict) or "syncMessage" in envelope or "dataMessage" not in envelope:
            return None
        assert self._bot is not None  # start() makes it before the receiving begins
        try:
            message = await parse(self._bot._signal, raw)  # the client only fetches attachments, which are off
        except (UnknownMessageFormatError, ValueError):
            log.info("Signal envelope in an unknown format ignored")
            return None
        if (not isinstance(message, DataMessage) or isinstance(message, EditMessage)
                or message.is_group() or not message.source_uuid):
            return None
        if not message.text and not (message.attachments or message.sticker):
            return None  # no text and nothing sent: a disappearing-messages timer, a profile key
        return Inbound(
            channel=SIGNAL,
            # Signal names a message by its author and the author's timestamp.
            provider_id=f"{message.timestamp}:{message.source_uuid}",
            sender=message.source_number or "",
            # A picture, file or sticker with no words comes as an MMS with an empty Body does: a text of none.
            text=message.text or "",
            received_at=self.now(),
            sender_uuid=message.source_uuid,
        )

    async def _hand_on(self, inbound: Inbound) -> None:
        # signal-cli has already taken the text off Signal's servers: try hard before giving up.
        for attempt in range(1, INBOUND_TRIES + 1):
            try:
                await self.on_inbound(inbound)
                return
            except Exception as error:
                log.warning("Signal text not stored (try %d, %s)", attempt, type(error).__name__)
                if attempt < INBOUND_TRIES:
                    await asyncio.sleep(self.retry[0] * attempt)
        log.error("a Signal text could not be stored and is lost")


def receive_error_kind(text: str) -> str:
    """A short, closed name for a receive error's text (which may hold a number)."""
    text = text.lower()
    return next((kind for words, kind in RECEIVE_ERROR_KINDS if words in text), "other")
