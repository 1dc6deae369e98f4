"""The lookups a flow may use, two ways: the in-memory ones the flow tables use, and the database's
(carebot.store.lookups), held to the same table so the tables test what carebot really does.

The only test in tests/flows/ with a database: the store side, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import event

from carebot.flows.lookups import Lookups
from carebot.store.db import Database
from carebot.store.lookups import StoreLookups
from carebot.store.models import Answer, ConsentEvent, Group, Member, Membership
from tests.flows.kit import COMIDA, DMMA, GROUPS, ME, NOW, PEOPLE, MemoryLookups

CONSENTS = (NOW - timedelta(days=9), NOW - timedelta(days=2))

# (Ana's groups, the question, its arguments) -> who is found, as (member, name, group) by the kit's ids.
CASES = [
    ((DMMA.id,), "people_named", ("sam",), {(2, "Sam", 1)}),  # exact beats Samira's prefix
    ((DMMA.id,), "people_named", ("SA",), {(2, "Sam", 1), (3, "Samira", 1)}),
    ((DMMA.id,), "people_named", (" samira ",), {(3, "Samira", 1)}),
    ((DMMA.id,), "people_named", ("ana",), set()),  # never the member themselves
    ((DMMA.id,), "people_named", ("lupe",), set()),  # not in a group they share
    ((DMMA.id,), "people_named", ("",), set()),
    ((DMMA.id, COMIDA.id), "people_named", ("sam",), {(2, "Sam", 1), (2, "Sam", 2)}),
    ((DMMA.id, COMIDA.id), "people_named", ("lu",), {(6, "Lupe", 2)}),
    ((), "people_named", ("sam",), set()),
    ((DMMA.id,), "people_named", ("\u200b",), set()),  # nothing that reads as a name names nobody
    ((DMMA.id,), "people_in_group", (DMMA.id, "sam"), {(2, "Sam", 1)}),
    ((DMMA.id,), "people_in_group", (DMMA.id, "ana"), {(1, "Ana", 1)}),  # the member included
    ((DMMA.id,), "people_in_group", (DMMA.id, "b"), {(4, "Bea", 1)}),
    ((DMMA.id,), "people_in_group", (DMMA.id, "+1 515 555 0102"), {(2, "Sam", 1)}),
    ((DMMA.id,), "people_in_group", (DMMA.id, "(515) 555-0105"), {(5, "+15155550105", 1)}),  # named by number
    ((DMMA.id,), "people_in_group", (DMMA.id, "515-555-0106"), set()),  # Lupe is in COMIDA only
    ((DMMA.id,), "people_in_group", (COMIDA.id, "lupe"), {(6, "Lupe", 2)}),
    ((DMMA.id,), "people_in_group", (DMMA.id, "zed"), set()),
    ((DMMA.id,), "people_in_group", (DMMA.id, "12"), set()),  # digits that are no number
]


@pytest.fixture
def world(migrated_url) -> Iterator[tuple[Database, dict[int, int], dict[int, int]]]:
    """The kit's people in a real database; with the database's ids of the kit's groups and members."""
    db = Database(migrated_url)
    with db.transaction() as session:
        groups = {}
        for info in GROUPS.values():
            group = Group(keyword=info.keyword, name=info.name, timezone=info.timezone, language=info.language,
                          created_at=NOW)
            session.add(group)
            session.flush()
            groups[info.id] = group.id
        members: dict[int, int] = {}
        for person in PEOPLE:
            if person.member_id not in members:
                member = Member(phone=person.phone, name=person.name, created_at=NOW)
                session.add(member)
                session.flush()
                members[person.member_id] = member.id
            session.add(Membership(group_id=groups[person.group_id], member_id=members[person.member_id],
                                   status="active", consented_at=NOW, created_at=NOW))
        # Someone removed from DMMA is found by no one.
        gone = Member(phone="+15155550109", name="Samuel", created_at=NOW)
        session.add(gone)
        session.flush()
        session.add(Membership(group_id=groups[DMMA.id], member_id=gone.id, status="removed",
                               consented_at=NOW, created_at=NOW))
        for at in CONSENTS:
            session.add(ConsentEvent(member_id=members[ME], group_id=groups[DMMA.id], kind="opt_in",
                                     channel="sms", wording="JOIN", at=at))
    yield db, groups, members
    db.dispose()


