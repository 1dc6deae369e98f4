"""``carebot db``, the database schema, and ``carebot key``, the key that encrypts numbers at rest."""

from __future__ import annotations

import click

from carebot.cli.root import main
from carebot.domain.config import load_settings


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@click.option("--url", help="Database URL (default: CAREBOT_DATABASE_URL); a new SQLite file is made only with it.")
def db_upgrade(url: str | None) -> None:
    """Bring the database schema up to date (safe to run again)."""
    from carebot.store.db import check_key, open_database, upgrade

    named = url is not None
    if url is None:
        # Only a database the operator named is made: the default, where no settings were found, is not.
        url = _settings_url()
    database = open_database(url, create=True, option=named)
    try:
        keyed = _refuse_another_key(database)
        upgrade(database.url)
        if keyed:
            check_key(database)  # recorded, so every later command knows the key
    finally:
        database.dispose()
    click.echo("The database schema is up to date.")


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


def _settings_url() -> str:
    """CAREBOT_DATABASE_URL; where it is not set and nothing is at its default, one line saying how to make it."""
    from carebot.tools.init import refuse_the_default_database

    settings = load_settings()
    refuse_the_default_database(settings)
    return settings.carebot_database_url


def _migrations(url: str | None):
    """The database --url names, else the settings' (each refusal names the one it was)."""
    from carebot.store.db import open_database

    return open_database(url, option=True) if url else open_database(_settings_url())


@db.command("current")
@click.option("--url", help="Database URL (default: CAREBOT_DATABASE_URL).")
def db_current(url: str | None) -> None:
    """Show the database's schema revision and the one this carebot needs."""
    from carebot.store.db import revisions, upgrade_command

    database = _migrations(url)
    try:
        current, head = revisions(database.engine)
    finally:
        database.dispose()
    click.echo(f"The database is at {current or 'no revision (empty)'}; this carebot needs {head}"
               + (" (up to date)." if current == head else f": run {upgrade_command(database.url, option=bool(url))}."))


@db.command("check")
@click.option("--url", help="Database URL (default: CAREBOT_DATABASE_URL).")
def db_check(url: str | None) -> None:
    """Exit 0 when the schema is the one this carebot needs, else say so (exit 7)."""
    from carebot.store.db import check_schema

    database = _migrations(url)
    try:
        check_schema(database.engine, option=bool(url))
    finally:
        database.dispose()
    click.echo("The database schema is up to date.")


# "-1" is a revision here (one step back), not an option: the help names it.
@db.command("downgrade", context_settings={"ignore_unknown_options": True})
@click.argument("revision")
@click.option("--url", help="Database URL (default: CAREBOT_DATABASE_URL).")
def db_downgrade(revision: str, url: str | None) -> None:
    """Take the schema back to REVISION (e.g. 0008, or -1 for one step); back up the database first."""
    from carebot.store.db import downgrade, revisions

    database = _migrations(url)
    try:
        _refuse_another_key(database)
        downgrade(database.url, revision)
        now_at = revisions(database.engine)[0]  # what -1 or base came to, said as a revision
    finally:
        database.dispose()
    click.echo(f"The database schema is back at {now_at or 'none (empty)'}.")


@main.group()
def key() -> None:
    """The secret key that encrypts phone numbers at rest (CAREBOT_SECRET_KEY)."""


@key.command("new")
def key_new() -> None:
    """Print a fresh random key for CAREBOT_SECRET_KEY (nothing is stored)."""
    from carebot.store.crypto import new_secret

    click.echo(new_secret())


@key.command("rotate")
@click.option("--new-key", envvar="CAREBOT_NEW_SECRET_KEY", required=True, show_envvar=True,
              help="The new key (default: CAREBOT_NEW_SECRET_KEY); the old one is CAREBOT_SECRET_KEY.")
def key_rotate(new_key: str) -> None:
    """Re-encrypt and re-hash every stored number with a new key, in one transaction."""
    from carebot.store.crypto import AlreadyRotated, Keyring, configure, require_key, rotate
    from carebot.store.db import check_schema, open_database

    # Not configured_database(): a second run finds the database under the new key, which is no refusal.
    old, new = require_key(), Keyring(new_key, named="The new key (--new-key or CAREBOT_NEW_SECRET_KEY)")
    db = open_database(_settings_url())
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
