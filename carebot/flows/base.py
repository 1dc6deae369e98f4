"""The shapes flows speak in: a read-only context in, a transition out. No I/O here.

A flow step is a plain function ``(ctx, text) -> Transition | None`` (None: "not
mine, let the next handler try"). The dispatcher builds the context from the
database (carebot.dispatch.context: plain data, and read-only lookups for what is
fetched only when asked), applies the transition's effects, writes its replies to
the outbox and keeps the conversation's next wait, all in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from carebot.domain.i18n import DEFAULT_LANGUAGE, catalog, render
from carebot.domain.vocabulary import VOICE
from carebot.flows.lookups import Lookups, NoLookups

# --- what a flow can see ------------------------------------------------------


@dataclass(frozen=True)
class GroupInfo:
    id: int
    keyword: str
    name: str
    timezone: str
    language: str
    round_schedule: str
    crisis_resources: str = ""

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class MembershipInfo:
    group: GroupInfo
    role: str
    coordinators: tuple[str, ...] = ()  # names of the group's coordinators, for HELP
    asked_at: datetime | None = None  # the group's last go-around question to the member


@dataclass(frozen=True)
class AnswerInfo:
    group_id: int
    option: int
    until: datetime | None
    how: str | None
    capacity: int | None
    private: bool | None = None
    since: datetime | None = None  # when the member gave it (an answer in pieces completes the latest)


@dataclass(frozen=True)
class StoppedRequest:
    """A request for care (1 or 4) that the member's STOP ended, held until retention deletes it."""

    answer: AnswerInfo
    ended_at: datetime


@dataclass(frozen=True)
class PairingInfo:
    """One of the member's open pairings, seen from their side."""

    id: int
    group_id: int
    keyword: str
    kind: int  # the request: 1 reach out to me, 4 company
    role: str  # requester | supporter
    other_name: str
    status: str  # offered | active
    cadence_days: int


@dataclass(frozen=True)
class PersonInfo:
    """Someone in one of the member's groups, found by name."""

    member_id: int
    name: str
    group_id: int


@dataclass(frozen=True)
class Waiting:
    """A conversation that expects the member's next text."""

    flow: str
    step: str
    data: dict[str, Any] = field(default_factory=dict)
    until: datetime | None = None


@dataclass(frozen=True)
class Context:
    """Everything a flow may know about the member and the moment."""

    now: datetime
    channel: str
    language: str
    opted_out: bool
    name: str | None
    memberships: tuple[MembershipInfo, ...]  # active ones only
    answers: tuple[AnswerInfo, ...]  # current ones only
    groups: dict[str, GroupInfo]  # every group on this deployment, by keyword
    waiting: Waiting | None = None
    is_new: bool = False
    # The text speaks of crisis: its words are answered with care and never kept.
    crisis: bool = False
    pairings: tuple[PairingInfo, ...] = ()
    # The channels carebot can write to the member on ("sms", "signal").
    reachable: frozenset[str] = frozenset()
    # When carebot last answered the member's thanks or greeting, and last answered their
    # crisis words (both answered at most once a day where the rules say so).
    courtesy_at: datetime | None = None
    crisis_answered_at: datetime | None = None
    # Groups whose coordinators removed the member: only their ADD lets them back in.
    removed_from: frozenset[int] = frozenset()
    # What is fetched only when a text asks for it (people by name, consent history), read-only.
    lookups: Lookups = field(default_factory=NoLookups)

    @property
    def waiting_data(self) -> dict[str, Any]:
        """What the question being answered holds (empty when no question waits)."""
        return self.waiting.data if self.waiting is not None else {}

    def membership(self, group_id: int) -> MembershipInfo | None:
        return next((m for m in self.memberships if m.group.id == group_id), None)

    def answers_in(self, group_id: int) -> tuple[AnswerInfo, ...]:
        return tuple(a for a in self.answers if a.group_id == group_id)

    def is_coordinator(self, group_id: int) -> bool:
        membership = self.membership(group_id)
        return membership is not None and membership.role == "coordinator"


