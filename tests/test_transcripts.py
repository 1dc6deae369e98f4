"""Every transcript under tests/transcripts passes, and the runner reports failures the contract's way."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner

from carebot.cli import main
from carebot.tools.transcript import run_lines
from tests.helpers import TRANSCRIPTS, cancelled_with_words

FILES = sorted(TRANSCRIPTS.glob("*.txt"))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_transcript_passes(path: Path, sim, monkeypatch) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    # What the transcript left in the outbox, read just before the runner lets its database go.
    worded: list[list[int]] = []
    let_go = sim.db.dispose
    monkeypatch.setattr(sim.db, "dispose", lambda: (worded.append(cancelled_with_words(sim)), let_go()))
    failure = asyncio.run(run_lines(lines, str(path), sim))
    assert failure is None, str(failure)
    assert worded == [[]], "cancelled outbox rows kept their words"  # a text that will never go keeps none


def test_cli_exits_0_when_every_file_passes() -> None:
    result = CliRunner().invoke(main, ["transcript", str(FILES[0]), str(FILES[1])])
    assert result.exit_code == 0, result.output
    assert "2 passed, 0 failed" in result.output


def test_cli_prints_first_failing_line_of_each_file_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text(
        'group DMMA name="Des Moines Mutual Aid" tz=America/Chicago\n'
        "member DMMA +15155550101 name=Ana\n"
        "+15155550101 > 1\n"
        "+15155550101 < something carebot never says\n"
        "+15155550101 < nor this\n"
    )
    worse = tmp_path / "worse.txt"
    worse.write_text("this is not a statement\n")
    result = CliRunner().invoke(main, ["transcript", str(bad), str(FILES[0]), str(worse)])
    assert result.exit_code == 1
    assert f"{bad}:4: +15155550101 < something carebot never says" in result.output
    assert "nor this" not in result.output
    assert f"{worse}:1: this is not a statement" in result.output
    assert "1 passed, 2 failed" in result.output


def test_a_transcript_that_is_not_utf8_text_is_its_failing_line(tmp_path: Path) -> None:
    # Saved in Latin-1 by an old editor: "compañía" on line 3. Said as that file's failure, not a traceback.
    latin = tmp_path / "latin.txt"
    latin.write_bytes('group DMMA name="DMMA" tz=America/Chicago\nmember DMMA +15155550101 name=Ana\n'
                      "+15155550101 > quiero compañía\n".encode("latin-1"))
    result = CliRunner().invoke(main, ["transcript", str(latin), str(FILES[0])])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
    assert f"{latin}:3: " in result.output and "not UTF-8 text: save it as UTF-8" in result.output, result.output
    assert "1 passed, 1 failed" in result.output


def run(text: str):
    return asyncio.run(run_lines(text.strip().splitlines()))


def test_a_match_marks_it_and_every_earlier_unread_message_read() -> None:
    failure = run("""
group DMMA name="Des Moines Mutual Aid" tz=America/Chicago
member DMMA +15155550101 name=Ana
+15155550101 > 1
+15155550101 > 5
+15155550101 < keep someone company
+15155550101 < like someone to reach out
""")
    assert failure is not None and failure.line_number == 6


def test_quiet_fails_when_something_is_unread() -> None:
    failure = run("""
group DMMA name="Des Moines Mutual Aid" tz=America/Chicago
member DMMA +15155550101 name=Ana
+15155550101 > 1
quiet +15155550101
""")
    assert failure is not None and "reach out" in failure.reason


def test_the_clock_never_goes_backwards() -> None:
    failure = run("""
group DMMA name="Des Moines Mutual Aid" tz=America/Chicago
at 2026-03-02 09:00
at 2026-03-01 09:00
""")
    assert failure is not None and failure.line_number == 3 and "backwards" in failure.reason


def test_matching_is_case_insensitive_search_and_comments_are_ignored() -> None:
    assert run("""
# a comment
group DMMA name="Des Moines Mutual Aid" tz=America/Chicago   # trailing comment
member DMMA +15155550101 name=Ana

+15155550101 > 1 call evenings     # an SMS
+15155550101 < REACH OUT.*EVENINGS # a pattern
""") is None


def test_at_is_in_the_first_groups_timezone() -> None:
    # 20:30 in Chicago is quiet time: the lapse question waits for 09:00 Chicago time.
    assert run("""
group DMMA name="Des Moines Mutual Aid" tz=America/Chicago
member DMMA +15155550101 name=Ana
at 2026-03-02 10:00
+15155550101 > 3 until mar 3
+15155550101 < until Mar 3
at 2026-03-04 08:59
quiet +15155550101
at 2026-03-04 09:00
+15155550101 < has ended
""") is None


@pytest.mark.parametrize("line, field, known", [
    ('group DMMA name="Des Moines Mutual Aid" crisi="Peer line 515-555-0175"', "crisi", "crisis"),
    ('group DMMA name="Des Moines" timezone=America/Chicago', "timezone", "tz"),
    ("group DMMA Budget=5", "Budget", "budget"),
    ("member DMMA +15155550101 nmae=Ana", "nmae", "name"),
    ("coordinator DMMA +15155550100 language=es", "language", "lang"),
])
def test_a_field_the_runner_does_not_know_is_refused_by_name(line: str, field: str, known: str) -> None:
    # A misspelled field was dropped without a word: the group ran without the crisis line it was given.
    setup = "" if line.startswith("group") else 'group DMMA name="Des Moines Mutual Aid"\n'
    failure = run(setup + line)
    assert failure is not None and failure.line_number == setup.count("\n") + 1, failure
    assert f"unknown field {field}=" in failure.reason and known in failure.reason, failure.reason
    assert "\n" not in failure.reason


def test_an_existing_groups_line_names_an_unknown_field_too() -> None:
    failure = run('group DMMA name="Des Moines Mutual Aid"\ngroup DMMA netwrk=MIDWEST')
    assert failure is not None and failure.line_number == 2 and "unknown field netwrk=" in failure.reason


# members5: "<" marks every earlier unread reply read, so it cannot show that an unwanted earlier reply was
# absent. "<!" is the strict form: the oldest unread reply to that number matches, none skipped.
STRICT = ('group DMMA name="Des Moines Mutual Aid" tz=America/Chicago\n'
          "member DMMA +15155550101 name=Ana\n"
          "at 2026-03-02 10:00\n"
          "+15155550101 > 1\n"
          "+15155550101 > status\n")


def test_strict_reply_line_passes_on_the_oldest_unread_reply(sim) -> None:
    lines = (STRICT + "+15155550101 <! ^Got it, DMMA\n+15155550101 <! reach out\nquiet +15155550101\n").splitlines()
    assert asyncio.run(run_lines(lines, "strict", sim)) is None


def test_strict_reply_line_fails_when_an_earlier_unread_reply_would_be_skipped(sim) -> None:
    lines = (STRICT + "+15155550101 <! ^DMMA\n").splitlines()  # STATUS's reply; "Got it" is older, unread
    failure = asyncio.run(run_lines(lines, "strict", sim))
    assert failure is not None and failure.line_number == 6, failure
    assert "oldest unread message" in failure.reason and "Got it, DMMA" in failure.reason, failure.reason


def test_strict_reply_line_fails_with_nothing_unread(sim) -> None:
    lines = (STRICT + "+15155550101 < ^DMMA:\n+15155550101 <! anything\n").splitlines()
    failure = asyncio.run(run_lines(lines, "strict", sim))
    assert failure is not None and failure.line_number == 7 and "none" in failure.reason, failure
