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
  payload signalbot's ``SendMessage`` builds.
* Replies go to the member's Signal UUID, never the number.
* In json-rpc mode every client attached to the account receives every
  message: run one ``carebot serve`` per Signal account (inbound dedupe on
  the envelope's timestamp and sender keeps a second one from acting twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import uuid as uuidlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import aiohttp
from packaging.version import InvalidVersion, Version
from signalbot import MIN_SIGNAL_CLI_REST_API_VERSION, SendMessage, SignalAPIError, SignalBot
from signalbot.messages import DataMessage, EditMessage, UnknownMessageFormatError, parse

from carebot.channels import SIGNAL, Inbound, SendError, Sent
from carebot.domain import clock, metrics, startup
from carebot.domain.logsafe import where
from carebot.domain.startup import Refusal

log = logging.getLogger(__name__)
# signalbot logs raw envelopes, bodies and recipients' numbers below ERROR; carebot never logs those.
logging.getLogger("signalbot").setLevel(logging.ERROR)

SEND_TIMEOUT = 15.0  # seconds; well under outbox.recovery.STUCK_AFTER
HEARTBEAT = 30.0  # seconds between websocket pings, so a dead link is noticed
# Reconnect backoff in seconds: first wait, longest wait. Short, because the service must find carebot
# attached the moment it starts receiving: a text it takes in while nobody is attached is lost
# (deploy/signal.md, "start and stop order"). A refused connect on the service's own network costs nothing.
RETRY = (0.5, 2.0)
INBOUND_TRIES = 3  # a text the database could not take is tried again this often

# How long the Signal queue pauses, doubling on each pause in a row, up to MAX_PAUSE.
RATE_LIMIT_PAUSE = timedelta(minutes=15)
CAPTCHA_PAUSE = timedelta(hours=1)
MAX_PAUSE = timedelta(hours=6)
RATE_LIMITED, PROOF_REQUIRED = "rate-limit", "proof-required"  # the error codes of a pause
# A text to a member whose safety number changed waits this long before one more try.
UNTRUSTED_HOLD = timedelta(hours=6)
# Stopping, carebot waits this long for the service to stop first (let_go); compose's stop grace is longer.
LET_GO_GRACE = 15.0
LET_GO_POLL = 0.5  # how often it asks whether another carebot has taken over meanwhile
# The round-trip probe (optional, SIGNAL_PROBE_NUMBER): how often by default, and the words it says.
PROBE_EVERY = 15 * 60.0
PROBE_PREFIX = "carebot-probe"

# signal-cli-rest-api's words (src/client/jsonrpc2.go, src/api/api.go) for signal-cli's
# error -4, and signal-cli's own per-recipient wording.
UNTRUSTED_TEXTS = ("untrusted recipient keys", "untrusted identit")

# signal-cli's words for a recipient with no Signal account (ErrorUtils, "Unregistered user \"…\""),
# which the service passes on with HTTP 400 "Failed to send message…".
UNREGISTERED_TEXT = "unregistered user"

UP, DOWN, PAUSED = "up", "down", "paused"

# What a receive error frame ({"error": …}) is about, for the log and /metrics: never its text,
# which may name a number.
RECEIVE_ERROR_KINDS = (("untrusted", "untrusted-identity"), ("rate limit", "rate-limit"),
                       ("decrypt", "decryption"), ("connect", "connection"), ("timeout", "connection"))


class SignalAccountMissing(Refusal):
    """SIGNAL_NUMBER is not an account of the Signal service: ``carebot serve`` stops, in one line."""

    exit_code = startup.SIGNAL_ACCOUNT


class SignalChannel:
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
        self._told_untrusted: set[str] = set()
        self._told_unregistered: set[str] = set()
        self._bot: SignalBot | None = None
        self._http: aiohttp.ClientSession | None = None
        self._task: asyncio.Task | None = None
        self._detached = asyncio.Event()  # set when the service closes the websocket

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
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._detached.wait(), LET_GO_POLL)
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

    def _url(self, path: str) -> str:
        return f"http://{self.service}{path}"

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
                log.warning("Signal service unreachable (%s); retrying", type(error).__name__)
            except Exception as error:  # its text could quote a message: where, never what (logsafe)
                log.error("Signal receive loop failed; retrying: %s", where(error))
            self.connected = False
            self._detached.set()
            if self.on_attached is not None:
                await self.on_attached(False)
            # Jittered, doubling backoff: a service that is down is not hammered.
            await asyncio.sleep(wait * (0.5 + random.random() / 2))
            wait = min(self.retry[1], wait * 2)

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
            log.info("Signal connected")
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
                or message.is_group() or not message.text or not message.source_uuid):
            return None
        return Inbound(
            channel=SIGNAL,
            # Signal names a message by its author and the author's timestamp.
            provider_id=f"{message.timestamp}:{message.source_uuid}",
            sender=message.source_number or "",
            text=message.text,
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

    # --- the round-trip probe ----------------------------------------------

    @property
    def probe_status(self) -> str | None:
        """None without a probe; "waiting" before the first comes back; "late" when the last sent
        is overdue (Signal may be silent); else "ok"."""
        if not self.probe_from:
            return None
        if self._probes and min(self._probes.values()) + self.probe_every <= asyncio.get_running_loop().time():
            return "late"
        return "waiting" if self.probe_round_trip is None else "ok"

    async def _probe_forever(self) -> None:
        while True:
            await asyncio.sleep(self.probe_every)
            status = self.probe_status
            if status == "late":
                metrics.SIGNAL_PROBES.labels("late").inc()
                log.warning("the Signal probe has not come back: Signal may be silent")
            metrics.SIGNAL_PROBE_LATE.set(1 if status == "late" else 0)
            if self.connected:
                try:
                    await self._send_probe()
                except (aiohttp.ClientError, OSError, TimeoutError) as error:
                    log.warning("Signal probe not sent (%s)", type(error).__name__)

    async def _send_probe(self) -> None:
        assert self._http is not None
        nonce = uuidlib.uuid4().hex
        sent_at = asyncio.get_running_loop().time()
        payload = json.dumps({"number": self.probe_from, "recipients": [self.number],
                              "message": f"{PROBE_PREFIX} {nonce}"})
        self._probes[nonce] = sent_at  # before the send: it may come back before the answer does
        try:
            async with asyncio.timeout(self.send_timeout):
                async with self._http.post(self._url("/v2/send"), data=payload,
                                           headers={"Content-Type": "application/json"}) as response:
                    refused = response.status not in (200, 201)
        except BaseException:
            self._probes.pop(nonce, None)
            raise
        if refused:
            self._probes.pop(nonce, None)
            log.warning("Signal probe refused (HTTP %s): is SIGNAL_PROBE_NUMBER linked?", response.status)
            return
        metrics.SIGNAL_PROBES.labels("sent").inc()

    def _probe_back(self, envelope: dict) -> bool:
        """Whether ``envelope`` is from the probe account or is a probe (its number may be hidden:
        then the nonce, which nobody else can know, tells); records the round trip."""
        data = envelope.get("dataMessage")
        text = str(data.get("message") or "") if isinstance(data, dict) else ""
        prefix, _, nonce = text.partition(" ")
        sent_at = self._probes.pop(nonce, None) if prefix == PROBE_PREFIX else None
        if sent_at is None:
            # The probe account used by hand, or an older probe: dropped all the same.
            return envelope.get("sourceNumber") == self.probe_from
        self._probes = {n: t for n, t in self._probes.items() if t > sent_at}  # older ones are moot now
        self.probe_round_trip = asyncio.get_running_loop().time() - sent_at
        metrics.SIGNAL_PROBE_ROUND_TRIP.set(self.probe_round_trip)
        metrics.SIGNAL_PROBE_LATE.set(0)
        metrics.SIGNAL_PROBES.labels("answered").inc()
        return True

    # --- sending ----------------------------------------------------------

    async def send(self, address: str, text: str, outbox_id: int) -> Sent:
        """Send one text to a Signal UUID; raise a classified SendError when it does not go."""
        if self._http is None:
            raise SendError("not-started", retryable=True)
        if self.paused_until is not None and self.paused_until > self.now():
            raise SendError("paused", retryable=True, retry_at=self.paused_until)
        message = await SendMessage(text=text).to_generated(self.number, [address])
        payload = message.model_dump_json(exclude_none=True, by_alias=True)
        try:
            async with asyncio.timeout(self.send_timeout):
                async with self._http.post(self._url("/v2/send"), data=payload,
                                           headers={"Content-Type": "application/json"}) as response:
                    status, body = response.status, await response.text()
        except aiohttp.ClientConnectorError:
            # The request never left: nothing can have been sent.
            raise SendError("connect", retryable=True) from None
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            # The service may have sent it: the outbox settles the row before any new try.
            code = "timeout" if isinstance(error, TimeoutError) else "no-answer"
            raise SendError(code, retryable=True, ambiguous=True) from None
        if status in (200, 201):
            if self._sent_ok(address) and self.on_pause is not None:
                await self.on_pause(None)
            return Sent(_timestamp(body) or f"signal-{outbox_id}")
        refused = self._refused(status, body, address)
        # A pause (set by _pause, the only maker of these codes) is recorded so it outlives a restart.
        if (refused.code in (RATE_LIMITED, PROOF_REQUIRED) and self.paused_until is not None
                and self.on_pause is not None):
            await self.on_pause((self.paused_until, self._pauses, self._pause_told))
        raise refused

    def _sent_ok(self, address: str) -> bool:
        """A text went through: any pause is over (whether there was one to clear)."""
        paused = bool(self._pauses)
        if paused:
            log.info("Signal sends resumed")
        self.paused_until, self._pauses, self._pause_told = None, 0, False
        self._told_untrusted.discard(address)
        return paused

    def _refused(self, status: int, body: str, address: str) -> SendError:
        """What carebot does about one of the service's error answers."""
        try:
            answer = json.loads(body)
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        error = str(answer.get("error", "")).lower()
        if status == 429:
            # signal-cli's rate limit (-5); challenge tokens mean Signal wants a captcha first.
            tokens = answer.get("challenge_tokens") or []
            captcha = bool(tokens)
            for token in tokens:  # a server token, not a person's data: the deployer needs it
                log.warning("Signal asks for a captcha; challenge token %s (see deploy/signal.md)", token)
            return self._pause(PROOF_REQUIRED if captcha else RATE_LIMITED,
                               CAPTCHA_PAUSE if captcha else RATE_LIMIT_PAUSE,
                               "signal.captcha" if captcha else "signal.paused")
        if status == 400 and any(text in error for text in UNTRUSTED_TEXTS):
            # Nothing is trusted automatically: a person checks the new safety number.
            notice = None if address in self._told_untrusted else "signal.untrusted"
            self._told_untrusted.add(address)
            log.warning("Signal send held: the recipient's safety number changed")
            return SendError("untrusted-identity", retryable=True, held=True,
                             retry_at=self.now() + UNTRUSTED_HOLD, notice=notice)
        if status == 400 and UNREGISTERED_TEXT in error:
            # The member has no Signal account any more: final. The outbox sends it by SMS where they
            # consented to SMS (and moves them there); otherwise the coordinators hear, once.
            notice = None if address in self._told_unregistered else "signal.unregistered"
            self._told_unregistered.add(address)
            log.warning("Signal send failed: the recipient has no Signal account")
            return SendError("unregistered", retryable=False, unusable=True, notice=notice)
        if status in (401, 403, 404):
            log.error("the Signal service refused the account (HTTP %s): check SIGNAL_NUMBER and its "
                      "registration", status)
        # Anything else (a network failure at signal-cli, a 5xx)
        # reads the same from here: retried with backoff, then given up.
        return SendError(f"http-{status}", retryable=True)

    def _pause(self, code: str, base: timedelta, notice: str) -> SendError:
        self._pauses += 1
        pause = min(MAX_PAUSE, base * 2 ** (self._pauses - 1))
        self.paused_until = self.now() + pause
        told, self._pause_told = self._pause_told, True
        log.warning("Signal sends paused for %d minutes (%s)", pause.total_seconds() // 60, code)
        return SendError(code, retryable=True, retry_at=self.paused_until, notice=None if told else notice)


def receive_error_kind(text: str) -> str:
    """A short, closed name for a receive error's text (which may hold a number)."""
    text = text.lower()
    return next((kind for words, kind in RECEIVE_ERROR_KINDS if words in text), "other")


def _timestamp(body: str) -> str:
    """The sent message's timestamp, Signal's id for it.

    The service answers a list of results (signal-cli-rest-api since it reported
    per-recipient errors; what signalbot 2.x reads) or, before that, one object.
    """
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if isinstance(answer, list) and answer:
        answer = answer[0]
    if isinstance(answer, dict) and answer.get("timestamp") is not None:
        return str(answer["timestamp"])
    return ""
