"""The ``carebot`` command."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import overload

import click

from carebot.domain.config import ENV_FILE, load_settings
from carebot.domain.startup import Refusal


class CarebotGroup(click.Group):
    """Every command's refusal (a setting, the database, the key) is one line on stderr and its exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Refusal as refusal:
            click.echo(str(refusal), err=True)
            ctx.exit(refusal.exit_code)


# Commands whose output is a conversation in the terminal: carebot's INFO lines would drown it.
CONVERSATION_COMMANDS = frozenset({"demo", "chat", "transcript", "parse"})


@click.group(cls=CarebotGroup)
@click.pass_context
@click.option("-v", "--verbose", is_flag=True, help="Say which settings file was read; log more (never numbers or texts).")
@click.option("--env-file", type=click.Path(dir_okay=False), default=None,
              help=f"The settings file (default: {ENV_FILE}, else ./.env, else /etc/carebot/carebot.env).")
def main(ctx: click.Context, verbose: bool, env_file: str | None) -> None:
    """carebot: an SMS and Signal bot for communal care in mutual-aid groups."""
    from carebot.domain.config import describe_env_file, load_log_settings
    from carebot.runtime import logs

    # `init` makes the file it is given: until then there is nothing to read there.
    if env_file and not (ctx.invoked_subcommand == "init" and not Path(env_file).exists()):
        os.environ[ENV_FILE] = env_file  # every later read of the settings, and what this command starts
    wanted = load_log_settings()
    level = wanted.carebot_log_level or ("WARNING" if ctx.invoked_subcommand in CONVERSATION_COMMANDS else "INFO")
    logs.configure(level, wanted.carebot_log_format, verbose=verbose)
    if verbose:
        click.echo(describe_env_file(), err=True)


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@click.option("--url", help="Database URL (default: CAREBOT_DATABASE_URL); a new SQLite file is made only with it.")
def db_upgrade(url: str | None) -> None:
    """Bring the database schema up to date (safe to run again)."""
    from carebot.store.db import check_key, open_database, upgrade

    if url is None:
        settings = load_settings()
        url = settings.carebot_database_url
        # Only a database the operator named is made: the default, where no settings were found, is not.
        _refuse_the_default_database(url, named="carebot_database_url" in settings.model_fields_set)
    database = open_database(url, create=True)
    try:
        keyed = _refuse_another_key(database)
        upgrade(database.url)
        if keyed:
            check_key(database)  # recorded, so every later command knows the key
    finally:
        database.dispose()
    click.echo("The database schema is up to date.")


def _refuse_the_default_database(url: str, *, named: bool) -> None:
    from carebot.domain.startup import DATABASE_MISSING
    from carebot.store.db import DatabaseProblem, sqlite_path

    path = sqlite_path(url) if url.startswith("sqlite") else None
    if not named and path is not None and not path.exists():
        raise DatabaseProblem(f"carebot: CAREBOT_DATABASE_URL is not set (no settings file found: `carebot -v` "
                              f"says where it looked) and there is no database at {path.resolve()}: set it, or "
                              f"make one here with `carebot db upgrade --url sqlite:///{path.resolve()}`",
                              DATABASE_MISSING)


def _refuse_another_key(database) -> bool:
    """Before a schema change: refuse a key that is not the database's (nothing written); whether one is set.

    Without a key there is nothing to check: the migrations ask for one when they have numbers to touch.
    """
    from sqlalchemy import inspect

    from carebot.store.crypto import configured_secret
    from carebot.store.db import check_key

    if configured_secret() is None:
        return False
    if inspect(database.engine).has_table("key_fingerprint"):
        check_key(database, record=False)
    return True


def _migrations(url: str | None):
    from carebot.store.db import open_database

    return open_database(url or load_settings().carebot_database_url)


@db.command("current")
@click.option("--url", help="Database URL (default: CAREBOT_DATABASE_URL).")
def db_current(url: str | None) -> None:
    """Show the database's schema revision and the one this carebot needs."""
    from carebot.store.db import revisions

    database = _migrations(url)
    try:
        current, head = revisions(database.engine)
    finally:
        database.dispose()
    click.echo(f"The database is at {current or 'no revision (empty)'}; this carebot needs {head}"
               + (" (up to date)." if current == head else ": run `carebot db upgrade`."))


