"""The inbound queue made visible (outside tester's finding): texts waiting for the worker, the oldest one's
wait, and texts given up after MAX_INBOUND_ATTEMPTS failed tries, in /healthz, /metrics and the stop line.

Texts are stored as the webhooks store them and given up the real way: a dispatcher whose handling
raises, pass after pass. ``carebot status``'s line is tested in tests/test_status.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import event, insert, text

import carebot.dispatch.dispatcher as dispatcher_module
from carebot.channels import SMS, Inbound
from carebot.dispatch.dispatcher import MAX_INBOUND_ATTEMPTS, Dispatcher
from carebot.dispatch.inbound_backlog import given_up_kept, inbound_backlog
from carebot.runtime.serve import ALL, WEB, WORKER, say_stopped
from carebot.store.db import Database, start_up
from carebot.store.models import InboundMessage
from tests.fakes.world import ANA, BEN, NOW
from tests.helpers import GOOD, LOG_WATCH, app_for, free_port, inbound_form, post, scrape, sign, value, wait_for

WORDS = "my insulin ran out, 12 Elm St"
NEWCOMER = "+15155550177"


def store(db, body: str, sid: str, *, sender: str = NEWCOMER, ago: timedelta = timedelta()) -> int:
    LOG_WATCH.sent(sender, body)
    row_id = Dispatcher(db).store_inbound(Inbound(SMS, sid, sender, body, NOW - ago))
    assert row_id is not None
    return row_id


def queue_now(db, at=NOW):
    with db.transaction() as session:
        return inbound_backlog(session, at)


def failing(patch: pytest.MonkeyPatch) -> None:
    """Handling a text that starts with NAME raises, as a bug would (tests/test_inbound_queue.py), while ``patch``
    holds (a test's monkeypatch, or its ``context()``)."""
    real = dispatcher_module.router.respond

    def respond(ctx, said):
        if said.raw.startswith("NAME"):
            raise ValueError(f"a bug quoting {said.raw}")  # never logged: the dispatcher logs where, not what
        return real(ctx, said)

    patch.setattr(dispatcher_module.router, "respond", respond)


def give_up(db, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pass after pass until the texts starting with NAME are given up (each pass ends at the failing text)."""
    dispatcher = Dispatcher(db)
    with monkeypatch.context() as patched:
        failing(patched)
        for _ in range(MAX_INBOUND_ATTEMPTS * 3):
            if not queue_now(db).waiting:
                break
            dispatcher.process_pending()


def test_an_empty_queue_is_all_zeros(db):
    assert queue_now(db).as_health() == {"waiting": 0, "oldest_seconds": 0, "given_up_24h": 0}


def test_waiting_texts_are_counted_with_the_oldest_ones_wait_until_handled(db):
    store(db, "join dmma", "SM1", ago=timedelta(minutes=2, seconds=5))
    store(db, "help", "SM2", sender=ANA, ago=timedelta(minutes=1))
    store(db, "status", "SM3", sender=BEN)
    queue = queue_now(db)
    assert (queue.waiting, queue.oldest_seconds, queue.given_up_24h) == (3, 125, 0)
    assert Dispatcher(db).process_pending() == 3
    assert queue_now(db).as_health() == {"waiting": 0, "oldest_seconds": 0, "given_up_24h": 0}


def test_a_text_that_keeps_failing_waits_then_is_given_up_and_counted(db, monkeypatch):
    store(db, "NAME Bea", "SM10", sender=ANA, ago=timedelta(minutes=3))
    store(db, "join dmma", "SM11")
    failing(monkeypatch)
    dispatcher = Dispatcher(db)
    for attempt in range(1, MAX_INBOUND_ATTEMPTS):
        assert dispatcher.process_pending() == 0
        queue = queue_now(db)
        # Failing, it still waits (and holds the queue behind it): the oldest wait says so.
        assert (queue.waiting, queue.oldest_seconds, queue.given_up_24h) == (2, 180, 0), attempt
    assert dispatcher.process_pending() == 2  # given up, then the next one handled
    assert queue_now(db).as_health() == {"waiting": 0, "oldest_seconds": 0, "given_up_24h": 1}
    # A day later it is no longer "in the last 24 h", but still among the texts kept.
    assert queue_now(db, NOW + timedelta(hours=24, minutes=1)).given_up_24h == 0
    with db.transaction() as session:
        assert given_up_kept(session) == 1


def test_given_up_counts_the_last_day_and_all_the_texts_kept(db, monkeypatch):
    store(db, "NAME Old", "SM20", sender=ANA, ago=timedelta(days=3))
    store(db, "NAME Bea", "SM21", sender=BEN, ago=timedelta(hours=2))
    store(db, "join dmma", "SM22")
    give_up(db, monkeypatch)
    assert queue_now(db).as_health() == {"waiting": 0, "oldest_seconds": 0, "given_up_24h": 1}
    with db.transaction() as session:
        assert given_up_kept(session) == 2


def _statements(db, run) -> list[tuple[str, tuple | dict]]:
    seen: list[tuple[str, tuple | dict]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        with db.transaction() as session:
            run(session)
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    return seen


def _plans(db, statements) -> list[str]:
    """Each statement's plan, as the database would run it, with the parameters it ran with."""
    plans = []
    with db.engine.connect() as conn:
        for statement, parameters in statements:
            if conn.dialect.name == "sqlite":
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
                plans.append(" / ".join(row[-1] for row in rows))
            else:
                rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters).all()
                plans.append(" / ".join(row[0].strip() for row in rows))
    return plans


def test_the_scrapes_queries_read_the_indexes_not_the_whole_queue(db):
    """/healthz and /metrics ask at every scrape: the waiting texts through ix_inbound_waiting (the oldest
    is the smallest waiting id), the given-up ones of the last day through received_at's index.

    A big kept queue is made first (20,000 handled texts, a few waiting), and the planner's statistics
    brought up to date, so that PostgreSQL chooses as it would on a real one.
    """
    handled = [{"channel": SMS, "provider_id": f"SMold{n}", "received_at": NOW - timedelta(days=10, seconds=n),
                "handled_at": NOW - timedelta(days=10), "attempts": 0} for n in range(20_000)]
    with db.transaction() as session:
        session.execute(insert(InboundMessage), handled)
    store(db, "join dmma", "SM30")
    store(db, "help", "SM31", sender=ANA)
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    statements = _statements(db, lambda session: inbound_backlog(session, NOW))
    assert len(statements) == 3, statements
    plans = _plans(db, statements)
    print(f"{db.engine.dialect.name} plans:", *plans, sep="\n  ")
    waiting, oldest, given_up = plans
    assert "ix_inbound_waiting" in waiting, waiting
    assert "ix_inbound_waiting" in oldest, oldest
    assert "ix_inbound_messages_received_at" in given_up, given_up
    for plan in plans:  # no read of every row (SQLite: "SCAN inbound_messages" with no index)
        assert not re.search(r"SCAN inbound_messages(?! USING)|Seq Scan on inbound_messages", plan), plan


def _health(app) -> httpx.Response:
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return await client.get("/healthz")

    return asyncio.run(go())


def test_healthz_and_metrics_show_the_queue_and_stay_200_naming_no_one(db, monkeypatch):
    app = app_for(db)  # no inbound worker: what the webhooks store waits
    store(db, f"NAME Bea {WORDS}", "SM40", sender=ANA, ago=timedelta(minutes=10))
    give_up(db, monkeypatch)
    store(db, "join dmma", "SM41", ago=timedelta(seconds=90))
    form = inbound_form(sid="SM" + "4" * 32, sender=NEWCOMER, body=WORDS)
    LOG_WATCH.sent(NEWCOMER, WORDS)
    assert asyncio.run(post(app, "/twilio/sms", form, sign("/twilio/sms", form))).status_code == 204

    answer = _health(app)
    assert answer.status_code == 200 and answer.json()["status"] == "ok"  # the database is fine
    assert answer.json()["inbound"] == {"waiting": 2, "oldest_seconds": 90, "given_up_24h": 1}
    page, values = scrape(app)
    assert value(values, "carebot_inbound_waiting") == 2
    assert value(values, "carebot_inbound_oldest_waiting_seconds") == 90
    assert value(values, "carebot_inbound_given_up_24h") == 1
    for shown in (answer.text, page):
        assert "5155550" not in shown and "Bea" not in shown and "insulin" not in shown and "Elm" not in shown

    Dispatcher(db).process_pending()
    assert _health(app).json()["inbound"] == {"waiting": 0, "oldest_seconds": 0, "given_up_24h": 1}
    _, values = scrape(app)
    assert value(values, "carebot_inbound_waiting") == 0
    assert value(values, "carebot_inbound_oldest_waiting_seconds") == 0


# --- The line serve logs as it stops ---------------------------------------------------------------


def _stop_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("carebot stopped")]


