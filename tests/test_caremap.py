"""The care map (MAP / MAPA, issue 22 part 1): kept as written, encrypted, and seen by nobody else."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from carebot.store import crypto
from carebot.store.models import CareMap, Member
from tests.helpers import LOG_WATCH, TRANSCRIPTS, dump, leaks, run, texts_to

ROSA, ANA, SAM, LEE, STRANGER = "+15155550100", "+15155550101", "+15155550102", "+15155550103", "+15155550199"
HELPS = "txt me first, dont call 🙏 maybe bring “soup” ’n crackers"
HURTS = "being told to cheer up"
ALSO = "i dont pick up unknown numbers"
MEMBERS = [
    'group DMMA name="Des Moines Mutual Aid" tz=America/Chicago',
    f"coordinator DMMA {ROSA} name=Rosa",
    f"member DMMA {ANA} name=Ana",
    f"member DMMA {SAM} name=Sam",
    f"member DMMA {LEE} name=Lee",
    "at 2026-03-03 10:00",
]
MAKE_MAP = [f"{ANA} > map", f"{ANA} > {HELPS}", f"{ANA} > {HURTS}", f"{ANA} > {ALSO}", f"{ANA} > yes"]


def stored_map(sim, phone: str) -> list[tuple]:
    with sim.db.transaction() as session:
        member = Member.by_phone(session, phone)
        return [(m.draft, m.helps, m.hurts, m.also, m.shared)
                for m in session.scalars(select(CareMap).where(CareMap.member_id == member.id))]


def test_the_map_is_kept_as_written_and_encrypted_at_rest(sim) -> None:
    run(sim, *MEMBERS, *MAKE_MAP)
    assert stored_map(sim, ANA) == [(False, HELPS, HURTS, ALSO, True)]
    with sim.db.transaction() as session:
        content = dump(session)
        for words in (HELPS, HURTS, ALSO, "cheer up", "unknown numbers"):
            assert words not in content
        (stored,) = session.execute(text("SELECT helps FROM care_maps")).one()
        assert stored.startswith(crypto.PREFIX) and crypto.active().decrypt(stored) == HELPS


def test_only_the_supporter_who_said_yes_receives_it_and_nobody_else(sim) -> None:
    run(sim, *MEMBERS, *MAKE_MAP, f"{STRANGER} > MAP", f"{STRANGER} > map new",
        f"{ANA} > 1 call evenings", f"{SAM} > 2", f"{LEE} > 2")
    offered = SAM if any("Ana (DMMA) asked" in t for t in texts_to(sim, SAM)) else LEE
    other = LEE if offered == SAM else SAM
    assert not any(HURTS in t for t in texts_to(sim, offered)), "the offer carried the map"
    run(sim, f"{offered} > yes", f"{ROSA} > PAIRS", f"{ROSA} > LOG", f"{ROSA} > PULSE", f"{ROSA} > ROSTER",
        f"{other} > PULSE", f"{other} > LOG", f"{other} > MYDATA", f"{ROSA} > MYDATA", "wait 1d")
    received = texts_to(sim, offered)
    contact = next(i for i, t in enumerate(received) if ANA in t)
    assert HURTS in received[contact + 1] and received[contact + 1].startswith("Ana's care map - helps: ")
    for phone in (ROSA, other, STRANGER):
        for said in texts_to(sim, phone):
            for words in (HURTS, ALSO, "soup", "care map - "):
                assert words not in said, f"{phone} was sent the map: {said!r}"
    assert any("care map is for members" in t for t in texts_to(sim, STRANGER))


def test_a_relay_carries_no_map_and_map_words_never_reach_the_other_side(sim) -> None:
    """MAP typed in a reply window is carebot's word, not a message to pass on."""
    run(sim, *MEMBERS, *MAKE_MAP, f"{ANA} > 1 private", f"{SAM} > 2", "wait 5m", f"{SAM} > yes",
        f"{SAM} > @Ana thinking of you")
    assert sum(HURTS in t for t in texts_to(sim, SAM)) == 1  # once, after YES
    before = len(texts_to(sim, SAM))
    run(sim, f"{ANA} > map", "wait 1h")
    assert texts_to(sim, SAM)[before:] == []
    assert any("Your care map (shared" in t for t in texts_to(sim, ANA))


@pytest.mark.parametrize("answer", ["help", "HELP", "start", "status", "1", "2 evenings", "yes", "no", "forget",
                                    "done", "lang es", "pairs", "💜"])
def test_an_answer_is_the_members_words_whatever_command_it_looks_like(sim, answer: str) -> None:
    run(sim, *MEMBERS, f"{ANA} > map", f"{ANA} > {answer}")
    assert "2 of 3" in texts_to(sim, ANA)[-1]
    assert stored_map(sim, ANA) == [(True, answer, None, None, False)]


def test_stop_always_wins_and_crisis_words_get_their_reply_and_are_never_kept(sim) -> None:
    run(sim, *MEMBERS, f"{ANA} > map", f"{ANA} > honestly i want to die")
    assert "glad you reached out" in texts_to(sim, ANA)[-1]
    assert stored_map(sim, ANA) == [(True, None, None, None, False)]
    run(sim, f"{ANA} > tea")  # the question is still open: this answers it
    assert "2 of 3" in texts_to(sim, ANA)[-1]
    run(sim, f"{ANA} > stop")
    assert "unsubscribed" in texts_to(sim, ANA)[-1]
    run(sim, f"{ANA} > walks")
    with sim.db.transaction() as session:
        assert Member.by_phone(session, ANA).opted_out
    assert stored_map(sim, ANA) == [(True, "tea", None, None, False)]


def test_a_coordinator_cannot_see_a_members_map(sim) -> None:
    run(sim, *MEMBERS, *MAKE_MAP, f"{ROSA} > MAP Ana", f"{ROSA} > map", f"{ROSA} > skip")
    for said in texts_to(sim, ROSA):
        assert HURTS not in said and "soup" not in said


def test_key_rotation_moves_the_map_to_the_new_key(sim, monkeypatch) -> None:
    monkeypatch.setattr(crypto, "_active", crypto._active)
    run(sim, *MEMBERS, *MAKE_MAP)
    old, new = crypto.active(), crypto.Keyring(crypto.new_secret())
    crypto.rotate(sim.db, old, new)
    crypto._active = new
    assert stored_map(sim, ANA) == [(False, HELPS, HURTS, ALSO, True)]
    with sim.db.transaction() as session:
        (stored,) = session.execute(text("SELECT also FROM care_maps")).one()
        with pytest.raises(crypto.WrongKey):
            old.decrypt(stored)


def test_no_map_word_reaches_a_log(sim) -> None:
    lines = (TRANSCRIPTS / "caremap_supporter.txt").read_text(encoding="utf-8").splitlines()
    run(sim, *(line for line in lines if line.strip() and not line.startswith("#") and " < " not in line
               and not line.startswith("quiet")))
    assert any("care map" in message for _, _, message in LOG_WATCH.records)
    assert not leaks(LOG_WATCH)
