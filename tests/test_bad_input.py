"""Bad input gets a clear, kind answer, and the member's state is never corrupted."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from carebot.store.models import Member
from tests.helpers import SETUP, run, snapshot, texts_to

ANA = "+15155550101"

BAD = {
    "empty": "",
    "spaces": "   \t  ",
    "huge": "help me " * 250,  # 2,000 characters
    "emoji only": "🌻🙏🏽❤️",
    "right-to-left marks": "\u202e\u200f\u202b",
    "rtl text": "\u202eسلام",
    "nul bytes": "\x00\x00\x00",
    "control characters": "\x07\x1b[31m\x08",
    "sql-looking": "1'; DROP TABLE members; --",
    "sql union": "' OR 1=1 UNION SELECT phone FROM members --",
    "format string": "{group} %s {0} {{}}",
    "wrong arguments": "LANG",
    "join nonsense": "JOIN 🌻🌻",
}


@pytest.mark.parametrize("text", BAD.values(), ids=BAD.keys())
def test_bad_text_gets_one_kind_reply_and_changes_nothing(sim, text: str) -> None:
    run(sim, *SETUP, f"{ANA} > 1 call evenings")
    before = snapshot(sim, ANA)
    sent_before = len(texts_to(sim, ANA))
    run(sim, f"{ANA} > {text}")
    replies = texts_to(sim, ANA)[sent_before:]
    assert len(replies) == 1
    reply = replies[0]
    assert 0 < len(reply) <= 320
    assert "Traceback" not in reply and "Error" not in reply
    assert snapshot(sim, ANA)[:3] == before[:3]
    # The answers are untouched unless the text was itself a go-around answer (the SQL-looking
    # one starts with "1", so it is read as "1" with a "how", and replaces the answer cleanly).
    if not text.startswith("1"):
        assert snapshot(sim, ANA) == before


def test_sql_looking_text_is_read_as_words_and_never_run(sim) -> None:
    # Its SQL is no way of being reached, so it is not kept as the how (flows/how_to_reach.py); before that
    # rule this test saw it kept word for word. What it still shows: the text is data, read and answered.
    run(sim, *SETUP, f"{ANA} > 1 text me'; DROP TABLE members; --", f"{ANA} > STATUS")
    status = texts_to(sim, ANA)[-1]
    assert "reach out" in status and "text me" in status and "DROP" not in status
    with sim.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Member)) == 1


def test_a_2000_character_answer_keeps_a_bounded_how(sim) -> None:
    run(sim, *SETUP, f"{ANA} > 1 " + "call me " * 250)
    reply = texts_to(sim, ANA)[-1]
    assert "like someone to reach out" in reply and len(reply) < 320


def test_a_sender_that_is_not_a_valid_phone_number_gets_nothing_and_is_not_stored(sim) -> None:
    run(sim, *SETUP, "+123 > JOIN DMMA", "12345 > hello", "not-a-number > HELP")
    assert sim.network.delivered == []
    with sim.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Member)) == 1  # only Ana


def test_a_second_yes_with_nothing_pending_changes_nothing(sim) -> None:
    run(sim, *SETUP, "+15155550102 > JOIN DMMA", "+15155550102 > YES")
    before = snapshot(sim, "+15155550102")
    run(sim, "+15155550102 > YES")
    assert "nothing waiting for a YES" in texts_to(sim, "+15155550102")[-1]
    assert snapshot(sim, "+15155550102") == before
    assert sum("Welcome" in t for t in texts_to(sim, "+15155550102")) == 1


def test_stop_twice_confirms_once_and_stays_stopped(sim) -> None:
    run(sim, *SETUP, f"{ANA} > STOP", f"{ANA} > STOP", f"{ANA} > stop")
    assert len(texts_to(sim, ANA)) == 1
    assert snapshot(sim, ANA)[0] is True