@pytest.mark.parametrize("role, ending", [
    (ALL, "2 texts received are kept and handled at the next start; none is due to go out"),
    (WORKER, "2 texts received are kept and handled by another worker or at the next start; none is due to go out"),
    (WEB, "2 texts received are kept for the workers; none is due to go out"),
])
def test_the_stop_line_counts_the_texts_left_waiting(db, caplog, role, ending):
    store(db, "join dmma", "SM50")
    store(db, f"help {WORDS}", "SM51", sender=ANA)
    with caplog.at_level(logging.INFO, logger="carebot.runtime.serve"):
        asyncio.run(say_stopped(db, role))
    [line] = _stop_lines(caplog)
    assert line == f"carebot stopped; {ending}", line
    assert [r.levelname for r in caplog.records if r.getMessage() == line] == ["INFO"]


def test_the_stop_line_with_no_text_waiting_and_with_one(db, caplog):
    with caplog.at_level(logging.INFO, logger="carebot.runtime.serve"):
        asyncio.run(say_stopped(db, ALL))
        store(db, "join dmma", "SM52")
        asyncio.run(say_stopped(db, ALL))
    assert _stop_lines(caplog) == [
        "carebot stopped; no text received is waiting to be handled; none is due to go out",
        "carebot stopped; 1 text received is kept and handled at the next start; none is due to go out"]


