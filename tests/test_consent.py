"""Consent: double opt-in, recorded with its wording; STOP wins over everything pending."""

from __future__ import annotations

from sqlalchemy import select

from carebot.store.models import ConsentEvent, Member, OutboxMessage
from tests.helpers import SETUP, outbox_rows, run, texts_to

NEW = "+15155550102"


def test_before_yes_only_the_consent_question_is_ever_sent(sim) -> None:
    run(sim, *SETUP, f"{NEW} > JOIN DMMA", f"{NEW} > 1", f"{NEW} > 5 call me", "wait 3d")
    sent = texts_to(sim, NEW)
    assert "Reply YES" in sent[0]
    assert all("Got it" not in t for t in sent)
    with sim.db.transaction() as session:
        member = Member.by_phone(session, NEW)
        assert session.scalars(select(ConsentEvent).where(ConsentEvent.member_id == member.id)).all() == []


def test_yes_records_when_how_and_the_exact_wording(sim) -> None:
    run(sim, *SETUP, f"{NEW} > JOIN DMMA")
    question = texts_to(sim, NEW)[0]
    run(sim, f"{NEW} > yes")
    with sim.db.transaction() as session:
        member = Member.by_phone(session, NEW)
        event = session.scalars(select(ConsentEvent).where(ConsentEvent.member_id == member.id)).one()
    assert event.kind == "opt_in" and event.channel == "sms"
    assert event.wording == question
    assert event.at.isoformat().startswith("2026-03-02T16:00")  # 10:00 in Chicago


def test_stop_is_recorded_and_cancels_everything_pending(sim) -> None:
    # An answer lapses at night, so its question waits in the outbox for the morning...
    run(sim, *SETUP, "+15155550101 > 3 until mar 2", "wait 14h")
    pending = [r for r in outbox_rows(sim) if r.status == "pending"]
    assert len(pending) == 1 and pending[0].purpose == "push"
    # ...and STOP cancels it before it is ever sent.
    run(sim, "+15155550101 > STOP", "wait 12h")
    statuses = {r.purpose: r.status for r in outbox_rows(sim)}
    assert statuses["push"] == "cancelled" and statuses["final"] == "sent"
    # A text that will never go keeps none of its words, as a sent one keeps none (it may hold a number).
    assert {r.status: r.body for r in outbox_rows(sim)} == {"cancelled": "", "sent": ""}
    assert not any("has ended" in t for t in texts_to(sim, "+15155550101"))
    with sim.db.transaction() as session:
        kinds = session.scalars(select(ConsentEvent.kind).order_by(ConsentEvent.id)).all()
    assert kinds == ["opt_in", "opt_out"]


def test_a_reply_written_before_stop_is_not_sent_after_it(sim) -> None:
    """The sender re-checks consent at send time, not only when the row was written."""
    run(sim, *SETUP)

    ana = sim.network.inbound("+15155550101", "STATUS", sim.now)
    stop = sim.network.inbound("+15155550101", "STOP", sim.now)
    sim.dispatcher.handle_inbound(ana)
    sim.dispatcher.handle_inbound(stop)  # before the sender ran
    run(sim, "wait 1m")
    assert texts_to(sim, "+15155550101") == [
        "You're unsubscribed and won't get more texts from carebot. Text START to come back."
    ]
    with sim.db.transaction() as session:
        assert session.execute(select(OutboxMessage.status, OutboxMessage.body).order_by(OutboxMessage.id)).all() == [
            ("cancelled", ""), ("sent", "")]  # cancelled at send time: none of its words kept either
