"""The suite's databases: every test that asks for one runs on SQLite and again on PostgreSQL.

A test asks with the fixtures ``backend`` (session-wide: ``backend.url()``,
``backend.database()``), ``database_url`` (a fresh, empty database) or
``migrated_url`` (a fresh database at the migrations' head); ``sim`` in
conftest builds on them. Each such test runs as ``test[sqlite]`` and
``test[postgresql]``; pytest runs all the SQLite ones first.

PostgreSQL comes from CAREBOT_TEST_DATABASE_URL, else a private server made
with the installed PostgreSQL (tests/pgserver.py). When neither can be had the
``[postgresql]`` runs are skipped, and the header and the summary say so.
With CAREBOT_TEST_POSTGRES=required (``.ci/run`` sets it) they fail instead.
``--database sqlite`` or ``--database postgresql`` runs only one.
Each fresh database is a copy of a template (migrated once per session), so a
test costs a file copy, not a migration.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from carebot.store.db import Database, upgrade
from tests import pgserver

SQLITE, POSTGRESQL = "sqlite", "postgresql"
REQUIRED_ENV = "CAREBOT_TEST_POSTGRES"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--database", choices=("both", SQLITE, POSTGRESQL), default="both",
                     help="which databases the database tests run on (default: both)")


class Backend:
    """What both backends share: a fresh database for one test, dropped afterwards."""

    def url(self, *, migrated: bool = False) -> str:
        raise NotImplementedError

    def drop(self, url: str) -> None:
        raise NotImplementedError

    @contextlib.contextmanager
    def database(self, *, migrated: bool = True) -> Iterator[Database]:
        url = self.url(migrated=migrated)
        db = Database(url)
        try:
            yield db
        finally:
            db.dispose()
            self.drop(url)


class SQLiteBackend(Backend):
    """Fresh SQLite files in a session directory; migrated ones copied from a migrated template."""

    name = SQLITE

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._numbers = itertools.count(1)
        self._template: Path | None = None

    def url(self, *, migrated: bool = False) -> str:
        """The URL of a new database: empty, or at the migrations' head."""
        path = self.directory / f"db{next(self._numbers)}.sqlite"
        if migrated:
            if self._template is None:
                self._template = self.directory / "template.sqlite"
                upgrade(f"sqlite:///{self._template}")
            shutil.copyfile(self._template, path)
        return f"sqlite:///{path}"

    def drop(self, url: str) -> None:
        if make_url(url).database:
            Path(make_url(url).database).unlink(missing_ok=True)

    @contextlib.contextmanager
    def scratch(self) -> Iterator[Database]:
        """A database for one simulation: in memory, the fastest SQLite there is."""
        db = Database("sqlite://")
        try:
            yield db
        finally:
            db.dispose()

    def close(self) -> None:
        pass


