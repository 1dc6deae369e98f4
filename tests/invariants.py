"""A conversation invariants checker: a seeded simulation of a group, checked after every step.

Members send random, realistic texts (answers, YES/NO/LATER at random moments, STOP/START,
DONE, NOT, CALL, CHANNEL, LANG, RSVPs, typos and emoji, MAP / MAPA with its three questions answered in
their own words or SKIP and its share question, MAP OFF, MAP NEW) and coordinators PAIR, UNPAIR, REMOVE
and GATHER, over eight weeks; in half the seeds DMMA is in a network (MIDWEST, overflow after 24h)
with a sister group two hours behind (ICMA, America/Los_Angeles), so requesters are asked the
network question and sister-group members get offers; all through the real dispatcher, outbox
and scheduler (carebot.tools.transcript's Simulation). After every step these hold, or the step fails with the seed to replay:

- a member's number reaches another member (a sister group's too) only in the reply to that member's
  YES to that exact offer, in any text carebot sends (pushes too);
- a care map's words (each answer carries its author's mark) reach nobody but its author and, as
  "X's care map", a supporter who said YES to the author's request (a pairing still active) while the
  map is shared, and only as the map stands then: never a coordinator as such, another offeree, a
  stranger, anyone after MAP OFF, a removal or FORGET, nor an old version after MAP NEW;
- the supporter whose YES is taken gets the requester's map (when shared) as the very next text
  after the contact details; an unshared map goes to nobody. A few members make a map first thing
  (two share it, one keeps it) and ask for care, so every seed has maps at stake, and a member whose
  map reached someone may delete it (MAP OFF, FORGET);
- a member's CALL sends their number to their groups' on-call people (the active coordinators of a
  group they are in, when they texted CALL) and to nobody else, in the on-call text naming them;
  their care map goes to those people only after their YES to "share your care map with the person
  who calls?" (shared with supporters or not), and only as it stands then; after a CALL made while
  another question was open to them (an offer, a check-in, an invitation: from a stream of its own),
  their YES or NO answers that map question, never the question left open;
- a sister group's member is offered a request only after its member's YES to the network question
  (the YES the checker saw them send, to that request's question);
- nothing reaches a member who sent STOP but the confirmation (and HELP's answer);
- a care request gets word by the next daytime after 24 hours without a supporter, then never
  goes more than 24 daytime hours (the member's) without a text about it while no supporter has it,
  and the member hears a supporter's YES by the next daytime (what docs/care-requests.md promises);
- every YES/NO/LATER answers the question in the member's latest text from carebot that asked one
  (the map's questions and the network's "(YES/NO)" count as asking: so a YES meant for a care offer
  never answers the map's share question or the network question, nor the other way round);
- every date or interval stated in a text the simulation produces is kept: the first check-in
  "every N days" after the YES, "next check-in in N days", "every N days from now on" (either side
  may set it), "I'll ask again tomorrow" (not the same day, and by the next day), the gathering
  reminder's "tomorrow"; nothing carebot starts reaches anyone at night in their own timezone
  (a sister group's member: theirs).

Each case these checks are about (a shared map at a YES, an unshared one, a map deleted after it
reached someone, an offer and a contact across the network, a CALL's number and map to the on-call
people, the answer after a CALL made while another question was open to the caller) is counted
(``World.kept``, ``MUST_SEE``): the run fails when no seed of a database saw one (each seed is its
own test; conftest gathers their reports: ``cases_unseen``), so no check can go silent.

The checker reads only what changed since the last step (the newly delivered texts, and the
promises and requests still open), so almost all of a seed's time is the product's own work.
"""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from carebot.domain.daytime import is_daytime, next_daytime
from carebot.domain.i18n import catalog, short_date
from carebot.services import questions
from carebot.services.care_requests import WORD_EVERY_DAYTIME_HOURS as WORD_EVERY
from carebot.services.planner import ASKS_ACROSS, OFFERED_ON, WAITING_GRACE, WAITS
from carebot.store.crypto import lookup_hash
from carebot.store.lookups import care_map_of
from carebot.store.models import Answer, Conversation, Member, Membership, OutboxMessage, Pairing
from carebot.tools.transcript import Simulation, _unaccented

TZ = ZoneInfo("America/Chicago")
START = datetime(2026, 3, 2, 8, 0, tzinfo=TZ)
WEEKS = 8
TEXTS_PER_STEP = 2
ANSWERS = ["1", "1 call evenings", "4 text me", "2", "2 x2", "5", "5 x2", "2 5", "3 1w", "0", "1 5",
           "4 1w", "1 2w", "  2  ", "1 ongoing text after 6pm"]
REPLIES = ["yes", "YES", "Yes!", "yes 🙏", "si", "y", "no", "No thanks", "nope", "later", "LATER"]
CHATTER = ["status", "help", "ok thanks 🙏", "what is this", "thank you “so much”", "pulse", "gather",
           "GATHER YES", "gather no", "LANG ES", "LANG EN", "hours 8 21", "every 3d", "CHANNEL SIGNAL"]
# Texts that ask for an answer: care offers, GATHER, the care map's questions ("..., or SKIP." and
# "Reply YES or NO") and the network's "(YES/NO)".
ASKS = re.compile(r"Reply YES|Responde SI|Will you come\?|Reply GATHER YES|vienes\?|or SKIP\.|o SALTAR\."
                  r"|\((YES|SI|SÍ)/NO\)", re.I)