def test_the_stop_line_counts_the_replies_still_to_go_out_too(db, caplog):
    """An outside tester read "no text is waiting" as nothing owed while 19 replies were still to go: the line
    says both, the texts received and those due to go out."""
    store(db, "status", "SM53", sender=ANA)
    Dispatcher(db, retention_days=30).process_pending()  # handled: its reply waits in the outbox, no sender runs
    with caplog.at_level(logging.INFO, logger="carebot.runtime.serve"):
        asyncio.run(say_stopped(db, ALL))
    assert _stop_lines(caplog) == ["carebot stopped; no text received is waiting to be handled; 1 text due to go "
                                   "out is kept and sent when carebot runs again"]


def test_the_stop_line_when_the_database_does_not_answer_says_so_without_a_count(caplog):
    with socket_closed() as port:
        away = Database(f"postgresql+psycopg://carebot:pw@127.0.0.1:{port}/carebot")
        try:
            with caplog.at_level(logging.INFO, logger="carebot.runtime.serve"):
                asyncio.run(say_stopped(away, ALL))
        finally:
            away.dispose()
    [line] = _stop_lines(caplog)
    assert line == ("carebot stopped; the texts waiting could not be counted (the database does not answer: "
                    "OperationalError); those stored are kept and handled at the next start"), line


@contextlib.contextmanager
def socket_closed():
    """A port of 127.0.0.1 nothing listens on: a connection to it is refused at once."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    yield port


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_serve_says_as_it_stops_how_many_texts_wait_for_the_next_start(tmp_path, migrated_sqlite, stop):
    """End to end: two texts stored, another process's write lock keeps the worker from them (a backup,
    a sqlite3 shell), serve is stopped: its last line counts them, and says they are kept."""
    path = tmp_path / "carebot.sqlite"
    url = migrated_sqlite(path)
    start_up(url).dispose()  # the key recorded, as the first command does
    db = Database(url)
    store(db, "join dmma", "SM60")
    store(db, f"help {WORDS}", "SM61", sender=ANA)
    db.dispose()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    log = tmp_path / "serve.log"
    env = {**os.environ, **GOOD, "CAREBOT_DATABASE_URL": url}
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "-m", "carebot", "-v", "serve", "--port", str(free_port())],
                                  env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "lifespan started" in log.read_text(), "carebot serve to start its workers")
        server.send_signal(stop)
        server.wait(60)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        if server.poll() is None:
            server.kill()
            server.wait(10)
    said = log.read_text()
    LOG_WATCH.output("carebot serve", said)
    assert server.returncode == -stop, said
    last = said.strip().splitlines()[-1]
    assert "carebot stopped; 2 texts received are kept and handled at the next start" in last, said
    assert "Traceback" not in said, said
