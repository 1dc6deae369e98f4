"""``carebot demo`` and ``carebot chat``: carebot on simulated channels, no accounts needed."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from importlib import resources
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from carebot.domain.startup import Refusal
from carebot.store.db import Database, upgrade
from carebot.tools.transcript import Simulation, TranscriptError, strip_comment

CHAT_SETUP = [
    'group DEMO name="Riverside Care Circle" tz=America/Chicago',
    "coordinator DEMO +15155550100 name=Rosa",
    "member DEMO +15155550101 name=Ana",
]
CHAT_HELP = """\
Type as a member:  +15155550199 > JOIN DEMO     (or  > text  to reuse the last number)
As a Signal member: signal:+15155550198 > HELP
Move the clock:    wait 2h    (or at 2026-03-09 10:00)        Leave: quit
The group DEMO exists, with Rosa (+15155550100, coordinator) and Ana (+15155550101)."""


class DemoProblem(Refusal):
    """The demo's database cannot be made where --db says: one line, nothing deleted."""

    def __init__(self, message: str) -> None:
        super().__init__(f"carebot: --db {message}", 1)


def _a_demos(path: Path) -> bool:
    """Whether the file at ``path`` is one a demo or chat made (so making it anew loses nothing): an empty
    file, or a SQLite database whose only group is DEMO and which no key ever opened (a deployment's has its
    key's fingerprint from its first command)."""
    if path.stat().st_size == 0:
        return True
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            keywords = {keyword for (keyword,) in conn.execute("SELECT keyword FROM groups")}
            keyed = conn.execute("SELECT count(*) FROM key_fingerprint").fetchone()[0]
    except sqlite3.Error:  # not a database, or not carebot's
        return False
    return keywords <= {"DEMO"} and not keyed


def _fresh_database(path: Path) -> Database:
    """A new database at ``path``; a file there is replaced only when a demo made it."""
    if path.is_dir():
        raise DemoProblem(f"{path} is a directory: name a file, e.g. {path / 'carebot-demo.sqlite'}")
    if path.exists() and not _a_demos(path):
        raise DemoProblem(f"{path} is not a demo's database (a deployment's, or another file): name another "
                          "file; nothing was deleted")
    if not path.parent.is_dir():
        raise DemoProblem(f"{path}: its directory {path.parent} is not there: make it, or name another file")
    try:
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
        upgrade(url)
    except (OSError, sqlite3.Error, DBAPIError) as error:
        raise DemoProblem(f"{path} cannot be written ({getattr(error, 'orig', None) or error}): name another "
                          "file, in a directory you may write in") from None
    return Database(url)


async def run_demo(path: Path, echo: Callable[[str], None]) -> int:
    """Play the scripted week and print it; 0 when every expectation in it held."""
    script = (resources.files("carebot") / "transcripts" / "demo.txt").read_text(encoding="utf-8")
    sim = Simulation(_fresh_database(path), echo=echo)
    try:
        narrating = False
        for line in script.splitlines():
            stripped = strip_comment(line)
            if line.startswith("# ") and not stripped:
                echo(line[2:] if narrating else "\n" + line[2:])  # one paragraph per comment block
                narrating = True
                continue
            narrating = False
            if " < " in stripped or stripped.startswith("quiet"):
                await sim.execute(line)  # expectations are checked, not printed
                continue
            if stripped.startswith(("wait", "at ")):
                echo(f"   ({stripped})")
            await sim.execute(line)
    except TranscriptError as error:
        echo(f"The demo went wrong: {error}")
        return 1
    finally:
        sim.db.dispose()
    echo(f"\nThat was carebot. The demo's database is in {path}; try `carebot chat` next.")
    return 0


async def run_chat(path: Path, echo: Callable[[str], None], read: Callable[[str], str] = input) -> None:
    """An interactive session: the user types as members and sees carebot's replies."""
    sim = Simulation(_fresh_database(path), echo=echo)
    for line in CHAT_SETUP:
        await sim.execute(line)
    echo(CHAT_HELP)
    last = "+15155550199"
    try:
        while True:
            try:
                line = read("chat> ").strip()
            except EOFError:
                break
            if line in ("quit", "exit"):
                break
            if line in ("help", "?"):
                echo(CHAT_HELP)
                continue
            if line.startswith(">"):
                line = f"{last} {line}"
            elif " > " in line:
                last = line.split(" > ", 1)[0].strip()
            try:
                await sim.execute(line)
            except TranscriptError as error:
                echo(f"  ({error})")
    finally:
        sim.db.dispose()
