"""``carebot init`` (issue 20): a first run, as an operator types it and as a script runs it.

Each run is a real ``carebot`` subprocess with answers on its stdin, in an empty directory, with
no carebot settings in its environment.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.twilio_api import FakeTwilio

COORDINATOR = "+15155550123"


def carebot(tmp_path: Path, *args: str, answers: str = "", extra: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAREBOT_", "TWILIO_", "SIGNAL_"))}
    env["CAREBOT_SYSTEM_ENV_FILE"] = str(tmp_path / "nowhere.env")
    return subprocess.run([sys.executable, "-m", "carebot", *args], input=answers, capture_output=True, text=True,
                          cwd=tmp_path, env={**env, **(extra or {})}, timeout=120)


def settings(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))


def stored(tmp_path: Path) -> tuple[list, list]:
    with sqlite3.connect(tmp_path / "carebot.sqlite") as conn:
        groups = conn.execute("SELECT keyword, name, timezone FROM groups").fetchall()
        memberships = conn.execute("SELECT m.status, m.role, p.name, p.phone FROM memberships m "
                                   "JOIN members p ON p.id = m.member_id").fetchall()
    return groups, memberships


def test_an_operator_answers_the_questions_and_is_asked_again_after_a_mistake(tmp_path) -> None:
    typed = "\n".join([
        "circle",  # lowercase: keywords are upper case
        "Eastside Care",
        "Central",  # not a timezone: asked again
        "America/Chicago",
        "515 555 0123",  # no country code, a US number read as one
        "Ana ✨",
        "",  # no public URL yet
        "",  # no Twilio yet
    ]) + "\n"
    result = carebot(tmp_path, "init", answers=typed)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "'Central' is not a timezone" in result.stdout
    env = tmp_path / ".env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "carebot.sqlite").stat().st_mode) == 0o600
    values = settings(env)
    assert len(values["CAREBOT_SECRET_KEY"]) >= 32 and values["CAREBOT_DEFAULT_TIMEZONE"] == "America/Chicago"
    assert values["CAREBOT_DATABASE_URL"] == f"sqlite:///{tmp_path / 'carebot.sqlite'}"
    assert "TWILIO_ACCOUNT_SID" not in values
    groups, memberships = stored(tmp_path)
    assert groups == [("CIRCLE", "Eastside Care", "America/Chicago")]
    # Invited, not joined: the coordinator says YES first, as everyone does. The number is stored encrypted.
    assert [(status, role, name) for status, role, name, _ in memberships] == [("invited", "coordinator", "Ana ✨")]
    assert "5550123" not in memberships[0][3]
    assert "carebot twilio connect" in result.stdout
    # The settings file is carebot's from now on: commands run here read it.
    listed = carebot(tmp_path, "group", "list")
    assert listed.returncode == 0 and "CIRCLE" in listed.stdout and "Eastside Care" in listed.stdout, listed.stderr


def test_a_script_runs_it_with_yes_and_an_existing_file_is_kept(tmp_path) -> None:
    args = ["init", "--yes", "--group", "Vecinos", "--group-name", "Vecinos Unidos", "--tz", "America/New_York",
            "--lang", "es", "--coordinator", COORDINATOR, "--coordinator-name", "Luis"]
    result = carebot(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("?") == 0 and "Created VECINOS" in result.stdout
    key = settings(tmp_path / ".env")["CAREBOT_SECRET_KEY"]
    again = carebot(tmp_path, *args)
    assert again.returncode == 2 and again.stderr.strip().startswith("carebot init: .env already exists")
    assert "Traceback" not in again.stderr
    assert settings(tmp_path / ".env")["CAREBOT_SECRET_KEY"] == key  # untouched


def test_force_replaces_the_file_with_a_new_key(tmp_path) -> None:
    (tmp_path / ".env").write_text("CAREBOT_SECRET_KEY=old\n")
    os.chmod(tmp_path / ".env", 0o644)
    result = carebot(tmp_path, "init", "--yes", "--force", "--group", "CIRCLE", "--group-name", "Circle",
                     "--coordinator", COORDINATOR, "--database-url", f"sqlite:///{tmp_path / 'carebot.sqlite'}")
    assert result.returncode == 0, result.stderr
    assert settings(tmp_path / ".env")["CAREBOT_SECRET_KEY"] != "old"
    assert stat.S_IMODE((tmp_path / ".env").stat().st_mode) == 0o600


def test_force_does_not_lose_the_key_of_a_database_that_holds_numbers(tmp_path) -> None:
    # outside5: `init --force` where carebot already ran wrote a new key, then refused the database under it;
    # the old key, the only one that reads its numbers, was gone with the old file.
    assert carebot(tmp_path, "init", "--yes", *FIRST_GROUP).returncode == 0
    before = (tmp_path / ".env").read_text()
    again = carebot(tmp_path, "init", "--yes", "--force", "--group", "OTHER", "--group-name", "Other",
                    "--coordinator", COORDINATOR)
    assert again.returncode == 2, again.stderr
    assert "Traceback" not in again.stderr and len(again.stderr.strip().splitlines()) == 1, again.stderr
    assert "holds numbers under another key (the one in .env, perhaps)" in again.stderr
    assert "nothing was written" in again.stderr
    assert (tmp_path / ".env").read_text() == before


@pytest.mark.parametrize("args, says", [
    (["--group", "CIRCLE", "--group-name", "Circle"], "--coordinator is needed with --yes"),
    ([], "--group, --group-name, --coordinator are needed with --yes"),  # the options' own names, all at once
    (["--group", "CIRCLE", "--group-name", "Circle", "--coordinator", "12"], "coordinator: '12' is not a phone number"),
    (["--group", "care circle", "--group-name", "C", "--coordinator", COORDINATOR], "cannot be a keyword"),
    (["--group", "CIRCLE", "--group-name", "C", "--coordinator", COORDINATOR, "--tz", "Mars/Base"],
     "'Mars/Base' is not a timezone"),
    (["--group", "CIRCLE", "--group-name", "C", "--coordinator", COORDINATOR, "--public-url", "care.example.org"],
     "must be an http(s) URL"),
    # Outside report, finding 21: Twilio posts members' texts there, and carebot adds its own paths.
    (["--group", "CIRCLE", "--group-name", "C", "--coordinator", COORDINATOR, "--public-url",
      "http://care.example.org/"], "public-url: must be https"),
    (["--group", "CIRCLE", "--group-name", "C", "--coordinator", COORDINATOR, "--public-url",
      "https://care.example.org/twilio/sms"], "public-url: must be the base address without a path"),
    # Twilio's settings go together: the line names each option still missing, whichever was given.
    (["--group", "CIRCLE", "--group-name", "C", "--coordinator", COORDINATOR, "--twilio-account-sid", "AC1"],
     "Twilio's settings go together: give --twilio-auth-token, and --twilio-from or "
     "--twilio-messaging-service-sid"),
    (["--group", "CIRCLE", "--group-name", "C", "--coordinator", COORDINATOR, "--twilio-auth-token", "abc",
      "--twilio-from", "+15155550100"], "Twilio's settings go together: give --twilio-account-sid"),
    (["--group", "CIRCLE", "--group-name", "C", "--coordinator", COORDINATOR, "--twilio-account-sid", "AC1",
      "--twilio-messaging-service-sid", "MG1"], "Twilio's settings go together: give --twilio-auth-token"),
])
def test_a_wrong_option_is_one_line_and_nothing_is_written(tmp_path, args, says) -> None:
    result = carebot(tmp_path, "init", "--yes", *args)
    assert result.returncode == 2 and says in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / ".env").exists() and not (tmp_path / "carebot.sqlite").exists()


FIRST_GROUP = ("--group", "CIRCLE", "--group-name", "C", "--coordinator", COORDINATOR)


@pytest.mark.parametrize("args, code, says", [
    # A database URL that cannot be used is found before the settings file is written, so a second run
    # (with the URL fixed) is not refused for "already exists".
    (["--database-url", "garbage"], 3, "it is not a database URL"),
    (["--database-url", "postgresql://carebot:pw@127.0.0.1:1/carebot"], 4, "no database server answers"),
    (["--database-url", "sqlite:///no/such/dir/carebot.sqlite"], 6, "is not there"),
])
def test_a_database_that_cannot_be_used_is_one_line_before_anything_is_written(tmp_path, args, code, says) -> None:
    result = carebot(tmp_path, "init", "--yes", *FIRST_GROUP, *args)
    assert result.returncode == code and says in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_settings_file_that_cannot_be_written_is_one_line(tmp_path) -> None:
    result = carebot(tmp_path, "--env-file", "no/such/dir/carebot.env", "init", "--yes", *FIRST_GROUP)
    assert result.returncode == 2 and "its directory no/such/dir is not there" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_settings_file_carebot_may_not_write_is_one_line_and_leaves_no_database(tmp_path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root may write anywhere")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        result = carebot(tmp_path, "--env-file", "locked/carebot.env", "init", "--yes", *FIRST_GROUP,
                         "--database-url", f"sqlite:///{tmp_path / 'carebot.sqlite'}")
    finally:
        locked.chmod(0o700)
    assert result.returncode == 2 and "cannot write locked/carebot.env (Permission denied)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["locked"]


def test_with_twilio_credentials_it_offers_to_connect_and_does(tmp_path) -> None:
    with FakeTwilio() as twilio:
        twilio.add_number("+15155550100", sms_url="https://demo.twilio.com/welcome/sms/reply")
        typed = "\n".join(["CIRCLE", "Circle of Care", "UTC", COORDINATOR, "Ana", "https://care.example.org",
                           twilio.account_sid, twilio.auth_token, "+15155550100", "", "y"]) + "\n"
        result = carebot(tmp_path, "init", answers=typed, extra={"TWILIO_API_BASE_URL": twilio.base_url})
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Point Twilio's webhooks at carebot now?" in result.stdout
        assert "SmsUrl: https://demo.twilio.com/welcome/sms/reply → https://care.example.org/twilio/sms" in result.stdout
        assert twilio.numbers["+15155550100"]["sms_url"] == "https://care.example.org/twilio/sms"
        assert "Circle of Care" in result.stdout.split("10DLC", 1)[1]  # the registration text names the group
        values = settings(tmp_path / ".env")
        assert values["TWILIO_FROM"] == "+15155550100" and values["TWILIO_AUTH_TOKEN"] == twilio.auth_token


def test_a_key_already_in_the_environment_is_the_one_written(tmp_path) -> None:
    """The environment wins over the file: a new key in the file would not be the one later commands use."""
    from carebot.store.crypto import new_secret

    key = new_secret()
    result = carebot(tmp_path, "init", "--yes", "--group", "CIRCLE", "--group-name", "Circle",
                     "--coordinator", COORDINATOR, extra={"CAREBOT_SECRET_KEY": key})
    assert result.returncode == 0 and "the secret key set in the environment" in result.stdout, result.stderr
    assert settings(tmp_path / ".env")["CAREBOT_SECRET_KEY"] == key
    assert carebot(tmp_path, "group", "list", extra={"CAREBOT_SECRET_KEY": key}).returncode == 0


def test_without_a_coordinator_name_it_says_plainly_who_was_invited(tmp_path) -> None:
    # Outside report, finding 23: "Invited The first coordinator as the group's coordinator".
    result = carebot(tmp_path, "init", "--yes", "--group", "CIRCLE", "--group-name", "Circle",
                     "--coordinator", COORDINATOR)
    assert result.returncode == 0, result.stderr
    assert "The first coordinator" not in result.stdout
    assert ("Invited the first coordinator (no name given: they can text NAME and their name once they have "
            "joined): one text, sent when carebot runs; they join by replying YES.") in result.stdout, result.stdout
    assert "5550123" not in result.stdout  # the terminal may be logged or shared: no number
    _, memberships = stored(tmp_path)
    assert [(status, role, name) for status, role, name, _ in memberships] == [("invited", "coordinator", None)]


@pytest.mark.parametrize("typed", ["", "CIRCLE\nCircle\n"])
def test_without_a_terminal_it_says_to_use_yes_and_writes_nothing(tmp_path, typed) -> None:
    # Outside report, finding 24: run from a script or a container without -i, init said only "Aborted!".
    result = carebot(tmp_path, "init", answers=typed)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Aborted!" not in result.stderr and "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("carebot init: no answer to ") and "--yes" in line, line
    assert "carebot init --help" in line
    assert not (tmp_path / ".env").exists() and not (tmp_path / "carebot.sqlite").exists()
    # The question left unanswered ends its line: in a terminal or a log the refusal starts a line of its own.
    assert result.stdout.endswith(": \n"), repr(result.stdout[-80:])


def test_without_a_terminal_the_question_to_connect_is_a_no(tmp_path) -> None:
    # Everything is made by then: the input ending at the last question says what is left to do.
    with FakeTwilio() as twilio:
        twilio.add_number("+15155550100", sms_url="https://demo.twilio.com/welcome/sms/reply")
        typed = "\n".join(["CIRCLE", "Circle of Care", "UTC", COORDINATOR, "Ana", "https://care.example.org",
                           twilio.account_sid, twilio.auth_token, "+15155550100", ""]) + "\n"
        result = carebot(tmp_path, "init", answers=typed, extra={"TWILIO_API_BASE_URL": twilio.base_url})
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Aborted!" not in result.stderr and "When you are ready: `carebot twilio connect`." in result.stdout
        assert twilio.numbers["+15155550100"]["sms_url"] == "https://demo.twilio.com/welcome/sms/reply"
        assert (tmp_path / ".env").exists()


def test_a_group_left_in_utc_for_want_of_tz_is_said_so(tmp_path) -> None:
    # outside4: `init --yes` without --tz made a Des Moines group keep UTC time, its daytime 03:00-14:00
    # there, and said nothing of it.
    result = carebot(tmp_path, "init", "--yes", "--group", "DMMA", "--group-name", "Des Moines Mutual Aid",
                     "--coordinator", COORDINATOR, "--database-url", f"sqlite:///{tmp_path / 'carebot.sqlite'}")
    assert result.returncode == 0, result.stderr
    assert "no --tz" in result.stdout.lower() and "carebot group edit DMMA --tz" in result.stdout, result.stdout
    given = carebot(tmp_path, "init", "--yes", "--force", "--group", "DMMA", "--group-name", "Des Moines Mutual Aid",
                    "--tz", "America/Chicago", "--coordinator", COORDINATOR,
                    "--database-url", f"sqlite:///{tmp_path / 'other.sqlite'}")
    assert given.returncode == 0, given.stderr
    assert "--tz" not in given.stdout, given.stdout


def test_permission_denied_writing_the_settings_is_one_line_even_as_root(tmp_path, monkeypatch) -> None:
    from carebot.tools import init as tool

    def refused(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tool.os, "open", refused)
    with pytest.raises(tool.InitProblem, match=r"cannot write .*carebot.env \(Permission denied\): choose another "
                                               r"--env-file.*nothing was written"):
        tool.write_settings(tmp_path / "carebot.env", "x", force=False)
