"""No phone number and no member's text in any log, during the whole test suite.

tests/conftest.py keeps every log record of the session (every logger, DEBUG and
up), the output of the processes tests start (``carebot serve``, a crashed sender),
and every text members sent through ``Dispatcher.store_inbounds`` or to such a
process; this test
runs last and fails on a record holding a phone number (E.164, or a number seen
during the session in any common formatting) or a member's text (longer than a
keyword: at least 8 characters and a space).
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import LOG_WATCH, LogWatch

E164 = re.compile(r"\+\d{8,15}\b")
NANP = re.compile(r"\(?\b\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b")
DIGIT_RUN = re.compile(r"\d[\d\s().-]{6,}\d")


def leaks(watch: LogWatch) -> list[str]:
    """The records that give away a number or a text, each with why."""
    national = {re.sub(r"\D", "", n)[-10:] for n in watch.numbers if len(re.sub(r"\D", "", n)) >= 10}
    found = []
    for name, level, message in watch.records:
        why = None
        if E164.search(message) or NANP.search(message):
            why = "a phone number"
        elif any(n in re.sub(r"\D", "", run) for run in DIGIT_RUN.findall(message) for n in national):
            why = "a member's number"
        else:
            said = next((t for t in watch.texts if t in message), None)
            if said is not None:
                why = f"a member's text {said!r}"
        if why:
            found.append(f"{name} {level}: {message[:300]!r} holds {why}")
    return found


@pytest.mark.last
def test_no_log_of_the_session_holds_a_number_or_a_text() -> None:
    if os.environ.get("CAREBOT_PLANT_LEAK"):  # the test of this test (below)
        logging.getLogger("carebot.outbox").info("sent to %s", "+15155550101")
        logging.getLogger("carebot.dispatch.dispatcher").debug("text was %r", "I feel so alone tonight")
        LOG_WATCH.texts.add("I feel so alone tonight")
        LOG_WATCH.output("carebot serve", "INFO: started\nDEBUG: queued for (515) 555-0101\n")
    problems = leaks(LOG_WATCH)
    assert LOG_WATCH.records, "no log record was seen: the watch is not installed"
    assert not problems, f"{len(problems)} log records give away numbers or texts:\n" + "\n".join(problems[:40])


def test_the_check_fails_when_a_module_logs_a_number_or_a_text(tmp_path: Path) -> None:
    """Run this file alone with a planted leak: the session must fail and show the records."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"{__file__}::"
         "test_no_log_of_the_session_holds_a_number_or_a_text"],
        capture_output=True, text=True, cwd=Path(__file__).parent.parent, timeout=120,
        env={**os.environ, "CAREBOT_PLANT_LEAK": "1"},
    )
    assert result.returncode == 1, result.stdout[-2000:]
    assert "carebot.outbox INFO: 'sent to +15155550101' holds a phone number" in result.stdout
    assert "holds a member's text 'I feel so alone tonight'" in result.stdout
    assert "carebot serve OUTPUT: 'DEBUG: queued for (515) 555-0101' holds a phone number" in result.stdout


def test_the_check_reads_numbers_in_any_formatting() -> None:
    watch = LogWatch()
    watch.numbers.add("+15155550101")
    for message in ("to 515 555 0101", "to (515) 555-0101", "to 1-515-555-0101", "to 5155550101"):
        watch.records = [("carebot", "INFO", message)]
        assert leaks(watch), message
    watch.records = [("carebot", "INFO", "member 12 at 2026-03-02 10:00:00, 3 replies, row 5155")]
    assert not leaks(watch)
