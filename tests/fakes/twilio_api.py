"""A local fake of Twilio's Messages API on 127.0.0.1, honest to Twilio's own OpenAPI.

It accepts only what the contract (``twilio_messages_contract.json``, extracted
from Twilio's description of the API) accepts, answers in the real shapes
(a Message resource, a message list, the error object), and can be told to
answer one number with an error or to drop the connection, before or after it
has taken the text. It runs in a thread, so the real twilio client, sync or
async, talks to it over real HTTP.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

CONTRACT = json.loads((Path(__file__).with_name("twilio_messages_contract.json")).read_text())
PATH = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")
CALLS_PATH = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Calls\.json$")
NUMBERS_PATH = re.compile(r"^/2010-04-01/Accounts/([^/]+)/IncomingPhoneNumbers\.json$")
# Messaging v1 (messaging.twilio.com; the client's host is rewritten to the fake like api.twilio.com's).
SERVICE_PATH = re.compile(r"^/v1/Services/(MG[0-9a-fA-F]{32})$")
NUMBER_PATH = re.compile(r"^/2010-04-01/Accounts/([^/]+)/IncomingPhoneNumbers/([^/]+)\.json$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")

# Twilio's own wording for the errors the tests use.
MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    21211: "The 'To' number is not a valid phone number.",
    21212: "The 'From' number is not a valid phone number, shortcode, or alphanumeric sender ID.",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    21620: "Invalid media URL(s).",
}

DROP_BEFORE = "drop-before"  # hang up without taking the text
DROP_AFTER = "drop-after"  # take the text, then hang up before answering
HOLD = "hold"  # take the text, then keep the request waiting, unanswered, until released
# A gateway in front of Twilio's API (its load balancer, a proxy on the way) answering
# 502 Bad Gateway with its own HTML page, not Twilio's error object: before the text
# reached Twilio, or after Twilio took it and its answer was lost on the way back.
GATEWAY_BEFORE = "gateway-before"
GATEWAY_AFTER = "gateway-after"
GATEWAY_PAGE = "<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>"


def error_body(status: int, code: int, message: str | None = None) -> dict:
    """Twilio's error object: exactly the contract's properties."""
    return {
        "code": code,
        "message": message or MESSAGES.get(code, "Error"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class Refused(Exception):
    def __init__(self, status: int, code: int, message: str | None = None) -> None:
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


@dataclass
class FakeTwilio:
    """The fake's state; start it with ``with FakeTwilio(...) as fake:``."""

    account_sid: str = "AC" + "0123456789abcdef" * 2
    auth_token: str = "f" * 32
    messages: list[dict] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)  # every create's form, valid or not
    scripts: dict[str, list] = field(default_factory=dict)
    # When a text is taken (its date_created); a test with a simulated clock sets its own.
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    # The account's numbers (IncomingPhoneNumber resources) and Messaging Services, by E.164 / sid.
    numbers: dict[str, dict] = field(default_factory=dict)
    services: dict[str, dict] = field(default_factory=dict)
    # The calls carebot placed (Call resources, with the create's form under "request").
    calls: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._outage: tuple = ()  # outcomes for every create, in turn, while Twilio is failing
        self._turn = 0
        self._hold_after: int | None = None
        self._released = threading.Event()
        self.held = 0  # requests taken and left unanswered by ``hold``

    # --- test controls -----------------------------------------------------

    def script(self, to: str, *outcomes) -> None:
        """The next answers for texts to ``to``: (status, code) errors, DROP_BEFORE/AFTER or GATEWAY_BEFORE/AFTER."""
        with self._lock:
            self.scripts.setdefault(to, []).extend(outcomes)

    def outage(self, *outcomes) -> None:
        """Answer every create with ``outcomes`` in turn ((status, code), DROP_BEFORE or DROP_AFTER)
        until called again with none: Twilio failing for everyone. A number's own script still comes first."""
        with self._lock:
            self._outage, self._turn = tuple(outcomes), 0

    def hold(self, after: int) -> None:
        """Take every text after the first ``after`` but answer none of them until ``release()``:
        a provider gone silent mid-send, the texts already on their way."""
        with self._lock:
            self._hold_after = after
            self._released.clear()

    def release(self) -> None:
        """Stop holding; requests still held are hung up on, never answered."""
        with self._lock:
            self._hold_after = None
            self._released.set()

    def add_number(self, phone: str, *, sms_url: str = "", status_callback: str = "", sms_method: str = "POST",
                   sms_application_sid: str | None = None, voice_url: str = "", voice_method: str = "POST",
                   voice_application_sid: str | None = None) -> dict:
        """A number of this account, as Twilio holds it (every property of the contract's resource)."""
        sid = "PN" + secrets.token_hex(16)
        now = format_datetime(self.clock().astimezone(UTC)).replace("-0000", "+0000")
        record = {name: None for name in CONTRACT["incoming_phone_numbers"]["properties"]}
        record.update(
            account_sid=self.account_sid, address_requirements="none", api_version="2010-04-01", beta=False,
            capabilities={"voice": True, "sms": True, "mms": True, "fax": False},
            date_created=now, date_updated=now, friendly_name=phone, phone_number=phone, origin="twilio", sid=sid,
            sms_application_sid=sms_application_sid or "", sms_fallback_method="POST", sms_fallback_url="",
            sms_method=sms_method, sms_url=sms_url, status_callback=status_callback, status_callback_method="POST",
            uri=f"/2010-04-01/Accounts/{self.account_sid}/IncomingPhoneNumbers/{sid}.json",
            voice_application_sid=voice_application_sid or "",
            voice_caller_id_lookup=False, voice_method=voice_method, voice_url=voice_url, voice_fallback_method="POST",
            voice_fallback_url="", voice_receive_mode="voice", emergency_status="Inactive", status="in-use",
            type="local",
        )
        with self._lock:
            self.numbers[phone] = record
        return record

    def add_service(self, sid: str, *, inbound_request_url: str = "", status_callback: str = "") -> dict:
        """A Messaging Service, with the fields of Messaging v1's Service resource carebot's check reads."""
        now = self.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        record = {
            "account_sid": self.account_sid, "sid": sid, "friendly_name": "carebot", "date_created": now,
            "date_updated": now, "inbound_request_url": inbound_request_url or None, "inbound_method": "POST",
            "fallback_url": None, "fallback_method": "POST", "status_callback": status_callback or None,
            "sticky_sender": True, "mms_converter": True, "smart_encoding": True, "scan_message_content": "inherit",
            "fallback_to_long_code": True, "area_code_geomatch": True, "validity_period": 14400,
            "synchronous_validation": True, "usecase": "undeclared", "us_app_to_person_registered": False,
            "use_inbound_webhook_on_number": False, "url": f"https://messaging.twilio.com/v1/Services/{sid}",
            "links": {"phone_numbers": f"https://messaging.twilio.com/v1/Services/{sid}/PhoneNumbers"},
        }
        with self._lock:
            self.services[sid] = record
        return record

    def sent_to(self, to: str) -> list[dict]:
        with self._lock:
            return [m for m in self.messages if m["to"] == to]

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeTwilio:
        fake = self

        class Handler(_Handler):
            state = fake

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()

    # --- the API -------------------------------------------------------------

    def _check_account(self, sid: str, authorization: str | None) -> None:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if authorization != expected:
            raise Refused(401, 20003)
        if sid != self.account_sid or not re.fullmatch(CONTRACT["account_sid"]["pattern"], sid):
            raise Refused(404, 20404)

    def create(self, form: dict[str, list[str]]) -> dict | str:
        """Validate a create against the contract, then take the text (or follow the script)."""
        _validate(form)
        one = {k: v[0] for k, v in form.items()}
        with self._lock:
            self.requests.append(one)
            script = self.scripts.get(one["To"])
            outcome = script.pop(0) if script else None
            if outcome is None and self._outage:
                outcome = self._outage[self._turn % len(self._outage)]
                self._turn += 1
        if outcome in (DROP_BEFORE, GATEWAY_BEFORE):
            return outcome
        if isinstance(outcome, tuple):
            raise Refused(*outcome)
        now = format_datetime(self.clock().astimezone(UTC), usegmt=False).replace("-0000", "+0000")
        sid = "SM" + secrets.token_hex(16)
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"
        message = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": one.get("Body", ""),
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": one.get("From"),
            "messaging_service_sid": one.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if "MessagingServiceSid" in one else "queued",
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": one["To"],
            "uri": uri,
        }
        with self._lock:
            self.messages.append(message)
            if self._hold_after is not None and len(self.messages) > self._hold_after:
                self.held += 1
                return HOLD
        return outcome if outcome in (DROP_AFTER, GATEWAY_AFTER) else message

    def create_call(self, form: dict[str, list[str]]) -> dict:
        """Calls.json create: checked against the contract, then placed (queued), or the number's script."""
        spec = CONTRACT["calls_create"]
        _check_form(form, spec["properties"])
        one = {k: v[0] for k, v in form.items()}
        if "To" not in one:
            raise Refused(400, 21201, "No 'To' number is specified")
        if "From" not in one:
            raise Refused(400, 21213, "No 'From' number is specified")
        if not E164.fullmatch(one["To"]):
            raise Refused(400, 21211)
        if not ({"Url", "Twiml", "ApplicationSid"} & set(one)):
            raise Refused(400, 21205, "Url parameter is required.")
        with self._lock:
            script = self.scripts.get(one["To"])
            outcome = script.pop(0) if script else None
        if isinstance(outcome, tuple):
            raise Refused(*outcome)
        now = format_datetime(self.clock().astimezone(UTC), usegmt=False).replace("-0000", "+0000")
        sid = "CA" + secrets.token_hex(16)
        call = {name: None for name in spec["call_properties"]}
        call.update(sid=sid, account_sid=self.account_sid, api_version="2010-04-01", date_created=now,
                    date_updated=now, direction="outbound-api", to=one["To"], to_formatted=one["To"],
                    status="queued", uri=f"/2010-04-01/Accounts/{self.account_sid}/Calls/{sid}.json",
                    subresource_uris={}, **{"from": one["From"], "from_formatted": one["From"]})
        with self._lock:
            self.calls.append({**call, "request": {k: v if len(v) > 1 else v[0] for k, v in form.items()}})
        return call

    def list(self, query: dict[str, list[str]]) -> dict:
        unknown = set(query) - set(CONTRACT["list"]["query"])
        if unknown:
            raise Refused(400, 20001, f"Unknown parameters {sorted(unknown)}")
        to, sender = query.get("To", [None])[0], query.get("From", [None])[0]
        size = int(query.get("PageSize", ["50"])[0])
        with self._lock:
            found = [m for m in reversed(self.messages)  # newest first, as Twilio lists them
                     if (to is None or m["to"] == to) and (sender is None or m["from"] == sender)]
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json?PageSize={size}&Page=0"
        return {
            "end": max(0, min(size, len(found)) - 1),
            "first_page_uri": uri,
            "messages": found[:size],
            "next_page_uri": None,
            "page": 0,
            "page_size": size,
            "previous_page_uri": None,
            "start": 0,
            "uri": uri,
        }


    def list_numbers(self, query: dict[str, list[str]]) -> dict:
        """IncomingPhoneNumbers.json: the account's numbers, filtered as Twilio does by (part of) PhoneNumber."""
        unknown = set(query) - set(CONTRACT["incoming_phone_numbers"]["query"])
        if unknown:
            raise Refused(400, 20001, f"Unknown parameters {sorted(unknown)}")
        wanted = query.get("PhoneNumber", [None])[0]
        size = int(query.get("PageSize", ["50"])[0])
        with self._lock:
            found = [n for phone, n in self.numbers.items() if wanted is None or wanted in phone]
        uri = f"/2010-04-01/Accounts/{self.account_sid}/IncomingPhoneNumbers.json?PageSize={size}&Page=0"
        return {"end": max(0, min(size, len(found)) - 1), "first_page_uri": uri,
                "incoming_phone_numbers": found[:size], "next_page_uri": None, "page": 0, "page_size": size,
                "previous_page_uri": None, "start": 0, "uri": uri}


    def update_number(self, sid: str, form: dict[str, list[str]]) -> dict:
        """IncomingPhoneNumbers/{Sid}.json POST: change what the form names, as the contract allows it."""
        spec = CONTRACT["incoming_phone_number_update"]
        if not re.fullmatch(spec["sid_pattern"], sid):
            raise Refused(404, 20404)
        changes = _form_changes(form, spec["properties"])
        with self._lock:
            record = next((n for n in self.numbers.values() if n["sid"] == sid), None)
            if record is None:
                raise Refused(404, 20404)
            record.update(changes)
            record["date_updated"] = format_datetime(self.clock().astimezone(UTC)).replace("-0000", "+0000")
            return dict(record)

    def update_service(self, sid: str, form: dict[str, list[str]]) -> dict:
        """Messaging v1 Services/{Sid} POST: change what the form names."""
        changes = _form_changes(form, CONTRACT["messaging_service_update"]["properties"])
        with self._lock:
            record = self.services.get(sid)
            if record is None:
                raise Refused(404, 20404)
            record.update(changes)
            record["date_updated"] = self.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            return dict(record)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _form_changes(form: dict[str, list[str]], spec: dict) -> dict:
    """An update's form checked against its contract: the resource's fields (snake_case) and new values."""
    unknown = set(form) - set(spec)
    if unknown:
        raise Refused(400, 20001, f"Unknown parameters {sorted(unknown)}")
    changes: dict = {}
    for name, values in form.items():
        rule = spec[name]
        if len(values) > 1:
            raise Refused(400, 20001, f"{name} given more than once")
        value: object = values[0]
        if "pattern" in rule and not re.fullmatch(rule["pattern"], values[0]):
            raise Refused(400, 20001, f"Invalid {name}")
        if "enum" in rule and values[0] not in rule["enum"]:
            raise Refused(400, 20001, f"Invalid {name}")
        if rule.get("format") == "uri" and values[0] and not re.match(r"^https?://[^/\s]+", values[0]):
            raise Refused(400, 21609 if name == "StatusCallback" else 21502, f"Invalid {name}")
        if rule.get("type") == "boolean":
            if values[0].lower() not in ("true", "false"):
                raise Refused(400, 20001, f"Invalid {name}")
            value = values[0].lower() == "true"
        changes[_snake(name)] = value
    return changes


