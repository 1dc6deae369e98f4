"""FORGET leaves no row that names the member: not their id in any column, not their number in any form."""

from __future__ import annotations

import pytest
from sqlalchemy import func, inspect, select, text

from carebot.store import crypto
from carebot.store.models import (
    CareFlag,
    CareMap,
    Conversation,
    CoordAction,
    Gathering,
    Member,
    NotWith,
    Pairing,
    PendingAction,
    QueuedQuestion,
    Rsvp,
)
from tests.helpers import dump as dump_database
from tests.helpers import run, texts_to

ROSA = "+15155550100"

# Rosa coordinates and asks for care; every kind of row that can name a member is made first.
LIFE = [
    'group DMMA name="Des Moines Mutual Aid" tz=America/Chicago two_coordinators=yes',
    f"coordinator DMMA {ROSA} name=Rosa",
    "coordinator DMMA +15155550103 name=Tam",
    "member DMMA +15155550101 name=Ana",
    "member DMMA +15155550102 name=Sam",
    "at 2026-03-03 10:00",
    # Her care map, shared (issue 22), and a redo left half-made: a map and a draft.
    f"{ROSA} > MAP",
    f"{ROSA} > tea and a quiet room",
    f"{ROSA} > skip",
    f"{ROSA} > skip",
    f"{ROSA} > yes",
    f"{ROSA} > MAP NEW",
    f"{ROSA} > walks by the river",
    "wait 3h",  # the redo's next question lapses
    # A pairing (Rosa asks, Sam supports) and relays both ways.
    f"{ROSA} > 1 private call evenings",
    "+15155550102 > 2",
    "wait 5m",
    "+15155550102 > yes",
    "+15155550102 > @Rosa how are you doing today?",
    f"{ROSA} > better, thanks for asking friend",
    f"{ROSA} > @Sam see you Friday at the garden",
    # Her coordinator actions: an announcement, a gathering with RSVPs, a role change waiting for Tam.
    f"{ROSA} > ANNOUNCE Food share moved to Friday 5pm",
    f"{ROSA} > YES",
    f"{ROSA} > GATHER mar 20 18:30 Public Library room B",
    f"{ROSA} > yes",
    "+15155550101 > yes",
    f"{ROSA} > COORD Ana",
    f"{ROSA} > yes",
    # Tam's actions about her: one waiting for her own YES, one done.
    "+15155550103 > UNCOORD Rosa",
    "+15155550103 > yes",
    "+15155550103 > UNPAIR Rosa Sam",
    "+15155550103 > yes",
    # "Not with", both ways, and her crisis and CALL flags.
    "+15155550101 > NOT Rosa",
    f"{ROSA} > NOT Tam",
    f"{ROSA} > honestly I feel like I want to die lately",
    f"{ROSA} > CALL",
    # She asks again: a new offer waits for Sam.
    f"{ROSA} > 1 call evenings",
    "wait 5m",
    # Sam was unpaired from her by a coordinator, so only a coordinator pairs them again (issue 14).
    "+15155550103 > PAIR Rosa Sam",
    # Sam takes it on and answers the gathering's invitation, asked next; her message then
    # opens a reply window for Sam (an offer of care pushes such a window aside: it comes last).
    "+15155550102 > yes",
    "+15155550102 > no",
    f"{ROSA} > @Sam thank you so much",
]


def _member_columns(session) -> list[tuple[str, str]]:
    """Every (table, column) whose foreign key points at members.id."""
    inspector = inspect(session.connection())
    found = []
    for table in inspector.get_table_names():
        for fk in inspector.get_foreign_keys(table):
            if fk["referred_table"] == "members":
                found.extend((table, column) for column in fk["constrained_columns"])
    return found


def _counts(session, rosa: int) -> dict[str, int]:
    def count(model, *where) -> int:
        return session.scalar(select(func.count()).select_from(model).where(*where))

    return {
        "pairings": count(Pairing, (Pairing.requester_id == rosa) | (Pairing.supporter_id == rosa)),
        "not_with": count(NotWith, (NotWith.member_id == rosa) | (NotWith.other_id == rosa)),
        "care_flags": count(CareFlag, CareFlag.member_id == rosa),
        "coord_actions": count(CoordAction, (CoordAction.actor_id == rosa) | (CoordAction.target_id == rosa)),
        "gatherings": count(Gathering, Gathering.created_by == rosa),
        "rsvps": count(Rsvp),
        "pending": count(PendingAction, (PendingAction.actor_id == rosa) | (PendingAction.target_id == rosa)),
        "relay_windows": count(Conversation, Conversation.flow == "relay"),
        "care_maps": count(CareMap, CareMap.member_id == rosa, CareMap.draft.is_(False)),
        "care_map_drafts": count(CareMap, CareMap.member_id == rosa, CareMap.draft.is_(True)),
    }


