"""Benchmark of handling inbound texts: ``python -m carebot.bench inbound``.

A group's round has just gone out and its members answer. On a fresh SQLite
file (and a throwaway PostgreSQL database with ``--postgresql URL``), it fills
one group (1,000 members, then 5,000), stores one realistic go-around answer
from each member, and times the inbound worker handling them all: store ->
dispatcher -> flow -> effects -> outbox -> commit. It prints texts/s for each
size, their ratio (the cost of a text must not grow with its group), the
statements a text costs, and, as the baseline of the same run, a bare loop
doing one insert and one commit per text on the same database.

Then it replays a round's rush: ``--burst`` members answering within
``--seconds`` (most of them in the first minute), stored as they come while
the worker handles them, and prints p50/p99 from receipt to the reply's outbox
row being committed.

On PostgreSQL it also runs two workers side by side and prints their rate
against one worker's.

The workers are processes, as serve's are, started before the clock starts.

Targets: >= 500 texts/s at 5,000 members on SQLite, the rate at 5,000 >= 0.8
of the rate at 1,000; p99 < 2 s in the rush; two PostgreSQL workers >= 1.7x one.
``--profile`` prints where the time goes (cProfile) for the 5,000 group.
"""

from __future__ import annotations

import argparse
import cProfile
import multiprocessing
import pstats
import random
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, func, insert, select, text

from carebot.bench import postgres
from carebot.channels import SMS, Inbound
from carebot.dispatch.dispatcher import Dispatcher
from carebot.runtime.serve import INBOUND_BATCH, INBOUND_BUDGET
from carebot.store import crypto
from carebot.store.db import Database, upgrade
from carebot.store.models import Answer, Group, InboundMessage, Member, Membership, OutboxMessage

NOW = datetime(2026, 3, 9, 16, 0, tzinfo=UTC)  # a Monday, 10:00 in Chicago
# How members really answer a go-around: numbers, a few words, typos, Spanish without accents, emoji.
ANSWERS = ["1", "2", "3", "4", "5", "1 5", "2 call evenings", "3 this week", "1 text me", "5 👍",
           "4 pls", "2 5", "1 llamame", "3 esta semana", "4 i'd like company", "5 after 6pm", "12",
           "2 5 text", "1 5 call me after work", "3"]
SIZES = (1_000, 5_000)
TARGET_RATE, TARGET_FLAT, TARGET_P99, TARGET_SCALE = 500.0, 0.8, 2.0, 1.7


def phone(n: int) -> str:
    return f"+1515{2_000_000 + n:07d}"


def build(db: Database, members: int) -> None:
    """One group of ``members`` whose round went out a minute ago; some of them answered last month."""
    with db.transaction() as session:
        session.execute(insert(Group), [{
            "keyword": "BENCH", "name": "Bench Mutual Aid", "timezone": "America/Chicago", "language": "en",
            "round_schedule": "0 10 * * mon", "next_round_at": NOW + timedelta(days=7),
            "day_starts": 0, "day_ends": 24, "crisis_resources": "", "created_at": NOW - timedelta(days=60)}])
        group_id = session.scalar(select(Group.id))
        session.execute(insert(Member), [
            {"phone": phone(n), "name": f"M{n}" if n % 3 else None, "language": ("en", None, "es")[n % 3],
             "channel": SMS, "opted_out": False, "created_at": NOW - timedelta(days=60)}
            for n in range(members)
        ])
        member_ids = list(session.scalars(select(Member.id).order_by(Member.id)))
        session.execute(insert(Membership), [
            {"group_id": group_id, "member_id": m, "role": "coordinator" if i < 3 else "member",
             "status": "active", "consented_at": NOW - timedelta(days=60), "created_at": NOW - timedelta(days=60),
             "last_asked_at": NOW - timedelta(minutes=1)}
            for i, m in enumerate(member_ids)
        ])
        session.execute(insert(Answer), [
            {"group_id": group_id, "member_id": m, "option": 1 + i % 5, "since": NOW - timedelta(days=20),
             "until": NOW + timedelta(days=10)}
            for i, m in enumerate(member_ids) if i % 4 == 0
        ])