@db.command("check")
@click.option("--url", help="Database URL (default: CAREBOT_DATABASE_URL).")
def db_check(url: str | None) -> None:
    """Exit 0 when the schema is the one this carebot needs, else say so (exit 7)."""
    from carebot.store.db import check_schema

    database = _migrations(url)
    try:
        check_schema(database.engine)
    finally:
        database.dispose()
    click.echo("The database schema is up to date.")


@db.command("downgrade")
@click.argument("revision")
@click.option("--url", help="Database URL (default: CAREBOT_DATABASE_URL).")
def db_downgrade(revision: str, url: str | None) -> None:
    """Take the schema back to REVISION (e.g. 0008, or -1 for one step); back up the database first."""
    from carebot.store.db import downgrade

    database = _migrations(url)
    try:
        _refuse_another_key(database)
        downgrade(database.url, revision)
    finally:
        database.dispose()
    click.echo(f"The database schema is back at {revision}.")


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
    from carebot.runtime.serve import run
    from carebot.store.crypto import require_key

    require_key()  # no number is ever written unencrypted
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
@click.option("--force", is_flag=True, help="Replace an existing settings file (its key is lost with it).")
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
    from carebot.tools.init import Answers, run

    def ask(question: str, default: str | None, check) -> str:
        def proc(value: str) -> str:
            try:
                return check(value)
            except ValueError as problem:
                raise click.UsageError(str(problem)) from None

        return click.prompt(question, default=default or "", show_default=bool(default), value_proc=proc)

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
        connect = False if yes else click.confirm("Point Twilio's webhooks at carebot now?", default=True)
    if connect:
        ctx.invoke(twilio_connect, keyword=answers.keyword)
    else:
        click.echo("When you are ready: `carebot twilio connect`.")


@main.group()
def twilio() -> None:
    """carebot's Twilio number or Messaging Service."""


@twilio.command("connect")
@click.option("--group", "keyword", help="The group the registration text names (default: the first group).")
def twilio_connect(keyword: str | None) -> None:
    """Point the number's (or Messaging Service's) webhooks at CAREBOT_PUBLIC_URL; print the 10DLC campaign text."""
    from carebot.domain.config import load_serve_settings
    from carebot.tools.connect import campaign_text, connect, group_for_text

    serve = load_serve_settings()
    if not connect(serve, click.echo):
        sys.exit(1)
    group = group_for_text(serve.carebot_database_url, keyword) or ("Your group", "CIRCLE", "en", "0 10 * * mon")
    click.echo("\nFor a 10DLC campaign registration (Twilio console: Messaging > Regulatory Compliance), paste:\n")
    click.echo(campaign_text(*group))


@main.command()
def status() -> None:
    """Groups, members, waiting requests, the outbox, failed and held texts, Signal, the schema (counts only)."""
    from carebot.tools.status import run

    run(click.echo)


@main.command()
@click.option("--to", "directory", default="backups", show_default=True, type=click.Path(file_okay=False),
              help="The directory the copy goes into (made, private, if missing).")
@click.option("--keep-days", type=click.IntRange(min=1), default=None,
              help="Also delete the copies in it older than this many days.")
def backup(directory: str, keep_days: int | None) -> None:
    """A consistent copy of the database while carebot runs (SQLite's backup API, or pg_dump); never the key."""
    from carebot.domain import clock
    from carebot.store.db import start_up
    from carebot.tools.backup import backup as copy

    url = load_settings().carebot_database_url
    start_up(url).dispose()  # the key set and the database's own, the schema current: else one line
    made, removed = copy(url, Path(directory), clock.now(), keep_days=keep_days)
    click.echo(f"Backed up to {made}" + (f"; {len(removed)} older copies deleted." if removed else "."))


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
    """Print, as JSON, what carebot reads in TEXT, without touching any database."""
    import json
    from datetime import datetime
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from carebot.domain import clock
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
    click.echo(json.dumps(reading.as_dict(), ensure_ascii=False))


# --- end of parse ---------------------------------------------------------------------


@main.command()
@click.option("--db", "db_path", default="carebot-demo.sqlite", show_default=True,
              help="The SQLite file the demo writes (made anew each run).")
