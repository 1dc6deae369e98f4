"""The care map (MAP / MAPA, issue 22 part 1): kept as written, encrypted, and seen by nobody else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from carebot.flows import router
from carebot.flows.base import (
    CareMapInfo,
    Context,
    GroupInfo,
    MapAnswered,
    MapDeleted,
    MapFinished,
    MapStarted,
    MembershipInfo,
    Waiting,
)
from carebot.flows.lookups import NoLookups
from carebot.flows.words import read
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


# --- the flow alone: decisions without a database -----------------------------------------

NOW = datetime(2026, 3, 3, 16, 0, tzinfo=UTC)
GROUP = GroupInfo(1, "DMMA", "Des Moines Mutual Aid", "America/Chicago", "en", "0 10 * * mon")


class MapOnly(NoLookups):
    """Lookups that know only the member's own care map."""

    def __init__(self, care_map: CareMapInfo | None) -> None:
        self._map = care_map

    def care_map(self) -> CareMapInfo | None:
        return self._map


def context(*, waiting: Waiting | None = None, care_map: CareMapInfo | None = None, member: bool = True,
            language: str = "en") -> Context:
    return Context(now=NOW, channel="sms", language=language, opted_out=False, name="Ana",
                   memberships=(MembershipInfo(GROUP, "member"),) if member else (), answers=(),
                   groups={"DMMA": GROUP}, waiting=waiting, lookups=MapOnly(care_map))


def asked(step: str, answered: int = 0) -> Waiting:
    return Waiting("caremap", step, {"answered": answered, "_rank": 2, "_prompt": "…"}, NOW + timedelta(hours=1))


@pytest.mark.parametrize(("text", "effects", "step"), [
    ("map", (MapStarted(),), "helps"),
    ("MAPA", (MapStarted(),), "helps"),
    ("Map New", (MapStarted(),), "helps"),
    ("map off", (MapDeleted(),), None),
    ("mapa borrar", (MapDeleted(),), None),
])
def test_map_words(text: str, effects: tuple, step: str | None) -> None:
    result = router.respond(context(), read(text))
    assert result.effects == effects
    assert (result.wait.step if result.wait else None) == step


@pytest.mark.parametrize(("step", "text", "effect", "next_step"), [
    ("helps", "a walk 🌳", MapAnswered("helps", "a walk 🌳"), "hurts"),
    ("helps", "SKIP", MapAnswered("helps", None), "hurts"),
    ("hurts", "saltar!", MapAnswered("hurts", None), "also"),
    ("also", "“call after 6”", MapAnswered("also", "“call after 6”"), "share"),
])
def test_each_answer_is_kept_as_written_or_skipped(step, text, effect, next_step) -> None:
    result = router.respond(context(waiting=asked(step, 1)), read(text))
    assert result.effects == (effect,) and result.wait.step == next_step


def test_three_skips_make_no_map_and_no_share_question() -> None:
    result = router.respond(context(waiting=asked("also")), read("skip"))
    assert result.effects == (MapDeleted(draft_only=True),) and result.wait is None


@pytest.mark.parametrize(("text", "shared"), [("yes", True), ("Si", True), ("yep", True), ("no", False),
                                              ("nope", False), ("skip", False)])
def test_the_share_question(text: str, shared: bool) -> None:
    assert router.respond(context(waiting=asked("share", 2)), read(text)).effects == (MapFinished(shared),)


def test_a_map_shows_its_words_to_its_owner_and_a_stranger_gets_none() -> None:
    shown = router.respond(context(care_map=CareMapInfo("tea", None, "after 6", False)), read("map"))
    assert shown.replies[0].text.startswith("Your care map (kept to yourself) - helps: tea; also: after 6.")
    stranger = router.respond(context(member=False, care_map=CareMapInfo("tea", None, None, True)), read("map"))
    assert "tea" not in stranger.replies[0].text and not stranger.effects


def test_map_while_an_offer_is_asked_leaves_the_offer_asked() -> None:
    offer = Waiting("pairing", "offer", {"pairing_id": 3, "_rank": 0}, NOW + timedelta(hours=24))
    result = router.respond(context(waiting=offer), read("map"))
    assert "First answer my question above" in result.replies[0].text
    assert result.wait == offer and not result.effects