def texts(members: int, start: int = 0) -> list[Inbound]:
    """One answer from each member, in a shuffled order, each a second apart in the round's rush."""
    order = list(range(members))
    random.Random(members).shuffle(order)
    return [Inbound(SMS, f"SM{start + i:032d}", phone(n), ANSWERS[n % len(ANSWERS)],
                    NOW + timedelta(seconds=i % 300)) for i, n in enumerate(order)]


class Statements:
    """Counts the statements an engine runs while it is attached."""

    def __init__(self, engine) -> None:
        self.count = 0
        self.engine = engine
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args) -> None:
        self.count += 1

    def detach(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


def drain(dispatcher: Dispatcher) -> None:
    while dispatcher.process_pending(500):
        pass


def handling(url: str, members: int, profile: bool = False) -> dict:
    """Texts/s and statements per text for one group of ``members``, each sending one answer."""
    upgrade(url)
    db = Database(url)
    try:
        build(db, members)
        dispatcher = Dispatcher(db, retention_days=30)
        dispatcher.store_inbounds(texts(members))
        counter = Statements(db.engine)
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        drain(dispatcher)
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - started
        counter.detach()
        with db.transaction() as session:
            waiting = session.scalar(select(func.count()).select_from(InboundMessage)
                                     .where(InboundMessage.handled_at.is_(None)))
            replies = session.scalar(select(func.count()).select_from(OutboxMessage)
                                     .where(OutboxMessage.created_at >= NOW))
        if profiler:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        return {"rate": members / elapsed, "statements": counter.count / members, "waiting": waiting,
                "replies": replies}
    finally:
        db.dispose()


def _bare_rows(start: int, count: int) -> list[dict]:
    return [{"channel": SMS, "provider_id": f"SB{start + i:032d}", "received_at": NOW, "body": "1 5"}
            for i in range(count)]


def _insert_each(db: Database, rows: list[dict]) -> None:
    """The floor's work: one insert of a text and one commit, for each text."""
    for row in rows:
        with db.engine.begin() as conn:
            conn.execute(insert(InboundMessage), row)


def bare(url: str, count: int) -> float:
    """The floor: one insert of a text and one commit each, through the same engine (texts/s)."""
    upgrade(url)
    db = Database(url)
    try:
        rows = _bare_rows(0, count)
        started = time.perf_counter()
        _insert_each(db, rows)
        return count / (time.perf_counter() - started)
    finally:
        db.dispose()


def arrival_moments(members: int, seconds: float) -> list[float]:
    """When each member's answer comes, in seconds from the start: most in the first third, all within
    ``seconds``, in order. One generator for all: a new Random(7) for each member gave every member the same
    moment, so the "rush" was every answer at once (found 1 Dec 2026)."""
    moments = random.Random(7)
    return sorted(min(moments.expovariate(3.0 / seconds), seconds) for _ in range(members))


def rush(url: str, members: int, seconds: float) -> dict:
    """``members`` answers arriving within ``seconds``, stored as they come; receipt to reply's commit."""
    upgrade(url)
    db = Database(url)
    try:
        build(db, members)
        dispatcher = Dispatcher(db, retention_days=30)
        arrivals = arrival_moments(members, seconds)
        stored_at: dict[int, float] = {}
        done_at: dict[int, float] = {}
        waiting: set[int] = set()  # stored, not yet seen handled: the only rows each look reads
        finished = threading.Event()
        # In serve the webhooks' stores (a thread of their own) and the worker's batches take turns on
        # SQLite's write lock: here a lock held for each whole store and batch takes its place, a little
        # stricter than serve, where a batch's reads do not hold the write lock.
        database_thread = threading.Lock()
        origin = time.perf_counter()

        def store() -> None:
            for message, due in zip(texts(members), arrivals, strict=True):
                delay = origin + due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                with database_thread:
                    row_id = dispatcher.store_inbound(message)
                    if row_id is not None:
                        stored_at[row_id] = time.perf_counter()
                        waiting.add(row_id)
                wake.set()  # as a webhook wakes serve's worker
            finished.set()
            wake.set()

        wake = threading.Event()
        writer = threading.Thread(target=store, daemon=True)
        writer.start()
        def look() -> None:
            """Each stored text handled by now: its reply's row is committed (a batch commits its replies)."""
            now = time.perf_counter()
            with database_thread:
                looking = list(waiting)
            with db.engine.connect() as conn:
                for start in range(0, len(looking), 500):
                    for row_id in conn.scalars(select(InboundMessage.id).where(
                            InboundMessage.id.in_(looking[start:start + 500]), InboundMessage.handled_at.is_not(None))):
                        done_at[row_id] = now
                        waiting.discard(row_id)

        while True:
            wake.wait(0.05)
            wake.clear()
            # As serve's inbound worker does: small batches, each begun within its time budget, and
            # each batch's replies ready to send once it commits.
            while True:
                with database_thread:
                    handled = dispatcher.process_pending(INBOUND_BATCH, INBOUND_BATCH, INBOUND_BUDGET)
                if not handled:
                    break
                look()
            if finished.is_set() and len(done_at) >= len(stored_at):
                break
        writer.join()
        latencies = sorted(done_at[i] - stored_at[i] for i in stored_at if i in done_at)
        return {"p50": statistics.median(latencies), "p99": latencies[int(len(latencies) * 0.99)],
                "count": len(latencies), "elapsed": time.perf_counter() - origin}
    finally:
        db.dispose()


def _worker(url: str, secret: str, ready, go) -> None:
    """One inbound worker process: its own key, engine and connections, draining the queue when told."""
    crypto.configure(secret)
    db = Database(url)
    try:
        dispatcher = Dispatcher(db, retention_days=30)
        ready.put(True)
        go.wait()
        drain(dispatcher)
    finally:
        db.dispose()


def _bare_worker(url: str, start: int, count: int, ready, go) -> None:
    """One process of the machine's ceiling: ``count`` inserts of a text, a commit each."""
    db = Database(url)
    try:
        rows = _bare_rows(start, count)
        ready.put(True)
        go.wait()
        _insert_each(db, rows)
    finally:
        db.dispose()


def bare_processes(url: str, count: int, processes: int) -> float:
    """The machine's own ceiling for worker processes: bare loops (one insert + commit a text) side by side,
    texts/s in all. Two of them cannot beat what two cores give next to the database server."""
    upgrade(url)
    spawn = multiprocessing.get_context("spawn")
    ready, go = spawn.Queue(), spawn.Event()
    running = [spawn.Process(target=_bare_worker, args=(url, k * count, count, ready, go)) for k in range(processes)]
    for process in running:
        process.start()
    for _ in running:
        ready.get(timeout=120)
    started = time.perf_counter()
    go.set()
    for process in running:
        process.join()
    return processes * count / (time.perf_counter() - started)


def workers(url: str, members: int, count: int, secret: str) -> float:
    """Texts/s with ``count`` worker processes (as serve's workers are) handling one group's answers."""
    upgrade(url)
    db = Database(url)
    try:
        build(db, members)
        Dispatcher(db, retention_days=30).store_inbounds(texts(members))
        spawn = multiprocessing.get_context("spawn")
        ready, go = spawn.Queue(), spawn.Event()
        processes = [spawn.Process(target=_worker, args=(url, secret, ready, go)) for _ in range(count)]
        for process in processes:
            process.start()
        for _ in processes:
            ready.get(timeout=120)  # imports and connections are not what is measured
        started = time.perf_counter()
        go.set()
        for process in processes:
            process.join()
        elapsed = time.perf_counter() - started
        with db.engine.connect() as conn:
            left = conn.execute(text("SELECT count(*) FROM inbound_messages WHERE handled_at IS NULL")).scalar()
        if left or any(process.exitcode for process in processes):
            raise SystemExit(f"{left} texts left unhandled with {count} workers")
        return members / elapsed
    finally:
        db.dispose()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m carebot.bench inbound")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="group sizes (default 1000 5000)")
    parser.add_argument("--burst", type=int, default=5_000, help="members answering in the rush (default 5000)")
    parser.add_argument("--seconds", type=float, default=300.0, help="the rush's length (default 300)")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions for the largest group")
    postgres.add_option(parser)
    args = parser.parse_args(argv)
    # Throwaway databases: the configured key, else a throwaway one, which the worker processes share.
    secret = crypto.configured_secret() or crypto.new_secret()
    crypto.configure(secret)
    ok = True

    def measure(url: str) -> dict:
        fresh = _fresh(url)
        return {
            "sizes": {n: handling(fresh(), n, args.profile and n == max(args.sizes)) for n in args.sizes},
            "bare": bare(fresh(), 2_000),
            "rush": rush(fresh(), args.burst, args.seconds) if args.burst else None,
            "workers": ({k: workers(fresh(), max(args.sizes), k, secret) for k in (1, 2)}
                        if url.startswith("postgresql") else None),
            "ceiling": ({k: bare_processes(fresh(), 2_000, k) for k in (1, 2)}
                        if url.startswith("postgresql") else None),
        }

    results = postgres.on_each(measure, "inbound", args.postgresql)
    for name, result in results.items():
        print(f"inbound handling ({name})")
        sizes = result["sizes"]
        for n, r in sizes.items():
            print(f"  group of {n:>6,}: {r['rate']:>6.0f} texts/s  {r['statements']:.1f} statements/text  "
                  f"{r['replies']:,} replies written, {r['waiting']} left waiting")
        print(f"  baseline, one insert + commit a text: {result['bare']:.0f} texts/s")
        small, large = sizes[min(sizes)], sizes[max(sizes)]
        flat = large["rate"] / small["rate"]
        print(f"  rate at {max(sizes):,} / at {min(sizes):,}: {flat:.2f} (target >= {TARGET_FLAT})")
        print(f"  rate at {max(sizes):,}: {large['rate']:.0f} texts/s (target >= {TARGET_RATE:.0f}); "
              f"{large['rate'] / result['bare']:.2f} of the baseline")
        ok &= flat >= TARGET_FLAT and (name != "SQLite" or large["rate"] >= TARGET_RATE)
        if result["rush"]:
            r = result["rush"]
            print(f"  rush: {r['count']:,} answers in {args.seconds:.0f} s, receipt to outbox row: "
                  f"p50 {r['p50'] * 1000:.0f} ms, p99 {r['p99'] * 1000:.0f} ms (target p99 < {TARGET_P99:.0f} s)")
            ok &= r["p99"] < TARGET_P99
        if result["workers"]:
            one, two = result["workers"][1], result["workers"][2]
            print(f"  workers: one {one:.0f} texts/s, two {two:.0f} texts/s: {two / one:.2f}x "
                  f"(target >= {TARGET_SCALE})")
            bare_one, bare_two = result["ceiling"][1], result["ceiling"][2]
            print(f"  the machine's ceiling, bare loops of one insert + commit a text: one {bare_one:.0f}/s, "
                  f"two {bare_two:.0f}/s: {bare_two / bare_one:.2f}x")
            ok &= two / one >= TARGET_SCALE
    if not args.postgresql:
        print(postgres.NOT_MEASURED)
    return 0 if ok else 1


def _fresh(url: str):
    """A new database next to ``url`` for each measurement (a new file; PostgreSQL: emptied first)."""
    made = iter(range(100))

    def fresh() -> str:
        i = next(made)
        if url.startswith("sqlite"):
            return url.replace(".sqlite", f"-{i}.sqlite")
        _empty(url)
        return url

    return fresh


def _empty(url: str) -> None:
    from carebot.store.models import Base

    db = Database(url)
    try:
        with db.engine.begin() as conn:
            Base.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        db.dispose()
