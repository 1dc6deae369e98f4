"""Benchmark of planning a go-around round: 25,000 members on SQLite (and PostgreSQL).

``python -m carebot.bench round`` fills a fresh SQLite file with a federation
(25,000 members in 50 groups by default, a few of them answered recently so
they are skipped), then times what a scheduled round does for every group:
recipients chosen, the question rendered in each member's language, quiet
hours worked out, outbox rows written and committed. The baseline, run the same
way in the same run, is a bare bulk insert of as many outbox rows: the floor of
the work. Target: under 3 s for the round; the ratio is what to watch on a
shared, noisy machine. With ``--postgresql URL`` the same run does it all again
on a throwaway PostgreSQL database and prints the figures side by side.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, select

from carebot.bench import postgres
from carebot.services.rounds import start_due_rounds
from carebot.store import crypto
from carebot.store.db import Database, upgrade
from carebot.store.models import Answer, Group, Member, Membership, OutboxMessage

NOW = datetime(2026, 3, 9, 16, 0, tzinfo=UTC)  # a Monday, 10:00 in Chicago
TIMEZONES = ["America/Chicago", "America/New_York", "America/Los_Angeles", "America/Caracas"]


def build(db: Database, members: int, groups: int) -> None:
    """A federation where every group's round falls due at NOW."""
    with db.transaction() as session:
        session.execute(insert(Group), [
            {"keyword": f"G{g:03d}", "name": f"Group {g}", "timezone": TIMEZONES[g % len(TIMEZONES)],
             "language": "es" if g % 5 == 0 else "en", "round_schedule": "0 10 * * mon",
             "next_round_at": NOW - timedelta(minutes=1), "day_ends": 20, "day_starts": 9,
             "crisis_resources": "", "created_at": NOW - timedelta(days=30)}
            for g in range(groups)
        ])
        group_ids = list(session.scalars(select(Group.id).order_by(Group.id)))
        session.execute(insert(Member), [
            {"phone": f"+1515{n:07d}", "name": f"M{n}", "language": ("es", "en", None)[n % 3],
             "channel": "signal" if n % 7 == 0 else "sms",
             "signal_uuid": f"uuid-{n}" if n % 7 == 0 else None, "opted_out": n % 50 == 0,
             "day_starts": 8 if n % 11 == 0 else None, "day_ends": 21 if n % 11 == 0 else None,
             "created_at": NOW - timedelta(days=30)}
            for n in range(members)
        ])
        member_ids = list(session.scalars(select(Member.id).order_by(Member.id)))
        session.execute(insert(Membership), [
            {"group_id": group_ids[i % groups], "member_id": m, "role": "member", "status": "active",
             "consented_at": NOW - timedelta(days=30), "created_at": NOW - timedelta(days=30)}
            for i, m in enumerate(member_ids)
        ])
        session.execute(insert(Answer), [
            {"group_id": group_ids[i % groups], "member_id": m, "option": 1 + i % 5,
             "since": NOW - timedelta(days=1 if i % 10 == 0 else 20)}
            for i, m in enumerate(member_ids)
        ])


def time_round(db: Database) -> tuple[float, int]:
    started = time.perf_counter()
    with db.transaction() as session:
        start_due_rounds(session, NOW)
    elapsed = time.perf_counter() - started
    with db.transaction() as session:
        written = session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
        session.execute(delete(OutboxMessage))
    return elapsed, written


def time_bare_insert(db: Database, rows: int) -> float:
    payload = [
        {"member_id": None, "group_id": None, "channel": "sms", "address": f"+1515{n:07d}",
         "body": "G000 go-around: 1 reach out to me, 2 I can reach out, 3 I'm unavailable, "
                 "4 I'd like company, 5 I can keep company. Reply e.g. 1 5",
         "purpose": "push", "status": "pending", "not_before": NOW, "attempts": 0, "created_at": NOW}
        for n in range(rows)
    ]
    started = time.perf_counter()
    with db.transaction() as session:
        session.execute(insert(OutboxMessage), payload)
    elapsed = time.perf_counter() - started
    with db.transaction() as session:
        session.execute(delete(OutboxMessage))
    return elapsed


@contextmanager
def federation(url: str, members: int, groups: int) -> Iterator[Database]:
    """The fresh database at ``url``, migrated and filled by :func:`build`; disposed of afterwards."""
    upgrade(url)
    db = Database(url)
    try:
        build(db, members, groups)
        yield db
    finally:
        db.dispose()


def measure(url: str, members: int, groups: int) -> tuple[float, int, float]:
    """The round's time, the texts it wrote, and the bare insert's time, on a fresh database at ``url``."""
    with federation(url, members, groups) as db:
        bare = time_bare_insert(db, members)
        elapsed, written = time_round(db)
    return elapsed, written, bare


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m carebot.bench round")
    parser.add_argument("--members", type=int, default=25_000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--target", type=float, default=3.0, help="seconds the round may take")
    postgres.add_option(parser)
    args = parser.parse_args(argv)
    crypto.use_ephemeral_key()  # throwaway databases: the configured key, else a throwaway one
    results = postgres.on_each(lambda url: measure(url, args.members, args.groups), "round", args.postgresql)
    for name, (elapsed, written, bare) in results.items():
        print(f"round for {args.members:,} members in {args.groups} groups ({name})")
        print(f"  texts written:      {written:,} (recent answerers and STOPs skipped)")
        print(f"  round planned in:   {elapsed:.2f} s   (target < {args.target:.1f} s)")
        print(f"  bare bulk insert:   {bare:.2f} s   of {args.members:,} outbox rows")
        print(f"  ratio round / bare: {elapsed / bare:.1f}x")
    if not args.postgresql:
        print(postgres.NOT_MEASURED)
    return 0 if all(elapsed < args.target for elapsed, _, _ in results.values()) else 1
