"""Rows inserted where a duplicate key adds nothing, with each row's new id (or None): the inbound queue's insert,
and the connection serve keeps open for it.

On SQLite, one short statement per row through the driver, inside the caller's
transaction. sqlite3 runs in the process, so a statement costs microseconds;
SQLAlchemy's work around one multi-row statement (building its VALUES for each
batch size, processing every parameter, reading RETURNING back into rows) cost
more than the insert itself, on the thread every webhook waits for
(``python -m carebot.bench webhook``). The values still go through the columns'
own types (their bind processors): what is stored is what SQLAlchemy would
store, a UTC time in its text form, a number encrypted. On PostgreSQL each
statement is a round trip, so there it stays one multi-row statement.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
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
                 f"ON CONFLICT ({', '.join(map(quote, keys))}) DO NOTHING RETURNING id")
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
    columns = tuple(rows[0])
    statement, processors = _each_row(table, columns, keys, conn.dialect)
    cursor = conn.connection.cursor()
    try:
        ids: list[int | None] = []
        for row in rows:
            values = tuple(value if process is None else process(value)
                           for process, value in zip(processors, (row[name] for name in columns), strict=True))
            cursor.execute(statement, values)
            found = cursor.fetchone()
            ids.append(None if found is None else found[0])
        return ids
    except conn.dialect.loaded_dbapi.Error as error:  # as SQLAlchemy raises it: db.storage_trouble reads it
        raise DBAPIError.instance(statement, None, error, conn.dialect.loaded_dbapi.Error,
                                  hide_parameters=True, dialect=conn.dialect) from error
    finally:
        cursor.close()


class HeldConnection:
    """One connection kept open for a stream of short transactions: serve's webhooks storing their texts.

    Taking a connection from the pool and handing it back (with its reset)
    costs about a third of a webhook's transaction: on SQLite, one text a
    transaction, some 390 µs of CPU through the pool against 250 µs on a kept
    connection. So the webhook writer keeps one. A transaction that raises gives it back to the pool
    (which drops a connection that was lost, so it is never used again) and the
    next one takes a connection afresh; a lock lets only one transaction use it
    at a time, whoever calls.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None
        self._lock = threading.Lock()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction on the held connection, committed when the block ends, rolled back if it raises."""
        with self._lock:
            if self._conn is None:
                self._conn = self._engine.connect()
            try:
                with self._conn.begin():
                    yield self._conn
            except BaseException:
                self._drop()
                raise

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