def _decrypted(session) -> list[tuple[str, str]]:
    """Every encrypted value in the database, decrypted, with the table and column it is in."""
    keyring = crypto.active()
    return [(f"{table}.{column}", keyring.decrypt(stored))
            for table, pairs in crypto.ENCRYPTED.items() for column, _ in pairs
            for (stored,) in session.execute(text(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL"))]


@pytest.mark.parametrize("stopped_first", [False, True], ids=["forget", "forget-after-stop"])
def test_forget_leaves_no_row_naming_the_member(sim, stopped_first: bool) -> None:
    run(sim, *LIFE)
    with sim.db.transaction() as session:
        rosa = Member.by_phone(session, ROSA)
        rosa_id, rosa_hash = rosa.id, rosa.phone_hash
        before = _counts(session, rosa_id)
        columns = _member_columns(session)
    # The test proves something only when each kind of row existed first.
    assert all(before.values()), before
    assert {"requester_id", "supporter_id", "other_id", "actor_id", "target_id", "created_by"} <= {
        c for _, c in columns}

    if stopped_first:  # STOP first (finding 5): FORGET is still hers, and erases as much
        run(sim, f"{ROSA} > stop", "wait 1d")
        assert "unsubscribed" in texts_to(sim, ROSA)[-1]
    run(sim, f"{ROSA} > forget", f"{ROSA} > yes")
    assert "Reply YES" in texts_to(sim, ROSA)[-2] and "erased" in texts_to(sim, ROSA)[-1]
    run(sim, "wait 1m")  # the next tick drops the delivered farewell, the last row holding her number

    with sim.db.transaction() as session:
        assert Member.by_phone(session, ROSA) is None
        for table, column in columns:
            still = session.execute(text(f"SELECT count(*) FROM {table} WHERE {column} = :m"),
                                    {"m": rosa_id}).scalar()
            assert still == 0, f"{table}.{column} still names the forgotten member"
        # No conversation still points at her pairings or approvals (relay windows, YES questions).
        for flow, data in session.execute(select(Conversation.flow, Conversation.data)):
            for key in ("pairing_id", "pending_id"):
                if key in data:
                    model = Pairing if key == "pairing_id" else PendingAction
                    assert session.get(model, int(data[key])) is not None, f"{flow} waits on a removed {key}"
        # Her number in no form: plain, in any formatting, hashed, or encrypted.
        dump = dump_database(session)
        for form in (ROSA, ROSA[2:], "515-555-0100", "(515) 555-0100", rosa_hash):
            assert form not in dump, f"{form} is still in the database"
        for where, plain in _decrypted(session):
            assert ROSA not in plain, f"{where} still holds her number"
            assert "quiet room" not in plain and "river" not in plain, f"{where} still holds her map"
        # Nor what she wrote.
        for words in ("want to die", "see you Friday at the garden", "thanks for asking friend", "call evenings",
                      "tea and a quiet room", "walks by the river"):
            assert words not in dump


# Ana is in two groups with a shared care map and a redo half-made (a draft, its question open);
# DMMA's coordinators remove her. The map goes with any removal, not only with her last group (#22).
MAP_WORDS = ("tea and a quiet room", "walks by the river", "dont say calm down")
REMOVAL = [
    'group DMMA name="Des Moines Mutual Aid" tz=America/Chicago',
    'group ICMA name="Iowa City Mutual Aid" tz=America/Chicago',
    f"coordinator DMMA {ROSA} name=Rosa",
    "member DMMA +15155550101 name=Ana",
    "member ICMA +15155550101 name=Ana",
    "at 2026-03-03 10:00",
    "+15155550101 > MAP",
    f"+15155550101 > {MAP_WORDS[0]}",
    f"+15155550101 > {MAP_WORDS[2]}",
    "+15155550101 > skip",
    "+15155550101 > yes",
    "+15155550101 > MAP NEW",
    f"+15155550101 > {MAP_WORDS[1]}",
]


def test_a_removal_leaves_no_trace_of_the_members_care_map(sim) -> None:
    run(sim, *REMOVAL)
    with sim.db.transaction() as session:
        ana = Member.by_phone(session, "+15155550101").id
        maps = session.scalar(select(func.count()).select_from(CareMap).where(CareMap.member_id == ana))
        assert maps == 2  # the map and the draft: the test proves something only when both were there
        assert any(MAP_WORDS[1] in plain for _, plain in _decrypted(session))

    run(sim, f"{ROSA} > REMOVE Ana", f"{ROSA} > YES")
    assert "no longer in Des Moines Mutual Aid" in texts_to(sim, "+15155550101")[-1]

    with sim.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(CareMap).where(CareMap.member_id == ana)) == 0
        asked = session.scalars(select(Conversation.flow).where(Conversation.member_id == ana)).all()
        queued = session.scalars(select(QueuedQuestion.flow).where(QueuedQuestion.member_id == ana)).all()
        assert "caremap" not in [*asked, *queued], "a question of her deleted map is still open"
        dump = dump_database(session)
        for where, plain in [("the database dump", dump), *_decrypted(session)]:
            for words in MAP_WORDS:
                assert words not in plain, f"{where} still holds her map: {words!r}"
