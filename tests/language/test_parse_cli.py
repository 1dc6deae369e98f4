"""``carebot parse TEXT``: what carebot reads, as JSON, with no database touched."""

from __future__ import annotations

import json

from click.testing import CliRunner

from carebot.cli import main


def parse(*args: str, cwd=None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["parse", *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_parse_prints_the_reading_as_json_and_touches_no_database(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CAREBOT_DATABASE_URL", f"sqlite:///{tmp_path}/carebot.sqlite")
    code, out = parse("1 y 5 hasta el lunes llamame en la tarde", "--lang", "es",
                      "--tz", "America/Mexico_City", "--now", "2026-03-02T10:00")
    assert code == 0
    assert json.loads(out) == {"intent": "goaround", "command": None, "options": [1, 5], "until": "2026-03-09",
                               "how": "llamame en la tarde", "lang": "es", "crisis": False,
                               # in a relay window only carebot's own answer form is its: words after it go on
                               "in_conversation": {"in_a_relay_window": "passed on to the other member"}}
    assert list(tmp_path.iterdir()) == []  # no database file, nothing written


def test_parse_resolves_dates_in_the_members_timezone() -> None:
    # 23:30 on Sunday in Honolulu is already Monday in New York: "tomorrow" differs.
    _, hawaii = parse("3 till tomorrow", "--tz", "Pacific/Honolulu", "--now", "2026-03-01T23:30")
    _, new_york = parse("3 till tomorrow", "--tz", "America/New_York", "--now", "2026-03-02T04:30")
    assert json.loads(hawaii)["until"] == "2026-03-02"
    assert json.loads(new_york)["until"] == "2026-03-03"


def test_parse_shows_crisis_whatever_the_intent() -> None:
    _, out = parse("4 i keep thinking about suicide", "--now", "2026-03-02T10:00")
    reading = json.loads(out)
    assert reading["intent"] == "goaround" and reading["options"] == [4] and reading["crisis"] is True


def test_a_bad_timezone_gets_one_clear_line() -> None:
    code, out = parse("hi", "--tz", "Mars/Base")
    assert code == 2 and "Unknown timezone" in out and "Traceback" not in out


def test_a_partly_unreadable_answer_keeps_the_options_and_guesses_no_how() -> None:
    _, out = parse("1 5 until blorpday call me", "--now", "2026-03-02T10:00")
    reading = json.loads(out)
    assert reading["options"] == [1, 5] and reading["until"] is None and reading["how"] is None


def test_what_a_conversation_reads_that_the_text_alone_does_not_is_said_by_context() -> None:
    # A run-on, alone "unknown": from a member it is a go-around answer (in a relay window, passed on).
    runon = json.loads(parse("Um hi I think I'm a one this week", "--now", "2026-03-03T10:00")[1])
    assert runon["intent"] == "unknown"
    assert runon["in_conversation"]["from_a_member"] == "a go-around answer: 1 until 2026-03-08"
    assert runon["in_conversation"]["in_a_relay_window"] == "passed on to the other member"
    # A piece: right after a go-around answer it completes it; to a YES/NO question it is neither.
    piece = json.loads(parse("for 2 weeks", "--now", "2026-03-03T10:00")[1])
    assert piece["intent"] == "unknown" and "from_a_member" not in piece["in_conversation"]
    assert piece["in_conversation"]["after_an_answer"] == "a go-around answer: 1 until 2026-03-17"
    assert piece["in_conversation"]["to_a_yes_no_question"] == "not a YES or NO: the question stays open"
    # "k" to an offer is never taken for a YES; "no puedo esta semana" to one is NO, and 3 for the week.
    k = json.loads(parse("k", "--now", "2026-03-03T10:00")[1])
    assert k["in_conversation"]["to_a_yes_no_question"] == "not a YES or NO: the question stays open"
    cant = json.loads(parse("no puedo esta semana", "--now", "2026-03-03T10:00")[1])
    assert cant["in_conversation"] == {"to_a_yes_no_question": "NO to the question; a go-around answer: 3 until 2026-03-08",
                                       "in_a_relay_window": "passed on to the other member"}
    assert json.loads(parse("yes", "--now", "2026-03-03T10:00")[1])["in_conversation"]["to_a_yes_no_question"] == (
        "YES to the question")