class PostgresBackend(Backend):
    """Fresh databases on one PostgreSQL server, each made by CREATE DATABASE … TEMPLATE."""

    name = POSTGRESQL

    def __init__(self, server_url: str, private: pgserver.PrivateServer | None) -> None:
        self.server_url = make_url(server_url)
        self.private = private
        # Unique per run, so runs sharing a server (CAREBOT_TEST_DATABASE_URL) never meet.
        self.prefix = f"carebot_test_{os.getpid()}"
        self._numbers = itertools.count(1)
        self._admin: Engine = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        self._template: str | None = None
        self._made: set[str] = set()
        with self._admin.connect() as conn:
            self.version = conn.execute(text("SHOW server_version")).scalar()

    def _for(self, name: str) -> str:
        return self.server_url.set(database=name).render_as_string(hide_password=False)

    def _create(self, name: str, template: str) -> None:
        # FILE_COPY: for small databases far faster than the default WAL_LOG (PostgreSQL 15+).
        strategy = " STRATEGY FILE_COPY" if int(self.version.split(".")[0]) >= 15 else ""
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"{strategy}'))
        self._made.add(name)

    def url(self, *, migrated: bool = False) -> str:
        """The URL of a new database: empty, or at the migrations' head."""
        if migrated and self._template is None:
            template = f"{self.prefix}_template"
            self._create(template, "template0")
            upgrade(self._for(template))
            self._template = template
        name = f"{self.prefix}_{next(self._numbers)}"
        self._create(name, self._template if migrated else "template0")
        return self._for(name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with self._admin.connect() as conn:
            # FORCE: a test's processes or pools may still hold connections.
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._made.discard(name)

    def scratch(self) -> contextlib.AbstractContextManager[Database]:
        """A database for one simulation: a fresh migrated one."""
        return self.database()

    def close(self) -> None:
        for name in list(self._made):
            with contextlib.suppress(Exception):
                self.drop(self._for(name))
        self._admin.dispose()
        if self.private is not None:
            self.private.stop()


def _postgres_plan() -> str:
    """One line for the header: where PostgreSQL will come from, or why its runs are skipped."""
    url = os.environ.get(pgserver.ENV_URL, "").strip()
    if url:
        shown = make_url(url)
        return f"PostgreSQL: {pgserver.ENV_URL} ({shown.host or 'socket'}:{shown.port or 5432})"
    bindir = pgserver.find_bindir()
    if bindir is not None:
        return f"PostgreSQL: a private server from {bindir} on 127.0.0.1 (started for this run)"
    return (f"PostgreSQL: NOT AVAILABLE, the [postgresql] runs are SKIPPED (install postgresql "
            f"or set {pgserver.ENV_URL})")


def pytest_report_header(config: pytest.Config) -> str:
    if config.getoption("database") == SQLITE:
        return "databases: SQLite only (--database sqlite)"
    return _postgres_plan()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgresql: runs on PostgreSQL only (what SQLite cannot do)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("database")
        names = [SQLITE, POSTGRESQL] if chosen == "both" else [chosen]
        if metafunc.definition.get_closest_marker("postgresql"):
            names = [name for name in names if name == POSTGRESQL]
        metafunc.parametrize("backend", names, indirect=True, scope="session")


_state: dict[str, object] = {"postgresql_ran": 0, "postgresql_skipped": None}


@pytest.fixture(scope="session")
def _backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Backend]]:
    """Each backend made once in this process, when a test first asks for it, and closed at the end.

    ``backend`` is parametrized per test, and pytest tears a session fixture down whenever the next
    test wants another parameter: held here instead, the PostgreSQL server starts once per worker and
    each template is migrated once, whatever the order the tests come in (slow ones first: conftest).
    """
    made: dict[str, Backend] = {}
    yield made
    for backend in made.values():
        backend.close()


def _make(name: str, tmp_path_factory: pytest.TempPathFactory) -> Backend:
    if name == SQLITE:
        return SQLiteBackend(tmp_path_factory.mktemp("sqlite"))
    try:
        url, private = pgserver.server()
        try:
            return PostgresBackend(url, private)
        except Exception:
            if private is not None:
                private.stop()
            raise
    except Exception as error:
        _state["postgresql_skipped"] = f"PostgreSQL not available: {str(error).splitlines()[0]}"
        _unavailable()


def _unavailable() -> NoReturn:
    """PostgreSQL could not be had: this test is skipped, or fails when it is required."""
    reason = str(_state["postgresql_skipped"])
    if os.environ.get(REQUIRED_ENV) == "required":
        pytest.fail(f"{reason} ({REQUIRED_ENV}=required)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, _backends: dict[str, Backend]):
    """SQLite or PostgreSQL for the whole session (tests are grouped by it)."""
    if request.param not in _backends:
        if _state["postgresql_skipped"] and request.param == POSTGRESQL:
            _unavailable()  # tried once in this process; not again for every test
        _backends[request.param] = _make(request.param, tmp_path_factory)
    return _backends[request.param]


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], str]:
    """Copies a SQLite file at the migrations' head to a path, for tests that need a file of their own.

    Migrating a new SQLite file takes seconds; the template is migrated once in this process.
    """
    template = tmp_path_factory.mktemp("migrated") / "template.sqlite"

    def copy_to(path: Path) -> str:
        if not template.exists():
            upgrade(f"sqlite:///{template}")
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"

    return copy_to


@pytest.fixture
def database_url(backend) -> Iterator[str]:
    """A fresh, empty database for this test."""
    url = backend.url()
    yield url
    backend.drop(url)


@pytest.fixture
def migrated_url(backend) -> Iterator[str]:
    """A fresh database at the migrations' head, for this test."""
    url = backend.url(migrated=True)
    yield url
    backend.drop(url)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    callspec = getattr(item, "callspec", None)
    if (report.when == "call" and report.passed and callspec is not None
            and callspec.params.get("backend") == POSTGRESQL):
        _state["postgresql_ran"] += 1


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if config.getoption("database") == SQLITE:
        return
    if _state["postgresql_skipped"]:
        terminalreporter.write_line(f"PostgreSQL: the [postgresql] runs were SKIPPED ({_state['postgresql_skipped']})",
                                    yellow=True, bold=True)
    elif _state["postgresql_ran"]:
        terminalreporter.write_line(f"PostgreSQL: {_state['postgresql_ran']} tests passed on PostgreSQL")
