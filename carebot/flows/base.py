"""The shapes flows speak in: a read-only context in, a transition out. No I/O here.

A flow step is a plain function ``(ctx, text) -> Transition | None`` (None: "not
mine, let the next handler try"). The dispatcher builds the context from the
database, applies the transition's effects, writes its replies to the outbox
and keeps the conversation's next wait, all in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from carebot.i18n import render

# --- what a flow can see ------------------------------------------------------


@dataclass(frozen=True)
class GroupInfo:
    id: int
    keyword: str
    name: str
    timezone: str
    language: str
    round_schedule: str

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class MembershipInfo:
    group: GroupInfo
    role: str
    coordinators: tuple[str, ...] = ()  # names of the group's coordinators, for HELP


@dataclass(frozen=True)
class AnswerInfo:
    group_id: int
    option: int
    until: datetime | None
    how: str | None
    capacity: int | None


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

    def membership(self, group_id: int) -> MembershipInfo | None:
        return next((m for m in self.memberships if m.group.id == group_id), None)

    def answers_in(self, group_id: int) -> tuple[AnswerInfo, ...]:
        return tuple(a for a in self.answers if a.group_id == group_id)


# --- what a flow can ask for --------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """A message to the member, already in their language."""

    text: str
    purpose: str = "reply"  # reply | final (goes even though consent just ended)


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


Effect = Joined | Answered | HowChanged | OptedOut | OptedIn | LanguageChanged | NameChanged | Forgotten


@dataclass(frozen=True)
class Transition:
    """What happens after one input: replies, state changes, and the next wait (or none)."""

    replies: tuple[Reply, ...] = ()
    effects: tuple[Effect, ...] = ()
    wait: Waiting | None = None


def say(ctx: Context, key: str, **params: Any) -> Transition:
    """A transition that only replies, with catalog message ``key`` in the member's language."""
    return Transition(replies=(Reply(render(key, ctx.language, **params)),))
