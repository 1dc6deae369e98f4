"""The flow tables' own kit: contexts built from plain data, and lookups kept in memory.

No database anywhere: a flow is a function of its context and the text, so a row of a table
is a context, a text as members really send it, and what must come of it. Each row runs the
text through ``router.respond`` (the way the dispatcher does), so the order in which words
are tried is part of what the tables check.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from carebot.domain.i18n import render
from carebot.domain.phone import normalize_phone
from carebot.flows import router
from carebot.flows.base import (
    AnswerInfo,
    CareMapInfo,
    Context,
    Effect,
    GroupInfo,
    MembershipInfo,
    PersonInfo,
    StoppedRequest,
    Transition,
)
from carebot.flows.lookups import named
from carebot.flows.words import read

NOW = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # a Monday, 10:00 in Des Moines
DMMA = GroupInfo(1, "DMMA", "Des Moines Mutual Aid", "America/Chicago", "en", "0 10 * * mon")
COMIDA = GroupInfo(2, "COMIDA", "Comida Para Todes", "America/Chicago", "es", "0 18 * * thu",
                   "Linea Comunitaria 515-555-0177")
# A group whose name is as long as a name may be (40 characters), for replies that must shorten it.
LONG = GroupInfo(3, "LONG", "Southside Tenants and Neighbors Together", "America/Chicago", "en", "0 10 * * mon")
GROUPS = {g.keyword: g for g in (DMMA, COMIDA, LONG)}
COORDINATORS = {DMMA.id: ("Bea",), COMIDA.id: ("Lupe",), LONG.id: ("Bea",)}
ME = 1  # the member who texts: Ana


@dataclass(frozen=True)
class Person:
    member_id: int
    name: str | None
    phone: str
    group_id: int


PEOPLE = (
    Person(1, "Ana", "+15155550101", DMMA.id),
    Person(2, "Sam", "+15155550102", DMMA.id),
    Person(3, "Samira", "+15155550103", DMMA.id),
    Person(4, "Bea", "+15155550104", DMMA.id),
    Person(5, None, "+15155550105", DMMA.id),
    Person(1, "Ana", "+15155550101", COMIDA.id),
    Person(2, "Sam", "+15155550102", COMIDA.id),
    Person(6, "Lupe", "+15155550106", COMIDA.id),
)


class MemoryLookups:
    """carebot.flows.lookups.Lookups over a few plain rows, as carebot.store.lookups reads them."""

    def __init__(self, me: int, group_ids: Iterable[int], people: Iterable[Person] = PEOPLE,
                 consents: tuple[datetime, ...] = (), stopped: tuple[StoppedRequest, ...] = (),
                 lapsed: tuple[AnswerInfo, ...] = ()) -> None:
        self.me, self.group_ids, self.people, self.consents = me, frozenset(group_ids), tuple(people), consents
        self.stopped, self.lapsed = stopped, lapsed

    def people_named(self, name: str) -> tuple[PersonInfo, ...]:
        if not name.strip():
            return ()
        return named((PersonInfo(p.member_id, p.name, p.group_id) for p in self.people
                      if p.group_id in self.group_ids and p.member_id != self.me and p.name), name)

    def people_in_group(self, group_id: int, token: str) -> tuple[PersonInfo, ...]:
        members = [p for p in self.people if p.group_id == group_id]
        number = normalize_phone(token) if any(ch.isdigit() for ch in token) else None
        if number is not None:
            return tuple(PersonInfo(p.member_id, p.name or number, group_id) for p in members if p.phone == number)
        return named((PersonInfo(p.member_id, p.name, group_id) for p in members if p.name), token)

    def partners_in(self, group_id: int, name: str) -> tuple[PersonInfo, ...]:
        return ()

    def consent_times(self) -> tuple[datetime, ...]:
        return self.consents

    def care_map(self) -> CareMapInfo | None:
        return None

    def requests_ended_by_stop(self) -> tuple[StoppedRequest, ...]:
        return self.stopped

    def lapsed_answers(self, group_id: int) -> tuple[AnswerInfo, ...]:
        return tuple(a for a in self.lapsed if a.group_id == group_id)


def context(*groups: str, coordinator_of: Iterable[str] = (), language: str | None = None,
            asked: dict[str, datetime] | None = None, consents: tuple[datetime, ...] = (),
            **fields: Any) -> Context:
    """Ana's context: a member of ``groups`` (keywords), coordinator of ``coordinator_of``."""
    memberships = tuple(
        MembershipInfo(GROUPS[k], "coordinator" if k in coordinator_of else "member",
                       COORDINATORS[GROUPS[k].id], (asked or {}).get(k))
        for k in groups)
    lang = language or (memberships[0].group.language if memberships else "en")
    values: dict[str, Any] = dict(now=NOW, channel="sms", language=lang, opted_out=False, name="Ana",
                                  memberships=memberships, answers=(), groups=GROUPS,
                                  reachable=frozenset({"sms"}),
                                  lookups=MemoryLookups(ME, (m.group.id for m in memberships), consents=consents))
    values.update(fields)
    return Context(**values)


@dataclass(frozen=True)
class Says:
    """An expected reply: catalog ``key`` rendered with ``params`` (in ``lang``, else the member's),
    or, with no key, any reply containing ``text``."""

    key: str | None
    params: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    purpose: str = "reply"
    lang: str | None = None

    def matches(self, reply_text: str, language: str) -> bool:
        if self.key is None:
            return self.text in reply_text
        return reply_text == render(self.key, self.lang or language, **self.params)


def says(key: str, *, lang: str | None = None, purpose: str = "reply", **params: Any) -> Says:
    return Says(key, params, purpose=purpose, lang=lang)


def has(text: str, *, purpose: str = "reply") -> Says:
    return Says(None, text=text, purpose=purpose)


KEEP = ("keep", "keep")  # the row expects the conversation it started in to be kept as it was


@dataclass(frozen=True)
class Row:
    """One line of a flow's table."""

    ctx: Context
    text: str
    replies: tuple[Says, ...] = ()
    effects: tuple[Effect, ...] = ()
    wait: tuple[str, str] | None = None


def row(ctx: Context, text: str, *replies: Says, effects: tuple[Effect, ...] = (),
        wait: tuple[str, str] | None = None) -> Row:
    return Row(ctx, text, replies, effects, wait)


def check(r: Row) -> Transition:
    """Run the row's text through the router and assert every part of what it expects."""
    result = router.respond(r.ctx, read(r.text))
    got = [(reply.text, reply.purpose) for reply in result.replies]
    assert len(got) == len(r.replies), f"replies: {got}"
    for (text, purpose), expected in zip(got, r.replies, strict=True):
        assert expected.matches(text, r.ctx.language), f"reply {text!r} is not {expected}"
        assert purpose == expected.purpose, f"reply {text!r} goes as {purpose}"
    assert result.effects == r.effects
    wait = None if result.wait is None else (result.wait.flow, result.wait.step)
    expected_wait = r.wait
    if r.wait == KEEP:
        assert result.wait == r.ctx.waiting and result.wait is not None
    else:
        assert wait == expected_wait
    return result