def found(lookups: Lookups, question: str, args: tuple) -> set[tuple[int, str, int]]:
    return {(p.member_id, p.name, p.group_id) for p in getattr(lookups, question)(*args)}


@pytest.mark.parametrize(("mine", "question", "args", "expected"), CASES)
def test_the_in_memory_lookups(mine, question, args, expected) -> None:
    assert found(MemoryLookups(ME, mine), question, args) == expected


@pytest.mark.parametrize(("mine", "question", "args", "expected"), CASES)
def test_the_database_lookups_answer_the_same(world, mine, question, args, expected) -> None:
    db, groups, members = world
    kit_member = {v: k for k, v in members.items()}
    kit_group = {v: k for k, v in groups.items()}
    if question == "people_in_group":
        args = (groups[args[0]], *args[1:])
    with db.transaction() as session:
        lookups = StoreLookups(session, members[ME], [groups[g] for g in mine])
        answer = {(kit_member[m], name, kit_group[g]) for m, name, g in found(lookups, question, args)}
    assert answer == expected


def test_consent_times_oldest_first(world) -> None:
    db, groups, members = world
    with db.transaction() as session:
        times = StoreLookups(session, members[ME], [groups[DMMA.id]]).consent_times()
    assert times == CONSENTS
    assert MemoryLookups(ME, [DMMA.id], consents=CONSENTS).consent_times() == CONSENTS


def test_nothing_is_read_until_asked_and_each_list_once(world) -> None:
    """Building the lookups costs nothing; PAIR a b (two names in one group) costs one query."""
    db, groups, members = world
    statements: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with db.transaction() as session:
        lookups = StoreLookups(session, members[ME], [groups[DMMA.id], groups[COMIDA.id]])
        assert statements == []
        lookups.people_in_group(groups[DMMA.id], "sam")
        lookups.people_in_group(groups[DMMA.id], "+15155550104")
        assert len(statements) == 1
        lookups.people_named("sam")
        lookups.people_named("lupe")
        assert len(statements) == 3  # the groups' members, and those paired with across a network: once each


# members5: "same as before" after a lapse (carebot.flows.goaround.same_again) reads the last answer in the group
# when it ended by lapsing (its end is its own until), never one the member cleared, replaced or stopped.
@pytest.mark.parametrize(("ends", "expected"), [
    ("lapsed", {(1, "text me", NOW - timedelta(days=1)), (5, None, NOW - timedelta(days=1))}),
    ("cleared", set()),  # a 0 ends it sooner than its own end
    ("replaced then lapsed", {(2, None, NOW - timedelta(hours=2))}),
    ("none", set()),
])
def test_lapsed_answers_are_the_last_answer_when_it_lapsed(world, ends, expected) -> None:
    db, groups, members = world
    me, dmma = members[ME], groups[DMMA.id]
    week_ago, day_ago = NOW - timedelta(days=8), NOW - timedelta(days=1)
    with db.transaction() as session:
        if ends in ("lapsed", "cleared"):
            ended = day_ago if ends == "lapsed" else day_ago - timedelta(days=2)
            session.add_all([Answer(group_id=dmma, member_id=me, option=1, since=week_ago, until=day_ago, how="text me",
                                    ended_at=ended),
                             Answer(group_id=dmma, member_id=me, option=5, since=week_ago, until=day_ago, capacity=1,
                                    ended_at=ended)])
        if ends == "replaced then lapsed":
            session.add_all([Answer(group_id=dmma, member_id=me, option=1, since=week_ago, until=None, ended_at=day_ago),
                             Answer(group_id=dmma, member_id=me, option=2, since=day_ago, capacity=1,
                                    until=NOW - timedelta(hours=2), ended_at=NOW - timedelta(hours=2))])
        session.add(Answer(group_id=groups[COMIDA.id], member_id=me, option=3, since=week_ago, until=NOW,
                           ended_at=NOW))  # another group's lapse is not this group's
    with db.transaction() as session:
        lapsed = StoreLookups(session, me, [dmma]).lapsed_answers(dmma)
        assert {(a.option, a.how, a.until) for a in lapsed} == expected
        assert all(a.since is not None and a.group_id == dmma for a in lapsed)
