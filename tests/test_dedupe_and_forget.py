"""A provider's retry never acts twice; FORGET leaves no row that names the member."""

from __future__ import annotations

from sqlalchemy import inspect, select, text

from carebot.channels import Inbound
from carebot.store.models import Member
from tests.helpers import SETUP, run, texts_to


def test_the_same_provider_message_acts_once(sim) -> None:
    run(sim, *SETUP)
    message = Inbound("sms", "SM0123456789abcdef", "+15155550101", "1", sim.now)
    assert sim.dispatcher.handle_inbound(message) is True
    for _ in range(4):
        assert sim.dispatcher.handle_inbound(message) is False
    run(sim, "wait 1m")
    assert len(texts_to(sim, "+15155550101")) == 1


def test_the_same_id_on_another_channel_is_another_message(sim) -> None:
    run(sim, *SETUP)
    assert sim.dispatcher.handle_inbound(Inbound("sms", "X1", "+15155550101", "1", sim.now))
    assert sim.dispatcher.handle_inbound(
        Inbound("signal", "X1", "+15155550101", "1", sim.now, sender_uuid="u-1"))


def test_forget_leaves_no_row_naming_the_member(sim) -> None:
    run(sim, *SETUP, "member DMMA +15155550102 name=Ben",
        "+15155550101 > NAME Ana", "+15155550101 > 1 2w call evenings",
        "+15155550101 > FORGET", "+15155550101 > YES")
    assert "erased" in texts_to(sim, "+15155550101")[-1]
    with sim.db.transaction() as session:
        assert session.scalars(select(Member.phone)).all() == ["+15155550102"]
        ana_id = 1
        inspector = inspect(session.connection())
        for table in inspector.get_table_names():
            columns = {c["name"] for c in inspector.get_columns(table)}
            if "member_id" in columns:
                count = session.execute(
                    text(f"SELECT count(*) FROM {table} WHERE member_id = :m"), {"m": ana_id}
                ).scalar()
                assert count == 0, f"{table} still names the forgotten member"
            if table == "members":
                assert session.execute(text("SELECT count(*) FROM members WHERE id = :m"),
                                       {"m": ana_id}).scalar() == 0
        # Her name and "how" are nowhere in the database.
        for table in inspector.get_table_names():
            for row in session.execute(text(f"SELECT * FROM {table}")):
                assert "call evenings" not in repr(row) and "'Ana'" not in repr(row)
