"""Rows inserted where a duplicate key adds nothing, with each row's new id (or None): the inbound queue's insert,
and the connection serve keeps open for it.

On SQLite, one short statement per row through the driver, inside the caller's
transaction (on serve's held connection, a transaction of the driver's own).
sqlite3 runs in the process, so a statement costs microseconds; SQLAlchemy's
work around one multi-row statement (building its VALUES for each batch size,
processing every parameter, reading RETURNING back into rows) cost more than
the insert itself, on the thread every webhook waits for (``python -m
carebot.bench webhook``); a row's new id is the driver's ``lastrowid``. The
values still go through the columns' own types (their bind processors): what
is stored is what SQLAlchemy would store, a UTC time in its text form, a
number encrypted. On PostgreSQL each statement is a round trip, so there it
stays one multi-row statement.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Connection, Dialect, Engine, Table
from sqlalchemy.exc import DBAPIError

from carebot.store.models.base import Base
from carebot.store.queries import DIALECT_INSERTS


@functools.cache
def _each_row(table: Table, columns: tuple[str, ...], keys: tuple[str, ...],
              dialect: Dialect) -> tuple[str, tuple[Callable[[Any], Any] | None, ...]]:
    """The plain statement for one row (SQLite's ``?`` parameters) and each column's bind processor, built once."""
    quote = dialect.identifier_preparer.quote
    statement = (f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, columns))}) "
                 f"VALUES ({', '.join('?' * len(columns))}) "
                 f"ON CONFLICT ({', '.join(map(quote, keys))}) DO NOTHING")
    return statement, tuple(table.c[name].type.bind_processor(dialect) for name in columns)


@functools.cache
def _one_statement(table: Table, keys: tuple[str, ...], dialect: str):
    """The multi-row insert (PostgreSQL), built once: building it costs more than running it."""
    return (DIALECT_INSERTS[dialect](table).on_conflict_do_nothing(index_elements=list(keys))
            .returning(*(table.c[key] for key in keys), table.c.id))


def insert_new(conn: Connection, model: type[Base], rows: Sequence[Mapping[str, Any]],
               keys: tuple[str, ...]) -> list[int | None]:
    """Insert ``rows`` (all with the same columns) into ``model``'s table in ``conn``'s transaction; each one's id,
    None where its ``keys`` are stored already or repeated earlier in ``rows`` (the first one is kept)."""
    table = cast(Table, model.__table__)  # a declarative model's table is a Table
    if not rows:
        return []
    if conn.dialect.name != "sqlite":
        added = {}
        for *key, row_id in conn.execute(_one_statement(table, keys, conn.dialect.name), list(rows)):
            added[tuple(key)] = row_id
        return [added.pop(tuple(row[key] for key in keys), None) for row in rows]
    return _each_insert(conn.connection.dbapi_connection, conn.dialect, table, rows, keys)


def _each_insert(dbapi_connection: Any, dialect: Dialect, table: Table, rows: Sequence[Mapping[str, Any]],
                 keys: tuple[str, ...]) -> list[int | None]:
    """SQLite: ``rows`` inserted one plain statement each through the driver, in the transaction it has open."""
    columns = tuple(rows[0])
    statement, processors = _each_row(table, columns, keys, dialect)
    bound = tuple(zip(columns, processors, strict=True))
    cursor = dbapi_connection.cursor()
    try:
        ids: list[int | None] = []
        for row in rows:
            # One comprehension a row: this runs on the thread every webhook waits for.
            values = [row[name] if process is None else process(row[name]) for name, process in bound]
            cursor.execute(statement, values)  # a row added, or none for a key stored already: no RETURNING to read
            ids.append(cursor.lastrowid if cursor.rowcount == 1 else None)
        return ids
    except dialect.loaded_dbapi.Error as error:
        raise _as_sqlalchemy(error, statement, dialect) from error
    finally:
        cursor.close()


def _as_sqlalchemy(error: Exception, statement: str, dialect: Dialect) -> DBAPIError:
    """The driver's error as SQLAlchemy raises it (``db.storage_trouble`` reads it), its parameters hidden."""
    return cast(DBAPIError, DBAPIError.instance(statement, None, error, dialect.loaded_dbapi.Error,
                                                hide_parameters=True, dialect=dialect))


class HeldConnection:
    """One connection kept open for a stream of short transactions: serve's webhooks storing their texts.

    Taking a connection from the pool and handing it back (with its reset)
    costs about a third of a webhook's transaction: on SQLite, one text a
    transaction, some 390 µs of CPU through the pool against 250 µs on a kept
    connection. So the webhook writer keeps one. On SQLite the transaction is
    the driver's own (``BEGIN IMMEDIATE``, then its commit): SQLAlchemy's
    bookkeeping around a transaction cost a quarter of a one-text insert
    (``python -m carebot.bench webhook``). A transaction that raises gives the
    connection back to the pool as lost, so it is never used again, and the
    next one takes a connection afresh; a lock lets only one transaction use
    it at a time, whoever calls.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None
        self._lock = threading.Lock()

    def insert_new(self, model: type[Base], rows: Sequence[Mapping[str, Any]],
                   keys: tuple[str, ...]) -> list[int | None]:
        """``insert_new`` in a transaction of its own on the held connection, committed before it returns."""
        with self._lock:
            if self._conn is None:
                self._conn = self._engine.connect()
            conn = self._conn
            try:
                if conn.dialect.name != "sqlite":
                    with conn.begin():
                        return insert_new(conn, model, rows, keys)
                return self._in_sqlite_transaction(conn, cast(Table, model.__table__), rows, keys)
            except BaseException:
                self._drop(lost=True)
                raise

    @staticmethod
    def _in_sqlite_transaction(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]],
                               keys: tuple[str, ...]) -> list[int | None]:
        driver: Any = conn.connection.dbapi_connection  # sqlite3's own connection, open while conn is
        try:
            driver.execute("BEGIN IMMEDIATE")  # the write lock at once: no deferred upgrade to wait on
            ids = _each_insert(driver, conn.dialect, table, rows, keys) if rows else []
            driver.commit()
        except conn.dialect.loaded_dbapi.Error as error:
            raise _as_sqlalchemy(error, "COMMIT", conn.dialect) from error
        return ids

    def close(self) -> None:
        with self._lock:
            self._drop(lost=False)

    def _drop(self, *, lost: bool) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            if lost:
                conn.invalidate()  # the pool makes a new one rather than reuse what failed
            conn.close()
