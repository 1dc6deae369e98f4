"""The suite's shared helpers: driving the simulation, looking at the database, waiting on a condition,
and the log watch (no number and no member's text in any log). Test modules import shared pieces
from here (or fakes from tests/fakes/), never from one another."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import textwrap
import time
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, insert, inspect, select, text
from twilio.request_validator import RequestValidator

from carebot.channels import SMS
from carebot.channels.twilio import WebhookVerifier
from carebot.cli import main
from carebot.dispatch.dispatcher import Dispatcher
from carebot.domain import clock
from carebot.runtime.web import create_app
from carebot.services.groups import MAX_GROUP_NAME, MAX_MEMBER_NAME
from carebot.store.db import Database
from carebot.store.models import Answer, Group, InboundMessage, Member, Membership, OutboxMessage
from carebot.tools.transcript import Simulation
from tests.fakes.world import ANA, NOW, PUBLIC_URL
from tests.pgserver import free_port

SETUP = [
    'group DMMA name="Des Moines Mutual Aid" tz=America/Chicago',
    "member DMMA +15155550101 name=Ana",
    "at 2026-03-02 10:00",
]

TRANSCRIPTS = Path(__file__).parent / "transcripts"  # the conversation transcripts


def run(sim: Simulation, *lines: str) -> None:
    async def go() -> None:
        for line in lines:
            await sim.execute(line)

    asyncio.run(go())


def texts_to(sim: Simulation, address: str) -> list[str]:
    return [d.text for d in sim.network.delivered if d.to == address]


def snapshot(sim: Simulation, phone: str) -> tuple:
    """Everything carebot holds about one member, to show it did not change."""
    with sim.db.transaction() as session:
        member = Member.by_phone(session, phone)
        if member is None:
            return ()
        answers = session.execute(
            select(Answer.option, Answer.until, Answer.how, Answer.capacity, Answer.ended_at)
            .where(Answer.member_id == member.id).order_by(Answer.id)
        ).all()
        memberships = session.execute(
            select(Membership.group_id, Membership.role, Membership.status)
            .where(Membership.member_id == member.id)
        ).all()
        return (member.opted_out, member.language, member.name, tuple(answers), tuple(memberships))


def outbox_rows(sim: Simulation) -> list[OutboxMessage]:
    with sim.db.transaction() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def cancelled_with_words(sim: Simulation) -> list[int]:
    """The cancelled outbox rows that kept their words: none may (a text that will never go may hold a number)."""
    with sim.db.transaction() as session:
        return [row.id for row in session.scalars(select(OutboxMessage).where(OutboxMessage.status == "cancelled"))
                if row.body]


def wait_for(check, what: str, seconds: float = 30.0) -> None:
    """Poll until ``check()`` is true; a generous deadline, never a fixed sleep."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    pytest.fail(f"gave up waiting for {what}")


async def wait_until(check, what: str, seconds: float = 30.0) -> None:
    """``wait_for`` inside an event loop: poll ``check()`` and let the loop's other tasks run meanwhile."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"gave up waiting for {what}")


def carebot_units() -> list[Path]:
    """deploy/'s systemd units that run carebot itself (not the Signal service's)."""
    deploy = Path(__file__).resolve().parent.parent / "deploy"
    units = [unit for unit in sorted(deploy.glob("*.service"))
             if re.search(r"^ExecStart=\S*/carebot ", unit.read_text(), re.M)]
    assert units, "no systemd unit in deploy/ runs carebot"
    return units


# --- What the database holds, as text ---------------------------------------------------

def dump(session) -> str:
    """Every row of every table, as text (any backend); for SQLite also its own SQL dump."""
    parts = []
    for table in inspect(session.connection()).get_table_names():
        for row in session.execute(text(f"SELECT * FROM {table}")):
            parts.append(f"{table}: " + " | ".join(
                v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in row))
    raw = session.connection().connection.driver_connection
    if hasattr(raw, "iterdump"):
        parts.extend(raw.iterdump())
    return "\n".join(parts)


def database_text(sim: Simulation) -> str:
    """Everything in every table of a simulation's database, as one string."""
    with sim.db.transaction() as session:
        return dump(session)


# --- carebot serve as a real process ------------------------------------------------------

# Settings ``carebot serve`` accepts; Twilio's API is a fake on 127.0.0.1 in every test.
GOOD = {
    "CAREBOT_PUBLIC_URL": "https://care.example.org",
    "TWILIO_ACCOUNT_SID": "AC" + "0123456789abcdef" * 2,
    "TWILIO_AUTH_TOKEN": "f" * 32,
    "TWILIO_FROM": "+15155550100",
}
SIGNAL_BOT = "+15155550199"  # the Signal number carebot runs as, at the fake Signal service


