"""A "how" is cut to only how and when to be reached in one place going in (goaround.kept_answers; HOW cuts
its own once) and one coming out (how_to_reach.shown_how, for rows kept before the rule, outside7). Every
way a how comes in still leaves its story behind, and a story in an old row is still never shown."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from carebot.flows import router
from carebot.flows.base import Answered, AnswerInfo, HowChanged, OfferAnswered, PairingInfo, Waiting
from carebot.flows.goaround import summarize
from carebot.flows.understanding import read as understand
from carebot.flows.words import read
from carebot.services.people import how_of
from carebot.store.models import Answer, Group, Member
from tests.flows.kit import NOW, context

STORY = "been really low since the miscarriage"
OLD_HOW = f"text me, {STORY}"  # as a row kept before outside7's rule may hold it
CHICAGO = context("DMMA").memberships[0].group.tz


def _kept_hows(ctx, text: str) -> set[str | None]:
    """The hows of the answer the router keeps for ``text``; and no reply may tell the story."""
    result = router.respond(ctx, read(text))
    assert all("miscarriage" not in reply.text and "low" not in reply.text for reply in result.replies), text
    [answer] = [e for e in result.effects if isinstance(e, Answered)]
    return {spec.how for spec in answer.answers}


JUST_ANSWERED = context("DMMA", answers=(AnswerInfo(1, 1, None, None, None, None, NOW - timedelta(minutes=5)),))
HOLDING_OLD = context("DMMA", answers=(AnswerInfo(1, 1, None, OLD_HOW, None, None, NOW - timedelta(days=2)),))
JUST_GIVEN_OLD = context("DMMA", answers=(AnswerInfo(1, 1, None, OLD_HOW, None, None, NOW - timedelta(minutes=5)),))


@pytest.mark.parametrize(("ctx", "text"), [
    (context("DMMA"), f"1 text me, {STORY}"),  # an answer
    (context("DMMA"), f"rough week. 1 text me, {STORY}"),  # after a sentence of the member's own
    (context("DMMA"), f"um hi i think im a one this week and you can text me, {STORY}"),  # a run-on
    (JUST_ANSWERED, f"text me, {STORY}"),  # a piece of the answer just given
    (HOLDING_OLD, "same as before"),  # an answer given again, from a row kept before the rule
    (JUST_GIVEN_OLD, "for 2 weeks"),  # a piece that keeps the how held
])
def test_every_way_in_keeps_only_how_to_be_reached(ctx, text: str) -> None:
    assert _kept_hows(ctx, text) == {"text me"}


def test_how_is_cut_once_and_passed_on() -> None:
    ctx = context("DMMA", answers=(AnswerInfo(1, 1, None, None, None),))
    result = router.respond(ctx, read(f"HOW text me, {STORY}"))
    assert result.effects == (HowChanged(1, "text me"),)
    assert "miscarriage" not in result.replies[0].text
    assert understand(f"HOW text me, {STORY}", lang="en", tz="America/Chicago", now=NOW).how == "text me"


def test_a_story_alone_is_no_how() -> None:
    assert _kept_hows(JUST_ANSWERED, "text me since im so low") == {"text me"}
    result = router.respond(context("DMMA", answers=(AnswerInfo(1, 1, None, None, None),)), read(f"HOW {STORY}"))
    assert not result.effects  # "what's the how?": nothing kept


def test_an_offer_declined_keeps_the_old_requests_without_their_story() -> None:
    offered = PairingInfo(8, 1, "DMMA", 1, "supporter", "Samira", "offered", 7)
    ctx = context("DMMA", pairings=(offered,), answers=(AnswerInfo(1, 1, None, OLD_HOW, None), AnswerInfo(1, 2, None, None, 1)),
                  waiting=Waiting("pairing", "offer", {"pairing_id": 8}, NOW + timedelta(days=1)))
    result = router.respond(ctx, read("cant this week"))
    declined, answered = result.effects
    assert declined == OfferAnswered(8, False, said=True)
    assert isinstance(answered, Answered) and [a.how for a in answered.answers] == ["text me", None]
    assert "miscarriage" not in result.replies[0].text


def test_an_old_rows_story_is_never_shown() -> None:
    held = AnswerInfo(1, 1, None, OLD_HOW, None)
    for shown in (summarize([held], "en", CHICAGO), summarize([held, AnswerInfo(1, 4, None, OLD_HOW, None)], "en", CHICAGO)):
        assert "miscarriage" not in shown and "text me" in shown


def test_an_old_rows_story_never_reaches_a_supporter(db) -> None:
    with db.transaction() as session:
        group = session.scalars(select(Group)).first()
        member = session.scalars(select(Member)).first()
        assert group is not None and member is not None
        session.add(Answer(group_id=group.id, member_id=member.id, option=1, since=NOW - timedelta(days=9), how=OLD_HOW))
        session.flush()
        assert how_of(session, member.id, group.id, 1, NOW) == " (text me)"
