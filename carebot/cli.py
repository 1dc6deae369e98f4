"""The ``carebot`` command."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import click

from carebot.config import load_settings


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log more (never numbers or texts).")
def main(verbose: bool) -> None:
    """carebot: an SMS and Signal bot for communal care in mutual-aid groups."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@click.option("--url", help="Database URL (default: CAREBOT_DATABASE_URL).")
def db_upgrade(url: str | None) -> None:
    """Bring the database schema up to date (safe to run again)."""
    from carebot.db import upgrade

    url = url or load_settings().carebot_database_url
    upgrade(url)
    click.echo("The database schema is up to date.")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
def serve(host: str, port: int) -> None:
    """Serve Twilio's webhooks, run the ticker and send the outbox, in one process."""
    from carebot.config import ConfigError
    from carebot.db import SchemaOutOfDate
    from carebot.serve import run

    try:
        run(host, port)
    except (ConfigError, SchemaOutOfDate) as error:
        click.echo(str(error), err=True)
        sys.exit(2)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def transcript(files: tuple[str, ...]) -> None:
    """Replay conversation transcripts; exit 1 and show the first failing line of each failing file."""
    from carebot.transcript import run_file

    failures = [f for f in (asyncio.run(run_file(path)) for path in files) if f is not None]
    for failure in failures:
        click.echo(str(failure))
    passed = len(files) - len(failures)
    click.echo(f"{passed} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


@main.command()
@click.option("--db", "db_path", default="carebot-demo.sqlite", show_default=True,
              help="The SQLite file the demo writes (made anew each run).")
def demo(db_path: str) -> None:
    """Play a short scripted week of the go-around on simulated channels."""
    from carebot.demo import run_demo

    sys.exit(asyncio.run(run_demo(Path(db_path), click.echo)))


@main.command()
@click.option("--db", "db_path", default="carebot-chat.sqlite", show_default=True,
              help="The SQLite file the chat writes (made anew each run).")
def chat(db_path: str) -> None:
    """Type as one or more members (``+15155550101 > JOIN DEMO``) and see carebot's replies."""
    from carebot.demo import run_chat

    asyncio.run(run_chat(Path(db_path), click.echo))


if __name__ == "__main__":
    main()
