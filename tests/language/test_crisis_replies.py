"""Crisis replies in every state: a stranger is promised no group; after STOP, resources only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carebot.flows import router
from carebot.flows.base import Context, CrisisNoted, GroupInfo, MembershipInfo
from carebot.flows.words import read

NOW = datetime(2026, 3, 2, 16, tzinfo=UTC)
GROUP = GroupInfo(1, "DMMA", "Des Moines Mutual Aid", "America/Chicago", "en", "0 10 * * mon")


def ctx(language: str = "en", *, member: bool = True, opted_out: bool = False, answered=None) -> Context:
    return Context(now=NOW, channel="sms", language=language, opted_out=opted_out, name=None,
                   memberships=(MembershipInfo(GROUP, "member"),) if member else (), answers=(),
                   groups={"DMMA": GROUP}, crisis_answered_at=answered)


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_stranger_gets_resources_and_no_promise_of_a_group(language: str) -> None:
    reply = router.respond(ctx(language, member=False), read("I don’t want to live anymore")).replies
    assert len(reply) == 1 and "Trans Lifeline" in reply[0].text
    assert "CALL" not in reply[0].text and "LLAMAR" not in reply[0].text


def test_after_stop_crisis_words_get_resources_only_once_a_day_and_nobody_is_told() -> None:
    first = router.respond(ctx(opted_out=True), read("i cant go on"))
    assert [r.purpose for r in first.replies] == ["final"]  # goes although consent ended: a reply to their text
    assert "CALL" not in first.replies[0].text and "Trans Lifeline" in first.replies[0].text
    assert all(isinstance(e, CrisisNoted) for e in first.effects)  # a category noted; no CallRequested
    again = router.respond(ctx(opted_out=True, answered=NOW - timedelta(hours=3)), read("i cant go on"))
    assert again.replies == () and again.effects == ()
    next_day = router.respond(ctx(opted_out=True, answered=NOW - timedelta(days=1, minutes=1)), read("i cant go on"))
    assert len(next_day.replies) == 1


def test_after_stop_other_texts_stay_unanswered() -> None:
    # (STATUS after STOP is answered, saying they stopped: tests/flows, after-stop-status-says-they-stopped.)
    for text in ("thanks", "1 5", "Liked “hi”"):
        assert router.respond(ctx(opted_out=True), read(text)).replies == ()


def test_a_reaction_quoting_crisis_words_is_not_answered() -> None:
    result = router.respond(ctx(), read("Loved “If you’re not safe right now, reply CALL”"))
    assert result.replies == () and result.effects == ()
