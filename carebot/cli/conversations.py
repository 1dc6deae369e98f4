"""Conversations in the terminal: ``transcript``, ``parse``, ``demo`` and ``chat`` (no configured database)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from carebot.cli.root import main


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def transcript(files: tuple[str, ...]) -> None:
    """Replay conversation transcripts; exit 1 and show the first failing line of each failing file."""
    from carebot.tools.transcript import run_file

    failures = [f for f in (asyncio.run(run_file(path)) for path in files) if f is not None]
    for failure in failures:
        click.echo(str(failure))
    passed = len(files) - len(failures)
    click.echo(f"{passed} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


# --- parse (issue 17): what carebot reads in a text; touches no database ---------------


@main.command()
@click.argument("text")
@click.option("--lang", type=click.Choice(["en", "es"]), default=None,
              help="The member's language, when known (the text's own is guessed too).")
@click.option("--tz", "timezone", default="America/Chicago", show_default=True,
              help="The member's timezone (Area/City): dates are resolved in it.")
@click.option("--now", "at", default=None, help="The moment the text arrives (YYYY-MM-DDTHH:MM, local); default now.")
def parse(text: str, lang: str | None, timezone: str, at: str | None) -> None:
    """Print, as JSON, what carebot reads in TEXT alone and in a conversation, without touching any database."""
    import json
    from datetime import datetime
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from carebot.domain import clock
    from carebot.flows import in_context
    from carebot.flows.understanding import read

    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        click.echo(f"Unknown timezone {timezone!r}: use a name like America/Chicago.", err=True)
        sys.exit(2)
    try:
        now = datetime.fromisoformat(at).replace(tzinfo=zone) if at else clock.now().astimezone(zone)
    except ValueError:
        click.echo(f"--now {at!r} is not a date and time like 2026-03-02T10:00.", err=True)
        sys.exit(2)
    reading = read(text, lang=lang, tz=timezone, now=now)
    # Alone, some texts read "unknown" that a conversation reads: a run-on, a piece of an answer, a reply
    # to an open question or in a relay window. Shown honestly, by context.
    in_conversation = in_context.in_conversation(text, language=lang or reading.lang or "en", tz=timezone, now=now,
                                                 alone=reading.intent)
    click.echo(json.dumps({**reading.as_dict(), "in_conversation": in_conversation}, ensure_ascii=False))


# --- end of parse ---------------------------------------------------------------------


@main.command()
@click.option("--db", "db_path", default="carebot-demo.sqlite", show_default=True,
              help="The SQLite file the demo writes (made anew each run; a file no demo made is never replaced).")
def demo(db_path: str) -> None:
    """Play a short scripted week of the go-around on simulated channels."""
    from carebot.tools.demo import run_demo

    sys.exit(asyncio.run(run_demo(Path(db_path), click.echo)))


@main.command()
@click.option("--db", "db_path", default="carebot-chat.sqlite", show_default=True,
              help="The SQLite file the chat writes (made anew each run; a file no demo made is never replaced).")
def chat(db_path: str) -> None:
    """Type as one or more members (``+15155550101 > JOIN DEMO``) and see carebot's replies."""
    from carebot.tools.demo import run_chat

    asyncio.run(run_chat(Path(db_path), click.echo))
