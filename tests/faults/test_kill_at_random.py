"""``carebot serve`` killed with SIGKILL at random points of a round, twice over.

A seeded random sequence picks, for each run, how many of the round's texts
Twilio (the local fake) has taken when the process is killed; a new ``carebot
serve`` starts on the same database each time, and the last one runs to the
end. Wherever a kill lands (before a claim, between a claim and Twilio's
answer, between the answer and its commit), the restarted process settles the
dead one's rows at once (asking Twilio first, carebot/lease.py) and sends the
rest. What must hold: every member got the round's question exactly once, each
row names the text Twilio took for it, and the round was written once.
``CAREBOT_FAULT_SEED`` replays another sequence; the seed is printed.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from carebot.store.db import Database
from carebot.store.models import OutboxMessage
from tests.fakes.twilio_api import FakeTwilio
from tests.helpers import GOOD, Process, group_with_a_due_round, wait_for

MEMBERS = 60
PHONES = [f"+1515{7100000 + n:07d}" for n in range(MEMBERS)]
KILLS = 2


def test_a_round_killed_at_random_points_reaches_every_member_exactly_once(migrated_url, tmp_path: Path):
    seed = int(os.environ.get("CAREBOT_FAULT_SEED", "1515"))
    chance = random.Random(seed)
    db = Database(migrated_url)
    started: list[Process] = []
    tried: list[str] = []
    began = time.monotonic()
    try:
        group_with_a_due_round(db, PHONES)
        with FakeTwilio(account_sid=GOOD["TWILIO_ACCOUNT_SID"], auth_token=GOOD["TWILIO_AUTH_TOKEN"]) as fake:
            # Slow enough (30 a second) that a kill lands in the middle of the round, not after it.
            env = {"TWILIO_API_BASE_URL": fake.base_url, "TWILIO_SEND_RATE": "30"}
            for kill in range(KILLS):
                taken = len(fake.messages)
                point = taken + chance.randint(1, (MEMBERS - taken) // (KILLS - kill + 1))
                process = Process("all", migrated_url, tmp_path, **env)
                started.append(process)
                wait_for(lambda point=point: len(fake.messages) >= point, f"Twilio to have {point} texts", 60)
                process.proc.send_signal(signal.SIGKILL)
                assert process.proc.wait(10) == -signal.SIGKILL
                with db.transaction() as session:
                    sending = session.scalar(select(func.count()).select_from(OutboxMessage)
                                             .where(OutboxMessage.status == "sending"))
                tried.append(f"kill {kill + 1} at {len(fake.messages)} texts taken ({sending} rows in flight, "
                             f"{time.monotonic() - began:.0f} s)")
            last = Process("all", migrated_url, tmp_path, **env)
            started.append(last)

            def settled() -> bool:
                with db.transaction() as session:
                    return session.scalar(select(func.count()).select_from(OutboxMessage)
                                          .where(OutboxMessage.status == "sent")) == MEMBERS

            wait_for(settled, "every text sent after the last restart", 60)
            last.stop()
            messages = list(fake.messages)
        with db.transaction() as session:
            rows = session.execute(select(OutboxMessage.address, OutboxMessage.status,
                                          OutboxMessage.provider_id)).all()
    finally:
        for process in started:
            process.stop()
        db.dispose()
    received = Counter(message["to"] for message in messages)
    lost = sum(1 for phone in PHONES if received[phone] == 0)
    twice = sum(1 for n in received.values() if n > 1)
    print(f"seed {seed}: {'; '.join(tried)}; then in {time.monotonic() - began:.0f} s: "
          f"sent {len(received)}, lost {lost}, twice {twice}")
    assert (lost, twice) == (0, 0)
    assert len(rows) == MEMBERS  # the round was written once
    sid_to = {message["sid"]: message["to"] for message in messages}
    for address, status, provider_id in rows:
        assert status == "sent" and sid_to[provider_id] == address
    for process in started:  # never a number or a traceback in any log, whatever the kills
        log = process.output()
        assert "+1515" not in log and "Traceback" not in log, log[-2000:]