def _validate(form: dict[str, list[str]]) -> None:
    """Refuse, as Twilio would, a create the contract does not allow."""
    _check_form(form, CONTRACT["create"]["properties"])
    if "To" not in form:
        raise Refused(400, 21604, "A 'To' phone number is required.")
    if not E164.fullmatch(form["To"][0]):
        raise Refused(400, 21211)
    if "From" not in form and "MessagingServiceSid" not in form:
        raise Refused(400, 21603)
    if "From" in form and not re.fullmatch(r"\+[1-9]\d{6,14}|\d{5,6}|[A-Za-z0-9 ]{1,11}", form["From"][0]):
        raise Refused(400, 21212)
    if not ({"Body", "MediaUrl", "ContentSid"} & set(form)):
        raise Refused(400, 21602)
    if len(form.get("Body", [""])[0]) > 1600:
        raise Refused(400, 21617)


def _check_form(form: dict[str, list[str]], spec: dict) -> None:
    """Refuse, as Twilio would, a create's form with a field or a value its contract does not allow."""
    unknown = set(form) - set(spec)
    if unknown:
        raise Refused(400, 20001, f"Unknown parameters {sorted(unknown)}")
    for name, values in form.items():
        rule = spec[name]
        if rule.get("type") != "array" and len(values) > 1:
            raise Refused(400, 20001, f"{name} given more than once")
        for value in values:
            if "pattern" in rule and not re.fullmatch(rule["pattern"], value):
                raise Refused(400, 20001, f"Invalid {name}")
            if "enum" in rule and value not in rule["enum"]:
                raise Refused(400, 20001, f"Invalid {name}")
            if rule.get("format") == "uri" and not re.match(r"^https?://[^/\s]+", value):
                raise Refused(400, 21609 if name == "StatusCallback" else 21620, f"Invalid {name}")


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A client killed mid-request (the fault tests' SIGKILL) is no error of the fake's."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    state: FakeTwilio
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet: tests read the state, not a log
        pass

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _gateway_page(self) -> None:
        data = GATEWAY_PAGE.encode()
        self.send_response(502)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _hang_up(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:  # the client went away first (a killed process)
            pass

    def _route(self, method: str) -> None:
        parts = urlsplit(self.path)
        match = PATH.match(parts.path)
        try:
            if method == "GET" and (NUMBERS_PATH.match(parts.path) or SERVICE_PATH.match(parts.path)):
                return self._read_account(parts)
            if method == "POST" and (NUMBER_PATH.match(parts.path) or SERVICE_PATH.match(parts.path)):
                return self._update_account(parts)
            calls = CALLS_PATH.match(parts.path)
            if method == "POST" and calls is not None:
                self.state._check_account(calls.group(1), self.headers.get("Authorization"))
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
                return self._answer(int(CONTRACT["calls_create"]["response_status"]), self.state.create_call(form))
            if match is None:
                raise Refused(404, 20404)
            self.state._check_account(match.group(1), self.headers.get("Authorization"))
            if method == "POST":
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
                answer = self.state.create(form)
                if answer == HOLD:
                    self.state._released.wait()
                    return self._hang_up()
                if answer in (DROP_BEFORE, DROP_AFTER):
                    return self._hang_up()
                if answer in (GATEWAY_BEFORE, GATEWAY_AFTER):
                    return self._gateway_page()
                return self._answer(int(CONTRACT["create"]["response_status"]), answer)
            return self._answer(200, self.state.list(parse_qs(parts.query)))
        except Refused as refused:
            self._answer(refused.status, error_body(refused.status, refused.code, refused.message))

    def _read_account(self, parts) -> None:
        numbers = NUMBERS_PATH.match(parts.path)
        if numbers is not None:
            self.state._check_account(numbers.group(1), self.headers.get("Authorization"))
            return self._answer(200, self.state.list_numbers(parse_qs(parts.query)))
        self.state._check_account(self.state.account_sid, self.headers.get("Authorization"))
        service = self.state.services.get(SERVICE_PATH.match(parts.path).group(1))
        if service is None:
            raise Refused(404, 20404)
        return self._answer(200, service)

    def _update_account(self, parts) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
        number = NUMBER_PATH.match(parts.path)
        if number is not None:
            self.state._check_account(number.group(1), self.headers.get("Authorization"))
            return self._answer(200, self.state.update_number(number.group(2), form))
        self.state._check_account(self.state.account_sid, self.headers.get("Authorization"))
        return self._answer(200, self.state.update_service(SERVICE_PATH.match(parts.path).group(1), form))

    def do_POST(self) -> None:
        self._route("POST")

    def do_GET(self) -> None:
        self._route("GET")
