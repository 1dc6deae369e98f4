"""A signed text replayed after retention purged its dedupe row acts no more than a retry (#15, case 9).

Twilio's signatures carry no timestamp: whoever captured a member's signed START
can post it again at any time. When retention had deleted the text's row, the
replay looked new and re-subscribed a member who had since sent STOP.
"""

from __future__ import annotations

from sqlalchemy import func, select

from carebot.channels import Inbound
from carebot.store.models import InboundMessage, InboundSeen
from tests.helpers import SETUP, run, snapshot, texts_to

ANA = "+15155550101"
START_SID = "SM" + "5" * 32


def test_a_start_replayed_after_retention_does_not_resubscribe_a_member_who_stopped(sim) -> None:
    run(sim, *SETUP, f"{ANA} > STOP")
    start = Inbound("sms", START_SID, ANA, "START", sim.now)
    assert sim.dispatcher.handle_inbound(start) is True  # she came back
    run(sim, "wait 1m", f"{ANA} > STOP", "wait 1m")
    stopped, told = snapshot(sim, ANA), len(texts_to(sim, ANA))
    assert stopped[0]  # opted out

    run(sim, "wait 120d")  # retention (90 days) deletes the START's row from the inbound log
    with sim.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)
                              .where(InboundMessage.provider_id == START_SID)) == 0
        kept = session.scalars(select(InboundSeen.key)).all()
        assert kept and not any(START_SID in key or "5555" in key for key in kept)  # hashes only

    replay = Inbound("sms", START_SID, ANA, "START", sim.now)
    assert sim.dispatcher.handle_inbound(replay) is False
    run(sim, "wait 1m")
    assert snapshot(sim, ANA) == stopped  # STOP still wins
    assert len(texts_to(sim, ANA)) == told  # and nothing was sent to her


def test_a_new_start_after_retention_still_brings_a_member_back(sim) -> None:
    """Only the replay is refused: the same words under a new MessageSid are her own."""
    run(sim, *SETUP, f"{ANA} > STOP", "wait 120d", f"{ANA} > START", "wait 1m")
    assert not snapshot(sim, ANA)[0]
