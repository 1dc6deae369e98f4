"""``carebot check``: is this deployment right? One line each, ✓ or ✗ with the fix.

In order: the settings, the key, the database, its schema, the key against the
database, each group's crisis resources (none may send anyone to police), Twilio's
credentials (a real API call for the number's own record, or the Messaging
Service's), where that number's (or service's) webhooks point,
optionally the public URL answering from outside, and the Signal service. A
check that needs an earlier one to pass says so instead of guessing. Nothing is
written: the check only reads.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from carebot.domain.startup import Refusal

TIMEOUT = 10.0  # seconds for each outside service
SMS_PATH = "/twilio/sms"  # where carebot takes Twilio's incoming texts (carebot/runtime/web.py)


@dataclass
class Line:
    ok: bool
    what: str
    said: str

    def __str__(self) -> str:
        return f"{'✓' if self.ok else '✗'} {self.what}: {self.said}"


@dataclass
class Report:
    """The lines so far, and what the later checks need from the earlier ones."""

    echo: Callable[[str], None]
    lines: list[Line] = field(default_factory=list)
    known: dict[str, Any] = field(default_factory=dict)

    def add(self, ok: bool, what: str, said: str) -> bool:
        line = Line(ok, what, said)
        self.lines.append(line)
        self.echo(str(line))
        return ok

    def skip(self, what: str, because: str) -> None:
        self.add(False, what, f"not checked: {because}")

    @property
    def ok(self) -> bool:
        return all(line.ok for line in self.lines)


def run(echo: Callable[[str], None], *, from_outside: bool = False) -> bool:
    """Every check, each line echoed as it is known; True only when all pass."""
    report = Report(echo)
    from carebot.domain.config import FIRST_RUN, nothing_set_up

    if nothing_set_up():
        report.add(False, "settings", FIRST_RUN)
        return False
    try:
        for step in (settings, key, database, schema, key_matches, crisis_resources, twilio_account, twilio_webhooks):
            step(report)
        if from_outside:
            public_url(report)
        signal(report)
    finally:
        if "db" in report.known:
            report.known["db"].dispose()
    return report.ok


def settings(report: Report) -> None:
    from carebot.domain.config import describe_env_file, load_serve_settings, load_settings

    try:
        where = describe_env_file().removeprefix("carebot: ")
        report.known["serve"] = load_serve_settings("carebot")  # every setting's problem, the shared ones too
    except Refusal as problem:
        report.add(False, "settings", str(problem).removeprefix("carebot: "))
        # The database's own settings may be right all the same: then the key and the database are checked.
        try:
            report.known["base"] = load_settings()
        except Refusal:
            pass  # said in the line above
        return
    report.known["base"] = report.known["serve"]
    report.add(True, "settings", where)


def key(report: Report) -> None:
    from carebot.store.crypto import require_key

    if "base" not in report.known:
        report.skip("secret key", "fix the settings first")
        return
    try:
        report.known["keyring"] = require_key()
    except Refusal as problem:
        report.add(False, "secret key", str(problem))
        return
    report.add(True, "secret key", "set")


def database(report: Report) -> None:
    from carebot.store.db import open_database, shown
    from carebot.tools.init import refuse_the_default_database

    if "base" not in report.known:
        report.skip("database", "fix the settings first")
        return
    url = report.known["base"].carebot_database_url
    try:
        refuse_the_default_database(report.known["base"])  # says what makes it, where nothing names one
        report.known["db"] = open_database(url)
    except Refusal as problem:
        report.add(False, "database", str(problem).removeprefix("carebot: "))
        return
    report.add(True, "database", f"{shown(url)} answers")


def schema(report: Report) -> None:
    from carebot.store.db import known_revisions, revisions, unknown_schema

    db = report.known.get("db")
    if db is None:
        report.skip("schema", "no database")
        return
    current, head = revisions(db.engine)
    known = known_revisions(db.url) if current != head else []
    if current is not None and current not in known and current != head:
        report.add(False, "schema", f"at {unknown_schema(current, known)}")
        return
    if current != head:
        report.add(False, "schema", f"at {current or 'nothing (empty)'}, this carebot needs {head}: "
                                    "run `carebot db upgrade`")
        return
    report.known["schema"] = head
    report.add(True, "schema", f"up to date ({head})")


def key_matches(report: Report) -> None:
    from carebot.store.crypto import verify

    db = report.known.get("db")
    if db is None or "keyring" not in report.known or "schema" not in report.known:
        report.skip("key and database", "needs the key, the database and its schema")
        return
    try:
        with db.engine.connect() as conn:
            how = verify(conn, report.known["keyring"], record=False)
    except Refusal as problem:
        report.add(False, "key and database", str(problem))
        return
    report.add(True, "key and database", "the key is the database's" if how == "matches"
               else "no number stored under another key (recorded on the next command)")


def crisis_resources(report: Report) -> None:
    """No group's crisis resources send anyone where carebot never does (domain.nopolice), even set before."""
    from sqlalchemy import select

    from carebot.domain.nopolice import refusal
    from carebot.flows.crisis import DEFAULT_RESOURCES
    from carebot.store.models import Group

    db = report.known.get("db")
    if db is None or "schema" not in report.known:
        report.skip("crisis resources", "needs the database and its schema")
        return
    with db.engine.connect() as conn:
        rows = conn.execute(select(Group.keyword, Group.crisis_resources).order_by(Group.keyword)).all()
    refused = [(keyword, refusal(resources or "")) for keyword, resources in rows]
    wrong = [f"{keyword}'s {why}" for keyword, why in refused if why]
    if wrong:
        report.add(False, "crisis resources", "; ".join(wrong) + " (`carebot group edit KEYWORD --crisis ...`)")
        return
    # Not a failure: a group without its own is given carebot's default, a peer-support line (flows/crisis.py),
    # but a volunteer should know its members hear no one of their own.
    none = [keyword for keyword, resources in rows if not (resources or "").strip()]
    said = "none is an emergency number"
    if none:
        said += (f"; {', '.join(none)} {'has' if len(none) == 1 else 'have'} none of {'its' if len(none) == 1 else 'their'}"
                 f" own, so members hear only carebot's default, {DEFAULT_RESOURCES['en']}: add the group's people with "
                 f"`carebot group edit {none[0]} --crisis \"...\"`")
    report.add(True, "crisis resources", said)


