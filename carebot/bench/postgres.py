"""A throwaway PostgreSQL database for a benchmark run, next to SQLite's.

The benchmarks take ``--postgresql URL`` (or CAREBOT_BENCH_POSTGRESQL_URL): a
server URL whose role may create databases. Each run makes its own database
there and drops it afterwards, so a benchmark never touches a real one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import create_engine, make_url, text

from carebot.store.db import normalize_url

ENV = "CAREBOT_BENCH_POSTGRESQL_URL"
NOT_MEASURED = f"(PostgreSQL not measured: give --postgresql URL or ${ENV})"
T = TypeVar("T")


def add_option(parser) -> None:
    parser.add_argument("--postgresql", metavar="URL", default=os.environ.get(ENV) or None,
                        help="also run on PostgreSQL: a server URL whose role may create databases "
                             f"(a throwaway database is made and dropped); default ${ENV}")


@contextmanager
def throwaway_database(server_url: str, name: str) -> Iterator[str]:
    """The URL of a new, empty database ``name`` on the server; dropped when the block ends."""
    server = make_url(normalize_url(server_url))
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    database = f"{name}_{os.getpid()}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{database}"'))
        yield server.set(database=database).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


def on_each(measure: Callable[[str], T], name: str, postgresql: str | None) -> dict[str, T]:
    """``measure(url)`` on a fresh SQLite file, then on a throwaway PostgreSQL database if asked."""
    results = {}
    with tempfile.TemporaryDirectory(prefix="carebot-bench-") as folder:
        results["SQLite"] = measure(f"sqlite:///{Path(folder) / f'{name}.sqlite'}")
    if postgresql:
        with throwaway_database(postgresql, f"carebot_bench_{name}") as url:
            results["PostgreSQL"] = measure(url)
    return results
