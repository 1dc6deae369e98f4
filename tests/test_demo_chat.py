"""``carebot demo`` and ``carebot chat`` work with no accounts and no configuration."""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import CliRunner

from carebot.cli import main
from carebot.tools.demo import run_chat


def test_demo_plays_a_week_and_exits_0(tmp_path: Path) -> None:
    db = tmp_path / "demo.sqlite"
    result = CliRunner().invoke(main, ["demo", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "Welcome to Riverside Care Circle" in result.output
    assert "Sat 09:00 Luis (+15155550102) < DEMO: your answer" in result.output
    # The demo's members are on SMS, where "compañía" arrives folded to GSM-7 (one segment, not two).
    assert "quieres compañia" in result.output
    assert db.exists()
    # A second run starts afresh rather than failing on the first run's data.
    assert CliRunner().invoke(main, ["demo", "--db", str(db)]).exit_code == 0


def test_chat_replies_to_what_the_user_types(tmp_path: Path) -> None:
    typed = iter([
        "+15155550199 > JOIN DEMO",
        "> yes",
        "> 1 call evenings",
        "wait 2h",
        "this line is not a statement",
        "quit",
    ])
    shown: list[str] = []
    asyncio.run(run_chat(tmp_path / "chat.sqlite", shown.append, read=lambda _prompt: next(typed)))
    output = "\n".join(shown)
    assert "+15155550199 < Get Riverside Care Circle's care check-ins" in output
    assert "+15155550199 < Welcome to Riverside Care Circle" in output
    assert "you'd like someone to reach out (ongoing, call evenings)" in output
    assert "not a statement this runner knows" in output


def test_the_demo_shows_the_conversation_and_no_log_lines(tmp_path: Path) -> None:
    """carebot's INFO lines are for the running service; in the demo they would drown the texts."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "CAREBOT_LOG_LEVEL"}
    quiet = subprocess.run([sys.executable, "-m", "carebot", "demo"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 0 and "JOIN DEMO" in quiet.stdout and quiet.stderr == ""
    (tmp_path / "carebot-demo.sqlite").unlink()
    told = subprocess.run([sys.executable, "-m", "carebot", "demo"], cwd=tmp_path,
                          env={**env, "CAREBOT_LOG_LEVEL": "INFO"}, capture_output=True, text=True, timeout=120)
    assert told.returncode == 0 and " INFO carebot." in told.stderr


def _refused(result, *words: str) -> None:
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), (result.output, result.exception)
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1, result.output
    for word in words:
        assert word in result.output, result.output


def test_demo_and_chat_never_write_over_a_file_that_is_not_a_demos(tmp_path: Path) -> None:
    """`carebot demo --db carebot.sqlite` in a deployment's folder must not wipe its database (nor a README)."""
    import sqlite3

    real = tmp_path / "carebot.sqlite"
    with sqlite3.connect(real) as conn:  # as a deployment's database: its group and its key's fingerprint
        conn.execute("CREATE TABLE groups (keyword TEXT)")
        conn.execute("INSERT INTO groups VALUES ('CIRCLE')")
        conn.execute("CREATE TABLE key_fingerprint (fingerprint TEXT)")
        conn.execute("INSERT INTO key_fingerprint VALUES ('x')")
    conn.close()
    notes = tmp_path / "notes.txt"
    notes.write_text("the group's phone tree\n")
    before = real.read_bytes()
    for command in ("demo", "chat"):
        _refused(CliRunner().invoke(main, [command, "--db", str(real)]), "not a demo's database", "nothing was")
        _refused(CliRunner().invoke(main, [command, "--db", str(notes)]), "not a demo's database")
    assert real.read_bytes() == before and notes.read_text() == "the group's phone tree\n"


def test_a_demo_database_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    for command in ("demo", "chat"):
        _refused(CliRunner().invoke(main, [command, "--db", "/proc/nope/demo.sqlite"]), "--db", "/proc/nope")
        _refused(CliRunner().invoke(main, [command, "--db", str(tmp_path / "adir")]), "is a directory")
