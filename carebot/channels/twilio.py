"""The Twilio SMS channel: webhooks in, the REST API out.

The only module that knows Twilio's forms, error codes and client: it checks a
webhook's signature, turns Twilio's form into an :class:`Inbound` or a
:class:`StatusUpdate`, and sends one text with the real twilio client, turning
each of Twilio's answers into :class:`Sent` or a classified :class:`SendError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from urllib.parse import urlparse, urlsplit

import aiohttp
import twilio.rest.api  # noqa: F401 (the client imports it at the first send: a quarter second on the event loop)
from multidict import MultiDict
from twilio.base import values
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import HMAC_SHA1, HMAC_SHA256, RequestValidator, get_signature_algorithm, remove_port
from twilio.rest import Client

from carebot.channels import SMS, Inbound, SendError, Sent, StatusUpdate
from carebot.channels.pacing import Pacer

log = logging.getLogger(__name__)
# The library logs request query strings at INFO, and a lookup's query holds a
# phone number: carebot never logs numbers.
logging.getLogger("twilio").setLevel(logging.WARNING)

TWILIO_API = "https://api.twilio.com"
SEND_TIMEOUT = 15.0  # seconds; well under outbox.recovery.STUCK_AFTER
STATUS_PATH = "/twilio/status"
SIGNATURE_HEADER = b"x-twilio-signature"  # as ASGI gives header names: lower case
SIGNATURE_SETTINGS_HEADER = b"x-twilio-webhooks-signature-settings"
_ALGORITHMS = (HMAC_SHA1, HMAC_SHA256)  # the signatures the twilio library computes

OPTED_OUT = {21610}  # the member texted STOP to the carrier
UNUSABLE = {21211, 21614}  # not a valid number; not a mobile number
RATE_LIMITED = {20429}
AUTH_FAILED = {20003}  # a deployment mistake: keep the texts and retry


def classify(status: int | None, code: int | None) -> SendError:
    """What carebot does about one of Twilio's error answers."""
    name = str(code or status or "unknown")
    if code in OPTED_OUT:
        return SendError(name, retryable=False, opted_out=True)
    if code in UNUSABLE:
        return SendError(name, retryable=False, unusable=True)
    if code in AUTH_FAILED or status in (401, 403):
        log.error("Twilio refused carebot's credentials (code %s): check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN", name)
        return SendError(name, retryable=True)
    if (status or 0) >= 500:
        # A server error says nothing of the text: Twilio, or a gateway in front of it, may have
        # taken it before failing. It is looked up at Twilio before any resend (outbox.recovery.recover_sending).
        return SendError(name, retryable=True, ambiguous=True)
    if code in RATE_LIMITED or status == 429:
        return SendError(name, retryable=True)
    return SendError(name, retryable=False)


@contextlib.contextmanager
def classified(*, ask_when_unclear: bool = True) -> Iterator[None]:
    """Turn what goes wrong in a request to Twilio into a classified SendError.

    When no clear answer came, Twilio may have taken the request: with
    ``ask_when_unclear`` the row waits to be looked up at Twilio before any
    resend (outbox.recovery); without it (a call, which cannot be looked up
    by its words) it is given up rather than made twice.
    """
    try:
        yield
    except (TwilioRestException, TwilioServiceException) as error:
        refused = classify(error.status, error.code)
        if refused.ambiguous and not ask_when_unclear:
            refused = SendError(refused.code, retryable=False)
        raise refused from None
    except aiohttp.ClientConnectorError:
        # The request never left: nothing can have been sent.
        raise SendError("connect", retryable=True) from None
    except (TimeoutError, aiohttp.ClientError, OSError) as error:
        code = "timeout" if isinstance(error, asyncio.TimeoutError) else "no-answer"
        raise SendError(code, retryable=ask_when_unclear, ambiguous=ask_when_unclear) from None


class RebasedHttpClient(AsyncTwilioHttpClient):
    """The twilio library's async HTTP client, pointed at another base URL when asked.

    It also applies its own timeout to every request (the library's client
    leaves requests without one) and never retries on its own: a blind retry
    of a POST could send a text twice.
    """

    def __init__(self, base_url: str = TWILIO_API, *, timeout: float = SEND_TIMEOUT) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    async def request(self, method, url, params=None, data=None, headers=None, auth=None,
                      timeout=None, allow_redirects=False):
        if self.base_url != TWILIO_API and url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API):]
        if auth is not None:  # as a header: aiohttp deprecates its BasicAuth object
            headers = {**(headers or {}), "Authorization": aiohttp.encode_basic_auth(*auth)}
        return await super().request(method, url, params=params, data=data, headers=headers,
                                     timeout=timeout or self.timeout, allow_redirects=allow_redirects)


