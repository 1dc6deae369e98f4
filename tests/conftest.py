"""Shared fixtures: a fresh simulated carebot for each test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from carebot.store import crypto
from carebot.store.db import start_up
from carebot.tools.transcript import Simulation
from tests.fakes.twilio_api import FakeTwilio
from tests.helpers import FROM, GOOD, LOG_WATCH, PUBLIC, LogWatch, leaks
from tests.invariants import CASES_SEEN, SEEDS_ON, cases_unseen

# The database fixtures (backend, database_url, migrated_url): SQLite and PostgreSQL.
pytest_plugins = ("tests.databases",)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slow tests (``@pytest.mark.slow``) first, the rest in their order; the invariants' seeds
    a database does not run (tests.invariants.SEEDS_ON) and the outside testers' transcripts on
    PostgreSQL (_wording_only) left out.

    pytest-xdist hands the tests out in this order: begun first, the long ones end with the rest,
    and no core is left alone with one at the end while the other idles. (Last among the hooks:
    after pytest has grouped the tests by database; the backends outlive that order, see databases.)
    """
    left_out = [item for item in items if not _seed_runs_here(item)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if _seed_runs_here(item)]
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def _seed_runs_here(item: pytest.Item) -> bool:
    params = getattr(item, "callspec", None)
    if params is None or "backend" not in params.params:
        return True
    if "path" in params.params and params.params["backend"] == "postgresql":
        return not _wording_only(params.params["path"])
    if "seed" not in params.params:
        return True
    return params.params["seed"] in SEEDS_ON.get(params.params["backend"], ())


def _wording_only(path: object) -> bool:
    """An outside tester's transcript (tests/transcripts/outside*.txt): how members word their texts, read
    the same on both databases, so they run on SQLite only; every other transcript runs on both. (CI's
    time: some 300 of them, about a hundred seconds on PostgreSQL, against the run's 20-minute limit.)"""
    return getattr(path, "name", "").startswith("outside")


@pytest.fixture(scope="session", autouse=True)
def secret_key() -> None:
    """Numbers are encrypted at rest: the suite and its subprocesses share one key for the session."""
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


# --- No numbers or texts in logs (issue 8) ----------------------------------------------
# Every log record, from every logger (non-propagating ones too), at DEBUG on the root, goes to
# tests.helpers.LOG_WATCH with the texts and numbers members send; after each test the records
# it made (its fixtures' teardown included) and the output of the processes it started are
# checked against the texts and numbers it sent, and the test fails on any leak. What is logged
# outside any test (session fixtures, threads winding down) is checked once at the session's
# end against everything sent in the session. tests/test_logs.py tests this check.

_BETWEEN_TESTS = LogWatch()  # records made outside any test, and every text and number of the session


@pytest.fixture(scope="session", autouse=True)
def log_hooks():
    """Hand every log record and every inbound text to LOG_WATCH while the session runs."""
    import logging

    from carebot.dispatch.dispatcher import Dispatcher

    call_handlers, prepare_inbound = logging.Logger.callHandlers, Dispatcher.prepare_inbound

    def watched_call_handlers(logger, record):
        LOG_WATCH.keep(record)
        call_handlers(logger, record)

    def watched_prepare_inbound(self, message):  # every text stored passes here, the webhooks' too
        LOG_WATCH.saw([message])
        return prepare_inbound(self, message)

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    logging.Logger.callHandlers = watched_call_handlers
    Dispatcher.prepare_inbound = watched_prepare_inbound
    yield
    logging.Logger.callHandlers, Dispatcher.prepare_inbound = call_handlers, prepare_inbound
    root.setLevel(level)


def _keep_for_the_session_end(watch: LogWatch, *, records: bool) -> None:
    if records:
        _BETWEEN_TESTS.records.extend(watch.records)
    _BETWEEN_TESTS.texts |= watch.texts
    _BETWEEN_TESTS.numbers |= watch.numbers


@pytest.fixture(autouse=True)
def no_number_or_text_in_logs(log_hooks) -> Iterator[LogWatch]:
    """Fail this test if a log record it made, or a process it started, gives away a number or a text."""
    _keep_for_the_session_end(LOG_WATCH.take(), records=True)  # logged since the last test ended
    yield LOG_WATCH
    watch = LOG_WATCH.take()
    _keep_for_the_session_end(watch, records=False)
    problems = leaks(watch)
    if problems:
        pytest.fail(f"{len(problems)} log records of this test give away numbers or texts:\n"
                    + "\n".join(problems[:40]), pytrace=False)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _keep_for_the_session_end(LOG_WATCH.take(), records=True)
    problems = leaks(_BETWEEN_TESTS)
    if problems:
        _fail_the_session(session, [f"{len(problems)} log records made outside any test give away numbers or texts:",
                                    *problems[:40]])
    _every_invariants_case_seen(session)


def _fail_the_session(session: pytest.Session, lines: list[str]) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    for line in lines:
        if reporter is not None:
            reporter.write_line(line, red=True)
        else:
            print(line)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


# --- The invariants checker's cases (tests/test_invariants.py) ------------------------------
# Each seed is its own test, run by whichever xdist worker takes it; the cases of MUST_SEE it saw
# come back in its report (user_properties, which xdist carries to the controller). When every
# seed of a database passed, each case must have been seen by some seed, or the run fails.

_INVARIANTS_CASES: list[dict] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed:
        _INVARIANTS_CASES.extend(value for name, value in report.user_properties if name == CASES_SEEN)


def _every_invariants_case_seen(session: pytest.Session) -> None:
    if hasattr(session.config, "workerinput"):
        return  # an xdist worker: the controller, which has every seed's report, checks
    for backend, missing in cases_unseen(_INVARIANTS_CASES, SEEDS_ON).items():
        _fail_the_session(session, [f"invariants [{backend}]: no seed saw {case!r}, so its check went silent"
                                    for case in missing])


@pytest.fixture
def twilio():
    with FakeTwilio() as fake:
        fake.add_number(FROM, sms_url=f"{PUBLIC}/twilio/sms", voice_url=f"{PUBLIC}/twilio/voice")
        fake.add_number("+15155550111", sms_url="https://other.example.org/sms")  # another number of the account
        yield fake


@pytest.fixture
def deployment(tmp_path, monkeypatch, twilio, migrated_sqlite):
    """A right deployment's settings (SMS only), its database made with this key; tests change one thing."""
    url = migrated_sqlite(tmp_path / "carebot.sqlite")
    start_up(url).dispose()  # the key's fingerprint recorded, as the first command does
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith(("CAREBOT_", "TWILIO_", "SIGNAL_"))]:
        if name != crypto.ENV:
            monkeypatch.delenv(name)
    monkeypatch.setenv("CAREBOT_SYSTEM_ENV_FILE", str(tmp_path / "system.env"))
    settings = {**GOOD, "CAREBOT_DATABASE_URL": url, "TWILIO_API_BASE_URL": twilio.base_url}
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return settings