class Process:
    """One ``carebot serve --role ROLE`` on a free port of 127.0.0.1."""

    def __init__(self, role: str, url: str, cwd: Path, **env: str) -> None:
        self.port = free_port()
        self.role = role
        environment = {**os.environ, **GOOD, "CAREBOT_DATABASE_URL": url, **env}
        self.log = cwd / f"{role}-{self.port}.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "carebot", "-v", "serve", "--role", role, "--port", str(self.port)],
            env=environment, cwd=cwd, stdout=self.log.open("w"), stderr=subprocess.STDOUT,
        )
        self.watched = False

    def get(self, path: str) -> str | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as answer:
                return answer.read().decode()
        except OSError:
            assert self.proc.poll() is None, self.output()
            return None

    def health(self) -> dict | None:
        answer = self.get("/healthz")
        return json.loads(answer) if answer else None

    def metric(self, name: str) -> float:
        for line in (self.get("/metrics") or "").splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def post(self, path: str, form: dict) -> int:
        LOG_WATCH.sent(form.get("From"), form.get("Body"))
        signature = RequestValidator(GOOD["TWILIO_AUTH_TOKEN"]).compute_signature(GOOD["CAREBOT_PUBLIC_URL"] + path, form)
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}",
                                         data=urllib.parse.urlencode(form).encode(),
                                         headers={"X-Twilio-Signature": signature})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        """Stop it, and hand its log (at DEBUG, ``-v``) to this test's log check for numbers and texts."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if not self.watched:
            self.watched = True
            LOG_WATCH.output(f"carebot serve --role {self.role}", self.output())


def group_with_a_due_round(db: Database, phones: list[str]) -> int:
    """One group whose round is due, with consenting members with these phones; its id."""
    now = clock.now()
    with db.transaction() as session:
        # Daytime all day (0-24), so the round goes whatever hour the test runs at.
        group = Group(keyword="DMMA", name="Des Moines Mutual Aid", timezone="UTC",
                      round_schedule="0 10 * * mon", next_round_at=now - timedelta(minutes=1),
                      day_starts=0, day_ends=24, created_at=now - timedelta(days=30))
        session.add(group)
        session.flush()
        session.execute(insert(Member), [{"phone": phone, "name": f"M{n}", "language": "en", "channel": SMS,
                                          "created_at": now - timedelta(days=30)}
                                         for n, phone in enumerate(phones)])
        ids = session.scalars(select(Member.id).order_by(Member.id)).all()
        session.execute(insert(Membership), [{"group_id": group.id, "member_id": member_id, "role": "member",
                                              "status": "active", "consented_at": now - timedelta(days=30),
                                              "created_at": now - timedelta(days=30)} for member_id in ids])
        return group.id


# --- Twilio's webhooks against the real ASGI app ---------------------------------------

TOKEN = "e" * 32
NEWCOMER = "+15155550199"


def app_for(db, *, workers=1, woken=None):
    return create_app(
        dispatcher=Dispatcher(db), verifier=WebhookVerifier(TOKEN, PUBLIC_URL),
        on_inbound=(lambda: woken.append(1)) if woken is not None else None,
        now=lambda: NOW, workers=workers,
    )


def inbound_form(sid="SM" + "1" * 32, sender=NEWCOMER, body="JOIN DMMA"):
    return {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32, "From": sender,
            "To": "+15155550100", "Body": body, "NumMedia": "0"}


def sign(path, form, *, url=PUBLIC_URL, token=TOKEN):
    return RequestValidator(token).compute_signature(url + path, form)


async def post(app, path, form, signature=None, *, base="http://10.0.0.7:8000"):
    """POST as Twilio would, to the app as a proxy hands it on (another host than the public one)."""
    headers = {} if signature is None else {"X-Twilio-Signature": signature}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base) as client:
        return await client.post(path, data=form, headers=headers)


def counts(db):
    with db.transaction() as session:
        return (session.scalar(select(func.count()).select_from(InboundMessage)),
                session.scalar(select(func.count()).select_from(OutboxMessage)),
                session.scalar(select(func.count()).select_from(Member)))


def client_for(app):
    """An HTTP client to the app as a proxy hands requests on (another host than the public one)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://10.0.0.7:8000")


async def signed_post(client, path, form):
    """POST a form signed as Twilio signs it, on a client the caller holds open."""
    return await client.post(path, data=form, headers={"X-Twilio-Signature": sign(path, form)})


