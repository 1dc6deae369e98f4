"""``carebot group``, ``network`` and ``roster``: the groups a deployment serves and their people."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import overload

import click

from carebot.cli.root import configured_database, main


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

    db = configured_database()
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
    from carebot.store.models.groups import DEFAULT_PAIR_AGAIN_DAYS

    with configured_database().transaction() as session:
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
                       + (f" | the same two paired again after {g.pair_again_after_days} days"
                          if g.pair_again_after_days != DEFAULT_PAIR_AGAIN_DAYS else "")
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
@click.option("--pair-again-after", metavar="DAYS",
              help="After DONE or UNPAIR, the same two are not offered to each other again for this long "
                   "(e.g. 28, 10d, 4w; 0 to 365 days; default 28); a coordinator's PAIR still may.")
def group_edit(keyword, name, timezone, language, schedule, daytime, crisis, two_coordinators, private_default,
               budget, sms_fold, network_code, overflow_after, pair_again_after) -> None:
    """Change a group's settings; what you leave out stays as it is."""
    from carebot.services.groups import GroupError, edit_group, overflow_hours, pair_again_days

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
        if pair_again_after is not None:
            changes["pair_again_after_days"] = pair_again_days(pair_again_after)
        with configured_database().transaction() as session:
            edited = edit_group(session, keyword, **changes)
            click.echo(f"Updated {edited.keyword}.")
            if {"network", "overflow_after_hours", "pair_again_after_days"} & set(changes):
                from carebot.domain import clock
                from carebot.services.planner import mark_due

                # Requests already waiting may overflow now, or be offered to someone no longer kept apart.
                mark_due(session, edited.id, clock.now())
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
        with configured_database().transaction() as session:
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

    with configured_database().transaction() as session:
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
        with configured_database().transaction() as session:
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
    from carebot.services.roster import RosterProblem, import_roster
    from carebot.store.models import Group

    # stdin lets a container read a file of the host's: `... exec -T carebot carebot roster import - < roster.csv`
    raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise click.ClickException("the roster is not UTF-8 text: save the CSV as UTF-8 and try again") from None
    with configured_database().transaction() as session:
        found = session.scalars(select(Group).where(Group.keyword == keyword.upper())).first()
        if found is None:
            raise click.ClickException(f"no group with the keyword {keyword.upper()}")
        try:
            report = import_roster(session, found, text, clock.now())
        except RosterProblem as problem:
            raise click.ClickException(f"{problem}; nobody was invited") from None
    click.echo(f"{report.invited} invited to {keyword.upper()} (each gets one text and joins only by replying YES).")
    for line, reason in report.bad:
        click.echo(f"  line {line}: {reason}")
    if report.bad:
        click.echo(f"{len(report.bad)} {'row' if len(report.bad) == 1 else 'rows'} skipped.")
