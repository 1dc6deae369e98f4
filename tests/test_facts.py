"""A batch's facts (carebot.store.facts): read once for all its senders, and read again for
a member whose rows an earlier text of the batch changed, so no text decides on stale facts.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from carebot.channels import SMS, Inbound
from carebot.dispatch.dispatcher import Dispatcher
from carebot.store.crypto import lookup_hash
from carebot.store.facts import Facts
from carebot.store.models import Answer, Group, Member, Membership, OutboxMessage, Pairing
from tests.fakes.world import ANA, BEN, CARA, NOW


def people(session):
    return [Member.by_phone(session, phone) for phone in (ANA, BEN, CARA)]


def test_a_row_added_for_a_member_by_another_text_is_in_their_facts(db):
    with db.transaction() as session:
        ana, ben, _ = people(session)
        group = session.scalars(select(Group)).one()
        with Facts.load(session, NOW, phones=[ANA, BEN]) as facts:
            assert facts.of(ben).pairings == [] and facts.quiet(ben)
            # Ana's text (a coordinator's PAIR, say) offers Ben her care: a row Ben's facts did not have.
            session.add(Pairing(group_id=group.id, requester_id=ana.id, supporter_id=ben.id, kind=1,
                                status="offered", offered_at=NOW))
            assert [p.requester_id for p in facts.of(ben).pairings] == [ana.id]
            assert [p.supporter_id for p in facts.of(ana).pairings] == [ben.id]


def test_a_bulk_statement_makes_every_members_facts_read_again(db):
    with db.transaction() as session:
        ana, ben, cara = people(session)
        group = session.scalars(select(Group)).one()
        session.add(Answer(group_id=group.id, member_id=cara.id, option=2, since=NOW - timedelta(days=1)))
        session.flush()
        with Facts.load(session, NOW, phones=[ANA, BEN, CARA]) as facts:
            assert [a.option for a in facts.of(cara).current_answers(NOW)] == [2]
            session.execute(update(Answer).where(Answer.member_id == cara.id).values(ended_at=NOW))
            assert facts.of(cara).current_answers(NOW) == []  # whose rows it changed, no member's row says


def test_a_coordinators_new_name_and_a_new_coordinator_show_in_the_next_context(db):
    with db.transaction() as session:
        ana, ben, _ = people(session)
        group = session.scalars(select(Group)).one()
        with Facts.load(session, NOW, phones=[ANA, BEN]) as facts:
            assert facts.coordinators([group.id]) == {group.id: []}
            session.scalars(select(Membership).where(Membership.member_id == ana.id)).one().role = "coordinator"
            session.flush()
            assert facts.coordinators([group.id]) == {group.id: ["Ana"]}
            ana.name = "Ana María"
            session.flush()
            assert facts.coordinators([group.id]) == {group.id: ["Ana María"]}


def test_a_batch_reads_its_senders_facts_once_not_per_text(db):
    """Ten members' answers in one batch cost a few statements each, whatever the batch's size."""
    from sqlalchemy import event

    dispatcher = Dispatcher(db)
    with db.transaction() as session:
        group = session.scalars(select(Group)).one()
        for n in range(7):
            member = Member(phone=f"+1515555030{n}", name=f"M{n}", created_at=NOW)
            session.add(member)
            session.flush()
            session.add(Membership(group_id=group.id, member_id=member.id, status="active",
                                   consented_at=NOW, created_at=NOW))
    phones = [ANA, BEN, CARA] + [f"+1515555030{n}" for n in range(7)]
    dispatcher.store_inbounds([Inbound(SMS, f"SMF{i}", p, "2 call me evenings", NOW) for i, p in enumerate(phones)])
    statements = []
    event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    assert dispatcher.process_pending() == 10
    with db.transaction() as session:
        replies = session.scalars(select(OutboxMessage.address_hash)).all()
    assert sorted(replies) == sorted(lookup_hash(p) for p in phones)  # each answered once
    assert len(statements) <= 15 + 8 * 10, len(statements)