def status_form(sid, status, error=None):
    form = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status,
            "AccountSid": "AC" + "0" * 32, "From": "+15155550100", "To": ANA, "ApiVersion": "2010-04-01"}
    if error:
        form["ErrorCode"] = error
    return form


# --- Message fields at their longest, for the catalogs' segment checks ------------------

LONG = {
    "group": "G" * MAX_GROUP_NAME,
    "keyword": "K" * 16,
    "network": "N" * 16,  # a network code, written like a keyword
    "name": "N" * MAX_MEMBER_NAME,
    "freq": "monthly on day 28 at 10:00",
    "day": "Wednesday",
    "time": "10:00",
    "date": "Sep 30",
    "capacity": 20,
    "answer": "you can keep up to 20 people company",
    "example": "K" * 16,
    "how": "x" * 140,
    "summary": "you'd like someone to reach out (until Sep 30, call evenings)",
    "keywords": ", ".join(["K" * 16] * 3),
    "coordinators": ", ".join(["N" * MAX_MEMBER_NAME] * 3),
    "requester": "R" * MAX_MEMBER_NAME,
    "supporter": "S" * MAX_MEMBER_NAME,
    "other": "O" * MAX_MEMBER_NAME,
    "contact": "+15155550101",
    "cadence": "14 days",
    "n": 14,
    "days": 14, "hours": 12,  # how long an approval waits, how long a ROUND is not sent twice
    "names": ", ".join(["N" * MAX_MEMBER_NAME] * 3),
    "count": 25000,
    "budget": 500000,  # 20 texts a day for each of 25,000 members (carebot.outbox.budget)
    "start": 8,
    "end": 21,
    "when": "Sep 30 18:30",
    "place": "P" * 40,
    "yes": 250, "no": 250, "unknown": 2500,
    "asked": 2500, "offered": 2500, "resting": 2500, "paired": 2500, "waiting": 2500,
    "actor": "A" * MAX_MEMBER_NAME,
    "a": "A" * MAX_MEMBER_NAME,
    "b": "B" * MAX_MEMBER_NAME,
    "kind": "reach out",
    "pairs": "S with R (reach out); waiting: W",
    "text": "Potluck Sunday at 5",
    "command": "UNCOORD",
    "number": "+15155550123",
    "inviter": "I" * MAX_MEMBER_NAME,
    "entries": "Sep 30 Rosa paired Ana with Sam; Sep 29 Rosa started a go-around",
    "resources": "Trans Lifeline 877-565-8860 (peer support)",
    "groups": ", ".join(["K" * 16 + " (coordinator)"] * 3),
    "lang": "English",
    "channel": "Signal",
    "options": "1 2 4 5",
    "words": "W" * 40,
    # A care map at its longest: three answers of 300 characters (carebot.flows.caremap.MAX_ANSWER).
    "shared": "shared with whoever supports you",
    "parts": "; ".join(f"{label}: " + "w" * 300 for label in ("helps", "doesn't help", "also")),
}
# A "how" is the member's own words, up to 140 characters; messages that carry one list data.
SHORT_HOW = dict(LONG, how=" (call evenings)")

# --- No numbers or texts in logs (issue 8) ----------------------------------------------
# tests/conftest.py hands every log record (every logger, non-propagating ones too, at DEBUG
# on the root) and every text members send to LOG_WATCH, and checks it after each test:
# a test fails if its own records, or the output of processes it started, hold a phone
# number or one of the texts it sent. tests/test_logs.py tests the check itself.

E164 = re.compile(r"\+\d{8,15}\b")
NANP = re.compile(r"\(?\b\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b")
DIGIT_RUN = re.compile(r"\d[\d\s().-]{6,}\d")


class LogWatch:
    """What was logged during one test, and what members sent in it that must never be logged."""

    def __init__(self) -> None:
        self.records: list[tuple[str, str, str]] = []  # (logger, level, message with its exception)
        self.texts: set[str] = set()
        self.numbers: set[str] = set()

    def keep(self, record) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string is still a record to check
            message = f"{record.msg} {record.args}"
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            message += f" [{type(error).__name__}: {error}]"
        self.records.append((record.name, record.levelname, message))

    def saw(self, messages) -> None:
        for message in messages:
            self.sent(message.sender, message.text)

    def sent(self, sender: str | None, text: str | None) -> None:
        """A text a member sent (here, or to a carebot in another process): it must never be logged."""
        if sender:
            self.numbers.add(sender)
        # A member's own words: anything longer than a keyword or two.
        body = (text or "").strip()
        if len(body) >= 8 and " " in body:
            self.texts.add(body)

    def output(self, source: str, text: str) -> None:
        """What another process (a ``carebot serve``, a crashed sender) printed: each line is checked as a record."""
        self.records.extend((source, "OUTPUT", line) for line in text.splitlines() if line.strip())

    def take(self) -> LogWatch:
        """Everything watched so far, handed over; this watch starts again empty."""
        taken = LogWatch()
        taken.records, taken.texts, taken.numbers = self.records, self.texts, self.numbers
        self.records, self.texts, self.numbers = [], set(), set()
        return taken