# --- what a flow can ask for --------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """A message to the member, already in their language."""

    text: str
    # reply | final (goes even though consent just ended) | after_stop (an answer about a stopped member's
    # own data: MYDATA, FORGET's question, HELP). Past the flood limit a final reply still goes, an
    # after_stop one once a flood window, so a flood of them is not answered again and again.
    purpose: str = "reply"


@dataclass(frozen=True)
class MissedCallsMean:
    """``HOW missed call means call me``: a call the member hangs up before choosing asks for a call back."""

    call_back: bool


@dataclass(frozen=True)
class CourtesyAnswered:
    """A thanks or greeting was answered: the next one today gets no answer."""


@dataclass(frozen=True)
class Joined:
    group_id: int
    wording: str


@dataclass(frozen=True)
class AnswerSpec:
    option: int
    until: datetime | None
    how: str | None
    capacity: int | None
    private: bool | None = None  # None: the group's default


@dataclass(frozen=True)
class Answered:
    """The member's go-around answer replaces their current one in that group."""

    group_id: int
    answers: tuple[AnswerSpec, ...]


@dataclass(frozen=True)
class HowChanged:
    group_id: int
    how: str


@dataclass(frozen=True)
class OptedOut:
    wording: str


@dataclass(frozen=True)
class OptedIn:
    wording: str


@dataclass(frozen=True)
class LanguageChanged:
    language: str


@dataclass(frozen=True)
class NameChanged:
    name: str


@dataclass(frozen=True)
class Forgotten:
    pass


@dataclass(frozen=True)
class ChannelChanged:
    """CHANNEL SMS / CHANNEL SIGNAL: where carebot's own texts to the member go."""

    channel: str


# --- care: pairings, check-ins, rounds, relay, crisis (applied in carebot.services) --------


@dataclass(frozen=True)
class OfferAnswered:
    """The supporter's YES (accepted) or NO to a pairing offer; None: it timed out."""

    pairing_id: int
    accepted: bool | None
    said: bool = False  # the flow's own reply already says it (a NO said together with the member's rest)
    more: bool = False  # a YES that opened a longer text: the member hears how to ask for themselves too


@dataclass(frozen=True)
class CheckinAnswered:
    """Whether the supporter connected: "yes", "no", "later", "missed" (no answer), or "no_after_missed"
    (a NO after the question's day, its silence already counted as missed)."""

    pairing_id: int
    outcome: str


@dataclass(frozen=True)
class RematchAnswered:
    """The requester's answer to "someone else?": True, False, or None (no answer)."""

    pairing_id: int
    wanted: bool | None


@dataclass(frozen=True)
class NetworkAnswered:
    """The requester's YES (True) or NO (False) to asking the network's other groups; None: no answer."""

    answer_id: int
    yes: bool | None


@dataclass(frozen=True)
class PairingEnded:
    pairing_id: int


@dataclass(frozen=True)
class NotWithAdded:
    other_id: int


@dataclass(frozen=True)
class CadenceChanged:
    pairing_id: int
    days: int


@dataclass(frozen=True)
class DaytimeChanged:
    starts: int
    ends: int


@dataclass(frozen=True)
class RoundStarted:
    group_id: int


@dataclass(frozen=True)
class PrivacyChanged:
    """``HOW private`` / ``HOW share``: whether a request shares the member's number."""

    group_id: int
    private: bool


@dataclass(frozen=True)
class Relayed:
    """A message to the other member of a pairing, through carebot."""

    pairing_id: int
    text: str


@dataclass(frozen=True)
class RelayedToCoordinators:
    """A member's message to the coordinators of one of their groups, through carebot: to those named
    ``name`` (as the group knows them), to the one of ``coordinator_id`` (a reply in the relay window),
    or else to all of them."""

    group_id: int
    text: str
    name: str | None = None
    coordinator_id: int | None = None


@dataclass(frozen=True)
class RelayedFromCoordinator:
    """A coordinator's reply, in the relay window, to the member who wrote to the coordinators."""

    group_id: int
    member_id: int
    text: str


# Every effect that passes a member's words on to someone else (a flood is never passed on).
RELAYS = (Relayed, RelayedToCoordinators, RelayedFromCoordinator)


