"""A local fake of signal-cli-rest-api in json-rpc mode, on 127.0.0.1, for the real signalbot.

It speaks the service's real protocol: ``GET /v1/about`` (mode json-rpc),
``GET /v1/health`` (204), ``POST /v2/send`` and the websocket
``/v1/receive/{number}`` carrying json-rpc ``receive`` params
(``{"envelope": …, "account": …}``). Requests are checked against
``signal_api_contract.json``, extracted from the service's swagger description,
and errors are answered with the service's own words and codes:

* a rate limit (signal-cli error -5) is HTTP 429 with signal-cli's message plus
  the service's sentence about challenge tokens; ``challenge_tokens`` is
  omitted when empty (Go's omitempty) and present for a "proof required" captcha;
* an untrusted identity (signal-cli error -4) is HTTP 400
  ``{"error": "Unable to complete request due to untrusted recipient keys"}``
  (src/client/jsonrpc2.go, src/api/api.go).

A successful send answers 201 with a list of results: the service does so
since it started reporting per-recipient errors ("fixed bug in send
endpoint"), and signalbot 2.x reads a list; the shared swagger file still
documents the older single object.

Messages are kept and lost as the real service keeps and loses them
(signal-cli-rest-api issues #834, #537, #664, #729):

* while the service is **up** and no websocket client is attached, signal-cli
  has already taken a message off Signal's servers and hands it to nobody: it
  is dropped (counted in ``dropped``);
* while the service is **down**, messages wait on Signal's servers (``waiting``);
* when it comes back, signal-cli receives what waited, once it has started
  (``start(receive=False)`` then ``receive()``: the HTTP API answers a moment
  before the JVM has connected to Signal, which is when carebot, polling every
  half second, attaches; ``start()`` alone receives at once).

``GET /v1/accounts`` lists the accounts registered with the service.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid as uuidlib
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import WSMsgType, web

# The parts of the service's swagger description the fake speaks (signal_api_contract.json).
CONTRACT = json.loads(Path(__file__).with_name("signal_api_contract.json").read_text())
SEND_REQUIRED = CONTRACT["definitions"]["api.SendMessageV2"]["required"]

RATE_LIMIT_TEXT = ("Failed to send message due to rate limiting. Use the attached challenge tokens to lift "
                   "the rate limit restrictions via the '/v1/accounts/{number}/rate-limit-challenge' endpoint.")
UNTRUSTED_TEXT = "Unable to complete request due to untrusted recipient keys"
# signal-cli's per-recipient result for a recipient with no Signal account (ErrorUtils), as the service
# passes it on with HTTP 400.
UNREGISTERED_TEXT = 'Failed to send message: {recipient}: Unregistered user "{recipient}"'
INVALID_TEXT = "Couldn't process request - invalid request"

OTHER_UUID = "5e1f0000-0000-4000-8000-000000000001"  # the other account's Signal UUID
RATE_LIMIT, PROOF_REQUIRED, UNTRUSTED, UNREGISTERED = "rate-limit", "proof-required", "untrusted", "unregistered"


@dataclass
class SentText:
    number: str
    recipients: list[str]
    message: str
    timestamp: int


@dataclass
class FakeSignal:
    """The fake service for one account. ``await start()``, ``await stop()``; ``port`` is fixed at creation."""

    account: str
    port: int
    version: str = "0.101"
    sent: list[SentText] = field(default_factory=list)
    # What the next sends to a recipient answer, in order: RATE_LIMIT, PROOF_REQUIRED, UNTRUSTED, UNREGISTERED.
    failures: dict[str, list[str]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path), every request
    dropped: int = 0  # messages that arrived while the service was up and no client was attached
    waiting: list[str] = field(default_factory=list)  # frames kept on Signal's servers while the service is down
    accounts: list[str] | None = None  # what GET /v1/accounts lists; None: the account and ``others``
    others: list[str] = field(default_factory=list)  # more accounts on the service (carebot's probe)
    silent: bool = False  # Signal's servers deliver nothing at all (what the probe is for)
    receiving: bool = False  # signal-cli has started and takes messages off Signal's servers
    most_attached: int = 0  # the most receive websockets open at once, ever
    _clients: list[web.WebSocketResponse] = field(default_factory=list)
    _clock: itertools.count = field(default_factory=lambda: itertools.count(1_767_000_000_000))
    _changed: asyncio.Condition | None = None
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self, *, receive: bool = True) -> None:
        self._changed = self._changed or asyncio.Condition()
        app = web.Application()
        app.router.add_get("/v1/about", self._about)
        app.router.add_get("/v1/accounts", self._accounts)
        app.router.add_get("/v1/health", self._health)
        app.router.add_post("/v2/send", self._send)
        app.router.add_get("/v1/receive/{number}", self._receive)
        # No access log: its lines carry the bot's number (/v1/receive/+1…), and no log may hold one.
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        if receive:
            await self.receive()

    async def receive(self) -> None:
        """signal-cli has started: what waited on Signal's servers comes in now (to nobody, if nobody is attached)."""
        self.receiving = True
        waited, self.waiting = self.waiting, []
        for frame in waited:
            await self._pass_on(frame)

    async def stop(self) -> None:
        self.receiving = False
        await self.drop_clients()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- what tests do ----------------------------------------------------

    async def wait_for(self, check, timeout: float = 30.0) -> None:
        """Wait until ``check(self)`` holds; every request and (dis)connection re-checks it."""
        self._changed = self._changed or asyncio.Condition()
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: check(self)), timeout)

    async def _notify(self) -> None:
        if self._changed is not None:
            async with self._changed:
                self._changed.notify_all()

    @property
    def attached(self) -> int:
        return len(self._clients)

    async def deliver(self, *, source_uuid: str, text: str, source_number: str | None = None,
                      group: bool = False, sync: bool = False, attachments: tuple[str, ...] = ()) -> int:
        """A member's message arrives at the account; returns its timestamp. ``attachments``: the content types
        of files sent with it (a picture alone comes with no text: ``message`` is null, as signal-cli sends it)."""
        timestamp = next(self._clock)
        data = {"timestamp": timestamp, "message": text or None, "expiresInSeconds": 0, "viewOnce": False}
        if attachments:
            data["attachments"] = [{"contentType": kind, "id": f"att{timestamp}{n}", "size": 48213, "isVoiceNote": False}
                                   for n, kind in enumerate(attachments)]
        if group:
            data["groupInfo"] = {"groupId": "Z3JvdXA=", "type": "DELIVER"}
        envelope = {
            "source": source_number or source_uuid,
            "sourceNumber": source_number,
            "sourceUuid": source_uuid,
            "sourceName": "Member",
            "sourceDevice": 1,
            "timestamp": timestamp,
            "serverReceivedTimestamp": timestamp + 5,
            "serverDeliveredTimestamp": timestamp + 9,
        }
        if sync:  # a copy of what the account's own phone sent to source_uuid
            envelope.update(source=self.account, sourceNumber=self.account, sourceUuid=str(uuidlib.uuid4()))
            envelope["syncMessage"] = {"sentMessage": {**data, "destination": source_number,
                                                       "destinationNumber": source_number,
                                                       "destinationUuid": source_uuid}}
        else:
            envelope["dataMessage"] = data
        frame = json.dumps({"envelope": envelope, "account": self.account})
        if self.silent:
            return timestamp
        if self.receiving:
            await self._pass_on(frame)
        else:  # the service is down (or signal-cli not started): Signal's servers keep it
            self.waiting.append(frame)
        return timestamp

    async def report_error(self, message: str) -> None:
        """signal-cli reports a receive error: the service sends ``{"error": message}`` to each client."""
        await self._pass_on(json.dumps({"error": message}))

    async def _pass_on(self, frame: str) -> None:
        if not self._clients:
            self.dropped += 1  # signal-cli took it off Signal's servers; nobody gets it, ever
        for client in list(self._clients):
            await client.send_str(frame)

    async def drop_clients(self) -> None:
        """Close every receive websocket from the server side, as a restart or a network fault does."""
        for client in list(self._clients):
            await client.close()
        self._clients.clear()
        await self._notify()

    def texts_to(self, recipient: str) -> list[str]:
        return [s.message for s in self.sent if recipient in s.recipients]

    # --- the service --------------------------------------------------------

    async def _about(self, request: web.Request) -> web.Response:
        self.requests.append(("GET", request.path))
        await self._notify()
        return web.json_response({"versions": ["v1", "v2"], "build": 2, "mode": "json-rpc",
                                  "version": self.version, "capabilities": {"v2/send": ["quotes", "mentions"]}})

    async def _accounts(self, request: web.Request) -> web.Response:
        # GET /v1/accounts: the numbers registered or linked with the service (swagger: an array of strings).
        self.requests.append(("GET", request.path))
        await self._notify()
        return web.json_response([self.account, *self.others] if self.accounts is None else self.accounts)

    async def _health(self, request: web.Request) -> web.Response:
        self.requests.append(("GET", request.path))
        return web.Response(status=204)

    async def _send(self, request: web.Request) -> web.Response:
        self.requests.append(("POST", request.path))
        try:
            body = await request.json()
        except ValueError:
            body = None
        if (not isinstance(body, dict) or any(k not in body for k in SEND_REQUIRED)
                or not isinstance(body["recipients"], list) or not body["recipients"]
                or not isinstance(body["message"], str)):
            return web.json_response({"error": INVALID_TEXT}, status=400)
        if body["number"] in self.others:  # another account on the service texts this one (the probe)
            timestamp = next(self._clock)
            self.sent.append(SentText(body["number"], list(body["recipients"]), body["message"], timestamp))
            if self.account in body["recipients"]:
                await self.deliver(source_uuid=OTHER_UUID, source_number=body["number"], text=body["message"])
            return web.json_response([{"timestamp": str(timestamp)}], status=201)
        if body["number"] != self.account:
            return web.json_response({"error": f"User {body['number']} is not registered."}, status=400)
        recipient = body["recipients"][0]
        planned = self.failures.get(recipient)
        failure = planned.pop(0) if planned else None
        if failure in (RATE_LIMIT, PROOF_REQUIRED):
            answer = {"error": RATE_LIMIT_TEXT, "account": self.account}
            if failure == PROOF_REQUIRED:
                answer["challenge_tokens"] = [str(uuidlib.uuid4())]
            return web.json_response(answer, status=429)
        if failure == UNTRUSTED:
            return web.json_response({"error": UNTRUSTED_TEXT}, status=400)
        if failure == UNREGISTERED:
            return web.json_response({"error": UNREGISTERED_TEXT.format(recipient=recipient)}, status=400)
        timestamp = next(self._clock)
        self.sent.append(SentText(body["number"], list(body["recipients"]), body["message"], timestamp))
        return web.json_response([{"timestamp": str(timestamp)}], status=201)

    async def _receive(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(("GET", request.path))
        if request.match_info["number"] != self.account:
            return web.json_response({"error": "Invalid account"}, status=400)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._clients.append(ws)
        self.most_attached = max(self.most_attached, len(self._clients))
        await self._notify()
        try:
            async for frame in ws:  # clients send nothing; pings are answered by aiohttp
                if frame.type == WSMsgType.ERROR:
                    break
        finally:
            if ws in self._clients:
                self._clients.remove(ws)
            await self._notify()
        return ws