def leaks(watch: LogWatch) -> list[str]:
    """The records that give away a number (in any formatting) or a member's text, each with why."""
    national = {re.sub(r"\D", "", n)[-10:] for n in watch.numbers if len(re.sub(r"\D", "", n)) >= 10}
    found = []
    for name, level, message in watch.records:
        why = None
        if E164.search(message) or NANP.search(message):
            why = "a phone number"
        elif any(n in re.sub(r"\D", "", run) for run in DIGIT_RUN.findall(message) for n in national):
            why = "a member's number"
        else:
            said = next((t for t in watch.texts if t in message), None)
            if said is not None:
                why = f"a member's text {said!r}"
        if why:
            found.append(f"{name} {level}: {message[:300]!r} holds {why}")
    return found


# The watch of the test that runs now (between tests: of what runs between them).
LOG_WATCH = LogWatch()


# carebot check (tests/test_check.py, tests/test_connect.py): the deployment its fixtures build.
PUBLIC = GOOD["CAREBOT_PUBLIC_URL"]
FROM = GOOD["TWILIO_FROM"]
SERVICE = "MG" + "ab" * 16


def check(*args: str) -> tuple[int, dict[str, str]]:
    """Run ``carebot check``: its exit code, and each line by what it checks ("✓ …" / "✗ …")."""
    result = CliRunner().invoke(main, ["check", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    lines = {}
    for line in result.output.strip().splitlines():
        mark, _, rest = line.partition(" ")
        what, _, said = rest.partition(": ")
        assert mark in ("✓", "✗"), line
        lines[what] = f"{mark} {said}"
    return result.exit_code, lines


def scrape(app) -> tuple[str, dict[tuple, float]]:
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return await client.get("/metrics")

    response = asyncio.run(go())
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    values = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return response.text, values


def value(values, name, **labels) -> float:
    return values.get((name, tuple(sorted(labels.items()))), 0.0)


def wait_for_serve(server: subprocess.Popen, public: str) -> None:
    """Wait until a ``carebot serve`` started by a test answers /healthz; fail at once if it exited."""

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"{public}/healthz", timeout=2) as answer:
                return answer.status == 200
        except OSError:
            assert server.poll() is None, server.stderr.read() if server.stderr else "carebot serve exited"
            return False

    wait_for(healthy, "carebot serve to start", 60)  # its imports and start-up checks: seconds on a busy machine


# A sender in its own process, killed (``os._exit``: no cleanup, no rollback) at the worst moments:
# "after-answer" (Twilio answered, the commit never happens), "before-request" (the row is claimed,
# Twilio is never asked), or "alive" (holds its lease and a claimed row until its stdin closes).
KILLED = 137
_SENDER = textwrap.dedent("""
    import asyncio, os, sys
    from datetime import datetime
    import carebot.outbox.sender as outbox
    from carebot.channels import SMS
    from carebot.channels.twilio import TwilioSMS
    from carebot.store.db import Database
    from carebot.store.lease import Lease

    url, base, sid, token, public, now, moment, lease = sys.argv[1:]

    def die(*args, **kwargs):
        os._exit(137)

    if moment == "after-answer":
        outbox._record_sent = die
    elif moment == "before-request":
        TwilioSMS.send = die

    async def main():
        db = Database(url)
        if lease == "lease":
            db.lease = Lease(url)
            db.lease.hold()
        if moment == "alive":
            print(db.lease.owner, flush=True)
            sys.stdin.read()
            return
        channel = TwilioSMS(account_sid=sid, auth_token=token, public_url=public,
                            from_number="+15155550100", base_url=base)
        await outbox.deliver_due(db, {SMS: channel}, datetime.fromisoformat(now))

    asyncio.run(main())
""")


def sender_process(db, fake, moment: str, *, lease: bool, **popen) -> subprocess.Popen:
    """Start the killable sender against ``db`` and the Twilio fake, holding the sender's lease if asked."""
    return subprocess.Popen(
        [sys.executable, "-c", _SENDER, db.url, fake.base_url, fake.account_sid, fake.auth_token,
         PUBLIC_URL, NOW.isoformat(), moment, "lease" if lease else "none"],
        text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)