OFFER = re.compile(r"Reply YES to (take this on|keep them company)|Responde SI", re.I)
NUMBER = re.compile(r"\+1\d{10}")
# A care map's answers carry their author's mark ("zqM017x"): where a mark goes, their words went.
MAP_MARK = re.compile(r"zq(\w+?)x")
MAP_WORDS = ["tea and a walk", "quiet company", "texts, not calls", "don't fix it, just listen", "my dog Rosa"]
NETWORK_ASK = re.compile(r"\((YES|SI|SÍ)/NO\)")
# What the checker must see kept in at least one seed of a run, lest its checks go silent.
SHARED_MAP_AT_YES = "a shared care map right after the contact details"
UNSHARED_MAP_AT_YES = "an unshared care map held back at a YES"
MAP_GONE = "a care map deleted after it reached a supporter (nothing of it after)"
OFFER_ACROSS = "network: an offer across only after the member's YES"
CONTACT_ACROSS = "network: contact across only after the sister supporter's YES"
CALL_TOLD = "CALL: the caller's number to their groups' on-call people only"
MAP_TO_CALL = "CALL: a care map to the on-call people only after the member's YES"
CALL_BEHIND = "CALL behind an open question: the answer after it goes to the map's question, not the one left open"
MUST_SEE = (SHARED_MAP_AT_YES, UNSHARED_MAP_AT_YES, MAP_GONE, OFFER_ACROSS, CONTACT_ACROSS, CALL_TOLD, MAP_TO_CALL,
            CALL_BEHIND)
# CALL as members text it (README: CALL, LLAMAR, call me): the one text whose consent sends their number.
CALLS = ["CALL", "call", "call me", "LLAMAR", "can someone call me"]
MAPPERS = 3  # members who make a care map (the last keeps it to themselves) and then ask for care
MAP_ASKS = ["1 call evenings", "1", "4 text me", "1 2w"]
SISTER_TZ = ZoneInfo("America/Los_Angeles")  # the network's sister group: two hours behind
YES_WORDS, NO_WORDS, LATER_WORDS = {"yes", "si", "y", "yes!", "yes 🙏"}, {"no", "nope", "no thanks"}, {"later"}


def _template(text: str) -> re.Pattern[str]:
    """A catalog text as a pattern: {cadence}, {requester}, {other} and {when} captured, the rest as is."""
    pattern, seen = "", set()
    for part in re.split(r"(\{\w+\})", _unaccented(text)):
        name = part[1:-1] if part.startswith("{") else None
        if name in ("cadence", "requester", "other", "supporter", "when") and name not in seen:
            seen.add(name)
            # Names in the simulation are one word ("M037"); a name may be followed by {how} directly.
            pattern += f"(?P<{name}>.+?)" if name in ("cadence", "when") else f"(?P<{name}>[^\\s(:,.?]+)"
        else:
            pattern += ".*?" if name else re.escape(part)
    return re.compile(pattern)


PROMISES = ("care.followup", "care.accepted.supporter", "care.accepted.supporter.private", "care.followup.yes",
            "care.cadence.set", "care.checkin", "care.followup.later", "gather.reminder")
# "I'll text you as soon as someone is": the requester hears a supporter's YES (by day).
TOLD_YES = ("care.accepted.requester.1", "care.accepted.requester.4", "care.accepted.requester.1.private",
            "care.accepted.requester.4.private")
# The one word about a pairing that ended while its request stays open (services.planner.after_an_end): each
# base with the tail of what comes next (offered on, nobody free yet, the network's question).
AFTER_AN_END = tuple(base + tail for base in ("care.ended.open", "coord.unpaired.open",
                                              "care.rematch.yes", "care.not.set.open")
                     for tail in (OFFERED_ON, WAITS, ASKS_ACROSS))
# Word to a requester about their request (after which the 24 hours count again).
REQUEST_NEWS = TOLD_YES + AFTER_AN_END + ("care.waiting.1", "care.waiting.4", "care.waiting.again.1",
                                          "care.waiting.again.4", "coord.paired.requester", "care.rematch.ask",
                                          "network.ask", "network.yes", "network.no", "network.gone",
                                          "care.asked.1", "care.asked.4")
# "Please reply YES or NO to my last question": a nudge back to the question asked, not a new one.
NUDGES = ("fallback.yes_no", "fallback.yes_no_later")
MAP_QUESTIONS = ("caremap.ask.helps", "caremap.ask.hurts", "caremap.ask.also", "caremap.ask.share")
PATTERNS = {key: [_template(catalog(language)[key]) for language in ("en", "es")]
            for key in PROMISES + REQUEST_NEWS + MAP_QUESTIONS + ("caremap.for_other", "crisis.call.oncall", "caremap.ask.call")
            + NUDGES}


@functools.lru_cache(maxsize=1024)
def _plain(text: str) -> str:
    # Each delivered text is read against some thirty templates: unaccented once, not thirty times.
    return _unaccented(text)


def said(text: str, key: str) -> dict[str, str] | None:
    """What a delivered text filled into template ``key`` (either language), or None if it isn't that text."""
    for pattern in PATTERNS[key]:
        found = pattern.fullmatch(_plain(text))
        if found:
            return found.groupdict()
    return None


def is_news(text: str) -> bool:
    """Whether a delivered text is word to a requester about their request (a match may capture nothing: {})."""
    return any(said(text, key) is not None for key in REQUEST_NEWS)


def days_in(cadence: str) -> int:
    return int(re.search(r"\d+", cadence).group())


def daytime_hours(since: datetime, now: datetime, starts: int, ends: int, tz: ZoneInfo = TZ) -> float:
    """How many hours between ``since`` and ``now`` fell in the daytime (``starts``-``ends`` o'clock here)."""
    total, day = timedelta(), since.astimezone(tz).date()
    while day <= now.astimezone(tz).date():
        morning = datetime.combine(day, datetime.min.time(), tz)
        opens, closes = max(since, morning + timedelta(hours=starts)), min(now, morning + timedelta(hours=ends))
        total += max(closes - opens, timedelta())
        day += timedelta(days=1)
    return total.total_seconds() / 3600


class Broken(AssertionError):
    """An invariant does not hold."""


