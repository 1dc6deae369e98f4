"""Alembic environment: runs carebot's migrations against the configured database.

``carebot db …`` passes its URL; Alembic's own command line (migrations/alembic.ini)
uses CAREBOT_DATABASE_URL, found as every carebot command finds it.
"""

from alembic import context

from carebot.store.db import make_engine, no_rows_lost, normalize_url
from carebot.store.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from carebot.domain.config import load_settings

        url = load_settings().carebot_database_url
        _refuse_a_database_that_is_not_there(url)
    return normalize_url(url)


def _refuse_a_database_that_is_not_there(url: str) -> None:
    """Alembic's own command line, run where there is no database (the checkout, not where the settings
    are), made an empty SQLite file there: as every carebot command, it says so in one line instead;
    only ``upgrade`` makes one, as ``carebot db upgrade`` does."""
    from carebot.store.db import DatabaseProblem, open_database

    command = getattr(config.cmd_opts, "cmd", None)
    try:
        open_database(url, create=bool(command) and command[0].__name__ == "upgrade").dispose()
    except DatabaseProblem as problem:
        raise SystemExit(str(problem)) from None


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        # carebot's own engine (SQLite's pragmas, PostgreSQL's timeout), disposed at once. Its pool is
        # kept: swapping it for a NullPool dropped the first-connect set-up of the dialect, and
        # Alembic's check and autogenerate then failed on PostgreSQL.
        engine = make_engine(_url(), migrating=True)
        try:
            with engine.connect() as connection:
                _run(connection)
        finally:
            engine.dispose()
    else:
        _run(connectable)


def _run(connection) -> None:
    # Batch mode lets later migrations alter tables on SQLite too.
    if connection.dialect.name == "sqlite":
        # Each migration one real transaction, its foreign keys checked before it commits (the
        # connection comes from make_engine(migrating=True): foreign keys off, pysqlite's own
        # transaction handling off): a migration cut short by Ctrl-C or kill -9 is not there at all,
        # and `db upgrade` runs it again. PostgreSQL runs the whole upgrade in one transaction.
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                          transactional_ddl=True, transaction_per_migration=True,
                          on_version_apply=[no_rows_lost(connection)])
    else:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
