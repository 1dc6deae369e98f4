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