@dataclass(frozen=True)
class CrisisNoted:
    """Crisis words were answered: a category flag is kept for these groups, never the text."""

    group_ids: tuple[int, ...]


@dataclass(frozen=True)
class CallRequested:
    """CALL: the member consents to the groups' on-call people being told, with their number."""

    group_ids: tuple[int, ...]




# --- coordinators and the gathering (applied in carebot.services) -----------------


@dataclass(frozen=True)
class ListShown:
    """PAIRS, ROSTER, LOG, PULSE or GATHER: a view of the group, paged with MORE."""

    kind: str
    group_id: int


@dataclass(frozen=True)
class PairRequested:
    group_id: int
    requester_id: int
    supporter_id: int


@dataclass(frozen=True)
class UnpairRequested:
    group_id: int
    a_id: int
    b_id: int


@dataclass(frozen=True)
class InviteRequested:
    group_id: int
    number: str
    name: str | None


@dataclass(frozen=True)
class ActionConfirmed:
    """A coordinator's YES to their own REMOVE, COORD, UNCOORD, ANNOUNCE or GATHER."""

    data: dict[str, Any]


@dataclass(frozen=True)
class ApprovalGiven:
    """A second coordinator's YES (agreed) or NO to another coordinator's action."""

    pending_id: int
    agreed: bool


@dataclass(frozen=True)
class RsvpGiven:
    group_id: int
    gathering_id: int | None  # None: the group's next gathering
    coming: bool



# --- the care map, MAP / MAPA (applied by carebot.services.caremap) ------------------------


@dataclass(frozen=True)
class CareMapInfo:
    """The member's care map as they wrote it; None for a question they skipped."""

    helps: str | None
    hurts: str | None
    also: str | None
    shared: bool


@dataclass(frozen=True)
class MapStarted:
    """MAP (or MAP NEW): a fresh draft; the map the member has stays until the draft is done."""


@dataclass(frozen=True)
class MapAnswered:
    """One of the map's three questions answered (``field``: helps, hurts or also); None: SKIP."""

    field: str
    text: str | None


@dataclass(frozen=True)
class MapFinished:
    """The share question answered: the draft becomes the member's map, shared or kept to them."""

    shared: bool


@dataclass(frozen=True)
class MapDeleted:
    """MAP OFF: the map and any draft are deleted (``draft_only``: every question skipped, the map stays)."""

    draft_only: bool = False


@dataclass(frozen=True)
class MapToCall:
    """The member's answer to "share your care map with the person who calls?" after a CALL."""

    share: bool
    member_ids: tuple[int, ...]  # the on-call people that CALL told




Effect = (Joined | MissedCallsMean | Answered | HowChanged | OptedOut | OptedIn | LanguageChanged | NameChanged
          | Forgotten | OfferAnswered | CheckinAnswered | RematchAnswered | PairingEnded
          | NotWithAdded | CadenceChanged | DaytimeChanged | RoundStarted | ListShown
          | PairRequested | UnpairRequested | InviteRequested | ActionConfirmed | ApprovalGiven
          | RsvpGiven | PrivacyChanged | Relayed | RelayedToCoordinators
          | RelayedFromCoordinator | CrisisNoted | CallRequested | ChannelChanged
          | CourtesyAnswered | MapStarted | MapAnswered | MapFinished | MapDeleted | MapToCall | NetworkAnswered)


@dataclass(frozen=True)
class Transition:
    """What happens after one input: replies, state changes, and the next wait (or none)."""

    replies: tuple[Reply, ...] = ()
    effects: tuple[Effect, ...] = ()
    wait: Waiting | None = None


def render_for(ctx: Context, key: str, **params: Any) -> str:
    """Catalog message ``key`` in the member's language; on a call its spoken variant
    (``key.voice``) where a text would not read well aloud ("Text STATUS anytime")."""
    if ctx.channel == VOICE and f"{key}.voice" in catalog(DEFAULT_LANGUAGE):
        key = f"{key}.voice"
    return render(key, ctx.language, **params)


def say(ctx: Context, key: str, **params: Any) -> Transition:
    """A transition that only replies, with catalog message ``key`` in the member's language."""
    return Transition(replies=(Reply(render_for(ctx, key, **params)),))
