"""Running carebot: ``serve``, ``check``, ``init``, ``twilio connect``, ``status`` and ``backup``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from carebot.cli.root import configured_database, main, refuse_a_first_run
from carebot.domain.config import load_settings


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--role", type=click.Choice(["all", "web", "worker"]), default="all", show_default=True,
              envvar="CAREBOT_ROLE",
              help="all: everything in one process. On PostgreSQL, spread it: web only stores webhooks; "
                   "worker handles stored texts and sends, and one worker (chosen by an advisory lock) "
                   "holds Signal and the ticker.")
def serve(host: str, port: int, role: str) -> None:
    """Serve Twilio's webhooks, run the ticker and send the outbox (one process, or a role of several)."""
    from carebot.domain.config import load_serve_settings
    from carebot.store.crypto import require_key
    from carebot.tools.init import refuse_the_default_database

    refuse_a_first_run()  # a new folder: `carebot init`, not one missing part at a time
    require_key()  # no number is ever written unencrypted
    # Every wrong setting in one line first, then a database that is not there (said with how to make it).
    refuse_the_default_database(load_serve_settings())
    # Only then the server, the flows and the channels: importing them takes seconds on a small machine,
    # which a wrong setting need not wait for.
    from carebot.runtime.serve import run

    run(host, port, role)  # a setting, the database or the key wrong: one line and its exit code


@main.command()
@click.option("--from-outside", is_flag=True,
              help="Also post to CAREBOT_PUBLIC_URL's webhook, as Twilio would (carebot must be running).")
def check(from_outside: bool) -> None:
    """Say, line by line, whether settings, key, database, Twilio and Signal are right; exit 0 only if all are."""
    from carebot.tools.check import run

    sys.exit(0 if run(click.echo, from_outside=from_outside) else 1)


@main.command()
@click.option("--yes", "-y", "yes", is_flag=True, help="Ask nothing: take the options given (for scripts).")
@click.option("--force", is_flag=True,
              help="Replace an existing settings file (its key is lost with it; refused while a database needs that key).")
@click.option("--database-url", help="Default: a SQLite file next to the settings file.")
@click.option("--group", "keyword", help="The first group's keyword, e.g. CIRCLE.")
@click.option("--group-name", help="The first group's name, as members see it.")
@click.option("--tz", "timezone", help="The group's timezone, e.g. America/Chicago (default UTC with --yes).")
@click.option("--lang", "language", default="en", show_default=True, type=click.Choice(["en", "es"]))
@click.option("--coordinator", help="The first coordinator's phone number.")
@click.option("--coordinator-name", help="The first coordinator's name.")
@click.option("--public-url", help="The public https address Twilio reaches carebot at.")
@click.option("--twilio-account-sid")
@click.option("--twilio-auth-token")
@click.option("--twilio-from", help="Your Twilio number.")
@click.option("--twilio-messaging-service-sid")
@click.option("--connect/--no-connect", default=None,
              help="Point Twilio's webhooks at carebot now (asked, without --yes; with --yes only if given).")
@click.pass_context
def init(ctx: click.Context, yes: bool, force: bool, database_url, keyword, group_name, timezone, language,
         coordinator, coordinator_name, public_url, twilio_account_sid, twilio_auth_token, twilio_from,
         twilio_messaging_service_sid, connect: bool | None) -> None:
    """A first run: write the settings file (with a new key), make the database, the first group and its coordinator."""
    from carebot.tools.init import Answers, InitProblem, run

    def ask(question: str, default: str | None, check) -> str:
        def proc(value: str) -> str:
            try:
                return check(value)
            except ValueError as problem:
                raise click.UsageError(str(problem)) from None

        try:
            return click.prompt(question, default=default or "", show_default=bool(default), value_proc=proc)
        except click.Abort:
            if sys.stdin.isatty():  # Ctrl-C at a terminal: the person stopped it and knows why
                raise
            # Run from a script, or a container without -i: the input ended before the answers did.
            # The questions all come before anything is written, so nothing is left half made.
            click.echo("")  # end the question's line: the refusal is a line of its own
            raise InitProblem(f"no answer to \u201c{question}\u201d (the input ended, no terminal): run it in a "
                              "terminal to be asked, or give the answers as options with --yes "
                              "(`carebot init --help` lists them); nothing was written") from None

    given = Answers(database_url=database_url, public_url=public_url, account_sid=twilio_account_sid,
                    auth_token=twilio_auth_token, twilio_from=twilio_from,
                    messaging_service_sid=twilio_messaging_service_sid, keyword=keyword, group_name=group_name,
                    timezone=timezone, language=language, coordinator=coordinator, coordinator_name=coordinator_name)
    env_path = Path(ctx.parent.params.get("env_file") or ".env") if ctx.parent else Path(".env")
    answers = run(given, env_path, ask=None if yes else ask, echo=click.echo, force=force)
    if not (answers.account_sid and answers.public_url):
        click.echo("Twilio is not set up yet: add its settings to the file, then run `carebot twilio connect`.")
        return
    if connect is None:
        connect = False if yes else confirm_connect()
    if connect:
        ctx.invoke(twilio_connect, keyword=answers.keyword)
    else:
        click.echo("When you are ready: `carebot twilio connect`.")


def confirm_connect() -> bool:
    """Asked at the end of init, all made by then: the input ending here (no terminal) is a no."""
    try:
        return click.confirm("Point Twilio's webhooks at carebot now?", default=True)
    except click.Abort:
        if sys.stdin.isatty():
            raise
        click.echo("")
        return False


@main.group()
def twilio() -> None:
    """carebot's Twilio number or Messaging Service."""


@twilio.command("connect")
@click.option("--group", "keyword", help="The group the registration text names (default: the first group).")
def twilio_connect(keyword: str | None) -> None:
    """Point the number's (or Messaging Service's) webhooks at CAREBOT_PUBLIC_URL; print the 10DLC campaign text."""
    from carebot.domain.config import load_serve_settings
    from carebot.tools.connect import campaign_text, connect, group_for_text

    serve = load_serve_settings("carebot twilio connect")
    # Before Twilio is touched: a group that is not there is refused with nothing changed.
    group = group_for_text(serve.carebot_database_url, keyword) or ("Your group", "CIRCLE", "en", "0 10 * * mon")
    if not connect(serve, click.echo):
        sys.exit(1)
    click.echo("\nFor a 10DLC campaign registration (Twilio console: Messaging > Regulatory Compliance), paste:\n")
    click.echo(campaign_text(*group))


@main.command()
def status() -> None:
    """Groups, members, waiting requests, texts a daily budget holds, the outbox, failed texts, Signal (counts only)."""
    from carebot.tools.status import run

    run(configured_database(), click.echo)


@main.command()
@click.option("--to", "directory", default="backups", show_default=True, type=click.Path(),
              help="The directory the copy goes into (made, private, if missing).")
@click.option("--keep-days", type=click.IntRange(min=1), default=None,
              help="Also delete the copies in it older than this many days.")
def backup(directory: str, keep_days: int | None) -> None:
    """A consistent copy of the database while carebot runs (SQLite's backup API, or pg_dump); never the key."""
    from carebot.domain import clock
    from carebot.tools.backup import backup as copy

    url = load_settings().carebot_database_url
    configured_database().dispose()  # the key set and the database's own, the schema current: else one line
    made, removed = copy(url, Path(directory), clock.now(), keep_days=keep_days)
    deleted = f"; {len(removed)} older {'copy' if len(removed) == 1 else 'copies'} deleted" if removed else ""
    click.echo(f"Backed up to {made}{deleted}.")
