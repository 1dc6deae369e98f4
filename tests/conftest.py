"""Shared fixtures: a fresh simulated carebot for each test."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from carebot.tools.transcript import Simulation, run_lines

TRANSCRIPTS = Path(__file__).parent / "transcripts"

# The database fixtures (backend, database_url, migrated_url): SQLite and PostgreSQL.
pytest_plugins = ("tests.databases",)


@pytest.fixture(scope="session", autouse=True)
def secret_key() -> None:
    """Numbers are encrypted at rest: the suite and its subprocesses share one key for the session."""
    import os

    from carebot.store import crypto

    os.environ.setdefault(crypto.ENV, crypto.new_secret())
    crypto.configure(os.environ[crypto.ENV])


@pytest.fixture
def no_key(monkeypatch):
    """No CAREBOT_SECRET_KEY, as on a fresh machine; the suite's own key is back afterwards."""
    from carebot.store import crypto

    monkeypatch.delenv(crypto.ENV, raising=False)
    monkeypatch.setattr(crypto, "_active", None)


@pytest.fixture
def db(migrated_url):
    """The small world of tests/fakes/world.py (a group and its members) on this test's database."""
    from tests.fakes.world import make_db

    database = make_db(migrated_url)
    yield database
    database.dispose()


@pytest.fixture
def fake():
    """A local fake of Twilio's REST API on 127.0.0.1, for the real twilio client."""
    from tests.fakes.twilio_api import FakeTwilio

    with FakeTwilio() as server:
        yield server


@pytest.fixture
def sim(backend) -> Simulation:
    """A fresh simulation: in-memory SQLite, or a fresh PostgreSQL database."""
    with backend.scratch() as db:
        yield Simulation(db)


def run_transcript(text: str) -> None:
    """Run transcript lines and fail the test with the runner's own message."""
    failure = asyncio.run(run_lines(text.strip().splitlines()))
    if failure is not None:
        pytest.fail(str(failure), pytrace=False)


# --- No numbers or texts in logs (issue 8) ----------------------------------------------
# Every log record of the whole session, from every logger (non-propagating ones too), at
# DEBUG on the root, is kept with the texts and numbers members sent meanwhile;
# tests/test_logs.py runs last and fails on any record that holds one.


class LogWatch:
    """What was logged during the session, and what members sent that must never be logged."""

    def __init__(self) -> None:
        self.records: list[tuple[str, str, str]] = []  # (logger, level, message with its exception)
        self.texts: set[str] = set()
        self.numbers: set[str] = set()

    def keep(self, record) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string is still a record to check
            message = f"{record.msg} {record.args}"
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            message += f" [{type(error).__name__}: {error}]"
        self.records.append((record.name, record.levelname, message))

    def saw(self, messages) -> None:
        for message in messages:
            self.sent(message.sender, message.text)

    def sent(self, sender: str | None, text: str | None) -> None:
        """A text a member sent (here, or to a carebot in another process): it must never be logged."""
        if sender:
            self.numbers.add(sender)
        # A member's own words: anything longer than a keyword or two.
        body = (text or "").strip()
        if len(body) >= 8 and " " in body:
            self.texts.add(body)

    def output(self, source: str, text: str) -> None:
        """What another process (a ``carebot serve``, a crashed sender) printed: each line is checked as a record."""
        self.records.extend((source, "OUTPUT", line) for line in text.splitlines() if line.strip())


LOG_WATCH = LogWatch()


@pytest.fixture(scope="session", autouse=True)
def log_watch():
    """Keep every log record and every inbound text of the session (see tests/test_logs.py)."""
    import logging

    from carebot.dispatch.dispatcher import Dispatcher

    call_handlers, store_inbounds = logging.Logger.callHandlers, Dispatcher.store_inbounds

    def watched_call_handlers(logger, record):
        LOG_WATCH.keep(record)
        call_handlers(logger, record)

    def watched_store_inbounds(self, messages):
        LOG_WATCH.saw(messages)
        return store_inbounds(self, messages)

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    logging.Logger.callHandlers = watched_call_handlers
    Dispatcher.store_inbounds = watched_store_inbounds
    yield LOG_WATCH
    logging.Logger.callHandlers, Dispatcher.store_inbounds = call_handlers, store_inbounds
    root.setLevel(level)


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "last: run after every other test (the whole-session log check)")


def pytest_collection_modifyitems(items) -> None:
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)
