"""Conversation transcripts: replay a conversation against a fresh database.

The format (one statement a line; see docs in product.md and the README):

    group DMMA name="Des Moines Mutual Aid" tz=America/Chicago
    group ICMA name="Iowa City Mutual Aid" network=MIDWEST overflow=24h
    group ICMA network=none          (a group that exists: changes its network)
    member DMMA +15155550101 name=Ana
    coordinator DMMA +15155550100 name=Rosa
    at 2026-03-02 09:00
    +15155550101 > 1 call evenings
    +15155550101 < reach out
    +15155550101 <! ^Got it        (strict: the oldest unread message matches; none skipped)
    signal:+15155550102 > STATUS
    voice:+15155550103 > call
    voice:+15155550103 < press 1
    voice:+15155550103 > 1
    voice:+15155550103 > hangup
    voice:+15155550103 > answer   # a call carebot placed (CHANNEL VOICE): also voicemail, miss
    quiet voice:+15155550103      # carebot is not calling that number
    wait 2h
    quiet +15155550101

Each statement runs through the same dispatcher, outbox and ticker as real
traffic, with simulated channels and a simulated clock.

``<`` finds the first unread message that matches and marks it and every earlier unread one read,
so it cannot show that an unwanted earlier message was absent. ``<!`` is strict: the oldest unread
message to that number must match (it alone is marked read); a message before the one expected fails
the line. ``<!`` lines one after another, then ``quiet``, say "these, in this order, and nothing else".
"""

from __future__ import annotations

import itertools
import re
import shlex
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from carebot.channels import SIGNAL, SMS
from carebot.channels.sim import VOICE_PREFIX, Delivered, SimNetwork
from carebot.channels.voice import OUT, CallEnded, CallInput
from carebot.dispatch.calls import CallDesk
from carebot.dispatch.dispatcher import Dispatcher
from carebot.runtime.ticker import tick
from carebot.services.groups import GroupError, add_group, add_member, add_network, edit_group, overflow_hours
from carebot.services.planner import mark_due
from carebot.store.crypto import use_ephemeral_key
from carebot.store.db import Database
from carebot.store.models import Base, Group, Member, Network

DEFAULT_START = (2026, 3, 2, 12, 0)  # a Monday, midday
_MESSAGE = re.compile(r"^(?P<to>(?:signal:)?\S+)\s+(?P<dir><!|[<>])(?:\s(?P<text>.*))?$")
_COMMENT = re.compile(r"(^|\s)#.*$")
_SPAN = re.compile(r"(\d+)\s*([mhd])")


def _unaccented(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
MAX_STEPS = 100_000


class TranscriptError(Exception):
    """A statement failed: its expectation was not met, or it could not be read."""


@dataclass
class Failure:
    path: str
    line_number: int
    line: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line_number}: {self.line}\n    {self.reason}"


def strip_comment(line: str) -> str:
    """A line without its comment (a # at the start or after a space)."""
    return _COMMENT.sub("", line).strip()


def parse_span(text: str) -> timedelta:
    """``2h``, ``30m``, ``1d 2h`` as a timedelta."""
    parts = _SPAN.findall(text)
    if not parts or _SPAN.sub("", text).strip():
        raise TranscriptError(f"cannot read the time span {text!r} (use e.g. 30m, 2h, 1d)")
    return sum((timedelta(**{_UNITS[u]: int(n)}) for n, u in parts), timedelta())


# The fields a group line and a member (or coordinator) line take, as ``field=value``.
GROUP_FIELDS = ("name", "tz", "lang", "schedule", "crisis", "two_coordinators", "private", "budget", "network",
                "overflow")
MEMBER_FIELDS = ("name", "lang")