class TwilioSMS:
    """The SMS channel through Twilio (or a Twilio-compatible API at ``base_url``).

    Build it inside the running event loop (its HTTP session belongs to the
    loop) and ``await close()`` it when done.
    """

    name = SMS

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        public_url: str,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        base_url: str = TWILIO_API,
        rate: float = 1.0,
        timeout: float = SEND_TIMEOUT,
    ) -> None:
        if not (from_number or messaging_service_sid):
            raise ValueError("a From number or a Messaging Service is needed")
        self.http = RebasedHttpClient(base_url, timeout=timeout)
        self.client = Client(account_sid, auth_token, http_client=self.http)
        self.public_url = public_url.rstrip("/")
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        # One sender number (or one Messaging Service) per channel, so one pacer.
        self.pacer = Pacer(rate)

    def status_callback(self, outbox_id: int) -> str:
        """Where Twilio reports on this text. The row id only helps a person reading Twilio's logs:
        carebot matches a report by Twilio's id, never by this."""
        return f"{self.public_url}{STATUS_PATH}?outbox={outbox_id}"

    async def send(self, address: str, text: str, outbox_id: int) -> Sent:
        """Send one text; raise a classified SendError when Twilio does not take it."""
        with classified():
            message = await self.client.messages.create_async(
                to=address,
                body=text,
                from_=self.from_number or values.unset,
                messaging_service_sid=self.messaging_service_sid or values.unset,
                status_callback=self.status_callback(outbox_id),
            )
        return Sent(message.sid)

    async def find_sent(self, address: str, body: str, since: datetime, exclude: set[str]) -> str | None:
        """The id of a text Twilio took for ``address`` with ``body`` since ``since``, if any."""
        page = await self.client.messages.page_async(
            to=address, from_=self.from_number or values.unset, page_size=50
        )
        for message in page:  # newest first
            if message.sid in exclude or message.body != body:
                continue
            if not str(message.direction or "").startswith("outbound"):
                continue
            if message.date_created is not None and message.date_created >= since:
                return message.sid
        return None

    async def close(self) -> None:
        await self.http.close()


class WebhookVerifier:
    """Checks ``X-Twilio-Signature`` against the public URL Twilio was given, not the one we see.

    Behind a proxy or a tunnel the server sees another host and scheme, so the
    URL is rebuilt from ``CAREBOT_PUBLIC_URL`` + the path + the query.

    The signature is the twilio library's own (``RequestValidator.compute_signature``),
    computed once per check rather than ``validate``'s two or three: a forged
    request costs one HMAC. Twilio signs the URL it was given exactly; only a URL
    that names a port is also tried without it, as the library does, since
    Twilio signs those both ways.
    """

    def __init__(self, auth_token: str, public_url: str) -> None:
        self.validator = RequestValidator(auth_token)
        self.public_url = public_url.rstrip("/")
        self.urls = [self.public_url]
        if urlsplit(self.public_url).port is not None:
            self.urls.append(remove_port(urlparse(self.public_url)))

    def valid(self, path: str, query: str, fields: MultiDict[str] | Iterable[tuple[str, str]], signature: str,
              settings: str | None) -> bool:
        """Whether ``signature`` signs the request; ``settings`` is X-Twilio-Webhooks-Signature-Settings.

        ``fields``: the form's (name, value) pairs, or the MultiDict the webhook read them into already.
        """
        algorithm = get_signature_algorithm(settings).upper()
        if algorithm not in _ALGORITHMS:  # an algorithm this twilio library does not know
            return False
        # A repeated field signs each of its distinct values, as the library reads a MultiDict.
        form = fields if isinstance(fields, MultiDict) else MultiDict(fields)
        signed = path + (f"?{query}" if query else "")
        given = signature.encode()
        return any(hmac.compare_digest(self.validator.compute_signature(url + signed, form, algorithm).encode(), given)
                   for url in self.urls)


def parse_inbound(form: Mapping[str, str], now: datetime) -> Inbound | None:
    """A member's text from Twilio's webhook form; None when the form is not one."""
    sid = form.get("MessageSid") or form.get("SmsSid")
    sender = form.get("From")
    if not sid or not sender:
        return None
    return Inbound(SMS, sid, sender, form.get("Body", ""), now)


def parse_status(form: Mapping[str, str], query: Mapping[str, str]) -> StatusUpdate | None:
    """Twilio's status callback as a StatusUpdate; None when the form is not one."""
    sid = form.get("MessageSid") or form.get("SmsSid")
    status = form.get("MessageStatus") or form.get("SmsStatus")
    if not sid or not status:
        return None
    # The callback URL's ?outbox= is not read: a report is matched by Twilio's id alone (outbox.status.apply_status).
    return StatusUpdate(provider_id=sid[:64], status=status.lower(), error_code=form.get("ErrorCode") or None)
