"""Benchmark of the outbox sender's own work: ``python -m carebot.bench send``.

A round falls due for a federation (``bench round``'s: groups in four
timezones, some members on Signal, some opted out), then the sender delivers
its texts through a channel that answers at once, so what is timed is carebot's
own work per text: the checks made at send time (consent, membership, quiet
hours, the group's daily budget, the member's earlier texts), the claim, and
recording the provider's answer, each a transaction. The baseline, run the same
way in the same run, is the floor of any transactional outbox: per text, one
transaction that claims the row and one that marks it sent.

Target: at least 150 texts a second on SQLite, twice the 75 a second of a 10DLC
campaign, so that sending a round leaves the database free for webhooks. The
ratio to the baseline is what to watch on a shared, noisy machine. With
``--postgresql URL`` the same run repeats on a throwaway PostgreSQL database.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from sqlalchemy import func, select, update

from carebot.bench import postgres
from carebot.bench.round import NOW, federation
from carebot.channels import SIGNAL, SMS, Sent
from carebot.outbox.sender import deliver_due
from carebot.services.rounds import start_due_rounds
from carebot.store import crypto
from carebot.store.db import Database
from carebot.store.models import OutboxMessage

TARGET = 150.0  # texts a second


class Instant:
    """A channel that takes every text at once: only carebot's own work is timed."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def send(self, address: str, text: str, outbox_id: int) -> Sent:
        return Sent(f"SM{outbox_id:032d}")


def time_sender(db: Database) -> tuple[float, int]:
    """Seconds to deliver every text of the round due at NOW, and how many went."""
    channels = {SMS: Instant(SMS), SIGNAL: Instant(SIGNAL)}
    with db.transaction() as session:
        due = session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
    started = time.perf_counter()
    sent = asyncio.run(deliver_due(db, channels, NOW, limit=due + 1))
    return time.perf_counter() - started, sent


def time_bare(db: Database, count: int) -> float:
    """Seconds for the floor: per text, a transaction claiming it and one marking it sent."""
    with db.transaction() as session:
        ids = list(session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id).limit(count)))
        session.execute(update(OutboxMessage).values(status="pending"))
    started = time.perf_counter()
    for row_id in ids:
        with db.engine.begin() as conn:
            conn.execute(update(OutboxMessage).where(OutboxMessage.id == row_id, OutboxMessage.status == "pending")
                         .values(status="sending", claimed_at=NOW, attempts=OutboxMessage.attempts + 1))
        with db.engine.begin() as conn:
            conn.execute(update(OutboxMessage).where(OutboxMessage.id == row_id)
                         .values(status="sent", sent_at=NOW, body="", provider_id=f"SM{row_id:032d}"))
    return time.perf_counter() - started


def measure(url: str, members: int, groups: int) -> tuple[float, int, float]:
    """The sender's time, the texts it sent, and the bare floor's time for as many, at ``url``."""
    with federation(url, members, groups) as db:
        with db.transaction() as session:
            start_due_rounds(session, NOW)
        elapsed, sent = time_sender(db)
        bare = time_bare(db, sent)
    return elapsed, sent, bare


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m carebot.bench send")
    parser.add_argument("--members", type=int, default=2_000)
    parser.add_argument("--groups", type=int, default=10)
    parser.add_argument("--target", type=float, default=TARGET, help="texts a second the sender must reach")
    postgres.add_option(parser)
    args = parser.parse_args(argv)
    crypto.use_ephemeral_key()  # throwaway databases: the configured key, else a throwaway one
    results = postgres.on_each(lambda url: measure(url, args.members, args.groups), "send", args.postgresql)
    for name, (elapsed, sent, bare) in results.items():
        print(f"sending a round for {args.members:,} members in {args.groups} groups ({name})")
        print(f"  texts sent:        {sent:,} (the round skips recent answerers and STOPs)")
        print(f"  carebot's sender:  {sent / elapsed:,.0f} texts/s   {1000 * elapsed / sent:.2f} ms a text"
              f"   (target ≥ {args.target:.0f} texts/s)")
        print(f"  bare claim + sent: {sent / bare:,.0f} texts/s   {1000 * bare / sent:.2f} ms a text")
        print(f"  ratio sender / bare: {elapsed / bare:.1f}x")
    if not args.postgresql:
        print(postgres.NOT_MEASURED)
    return 0 if all(sent / elapsed >= args.target for elapsed, sent, _ in results.values()) else 1