class Simulation:
    """A fresh carebot with simulated channels and a simulated clock."""

    def __init__(self, db: Database | None = None, echo: Callable[[str], None] | None = None,
                 *, url: str = "sqlite://") -> None:
        # A throw-away database: without CAREBOT_SECRET_KEY its numbers get a key that dies with the process.
        use_ephemeral_key()
        self.db = db or Database(url)  # in-memory SQLite unless told otherwise
        Base.metadata.create_all(self.db.engine)
        self.network = SimNetwork()
        self.channels = self.network.channels()
        self.dispatcher = Dispatcher(self.db)
        self.desk = CallDesk(self.dispatcher)
        self.calls: dict[str, CallInput] = {}  # by number: the call going on, at the menu waiting for a key
        self._call_ids = itertools.count(1)
        self._placed: set[str] = set()  # the calls carebot placed
        self.echo = echo
        self.now: datetime | None = None
        self.tz: ZoneInfo | None = None
        self._echoed = 0

    # --- the clock --------------------------------------------------------

    def _clock(self) -> datetime:
        if self.now is None:
            tz = self.tz or ZoneInfo("UTC")
            self.now = datetime(*DEFAULT_START, tzinfo=tz)
        self.network.clock = self.now
        return self.now

    async def advance_to(self, target: datetime) -> None:
        """Move the clock to ``target``, running everything due in between, in time order."""
        now = self._clock()
        if target < now:
            raise TranscriptError(f"the clock never goes backwards (it is {now:%Y-%m-%d %H:%M})")
        for _ in range(MAX_STEPS):
            due = self.dispatcher.next_due()
            if due is None or due > target:
                break
            now = max(due, now)
            await self._tick(now)
        await self._tick(target)

    async def _tick(self, moment: datetime) -> None:
        self.now = moment
        self.network.clock = moment
        await tick(self.dispatcher, self.channels, moment)
        self._echo_deliveries()

    # --- statements -------------------------------------------------------

    async def execute(self, line: str) -> None:
        """Run one transcript statement."""
        statement = strip_comment(line)
        if not statement:
            return
        head = statement.split(None, 1)[0].lower()
        if head == "group":
            self._group(statement)
        elif head in ("member", "coordinator"):
            self._member(statement, head)
        elif head == "at":
            await self._at(statement)
        elif head == "wait":
            await self.advance_to(self._clock() + parse_span(statement[4:].strip()))
        elif head == "quiet":
            self._quiet(statement[5:].strip())
        else:
            match = _MESSAGE.match(statement)
            if match is None:
                raise TranscriptError("not a statement this runner knows (see the transcript format)")
            if match["dir"] == ">":
                await self.send(match["to"], match["text"] or "")
            else:
                self._expect(match["to"], match["text"] or "", strict=match["dir"] == "<!")

    def _fields(self, statement: str, known: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
        """The line's plain words and its ``field=value`` pairs; a field not in ``known`` is refused by name
        (a misspelled ``crisi=`` would otherwise leave the group without what the line meant to give it)."""
        try:
            parts = shlex.split(statement)
        except ValueError as error:
            raise TranscriptError(f"cannot read the line: {error}") from None
        plain = [p for p in parts if "=" not in p]
        named = dict(p.split("=", 1) for p in parts if "=" in p)
        unknown = [name for name in named if name not in known]
        if unknown:
            raise TranscriptError(f"unknown field {unknown[0]}= on a {plain[0].lower()} line; it knows "
                                  + ", ".join(f"{name}=" for name in known))
        return plain, named

    def _group(self, statement: str) -> None:
        plain, named = self._fields(statement, GROUP_FIELDS)
        if len(plain) != 2:
            raise TranscriptError("a group line is: group KEYWORD name=\"…\" tz=Area/City")
        if self._network(plain[1], named):
            return
        if not named.get("budget", "1").isdigit():
            raise TranscriptError("budget= is a number of texts a day")
        try:
            with self.db.transaction() as session:
                group = add_group(
                    session,
                    keyword=plain[1],
                    name=named.get("name", plain[1]),
                    timezone=named.get("tz", "UTC"),
                    language=named.get("lang", "en"),
                    round_schedule=named.get("schedule"),
                    crisis_resources=named.get("crisis", "").replace("\\n", "\n"),  # refused when naming police
                    two_coordinators=named.get("two_coordinators", "no").lower() in ("yes", "true", "1"),
                    private_default=named.get("private", "no").lower() in ("yes", "true", "1"),
                    daily_budget=int(named["budget"]) if "budget" in named else None,
                    now=self.now or datetime(*DEFAULT_START, tzinfo=ZoneInfo("UTC")),
                )
                self._join_network(session, group.keyword, named)
                if self.tz is None:
                    self.tz = ZoneInfo(group.timezone)
        except (GroupError, ZoneInfoNotFoundError) as error:
            raise TranscriptError(str(error)) from None

    def _network(self, keyword: str, named: dict[str, str]) -> bool:
        """A group line for a group that exists changes its network: ``group DMMA network=none``."""
        with self.db.transaction() as session:
            if session.scalar(select(Group.id).where(Group.keyword == keyword.upper())) is None:
                return False
            if set(named) - {"network", "overflow"}:
                raise TranscriptError(f"{keyword.upper()} exists: a group line for it changes only network= and overflow=")
            self._join_network(session, keyword, named)
        return True

    def _join_network(self, session, keyword: str, named: dict[str, str]) -> None:
        """``network=MIDWEST`` (made when new; ``none`` leaves) and ``overflow=24h`` (``off``)."""
        changes: dict[str, object] = {}
        try:
            if "network" in named:
                code = named["network"].strip().upper()
                if code in ("NONE", "OFF"):
                    changes["network"] = None
                else:
                    if session.scalar(select(Network.id).where(Network.code == code)) is None:
                        add_network(session, code=code, name=code.title(), now=self._clock() if self.now
                                    else datetime(*DEFAULT_START, tzinfo=ZoneInfo("UTC")))
                    changes["network"] = code
            if "overflow" in named:
                changes["overflow_after_hours"] = overflow_hours(named["overflow"])
            if changes:
                group = edit_group(session, keyword, **changes)
                if self.now is not None:
                    mark_due(session, group.id, self.now)  # requests already waiting may overflow now
        except GroupError as error:
            raise TranscriptError(str(error)) from None

    def _member(self, statement: str, role: str) -> None:
        plain, named = self._fields(statement, MEMBER_FIELDS)
        if len(plain) != 3:
            raise TranscriptError(f"a {role} line is: {role} KEYWORD +15155550101 name=Ana")
        address = plain[2]
        channel, number = (SIGNAL, address.removeprefix("signal:")) if address.startswith("signal:") else (SMS, address)
        signal_uuid = self.network.register_signal(number) if channel == SIGNAL else None
        try:
            with self.db.transaction() as session:
                add_member(
                    session,
                    keyword=plain[1],
                    phone=number,
                    signal_uuid=signal_uuid,
                    channel=channel,
                    name=named.get("name"),
                    language=named.get("lang"),
                    coordinator=role == "coordinator",
                    now=self._clock() if self.now else datetime(*DEFAULT_START, tzinfo=self.tz or ZoneInfo("UTC")),
                )
        except GroupError as error:
            raise TranscriptError(str(error)) from None

    async def _at(self, statement: str) -> None:
        try:
            local = datetime.strptime(statement[2:].strip(), "%Y-%m-%d %H:%M")
        except ValueError:
            raise TranscriptError("an at line is: at 2026-03-02 09:00") from None
        target = local.replace(tzinfo=self.tz or ZoneInfo("UTC"))
        if self.now is None:
            self.now = target
        await self.advance_to(target)

    async def send(self, address: str, text: str) -> None:
        """A member texts carebot (or, from ``voice:+1…``, calls, presses a key, hangs up)."""
        now = self._clock()
        if self.echo:
            self.echo(f"{self._stamp()} {self._who(address)} > {text}")
        if address.startswith(VOICE_PREFIX):
            self._call(address.removeprefix(VOICE_PREFIX), text.strip(), now)
        else:
            self.dispatcher.handle_inbound(self.network.inbound(address, text, now))
        await self._tick(now)

    def _call(self, number: str, said: str, now: datetime) -> None:
        """``call``, a key (``1``, ``*``), words the caller says, or ``hangup``: as Twilio would post them.
        A call carebot placed rings until ``answer``, ``voicemail`` (a machine picks up) or ``miss``."""
        going, word = self.calls.get(number), said.lower()
        if word in ("answer", "voicemail", "miss"):
            self._ringing(number, word, now)
            return
        if word == "call":
            if going is not None:
                raise TranscriptError("that number is in a call already (hang up first)")
            answer = CallInput(f"CA{next(self._call_ids):032d}", number)
        elif going is None:
            raise TranscriptError("that number is not in a call (start one with: voice:+1… > call)")
        elif word == "hangup":  # Twilio's status callback: the call completed
            del self.calls[number]
            self.desk.ended(CallEnded(going.call_sid, number, "completed", going.call_sid in self._placed), now)
            return
        elif re.fullmatch(r"[0-9*#]+", said):
            answer = CallInput(going.call_sid, number, going.step, going.state, digits=said)
        else:
            answer = CallInput(going.call_sid, number, going.step, going.state, speech=said)
        self._hear(number, answer, self.desk.answer(answer, now))

    def _ringing(self, number: str, word: str, now: datetime) -> None:
        """A call carebot placed to ``number`` is picked up by the member, by a machine, or not at all."""
        ring = next((r for r in self.network.rings if r.number == number), None)
        if ring is None:
            raise TranscriptError("carebot is not calling that number")
        if number in self.calls:
            raise TranscriptError("that number is in a call already (hang up first)")
        self.network.rings.remove(ring)
        self._placed.add(ring.call_sid)
        if word == "miss":
            self.desk.ended(CallEnded(ring.call_sid, number, "no-answer", True), now)
            return
        answered_by = "human" if word == "answer" else "machine_start"
        call = CallInput(ring.call_sid, number, OUT, {"outbox": str(ring.outbox_id)}, answered_by=answered_by)
        self._hear(number, call, self.desk.answer(call, now))
        if word == "voicemail":  # the machine records the words, and the call ends
            self.desk.ended(CallEnded(ring.call_sid, number, "completed", True), now)

    def _hear(self, number: str, call: CallInput, twiml: str) -> None:
        """What Twilio would do with carebot's TwiML: say it, then wait at its menu or hang up."""
        document = ET.fromstring(twiml)
        menu = document.find("Gather")
        # With a menu, only what it says is heard before a key; its goodbye only if none comes.
        for say in (menu if menu is not None else document).iter("Say"):
            self.network.spoken(number, say.text or "")
        if menu is None:
            self.calls.pop(number, None)
            return
        query = dict(parse_qsl(urlsplit(menu.get("action", "")).query))
        self.calls[number] = CallInput(call.call_sid, number, query.pop("step", ""), query)

    def _expect(self, address: str, pattern: str, *, strict: bool = False) -> None:
        # An SMS may reach the phone with its accents folded to GSM-7 ("Perdón" as "Perdon",
        # the group's setting, on by default): a line matches with or without them.
        try:
            wanted = re.compile(_unaccented(pattern), re.IGNORECASE)
        except re.error as error:
            raise TranscriptError(f"bad pattern {pattern!r}: {error}") from None
        unread = self.network.unread(address)
        if strict:
            if unread and wanted.search(_unaccented(unread[0].text)):
                unread[0].read = True
                return
            shown = "; ".join(repr(m.text) for m in unread) or "none"
            raise TranscriptError(f"the oldest unread message to {address} does not match {pattern!r} (unread: {shown})")
        for index, message in enumerate(unread):
            if wanted.search(_unaccented(message.text)):
                for earlier in unread[: index + 1]:
                    earlier.read = True
                return
        shown = "; ".join(repr(m.text) for m in unread) or "none"
        raise TranscriptError(f"no unread message to {address} matches {pattern!r} (unread: {shown})")

    def _quiet(self, address: str) -> None:
        if address.startswith(VOICE_PREFIX):  # what a call says is heard in it: quiet is no call ringing
            if any(ring.number == address.removeprefix(VOICE_PREFIX) for ring in self.network.rings):
                raise TranscriptError(f"expected no call to {address}, but carebot is calling")
            return
        unread = self.network.unread(address)
        if unread:
            shown = "; ".join(repr(m.text) for m in unread)
            raise TranscriptError(f"expected nothing unread to {address}, found: {shown}")

    # --- echo, for the demo and chat --------------------------------------

    def _stamp(self) -> str:
        now = self._clock().astimezone(self.tz or ZoneInfo("UTC"))
        return now.strftime("%a %H:%M")

    def _who(self, address: str) -> str:
        number = address.removeprefix("signal:")
        with self.db.transaction() as session:
            member = Member.by_phone(session, number)
            name = member.name if member else None
        return f"{name} ({address})" if name else address

    def _echo_deliveries(self) -> None:
        fresh: list[Delivered] = self.network.delivered[self._echoed:]
        self._echoed = len(self.network.delivered)
        if self.echo:
            for message in fresh:
                self.echo(f"{self._stamp()} {self._who(message.to)} < {message.text}")


async def run_lines(lines: list[str], path: str = "<transcript>", sim: Simulation | None = None,
                    *, url: str = "sqlite://") -> Failure | None:
    """Run a transcript's lines (on a fresh database at ``url``); the first failure, or None."""
    sim = sim or Simulation(url=url)
    try:
        for number, line in enumerate(lines, start=1):
            try:
                await sim.execute(line)
            except TranscriptError as error:
                return Failure(path, number, line.rstrip(), str(error))
            except Exception as error:  # a crash is a failure of carebot, shown plainly
                return Failure(path, number, line.rstrip(), f"carebot raised {type(error).__name__}: {error}")
    finally:
        sim.db.dispose()
    return None


async def run_file(path: str | Path, *, url: str = "sqlite://") -> Failure | None:
    """Run one transcript file on a fresh database at ``url``."""
    raw = Path(path).read_bytes()
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as error:  # an old editor's Latin-1: that file fails, the others still run
        line_number = raw[:error.start].count(b"\n") + 1
        shown = raw.splitlines()[line_number - 1].decode("utf-8", errors="replace")
        return Failure(str(path), line_number, shown, "not UTF-8 text: save it as UTF-8 and run it again")
    return await run_lines(lines, str(path), url=url)