def demo(db_path: str) -> None:
    """Play a short scripted week of the go-around on simulated channels."""
    from carebot.tools.demo import run_demo

    sys.exit(asyncio.run(run_demo(Path(db_path), click.echo)))


@main.command()
@click.option("--db", "db_path", default="carebot-chat.sqlite", show_default=True,
              help="The SQLite file the chat writes (made anew each run).")
def chat(db_path: str) -> None:
    """Type as one or more members (``+15155550101 > JOIN DEMO``) and see carebot's replies."""
    from carebot.tools.demo import run_chat

    asyncio.run(run_chat(Path(db_path), click.echo))


def _database():
    """The configured database, after the start-up checks (carebot.store.db.start_up): each refusal is one line."""
    from carebot.store.db import start_up

    return start_up(load_settings().carebot_database_url)


@overload
def _daytime(value: str) -> tuple[int, int]: ...
@overload
def _daytime(value: None) -> None: ...


def _daytime(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        starts, ends = (int(part) for part in value.split("-"))
    except ValueError:
        raise click.BadParameter("write the daytime as two hours, e.g. 9-20") from None
    return starts, ends


def _budget(value: str) -> int | None:
    if value.strip().lower() == "default":
        return None
    try:
        return int(value)
    except ValueError:
        raise click.BadParameter("write a number of texts a day, e.g. 2000, or default") from None


# The default's figures are carebot.outbox.budget's PER_MEMBER and FLOOR (tests/test_budget.py keeps them equal).
BUDGET_HELP = ("Texts carebot may send the group a day; past it, its own texts wait for the group's next day "
               "and coordinators are told (default: 20 a day for each active member, at least 500)")


@main.group()
def group() -> None:
    """The groups this deployment serves."""


@group.command("add")
@click.argument("keyword")
@click.option("--name", required=True, help="The group's name, as members see it (40 characters at most).")
@click.option("--tz", "timezone", default="UTC", show_default=True, help="e.g. America/Chicago")
@click.option("--lang", "language", default="en", show_default=True, type=click.Choice(["en", "es"]))
@click.option("--schedule", default=None, help='Go-around rounds, a crontab in the group\'s timezone (default "0 10 * * mon").')
@click.option("--daytime", default="9-20", show_default=True, help="Hours carebot may write first.")
@click.option("--crisis", default="", help="The group's own crisis resources (peer lines, on-call people), one short line each.")
@click.option("--two-coordinators", is_flag=True, help="Removals and role changes need a second coordinator's YES.")
@click.option("--private", "private_default", is_flag=True,
              help="Requests keep the member's number private (they talk through carebot) unless they say share.")
@click.option("--budget", type=click.IntRange(min=1), default=None, help=BUDGET_HELP + ".")
def group_add(keyword, name, timezone, language, schedule, daytime, crisis, two_coordinators, private_default,
              budget) -> None:
    """Create a group; then `carebot roster import` invites its people."""
    from carebot.domain import clock
    from carebot.services.groups import GroupError, add_group

    db = _database()
    try:
        with db.transaction() as session:
            created = add_group(session, keyword=keyword, name=name, timezone=timezone, language=language,
                                round_schedule=schedule, crisis_resources=crisis.replace("\\n", "\n"),
                                two_coordinators=two_coordinators, private_default=private_default,
                                daytime=_daytime(daytime), daily_budget=budget, now=clock.now())
            click.echo(f"Created {created.keyword}: {created.name} ({created.timezone}).")
    except GroupError as error:
        raise click.ClickException(str(error)) from None


@group.command("list")
def group_list() -> None:
    """Every group, with its settings and how many members it has."""
    from sqlalchemy import func, select

    from carebot.store.models import Group, Membership, Network

    with _database().transaction() as session:
        counts = dict(session.execute(select(Membership.group_id, func.count()).where(
            Membership.status == "active").group_by(Membership.group_id)).all())
        groups = session.scalars(select(Group).order_by(Group.keyword)).all()
        if not groups:
            click.echo("No groups yet: `carebot group add KEYWORD --name ...` creates one.")
        for g in groups:
            click.echo(f"{g.keyword:<16} {g.name} | {g.timezone} | {g.language} | rounds \"{g.round_schedule}\" | "
                       f"daytime {g.day_starts}-{g.day_ends} | {counts.get(g.id, 0)} members"
                       + (" | second coordinator needed" if g.two_coordinators else "")
                       + (" | private by default" if g.private_default else "")
                       + ("" if g.sms_fold else " | SMS not folded to GSM-7")
                       + (f" | {g.daily_budget} texts a day" if g.daily_budget is not None else "")
                       + (f" | network {session.get(Network, g.network_id).code}" if g.network_id else "")
                       + (f", overflow after {g.overflow_after_hours}h" if g.network_id and g.overflow_after_hours
                          else ""))


@group.command("edit")
@click.argument("keyword")
@click.option("--name")
@click.option("--tz", "timezone")
@click.option("--lang", "language", type=click.Choice(["en", "es"]))
@click.option("--schedule")
@click.option("--daytime")
@click.option("--crisis")
@click.option("--two-coordinators/--one-coordinator", default=None)
@click.option("--private/--shared", "private_default", default=None)
@click.option("--budget", help=BUDGET_HELP + "; `default` goes back to the default.")
@click.option("--sms-fold/--no-sms-fold", "sms_fold", default=None,
              help="Fold accents outside GSM-7 (á í ó ú) in SMS texts when that saves segments (on by default).")
@click.option("--network", "network_code", metavar="CODE",
              help="Join a network of groups (`carebot network add`); `none` leaves it (pairings across it go on).")
@click.option("--overflow-after", metavar="SPAN",
              help="A request nobody in the group took this long (e.g. 24h, 2d): ask the member whether the "
                   "network's other groups may be asked; `off` (the default) never does.")
def group_edit(keyword, name, timezone, language, schedule, daytime, crisis, two_coordinators, private_default,
               budget, sms_fold, network_code, overflow_after) -> None:
    """Change a group's settings; what you leave out stays as it is."""
    from carebot.services.groups import GroupError, edit_group, overflow_hours

    changes = {"name": name, "timezone": timezone, "language": language, "round_schedule": schedule,
               "daytime": _daytime(daytime), "two_coordinators": two_coordinators,
               "private_default": private_default, "sms_fold": sms_fold,
               "crisis_resources": crisis.replace("\\n", "\n") if crisis is not None else None}
    changes = {k: v for k, v in changes.items() if v is not None}
    if budget is not None:
        changes["daily_budget"] = _budget(budget)  # None, for "default", is a change too
    try:
        if network_code is not None:
            changes["network"] = None if network_code.strip().lower() in ("none", "off") else network_code
        if overflow_after is not None:
            changes["overflow_after_hours"] = overflow_hours(overflow_after)
        with _database().transaction() as session:
            edited = edit_group(session, keyword, **changes)
            click.echo(f"Updated {edited.keyword}.")
            if "network" in changes or "overflow_after_hours" in changes:
                from carebot.domain import clock
                from carebot.services.planner import mark_due

                mark_due(session, edited.id, clock.now())  # requests already waiting may overflow now
            if edited.overflow_after_hours is not None and edited.network_id is None and (
                    "network" in changes or "overflow_after_hours" in changes):
                click.echo(f"{edited.keyword} is in no network, so nothing overflows until it joins one "
                           "(--network CODE).")
            if "daily_budget" in changes:
                from carebot.domain import clock
                from carebot.outbox import budget as budgets

                released = budgets.reopen(session, edited, clock.now())
                if released:
                    click.echo(f"{released} texts held by the budget today are due again; "
                               "the new budget holds them too if it is spent.")
    except GroupError as error:
        raise click.ClickException(str(error)) from None


@main.group()
def network() -> None:
    """Networks of groups: a request nobody in its group can take may, on the member's YES, go to sister groups."""


@network.command("add")
@click.argument("code")
@click.option("--name", required=True, help="The network's name (60 characters at most).")
def network_add(code, name) -> None:
    """Create a network; then `carebot group edit KEYWORD --network CODE --overflow-after 24h` for each group."""
    from carebot.domain import clock
    from carebot.services.groups import GroupError, add_network

    try:
        with _database().transaction() as session:
            created = add_network(session, code=code, name=name, now=clock.now())
            click.echo(f"Created the network {created.code}: {created.name}. Groups join it with "
                       f"`carebot group edit KEYWORD --network {created.code} --overflow-after 24h`.")
    except GroupError as error:
        raise click.ClickException(str(error)) from None


@network.command("list")
def network_list() -> None:
    """Every network, with its groups and when each overflows."""
    from sqlalchemy import select

    from carebot.store.models import Group, Network

    with _database().transaction() as session:
        networks = session.scalars(select(Network).order_by(Network.code)).all()
        if not networks:
            click.echo("No networks yet: `carebot network add CODE --name ...` creates one.")
        for n in networks:
            groups = session.scalars(select(Group).where(Group.network_id == n.id).order_by(Group.keyword)).all()
            shown = ", ".join(f"{g.keyword} (overflow after {g.overflow_after_hours}h)" if g.overflow_after_hours
                              else f"{g.keyword} (no overflow)" for g in groups) or "no groups yet"
            click.echo(f"{n.code:<16} {n.name} | {shown}")


@network.command("remove")
@click.argument("code")
def network_remove(code) -> None:
    """Remove a network: its groups leave it; pairings already made across it go on until DONE."""
    from carebot.services.groups import GroupError, remove_network

    try:
        with _database().transaction() as session:
            keywords = remove_network(session, code)
    except GroupError as error:
        raise click.ClickException(str(error)) from None
    left = f" {', '.join(keywords)} left it; pairings across it go on until DONE." if keywords else ""
    click.echo(f"Removed the network {code.strip().upper()}.{left}")


@main.group()
def roster() -> None:
    """Members' rosters."""


@roster.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--group", "keyword", required=True, help="The group's keyword.")
def roster_import(file: str, keyword: str) -> None:
    """Invite everyone in a CSV file (columns: phone, name, optional role; - reads it from stdin); report the bad rows."""
    from sqlalchemy import select

    from carebot.domain import clock
    from carebot.services.roster import import_roster
    from carebot.store.models import Group

    # stdin lets a container read a file of the host's: `... exec -T carebot carebot roster import - < roster.csv`
    raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise click.ClickException("the roster is not UTF-8 text: save the CSV as UTF-8 and try again") from None
    with _database().transaction() as session:
        found = session.scalars(select(Group).where(Group.keyword == keyword.upper())).first()
        if found is None:
            raise click.ClickException(f"no group with the keyword {keyword.upper()}")
        report = import_roster(session, found, text, clock.now())
    click.echo(f"{report.invited} invited to {keyword.upper()} (each gets one text and joins only by replying YES).")
    for line, reason in report.bad:
        click.echo(f"  line {line}: {reason}")
    if report.bad:
        click.echo(f"{len(report.bad)} rows skipped.")


@main.group()
def key() -> None:
    """The secret key that encrypts phone numbers at rest (CAREBOT_SECRET_KEY)."""


@key.command("new")
def key_new() -> None:
    """Print a fresh random key for CAREBOT_SECRET_KEY (nothing is stored)."""
    from carebot.store.crypto import new_secret

    click.echo(new_secret())


@key.command("rotate")
@click.option("--new-key", envvar="CAREBOT_NEW_SECRET_KEY", required=True,
              help="The new key (default: CAREBOT_NEW_SECRET_KEY); the old one is CAREBOT_SECRET_KEY.")
def key_rotate(new_key: str) -> None:
    """Re-encrypt and re-hash every stored number with a new key, in one transaction."""
    from carebot.store.crypto import AlreadyRotated, Keyring, configure, require_key, rotate
    from carebot.store.db import check_schema, open_database

    # Not _database(): a second run finds the database under the new key, which is no refusal.
    old, new = require_key(), Keyring(new_key)
    db = open_database(load_settings().carebot_database_url)
    try:
        check_schema(db.engine)
        count = rotate(db, old, new)
    except AlreadyRotated as done:
        click.echo(str(done))
        return
    finally:
        db.dispose()
    configure(new_key)
    click.echo(f"{count} rows re-encrypted. Now set CAREBOT_SECRET_KEY to the new key, "
               "then start carebot again.")


if __name__ == "__main__":
    main()
