"""``carebot serve`` killed with SIGKILL in the middle of a go-around round for 200 members.

A real ``carebot serve`` process runs the round (its ticker finds it due at
start-up) and sends it to the local fake of Twilio. The fake takes the first
texts normally, then goes silent: it takes every later text but answers none
(``FakeTwilio.hold``), so when the process is killed (signal 9, no cleanup)
some texts are answered and recorded, some are at Twilio without carebot
knowing it (rows left in ``sending``), and the rest were never tried. A second
``carebot serve`` then starts on the same database: it must not run the round
again, must send every text that was never tried, and must settle the rows
left in ``sending`` at once (issue 15, case 3): the process that claimed them
is gone (its lease, carebot/lease.py, went with it), so nothing of them can
still be on its way from carebot. Each is asked of Twilio (``find_sent``):
the ones Twilio took are marked sent with Twilio's id, the others sent again.
No five-minute wait, so a crisis reply is never held behind them.

What must hold at the end: every member has received that round's question
exactly once at Twilio, each row names the text Twilio took, and the round
was written once.
"""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from carebot.domain import clock
from carebot.outbox.write import PUSH
from carebot.store.db import Database
from carebot.store.models import Group, OutboxMessage
from tests.fakes.twilio_api import FakeTwilio
from tests.helpers import GOOD, Process, group_with_a_due_round, wait_for

MEMBERS = 200  # enough for a kill mid-round; the suite stays within its time bound
PHONES = [f"+1515{7000000 + n:07d}" for n in range(MEMBERS)]
ANSWERED_BEFORE_SILENCE = 60


def statuses(db: Database) -> Counter:
    with db.transaction() as session:
        return Counter(dict(session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()))


def stuck(db: Database) -> dict[int, str]:
    """The rows in ``sending``, with their addresses."""
    with db.transaction() as session:
        return dict(session.execute(select(OutboxMessage.id, OutboxMessage.address)
                                    .where(OutboxMessage.status == "sending")).all())


def test_a_round_killed_mid_send_reaches_every_member_exactly_once(migrated_url, tmp_path: Path):
    db = Database(migrated_url)
    started: list[Process] = []
    try:
        group_id = group_with_a_due_round(db, PHONES)
        with FakeTwilio(account_sid=GOOD["TWILIO_ACCOUNT_SID"], auth_token=GOOD["TWILIO_AUTH_TOKEN"]) as fake:
            env = {"TWILIO_API_BASE_URL": fake.base_url, "TWILIO_SEND_RATE": "1000"}
            fake.hold(after=ANSWERED_BEFORE_SILENCE)

            first = Process("all", migrated_url, tmp_path, **env)
            started.append(first)
            wait_for(lambda: fake.held >= 1, "the round to be half sent")
            first.proc.send_signal(signal.SIGKILL)
            assert first.proc.wait(10) == -signal.SIGKILL

            at_kill = statuses(db)
            in_flight = stuck(db)
            assert sum(at_kill.values()) == MEMBERS  # the round was written whole, in one transaction
            assert at_kill["pending"] > 0 and in_flight, at_kill  # killed mid-send: some untried, some in flight
            assert ANSWERED_BEFORE_SILENCE < len(fake.messages) < MEMBERS
            # Claimed rows Twilio has (its answer held back), and perhaps claimed rows whose request never left.
            at_twilio = {message["to"] for message in fake.messages}
            never_asked = [row_id for row_id, address in in_flight.items() if address not in at_twilio]
            assert len(never_asked) < len(in_flight)
            fake.release()

            second = Process("all", migrated_url, tmp_path, **env)
            started.append(second)
            wait_for(lambda: statuses(db)["sent"] == MEMBERS, "every text sent or settled by the restarted serve", 90)
            second.stop()
            assert second.proc.returncode in (0, -signal.SIGTERM), second.output()
            with db.transaction() as session:
                assert session.scalar(select(func.count()).select_from(OutboxMessage)) == MEMBERS  # the round ran once
                assert session.get(Group, group_id).next_round_at > clock.now()

            received = Counter(message["to"] for message in fake.messages)
            print(f"SIGKILL mid-round of {MEMBERS}: {len(in_flight)} rows in flight at the kill, "
                  f"{len(never_asked)} of them never reached Twilio; after restart: sent {len(received)}, "
                  f"lost {MEMBERS - len(received)}, twice {sum(1 for n in received.values() if n > 1)}")
            assert set(received) == set(PHONES)
            assert set(received.values()) == {1}, "a member got the round twice"
            assert len({message["body"] for message in fake.messages}) == 1  # that round's question
            with db.transaction() as session:
                rows = session.execute(select(OutboxMessage.address, OutboxMessage.status,
                                              OutboxMessage.provider_id, OutboxMessage.purpose)).all()
            sid_to = {message["sid"]: message["to"] for message in fake.messages}
            assert len(rows) == MEMBERS
            for address, status, provider_id, purpose in rows:
                assert (status, purpose) == ("sent", PUSH)
                assert sid_to[provider_id] == address  # each row names the text Twilio took for it
    finally:
        for process in started:
            process.stop()
        db.dispose()
    for process in started:  # never a phone number or a text in any log, and no crash but the kill
        log = process.output()
        assert "+1515" not in log
        assert "Traceback" not in log, log