# --- Twilio ---------------------------------------------------------------------------

def _twilio_client(serve):
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    from carebot.channels import twilio as channel  # also keeps the twilio library's request logs quiet

    # The sync client goes through requests and urllib3, whose DEBUG lines hold the URL, and so
    # the number this check asks about: no log holds a number, whatever the level.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    base = serve.twilio_api_base_url

    class Rebased(TwilioHttpClient):
        """Twilio's own sync client, every Twilio host (api, messaging) sent to TWILIO_API_BASE_URL if set."""

        def request(self, method, url, *args, **kwargs):
            if base != channel.TWILIO_API:
                scheme, _, rest = url.partition("://")
                host, _, path = rest.partition("/")
                if host.endswith(".twilio.com"):
                    url = f"{base}/{path}"
            return super().request(method, url, *args, **kwargs)

    return Client(serve.twilio_account_sid, serve.twilio_auth_token.get_secret_value(),
                  http_client=Rebased(timeout=TIMEOUT))


def _twilio_said(error: Exception) -> str:
    from twilio.base.exceptions import TwilioException, TwilioRestException

    # A list's page that is not 200 is a bare TwilioException carrying the response (twilio.base.page).
    response = error.args[1] if isinstance(error, TwilioException) and len(error.args) > 1 else None
    if response is not None and hasattr(response, "status_code"):
        try:
            code = json.loads(response.text).get("code")
        except (ValueError, AttributeError):
            code = None
        error = TwilioRestException(response.status_code, "", code=code)
    if isinstance(error, TwilioRestException):
        if error.status in (401, 403) or error.code == 20003:
            return ("Twilio refused the credentials: copy TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN from the "
                    "console's Account Info again")
        if error.status == 404:
            return "Twilio has no such resource on this account: check TWILIO_ACCOUNT_SID and TWILIO_MESSAGING_SERVICE_SID"
        return f"Twilio answered {error.status} (code {error.code})"
    return f"Twilio's API does not answer ({type(error).__name__}): check the network and TWILIO_API_BASE_URL"


def twilio_account(report: Report) -> None:
    serve = report.known.get("serve")
    if serve is None:
        report.skip("Twilio", "fix the settings first")
        return
    client = _twilio_client(serve)
    try:
        if serve.twilio_messaging_service_sid:
            service = client.messaging.v1.services(serve.twilio_messaging_service_sid).fetch()
            report.known["service"] = service
        if serve.twilio_from:
            found = [n for n in client.incoming_phone_numbers.list(phone_number=serve.twilio_from, limit=20)
                     if n.phone_number == serve.twilio_from]
            if not found:
                report.add(False, "Twilio", "the credentials work, but TWILIO_FROM is not a number of this "
                                            "account: copy it from the console's Phone Numbers page")
                return
            report.known["number"] = found[0]
    except Exception as error:  # any failure of the call is the line's answer
        report.add(False, "Twilio", _twilio_said(error))
        return
    report.add(True, "Twilio", "the credentials work and the account holds "
               + ("the Messaging Service" if "service" in report.known else "the number"))