@dataclass
class Person:
    phone: str
    name: str
    coordinator: bool = False
    stopped_at: int | None = None  # index into the delivered texts when they sent STOP
    removed: bool = False
    last_question: str | None = None  # the latest delivered text that asked for an answer
    unanswered: bool = False  # no text from them since that question came
    last_followup: str | None = None  # whom the latest "did you connect with …?" was about
    last_news: datetime | None = None  # the latest text to them about their own request for care
    # Their daytime hours before they last changed them (HOURS), and when: until a count of daytime
    # hours starts after the change, it counts only hours that were daytime under both.
    hours_before: tuple[int, int] = (9, 20)
    hours_changed_at: datetime | None = None
    group: str = "DMMA"  # DMMA, or ICMA: the sister group in the network (another timezone)
    tz: ZoneInfo = TZ


@dataclass
class Stake:
    """A requester whose offer a supporter just answered YES, and their care map at that moment."""

    who: Person
    has_map: bool
    shared: bool

    @property
    def phone(self) -> str:
        return self.who.phone


@dataclass
class World:
    seed: int
    sim: Simulation
    size: int
    rng: random.Random = field(init=False)
    calls_behind: random.Random = field(init=False)
    people: dict[str, Person] = field(default_factory=dict)
    seen: int = 0  # delivered texts already checked
    # (supporter's phone, requester's name) -> the check-in a text promised; -> the day "tomorrow" was said
    checkins: dict[tuple[str, str], datetime] = field(default_factory=dict)
    asked_again: dict[tuple[str, str], date] = field(default_factory=dict)
    by_name: dict[str, Person] = field(default_factory=dict)
    # requester's name -> when their supporter said YES, until the requester hears it
    told_yes: dict[str, datetime] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)  # promises seen kept, by template (so none is vacuous)
    yeses: set[int] = field(default_factory=set)  # the pairings whose offer the supporter answered YES
    networked: bool = False  # DMMA belongs to a network with a sister group (ICMA) and overflows after 24h
    steps: int = 0
    # Requests (answer ids) whose member said YES to the network question, as the checker saw it.
    network_yes: set[int] = field(default_factory=set)
    # Indexes of delivered texts carrying another member's number that the checker saw rightly sent.
    cleared: set[int] = field(default_factory=set)
    # Map owners (names) whose map reached a supporter: when it is deleted, the checker notes it.
    maps_out: set[str] = field(default_factory=set)
    # A caller's phone -> the phones of their groups' on-call people (active coordinators, not the caller)
    # when they texted CALL: the only people their number may reach through it.
    on_call: dict[str, set[str]] = field(default_factory=dict)
    # A map owner's name -> the on-call people their YES to "share your care map with the person who calls?"
    # sends it to (whether or not it is shared with supporters).
    map_to_call: dict[str, set[str]] = field(default_factory=dict)
    mappers: set[str] = field(default_factory=set)  # the members who made a care map first thing
    # Callers whose latest CALL came while a question (an offer, a check-in, an invitation) was open to them.
    behind: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.calls_behind = random.Random(self.seed + 1_000_003)

    # --- set-up -----------------------------------------------------------------------

    async def setup(self) -> None:
        sim = self.sim
        sim.now = START
        # Half the seeds: DMMA is in a network with a sister group two hours behind, so overflow happens.
        self.networked = self.rng.random() < 0.5
        network = " network=MIDWEST overflow=24h" if self.networked else ""
        await sim.execute(f'group DMMA name="Des Moines Mutual Aid" tz=America/Chicago{network}')
        sisters = 6 if self.networked else 0
        if sisters:
            await sim.execute('group ICMA name="Iowa City Mutual Aid" tz=America/Los_Angeles network=MIDWEST')
        for index in range(self.size):
            sister = index >= self.size - sisters
            phone = f"+1515{557 if sister else 556}{index:04d}"
            coordinator = index < 2 or index == self.size - sisters
            person = Person(phone, f"{'S' if sister else 'M'}{index:03d}", coordinator,
                            group="ICMA" if sister else "DMMA", tz=SISTER_TZ if sister else TZ)
            self.people[phone] = person
            self.by_name[person.name] = person
            await sim.execute(f"{'coordinator' if coordinator else 'member'} {person.group} {phone} name={person.name}")
        # A few members make a care map first thing (two share it, one keeps it to themselves) and ask
        # for care, so that every seed has maps at stake when a supporter says YES.
        mappers = self.rng.sample([p for p in self.people.values() if p.group == "DMMA" and not p.coordinator], MAPPERS)
        self.mappers = {p.name for p in mappers}
        for number, person in enumerate(mappers):
            words = [f"{self.rng.choice(MAP_WORDS)} zq{person.name}x", "SKIP", f"{self.rng.choice(MAP_WORDS)} zq{person.name}x"]
            for text in ("MAP", *words, "no" if number == MAPPERS - 1 else "yes", self.rng.choice(MAP_ASKS)):
                await self.text(person, text)
                self.check()

    # --- one step -----------------------------------------------------------------------

    async def step(self, gap: timedelta) -> None:
        """Advance the clock by about ``gap`` (everything due runs), then a few people text, minutes apart."""
        self.steps += 1
        minutes = int(gap.total_seconds() // 60)
        await self.sim.advance_to(self.sim.now + timedelta(minutes=self.rng.randint(minutes // 2, minutes * 3 // 2)))
        self.check()
        # A sister group's member offered a request across answers it as often as not, by day, so that
        # every run sees contact go across the network (only ever after their YES).
        for person in [p for p in self.people.values() if p.group != "DMMA" and p.unanswered and p.stopped_at is None
                       and OFFER.search(p.last_question or "") and is_daytime(self.sim.now, p.tz, 9, 20)]:
            if self.rng.random() < 0.5:
                await self.text(person, self.rng.choice(REPLIES))
                self.check()
        # Now and then a member CALLs (a few times a seed; one with a care map as often as not, so that
        # every run sees a map go to the on-call people, only after their YES: answered at once, mostly).
        # A member with no question open here; a CALL while a question is open (an offer, most often)
        # comes from a stream of its own below, so that these seeds' other cases stay as they were.
        if self.rng.random() < 0.1:
            mapper = self.rng.random() < 0.5
            candidates = [p for p in self.people.values() if p.stopped_at is None and (p.name in self.mappers or not mapper)]
            asked = self._asked(candidates)
            callers = [p for p in candidates if p.phone not in asked]
            if callers:
                await self._call(self.rng.choice(callers))
        # A CALL behind an open question: its YES must answer the map's question, never the offer
        # left open (transcript call_behind_an_offer), which the checks on numbers would catch.
        if self.calls_behind.random() < 0.05:
            behind = [p for p in self.people.values() if p.stopped_at is None and p.name in self.mappers]
            asked = self._asked(behind)
            behind = [p for p in behind if p.phone in asked]
            if behind:
                await self._call(self.calls_behind.choice(behind), behind=True)
        # Whoever was just asked something is likelier to text back.
        asked = [p for p in self.people.values() if p.last_question and p.stopped_at is None]
        for _ in range(TEXTS_PER_STEP):
            pool = asked if asked and self.rng.random() < 0.5 else list(self.people.values())
            person = self.rng.choice(pool)
            await self.text(person, self.choose(person))
            self.check()
            # A member making their care map mostly answers its questions there and then.
            while person.last_question and self._map_question(person) and self.rng.random() < 0.85:
                await self.sim.advance_to(self.sim.now + timedelta(minutes=self.rng.choice([1, 3])))
                await self.text(person, self.choose(person))
                self.check()
            if person.unanswered and said(person.last_question or "", "caremap.ask.call") is not None:
                await self._call_answered(person)
            await self.sim.advance_to(self.sim.now + timedelta(minutes=self.rng.choice([1, 5, 20])))
            self.check()  # what fell due meanwhile (an offer at nine) is the latest question the next text sees

    def _asked(self, people: list[Person]) -> set[str]:
        """The phones of those of ``people`` a question waits on (their conversation is open): one transaction."""
        with self.sim.db.transaction() as session:
            members = [(p.phone, Member.by_phone(session, p.phone)) for p in people]
            return {phone for phone, member in members
                    if member is not None and questions.current(session, member.id, self.sim.now) is not None}

    async def _call(self, person: Person, *, behind: bool = False) -> None:
        # Behind an open question, the answer to the map's question must go to it (text() checks the
        # question it answers), and it counts (CALL_BEHIND).
        (self.behind.add if behind else self.behind.discard)(person.phone)
        await self.text(person, self.rng.choice(CALLS))
        self.check()
        if person.unanswered and said(person.last_question or "", "caremap.ask.call") is not None:
            await self._call_answered(person)

    async def _call_answered(self, person: Person) -> None:
        """Asked after their CALL whether their map goes to the person who calls: mostly answered at once."""
        if self.rng.random() < 0.8:
            await self.sim.advance_to(self.sim.now + timedelta(minutes=self.rng.choice([1, 3])))
            await self.text(person, self.rng.choice(REPLIES))
            self.check()

    @staticmethod
    def _map_question(person: Person) -> bool:
        """Whether a question of the care map waits for their answer (one they answered does not)."""
        return person.unanswered and any(said(person.last_question or "", key) is not None for key in MAP_QUESTIONS)

    def choose(self, person: Person) -> str:
        rng = self.rng
        if person.stopped_at is not None:
            return rng.choice(["START", "help", "yes", "hello?"])
        ours = [p for p in self.people.values() if p.group == person.group]
        if person.coordinator and rng.random() < 0.25:
            other = rng.choice(ours).name
            third = rng.choice(ours).name
            return rng.choice([f"PAIR {other} {third}", f"UNPAIR {other} {third}", f"REMOVE {other}", "yes",
                               "GATHER apr 30 18:30 Library", "PAIRS", f"ADD {rng.choice(ours).phone}"])
        roll = rng.random()
        if person.last_question and self._map_question(person) and roll < 0.9:
            # The care map's questions: their own words (marked as theirs), or SKIP.
            if said(person.last_question, "caremap.ask.share") is not None:
                return rng.choice(["yes", "YES", "si", "yes", "no"])  # share it (mostly) or not
            if roll < 0.2:
                return rng.choice(["SKIP", "skip", "SALTAR"])
            return f"{rng.choice(MAP_WORDS)} zq{person.name}x"
        if person.name in self.maps_out and roll < 0.12:
            # A map that reached a supporter is deleted: after this, nothing of it may reach anyone.
            return rng.choice(["MAP OFF", "MAPA BORRAR", "FORGET"])
        if person.last_question and roll < (0.7 if OFFER.search(person.last_question) or NETWORK_ASK.search(
                person.last_question) or said(person.last_question, "caremap.ask.call") is not None else 0.45):
            # Offers of care (the network question, sharing the map after a CALL) are mostly answered
            # (yes more often than not), other questions less so.
            return rng.choice(REPLIES)
        if roll < 0.7:
            return rng.choice(ANSWERS)
        if roll < 0.75:
            return "STOP"
        if roll < 0.8:
            return rng.choice(["DONE", f"DONE {rng.choice(list(self.people.values())).name}"])
        if roll < 0.82:
            return f"NOT {rng.choice(ours).name}"
        if roll < 0.85:
            return person.group
        if roll < 0.88:
            return rng.choice(["MAP", "MAP", "MAPA", "MAP OFF", "MAP NEW"])
        return rng.choice(CHATTER)

    async def text(self, person: Person, text: str) -> None:
        with self.sim.db.transaction() as session:
            member = Member.by_phone(session, person.phone)
            if member is not None and text.lower().startswith("hours"):
                person.hours_before, person.hours_changed_at = (member.day_starts or 9, member.day_ends or 20), self.sim.now
            conversation = session.scalars(select(Conversation).where(Conversation.member_id == member.id)).first() \
                if member else None
            if member is not None and text in CALLS:
                self.on_call.setdefault(person.phone, set()).update(self._on_call_people(session, member))
            asked = None
            if (conversation is not None and (conversation.wait_until is None or conversation.wait_until > self.sim.now)
                    and not questions.unseen(session, conversation.data)):
                # A question whose text has not reached them yet is not asked: nothing may answer it.
                asked = (conversation.flow, conversation.step, dict(conversation.data or {}))
        if MAP_MARK.search(text) and (asked is None or asked[0] != "caremap"):
            # The map's question has lapsed (or was set aside): their words would be read as anything else.
            text = "ok"
        word = text.strip().lower()
        answer = word in YES_WORDS or word in NO_WORDS or word in LATER_WORDS
        if answer and asked is not None and "_prompt" in asked[2] and person.stopped_at is None:
            # The question being answered is the one in the member's latest text that asked one.
            # (An SMS may arrive with its accents folded to GSM-7: the same text either way.)
            if _unaccented(asked[2]["_prompt"]) != _unaccented(person.last_question or ""):
                raise Broken(f"{person.name}'s {text!r} would answer {asked[0]}/{asked[1]} "
                             f"({asked[2]['_prompt']!r}) but the last question they saw was {person.last_question!r}")
        before = len(self.sim.network.delivered)
        person.unanswered = False
        await self.sim.send(person.phone, text)
        if word == "stop" and person.stopped_at is None:
            person.stopped_at = before
        elif word == "start":
            person.stopped_at = None
        # A number reaches a member only in the reply to their YES to that exact offer; the requester's
        # care map, when shared, right after it (and never when not).
        offer = asked if asked and asked[:2] == ("pairing", "offer") and word in YES_WORDS else None
        if offer:
            self.yeses.add(int(offer[2]["pairing_id"]))
        if asked and asked[0] == "network" and word in YES_WORDS:
            self.network_yes.add(int(asked[2]["answer_id"]))
        if asked and asked[:2] == ("caremap", "call") and word in YES_WORDS:
            self._map_to_call(person, asked[2]["told"])
        if (answer and asked and asked[:2] == ("caremap", "call") and "_prompt" in asked[2] and person.stopped_at is None
                and person.phone in self.behind):
            # Checked above: the question answered is the map's (the latest asked), not the one left open.
            self.behind.discard(person.phone)
            self._kept(CALL_BEHIND)
        mine = [(index, d) for index, d in enumerate(self.sim.network.delivered[before:], before) if d.to == person.phone]
        stake = self._stake(int(offer[2]["pairing_id"])) if offer else None
        for index, delivered in mine:
            numbers = set(NUMBER.findall(delivered.text)) - {person.phone}
            if numbers and text.upper().startswith("ADD"):
                self.cleared.add(index)  # a coordinator's own ADD, answered with the number they typed
            elif numbers:
                if stake is None or numbers != {stake.phone}:
                    raise Broken(f"{person.name} got {numbers} without a YES to that offer: {delivered.text!r}")
                self.cleared.add(index)
        if stake is not None:
            self._after_yes(person, stake, [d.text for _, d in mine])

    def _stake(self, pairing_id: int) -> Stake | None:
        """Whose request a YES answers, and their care map as it stands when the YES is sent."""
        with self.sim.db.transaction() as session:
            pairing = session.get(Pairing, pairing_id)
            requester = session.get(Member, pairing.requester_id) if pairing else None
            if requester is None or requester.phone not in self.people:
                return None
            care_map = care_map_of(session, requester.id)
            return Stake(self.people[requester.phone], care_map is not None, care_map is not None and care_map.shared)

    @staticmethod
    def _on_call_people(session, caller: Member) -> set[str]:
        """The phones of the caller's groups' on-call people now: active coordinators of a group they are active in."""
        groups = select(Membership.group_id).where(Membership.member_id == caller.id, Membership.status == "active")
        return set(session.scalars(select(Member.phone).join(Membership, Membership.member_id == Member.id).where(
            Membership.group_id.in_(groups), Membership.role == "coordinator", Membership.status == "active",
            Member.id != caller.id)))

    def _called(self, person: Person, numbers: set[str], text: str) -> None:
        """A number not in reply to a YES: only a caller's, in the on-call text, to whom CALL told."""
        caller = self.people.get(next(iter(numbers)))
        if (len(numbers) != 1 or caller is None or said(text, "crisis.call.oncall") is None
                or caller.name not in text or person.phone not in self.on_call.get(caller.phone, ())):
            raise Broken(f"{person.name} got a number not in reply to their YES nor a CALL to them: {text!r}")
        self._kept(CALL_TOLD)

    def _map_to_call(self, person: Person, told: list[int]) -> None:
        """YES to sharing the map with the person who calls: it may go to those the CALL told, and no one else."""
        with self.sim.db.transaction() as session:
            phones = {m.phone for m in (session.get(Member, i) for i in told) if m is not None}
        if not phones <= self.on_call.get(person.phone, set()):
            raise Broken(f"{person.name}'s CALL would send their map to {phones - self.on_call.get(person.phone, set())}, "
                         "who are not their groups' on-call people")
        self.map_to_call.setdefault(person.name, set()).update(phones)

    def _after_yes(self, person: Person, stake: Stake, texts: list[str]) -> None:
        """The supporter's YES was taken: their next text is the requester's map if shared, else no map."""
        accepted = next((i for i, t in enumerate(texts) if said(t, "care.accepted.supporter") is not None
                         or said(t, "care.accepted.supporter.private") is not None), None)
        if accepted is None:
            return  # the offer was no longer open: no contact, no map (check() sees to any map text)
        following = texts[accepted + 1] if accepted + 1 < len(texts) else ""
        if stake.shared:
            if said(following, "caremap.for_other") is None or f"zq{stake.who.name}x" not in following:
                raise Broken(f"{person.name} said YES to {stake.who.name}, whose care map is shared; the text after "
                             f"the contact details was {following!r}")
            self._kept(SHARED_MAP_AT_YES)
            self.maps_out.add(stake.who.name)
        elif stake.has_map:
            self._kept(UNSHARED_MAP_AT_YES)  # check() proves no text of it reached them (or anyone)
        if stake.who.group != person.group:
            self._kept(CONTACT_ACROSS)

    # --- the invariants -----------------------------------------------------------------

    def check(self) -> None:
        sim = self.sim
        now = sim.now
        start, fresh = self.seen, sim.network.delivered[self.seen:]
        self.seen = len(sim.network.delivered)
        with sim.db.transaction() as session:
            purposes = dict(session.execute(select(OutboxMessage.id, OutboxMessage.purpose).where(
                OutboxMessage.id.in_([d.outbox_id for d in fresh]))).all()) if fresh else {}
            # The daytime hours of everyone a push went to, read at once (a round's pushes go to the whole group).
            pushed = {lookup_hash(d.to) for d in fresh if purposes.get(d.outbox_id) == "push"}
            day_hours = {found: (starts or 9, ends or 20) for found, starts, ends in session.execute(
                select(Member.phone_hash, Member.day_starts, Member.day_ends).where(Member.phone_hash.in_(pushed)))
                } if pushed else {}
            for index, delivered in enumerate(fresh, start):
                person = self.people.get(delivered.to)
                purpose = purposes.get(delivered.outbox_id, "final")
                if person is None:
                    continue
                # Another member's number, in any text at all, only where text() saw it rightly sent.
                numbers = set(NUMBER.findall(delivered.text)) - {person.phone}
                if index not in self.cleared and numbers:
                    self._called(person, numbers, delivered.text)
                if person.group != "DMMA" and OFFER.search(delivered.text):
                    self._offer_across(session, person, delivered.text)
                if purpose == "push":
                    # Night in their own timezone (a sister group's member: theirs, not DMMA's).
                    hours = day_hours.get(lookup_hash(person.phone), (9, 20))
                    if not is_daytime(delivered.at, person.tz, *hours):
                        raise Broken(f"sent at night ({delivered.at}) to {person.name}: {delivered.text!r}")
                for owner in set(MAP_MARK.findall(delivered.text)) - {person.name}:
                    self._map_reaches(session, owner, person, delivered.text)
                if person.stopped_at is not None and purpose not in ("final", "after_stop"):
                    raise Broken(f"{person.name} sent STOP but got {delivered.text!r}")
                if ASKS.search(delivered.text) and not any(said(delivered.text, key) is not None for key in NUDGES):
                    person.last_question, person.unanswered = delivered.text, True
                self._note_promises(person, delivered.text, delivered.at)
            self._keep_promises(session, now)
            self._no_silent_request(session, now)
            for owner in list(self.maps_out):
                author = Member.by_phone(session, self.by_name[owner].phone)
                if author is None or care_map_of(session, author.id) is None:
                    self.maps_out.discard(owner)  # MAP OFF, a removal or FORGET: nothing of it may reach anyone now
                    self._kept(MAP_GONE)

    def _offer_across(self, session, person: Person, text: str) -> None:
        """A sister group's member is offered a request of DMMA only after its member's YES to the network question."""
        reader = Member.by_phone(session, person.phone)
        across = session.scalars(select(Pairing).where(Pairing.supporter_id == reader.id,
                                                       Pairing.supporter_group_id.is_not(None))
                                 .order_by(Pairing.offered_at.desc(), Pairing.id.desc())).all() if reader else []
        for pairing in across:
            requester = session.get(Member, pairing.requester_id)
            if requester is None or not requester.name or requester.name not in text:
                continue
            request = session.scalars(select(Answer).where(
                Answer.member_id == requester.id, Answer.group_id == pairing.group_id, Answer.option == pairing.kind,
                Answer.since <= pairing.offered_at).order_by(Answer.since.desc(), Answer.id.desc())).first()
            if request is None or request.id not in self.network_yes:
                raise Broken(f"{person.name} of a sister group was offered {requester.name}'s request, whose member "
                             f"never said YES to asking the network: {text!r}")
            self._kept(OFFER_ACROSS)
            return

    def _map_reaches(self, session, owner: str, person: Person, text: str) -> None:
        """A care map's words reach only a supporter who said YES to that member's request, when shared."""
        author = Member.by_phone(session, self.by_name[owner].phone)
        reader = Member.by_phone(session, person.phone)
        if said(text, "caremap.for_other") is None or author is None or reader is None:
            raise Broken(f"{owner}'s care map words reached {person.name}: {text!r}")
        care_map = care_map_of(session, author.id)
        if care_map is not None and person.phone in self.map_to_call.get(owner, ()):
            # After a CALL and the member's YES to sharing it with the person who calls (shared or not).
            self._as_it_stands(care_map, owner, person, text)
            self._kept(MAP_TO_CALL)
            return
        if care_map is None or not care_map.shared:
            raise Broken(f"{owner}'s care map, {'not shared' if care_map else 'deleted'}, reached {person.name}: {text!r}")
        self._as_it_stands(care_map, owner, person, text)
        yes = session.scalars(select(Pairing.id).where(Pairing.requester_id == author.id,
                                                       Pairing.supporter_id == reader.id,
                                                       Pairing.status == "active")).all()
        if not set(yes) & self.yeses:
            raise Broken(f"{owner}'s care map reached {person.name}, who never said YES to their request: {text!r}")
        self._kept("care map to a supporter")

    @staticmethod
    def _as_it_stands(care_map, owner: str, person: Person, text: str) -> None:
        if not all(_plain(words) in _plain(text) for words in (care_map.helps, care_map.hurts, care_map.also) if words):
            raise Broken(f"{owner}'s care map reached {person.name} as it no longer stands: {text!r}")

    # --- promises: every date or interval stated in a text is the one carebot acts on ---------

    def _note_promises(self, person: Person, text: str, at: datetime) -> None:
        if is_news(text):
            person.last_news = at
        found = said(text, "care.followup")
        if found:
            person.last_followup = found["requester"]
            later = self.asked_again.pop((person.phone, found["requester"]), None)
            if later is not None:
                if at.astimezone(person.tz).date() <= later:
                    raise Broken(f"{person.name} was told 'I'll ask again tomorrow' on {later} and asked at {at}")
                self._kept("care.followup.later")
            return
        for key in TOLD_YES:
            if said(text, key):
                if self.told_yes.pop(person.name, None) is not None:
                    self._kept("told of a YES")
                return
        for key in ("care.accepted.supporter", "care.accepted.supporter.private", "care.followup.yes"):
            found = said(text, key)
            if found:
                if key != "care.followup.yes":
                    self.told_yes.setdefault(found["requester"], at)
                # "every N days" from the YES, "next check-in in N days" from the answer.
                requester = found.get("requester") or person.last_followup
                self.checkins[(person.phone, requester)] = at + timedelta(days=days_in(found["cadence"]))
                return
        found = said(text, "care.cadence.set")
        if found:
            # Either side may set it ("every 3d"): the next check-in is the new span from now on.
            other = self.by_name.get(found["other"])
            pair = (person.phone, found["other"])
            if pair not in self.checkins and other is not None:
                pair = (other.phone, person.name)
            self.checkins[pair] = at + timedelta(days=days_in(found["cadence"]))
            return
        found = said(text, "care.checkin")
        if found:
            due = self.checkins.pop((person.phone, found["requester"]), None)
            if due is not None:
                if at < due - timedelta(minutes=1):
                    raise Broken(f"{person.name} was promised the check-in with {found['requester']} on {due}; "
                                 f"it came {at}")
                self._kept("check-in")
            return
        if said(text, "care.followup.later") and person.last_followup:
            self.asked_again[(person.phone, person.last_followup)] = at.astimezone(person.tz).date()
            return
        found = said(text, "gather.reminder")
        if found:
            tomorrow = at.astimezone(person.tz) + timedelta(days=1)
            if not any(short_date(tomorrow, language) in found["when"] for language in ("en", "es")):
                raise Broken(f"{person.name} was told the gathering is tomorrow on {at:%Y-%m-%d}: {text!r}")
            self._kept("gather.reminder")

    def _kept(self, what: str) -> None:
        self.kept[what] = self.kept.get(what, 0) + 1

    def _keep_promises(self, session, now: datetime) -> None:
        """A check-in not come by its day (plus the night) is a broken promise, unless the pairing ended."""
        for (phone, requester), due in list(self.checkins.items()):
            if now <= next_daytime(due + timedelta(hours=2), self._tz(phone), 9, 20) + timedelta(hours=4):
                continue
            if self._still_paired(session, phone, requester):
                raise Broken(f"{phone} was promised a check-in with {requester} by {due}; it is {now} and none came")
            del self.checkins[(phone, requester)]
        for requester, since in list(self.told_yes.items()):
            if now <= next_daytime(since, self.by_name[requester].tz, 9, 20) + timedelta(hours=3):
                continue
            member = Member.by_phone(session, self.by_name[requester].phone)
            if member is not None and not member.opted_out and session.scalar(select(Pairing.id).where(
                    Pairing.requester_id == member.id, Pairing.status == "active")) is not None:
                raise Broken(f"{requester}'s supporter said YES at {since}; it is {now} and {requester} wasn't told")
            del self.told_yes[requester]
        for (phone, requester), day in list(self.asked_again.items()):
            tz = self._tz(phone)
            if now.astimezone(tz).date() <= day + timedelta(days=1) or now.astimezone(tz).hour < 12:
                continue
            if self._still_paired(session, phone, requester):
                raise Broken(f"{phone} was told on {day} they'd be asked again about {requester} tomorrow; "
                             f"it is {now} and nothing came")
            del self.asked_again[(phone, requester)]

    def _tz(self, phone: str) -> ZoneInfo:
        person = self.people.get(phone)
        return person.tz if person else TZ

    def _still_paired(self, session, phone: str, requester: str) -> bool:
        supporter, other = Member.by_phone(session, phone), self.by_name.get(requester)
        wanted = Member.by_phone(session, other.phone) if other else None
        if supporter is None or wanted is None or supporter.opted_out:
            return False
        return session.scalar(select(Pairing.id).where(
            Pairing.supporter_id == supporter.id, Pairing.requester_id == wanted.id,
            Pairing.status == "active")) is not None

    def _no_silent_request(self, session, now: datetime) -> None:
        rows = session.execute(
            select(Answer, Member).join(Member, Member.id == Answer.member_id)
            .join(Membership, (Membership.member_id == Answer.member_id) & (Membership.group_id == Answer.group_id))
            .where(Answer.option.in_((1, 4)), Answer.current(now), Member.opted_out.is_(False),
                   Membership.status == "active")).all()
        accepted = set(session.execute(select(Pairing.requester_id, Pairing.kind, Pairing.group_id).where(
            Pairing.status == "active")).all()) if rows else set()
        # While a supporter had it (accepted), the request was not waiting: silence counts from its end.
        ended = dict(((r, k, g), at) for r, k, g, at in session.execute(
            select(Pairing.requester_id, Pairing.kind, Pairing.group_id, func.max(Pairing.ended_at))
            .where(Pairing.started_at.is_not(None), Pairing.ended_at.is_not(None))
            .group_by(Pairing.requester_id, Pairing.kind, Pairing.group_id))) if rows else {}
        for answer, member in rows:
            if (member.id, answer.option, answer.group_id) in accepted:
                continue
            # Twenty-four hours, then the rest of the night: word by the next daytime (ticks come by the hour).
            # Counted from the request, or from the latest word about it (a pairing just ended, say).
            news = self.people[member.phone].last_news if member.phone in self.people else None
            since = max(t for t in (answer.since, news, ended.get((member.id, answer.option, answer.group_id)))
                        if t is not None)
            if answer.told_waiting_at is not None:
                # Once told it waits: never more than 24 daytime hours (theirs) without word about it.
                hours = (member.day_starts or 9, member.day_ends or 20)
                person = self.people.get(member.phone)
                if person is not None and person.hours_changed_at is not None and person.hours_changed_at > since:
                    hours = (max(hours[0], person.hours_before[0]), min(hours[1], person.hours_before[1]))
                if daytime_hours(since, now, *hours, self._tz(member.phone)) > WORD_EVERY + 1:
                    raise Broken(f"{member.name}'s request has had no word since {since}: it is {now}")
                continue
            deadline = next_daytime(since + WAITING_GRACE, self._tz(member.phone), 9, 20) + timedelta(hours=3)
            if now > deadline:
                raise Broken(f"{member.name}'s request since {since} has had no word by {now}")


# Seeds that once broke an invariant (seed: what it found).
REGRESSIONS = {
    # A request whose only supporter was busy with other offers, one after another, was neither
    # offered nor told it waits (transcript pairing_waiting_busy_supporter.txt).
    4: "4-busy-supporter",
    # The checker's own mistakes, kept so they stay fixed: a prompt compared with its GSM-7 folded
    # delivery (accents dropped) looked like a different question; a request whose pairing had just
    # ended (with word to the requester) was timed from the original request, not from that word.
    15: "15-folded-accents",
    17: "17-pairing-just-ended",
    # The checker read a template with no captured fields ("no one is free to reach out yet") as
    # no match, so the waiting word never counted as word about the request (seen with the
    # 24-daytime-hours rule: "M016's request has had no word").
    1: "1-waiting-word-unseen",
    # The checker's mistake too: the weeks a supporter had the request (accepted) counted as
    # silence, so a pairing ended at night (its word waiting for the morning) looked like weeks
    # without word.
    10: "10-ended-at-night",
    14: "14-accepted-is-not-silence",
    16: "16-accepted-is-not-silence",
}
# (Since the care maps and the network, the seeds' texts differ from those that found these: the
# seeds are kept all the same.) With maps at stake in every seed the checker found two product
# bugs, fixed with transcripts: after NO to the network question the word every 24 daytime hours
# stopped (seed 8, network_no_word_goes_on.txt), and a network question waiting behind an offer
# counted as word the member never saw (seed 4, network_question_waits_behind_an_offer.txt).
SEEDS = sorted(set(range(1, 21)) | set(REGRESSIONS))
# The seeds run on each database. The simulation is the same on both (the same texts, the same cases):
# SQLite runs every seed, PostgreSQL (slower: a round trip a statement) eight, chosen for the cases of
# MUST_SEE they see (measured 1 Dec 2026): each case by two of them or more, but the unshared map at a YES
# and the contact across, which only seed 4 and only seed 14 of the twenty see (tests/test_invariants.py).
ON_POSTGRESQL = [2, 4, 6, 12, 13, 14, 15, 20]
# SQLite runs those eight and the regressions (twelve): the other eight seeds saw no case the twelve do not,
# and found nothing since the regressions; with this session's tests CI had grown past its 20 minutes
# (2 Dec 2026: 24.6 minutes on a busy machine, the seeds some 500 s of its 1,475).
SEEDS_ON = {"sqlite": sorted(set(REGRESSIONS) | set(ON_POSTGRESQL)), "postgresql": ON_POSTGRESQL}

# The report property a seed's test puts the cases it saw in (conftest gathers them from every worker).
CASES_SEEN = "invariants_cases_seen"


def cases_unseen(reports: list[dict], seeds: dict[str, list[int]]) -> dict[str, list[str]]:
    """The cases of MUST_SEE no seed saw, by database, for each database all of whose seeds passed
    (``seeds``: each database's, as SEEDS_ON).

    ``reports`` are the seeds' CASES_SEEN properties: {"backend", "seed", "cases"}.
    """
    by_backend: dict[str, list[dict]] = {}
    for report in reports:
        by_backend.setdefault(report["backend"], []).append(report)
    unseen = {}
    for backend, done in by_backend.items():
        if {r["seed"] for r in done} != set(seeds.get(backend, ())):
            continue
        missing = [case for case in MUST_SEE if not any(case in r["cases"] for r in done)]
        if missing:
            unseen[backend] = missing
    return unseen


async def simulate(seed: int, sim: Simulation, *, size: int = 40, steps: int = 48) -> World:
    """Run one seeded simulation of ``size`` members over eight weeks in about ``steps`` steps.

    Raises :class:`Broken` (with the seed, the step and the moment) when an invariant fails.
    """
    world = World(seed, sim, size)
    await world.setup()
    end = START + timedelta(weeks=WEEKS)
    gap = (end - START) / steps
    try:
        while sim.now < end - gap / 2:
            await world.step(gap)
        await sim.advance_to(max(end, sim.now))
        world.check()
    except Broken as error:
        raise Broken(f"seed {seed}, step {world.steps}, {sim.now:%Y-%m-%d %H:%M}: {error}") from None
    return world
