"""Sending on Signal: one text posted to the service, answered :class:`Sent` or a classified
:class:`SendError`, and the pauses Signal asks for (a rate limit, a captcha).

signalbot's send drops the error body (aiohttp's ``raise_for_status`` keeps only the reason
phrase), and the body is what tells a rate limit from a captcha from an untrusted identity; so
the text is posted here, with the payload signalbot's ``SendMessage`` builds. Replies go to the
member's Signal UUID, never the number. :class:`SignalSending` is a part of
:class:`carebot.channels.signal.SignalChannel`, which sets the attributes it declares.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import aiohttp
from signalbot import SendMessage

from carebot.channels import SendError, Sent

log = logging.getLogger("carebot.channels.signal")

SEND_TIMEOUT = 15.0  # seconds; well under outbox.recovery.STUCK_AFTER

# How long the Signal queue pauses, doubling on each pause in a row, up to MAX_PAUSE.
RATE_LIMIT_PAUSE = timedelta(minutes=15)
CAPTCHA_PAUSE = timedelta(hours=1)
MAX_PAUSE = timedelta(hours=6)
RATE_LIMITED, PROOF_REQUIRED = "rate-limit", "proof-required"  # the error codes of a pause
UNTRUSTED = "untrusted-identity"  # the error code of a text held for a changed safety number
# A text to a member whose safety number changed waits this long before one more try.
UNTRUSTED_HOLD = timedelta(hours=6)

# signal-cli-rest-api's words (src/client/jsonrpc2.go, src/api/api.go) for signal-cli's
# error -4, and signal-cli's own per-recipient wording.
UNTRUSTED_TEXTS = ("untrusted recipient keys", "untrusted identit")

# signal-cli's words for a recipient with no Signal account (ErrorUtils, "Unregistered user \"…\""),
# which the service passes on with HTTP 400 "Failed to send message…".
UNREGISTERED_TEXT = "unregistered user"


class SignalSending:
    """Sending one text and the pauses the service's answers call for."""

    # Set by SignalChannel.__init__.
    service: str
    number: str
    now: Callable[[], datetime]
    send_timeout: float
    paused_until: datetime | None
    _pauses: int
    _pause_told: bool
    on_pause: Callable[[tuple[datetime, int, bool] | None], Awaitable[object]] | None
    blind: Callable[[str], str | None]
    _told_untrusted: set[str]
    on_told_untrusted: Callable[[str, datetime | None], Awaitable[object]] | None
    _told_unregistered: set[str]
    _http: aiohttp.ClientSession | None

    def _url(self, path: str) -> str:
        return f"http://{self.service}{path}"

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
        key = self.blind(address) or address
        if status in (200, 201):
            if self._sent_ok() and self.on_pause is not None:
                await self.on_pause(None)
            if key in self._told_untrusted:  # a person verified the new safety number: a later change is news
                self._told_untrusted.discard(key)
                if self.on_told_untrusted is not None:
                    await self.on_told_untrusted(key, None)
            return Sent(_timestamp(body) or f"signal-{outbox_id}")
        refused = self._refused(status, body, key)
        if refused.code == UNTRUSTED and refused.notice is not None and self.on_told_untrusted is not None:
            await self.on_told_untrusted(key, self.now())  # told once, across restarts too
        # A pause (set by _pause, the only maker of these codes) is recorded so it outlives a restart.
        if (refused.code in (RATE_LIMITED, PROOF_REQUIRED) and self.paused_until is not None
                and self.on_pause is not None):
            await self.on_pause((self.paused_until, self._pauses, self._pause_told))
        raise refused

    def _sent_ok(self) -> bool:
        """A text went through: any pause is over (whether there was one to clear)."""
        paused = bool(self._pauses)
        if paused:
            log.info("Signal sends resumed")
        self.paused_until, self._pauses, self._pause_told = None, 0, False
        return paused

    def _refused(self, status: int, body: str, key: str) -> SendError:
        """What carebot does about one of the service's error answers (``key``: the recipient, blinded)."""
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
            notice = None if key in self._told_untrusted else "signal.untrusted"
            self._told_untrusted.add(key)
            log.warning("Signal send held: the recipient's safety number changed")
            return SendError(UNTRUSTED, retryable=True, held=True,
                             retry_at=self.now() + UNTRUSTED_HOLD, notice=notice)
        if status == 400 and UNREGISTERED_TEXT in error:
            # The member has no Signal account any more: final. The outbox sends it by SMS where they
            # consented to SMS (and moves them there); otherwise the coordinators hear, once.
            notice = None if key in self._told_unregistered else "signal.unregistered"
            self._told_unregistered.add(key)
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