def twilio_webhooks(report: Report) -> None:
    from carebot.channels.twilio import STATUS_PATH
    from carebot.channels.voice import VOICE_PATH

    serve = report.known.get("serve")
    if serve is None or not ({"number", "service"} & set(report.known)):
        report.skip("Twilio webhooks", "needs Twilio's record of the number or the service")
        return
    sms, status = serve.carebot_public_url + SMS_PATH, serve.carebot_public_url + STATUS_PATH
    problems, apart = [], ""
    service = report.known.get("service")
    if service is not None and not service.use_inbound_webhook_on_number:
        where = "the Messaging Service's"
        if service.inbound_request_url != sms:
            problems.append(f"Incoming Messages goes to {service.inbound_request_url or 'nowhere'}, not {sms}")
        # carebot names its status callback with every text; one set here must be carebot's too.
        if service.status_callback and service.status_callback != status:
            problems.append(f"Delivery Status Callback is {service.status_callback}, not {status}")
    else:
        number, where = report.known.get("number"), "the number's"
        if number is None:
            report.skip("Twilio webhooks", "the service sends to its numbers' own webhooks: set TWILIO_FROM")
            return
        if number.sms_application_sid:
            problems.append("its messaging goes to a TwiML App (SmsApplicationSid), which overrides its URL")
        if number.sms_url != sms:
            problems.append(f"A message comes in goes to {number.sms_url or 'nowhere'}, not {sms}")
        elif (number.sms_method or "POST").upper() != "POST":
            problems.append("A message comes in uses GET: choose HTTP POST")
        if number.status_callback and number.status_callback != status:
            problems.append(f"its status callback is {number.status_callback}, not {status}")
        problems += _calls(number, serve.carebot_public_url + VOICE_PATH)
        apart = " (calls go to a TwiML App)" if number.voice_application_sid else ""
    if problems:
        report.add(False, "Twilio webhooks", f"{where} " + "; ".join(problems)
                   + " (fix it in Twilio's console, or run `carebot twilio connect`)")
        return
    report.add(True, "Twilio webhooks", f"{where} point at {serve.carebot_public_url}{apart}")


def _calls(number, voice: str) -> list[str]:
    """What keeps a call to the number from reaching carebot (the go-around by phone), as `twilio connect` sets it.

    A TwiML App answering the calls (VoiceApplicationSid) is the group's own choice, which connect leaves too.
    """
    if number.voice_application_sid:
        return []
    if number.voice_url != voice:
        return [f"A call comes in goes to {number.voice_url or 'nowhere'}, not {voice}"]
    if (number.voice_method or "POST").upper() != "POST":
        return ["A call comes in uses GET: choose HTTP POST"]
    return []


# --- from outside, and Signal ----------------------------------------------------------

def _get(url: str, *, data: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310 (the operator's own URLs)
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def public_url(report: Report) -> None:
    serve = report.known.get("serve")
    if serve is None:
        report.skip("public URL", "fix the settings first")
        return
    from carebot.channels.twilio import STATUS_PATH
    from carebot.channels.voice import VOICE_PATH

    # Each of Twilio's webhooks, unsigned, so carebot refuses it (403) and stores nothing: only carebot
    # answers that way there. All three, for a proxy that forwards texts but not calls answers 404 to calls.
    for path in (SMS_PATH, STATUS_PATH, VOICE_PATH):
        url = serve.carebot_public_url + path
        try:
            status, _ = _get(url, data=b"")
        except (OSError, ValueError) as error:
            report.add(False, "public URL", f"{url} does not answer ({type(error).__name__}): is carebot "
                                            "running, and do the DNS name and the proxy reach it?")
            return
        if status != 403:
            report.add(False, "public URL", f"{url} answers {status}, not carebot's 403 to an unsigned "
                                            f"webhook: does the proxy forward {path} to carebot? (deploy/Caddyfile)")
            return
    report.add(True, "public URL", f"{serve.carebot_public_url}/twilio/ (sms, status, voice) reaches carebot")


def signal(report: Report) -> None:
    serve = report.known.get("serve")
    if serve is None or not serve.signal_service:
        if serve is not None:
            report.add(True, "Signal", "off (SMS only)")
        return
    base = f"http://{serve.signal_service}"
    try:
        _, about = _get(f"{base}/v1/about")
        mode = json.loads(about).get("mode")
        _, accounts = _get(f"{base}/v1/accounts")
        numbers = json.loads(accounts)
    except (OSError, ValueError, AttributeError) as error:
        report.add(False, "Signal", f"signal-cli-rest-api does not answer at {serve.signal_service} "
                                    f"({type(error).__name__}): is it running? (deploy/signal.md)")
        return
    if mode != "json-rpc":
        report.add(False, "Signal", f"signal-cli-rest-api runs in {mode} mode: set MODE=json-rpc "
                                    "(deploy/signal.md)")
        return
    if not isinstance(numbers, list) or serve.signal_number not in numbers:
        report.add(False, "Signal", "SIGNAL_NUMBER is not registered or linked on the service: "
                                    "register it (deploy/signal.md)")
        return
    report.add(True, "Signal", f"json-rpc mode at {serve.signal_service}, the number registered")
