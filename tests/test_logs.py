"""The log check itself: no phone number and no member's text in any log.

tests/conftest.py hands every log record of each test (every logger, DEBUG and up)
to tests.helpers.LOG_WATCH, with the output of the processes the test starts
(``carebot serve``, a crashed sender) and every text members sent through
``Dispatcher.store_inbounds`` or to such a process. After each test it fails that
test on a record holding a phone number (E.164, or a number the test saw in any
common formatting) or a member's text (longer than a keyword: at least 8
characters and a space). These tests plant leaks and see them caught, alone,
with ``-k`` or in any order.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import LOG_WATCH, LogWatch, leaks

PLANT = "CAREBOT_PLANT_LEAK"
WORDS = "I feel so alone tonight"


def plant_leaks() -> None:
    """A module logging a number and a text it was sent, and a process printing a number."""
    LOG_WATCH.sent("+15155550101", WORDS)
    logging.getLogger("carebot.outbox").info("sent to %s", "+15155550101")
    logging.getLogger("carebot.dispatch.dispatcher").debug("text was %r", WORDS)
    LOG_WATCH.output("carebot serve", "INFO: started\nDEBUG: queued for (515) 555-0101\n")


@pytest.fixture(scope="module")
def leak_after_the_tests():
    """With CAREBOT_PLANT_LEAK=between, a module's fixture logs a number once its tests are done."""
    yield
    if os.environ.get(PLANT) == "between":
        logging.getLogger("carebot.runtime.serve").info("stopped; last text from %s", "+15155550102")


def pytest_run(*tests: str, plant: str) -> subprocess.CompletedProcess:
    """This file's ``tests`` in a pytest run of their own, with a leak planted."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--database", "sqlite",
         *(f"{__file__}::{test}" for test in tests)],
        capture_output=True, text=True, cwd=Path(__file__).parent.parent, timeout=120,
        env={**os.environ, PLANT: plant},
    )


def test_a_test_that_leaks_is_failed_by_the_check(leak_after_the_tests) -> None:
    """Run with CAREBOT_PLANT_LEAK by the tests below; in the suite itself it leaks nothing."""
    if os.environ.get(PLANT) == "in the test":
        plant_leaks()
    else:
        logging.getLogger("carebot").info("a round went out to %d members", 12)
        assert LOG_WATCH.records, "no log record was seen: the watch is not installed"
        assert not leaks(LOG_WATCH)


def test_the_check_fails_the_test_that_logs_a_number_or_a_text_and_no_other() -> None:
    """A pytest run with a planted leak: the leaking test fails and shows its records, the next one passes."""
    result = pytest_run("test_a_test_that_leaks_is_failed_by_the_check",
                        "test_the_check_reads_numbers_in_any_formatting", plant="in the test")
    assert result.returncode == 1, result.stdout[-2000:]
    assert "ERROR at teardown of test_a_test_that_leaks_is_failed_by_the_check" in result.stdout, result.stdout
    assert "2 passed, 1 error" in result.stdout, result.stdout[-2000:]
    assert "carebot.outbox INFO: 'sent to +15155550101' holds a phone number" in result.stdout
    assert f"holds a member's text {WORDS!r}" in result.stdout
    assert "carebot serve OUTPUT: 'DEBUG: queued for (515) 555-0101' holds a phone number" in result.stdout


def test_a_leak_outside_any_test_fails_the_session() -> None:
    """A fixture that outlives its tests logs a number: no test fails, the session does, and says why."""
    result = pytest_run("test_a_test_that_leaks_is_failed_by_the_check", plant="between")
    assert result.returncode == 1, result.stdout[-2000:]
    assert "1 passed" in result.stdout and "error" not in result.stdout, result.stdout[-2000:]
    assert "1 log records made outside any test give away numbers or texts" in result.stdout, result.stdout
    assert "carebot.runtime.serve INFO: 'stopped; last text from +15155550102' holds a phone number" in result.stdout


def test_a_leak_in_this_test_is_found_by_the_check() -> None:
    """In process: what this test plants is in its own watch and found; taken away, the test passes."""
    plant_leaks()
    found = leaks(LOG_WATCH)
    LOG_WATCH.take()  # the planted records must not fail this test
    assert len(found) == 3, found
    assert any(f"holds a member's text {WORDS!r}" in line for line in found), found


def test_the_check_reads_numbers_in_any_formatting() -> None:
    watch = LogWatch()
    watch.numbers.add("+15155550101")
    for message in ("to 515 555 0101", "to (515) 555-0101", "to 1-515-555-0101", "to 5155550101"):
        watch.records = [("carebot", "INFO", message)]
        assert leaks(watch), message
    watch.records = [("carebot", "INFO", "member 12 at 2026-03-02 10:00:00, 3 replies, row 5155")]
    assert not leaks(watch)
