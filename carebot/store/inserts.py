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
from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Connection, Dialect, Engine, Table
from sqlalchemy.exc import DBAPIError

from carebot.store.queries import DIALECT_INSERTS


class RowInsert:
    """One table's insert of rows with the same columns, where a duplicate key adds nothing; built once
    (``row_insert``).

    In two steps, so that they can run on two threads: ``prepare(row)`` makes
    a row ready to insert, and ``run`` inserts rows made ready, in the
    caller's transaction. On SQLite, ready means each value through its
    column's own type (its bind processor: a number encrypted, a time in
    SQLAlchemy's text form), so ``run`` is one plain statement a row through
    the driver; serve's webhooks make their texts' rows ready on the event
    loop, while the thread that stores them is in its last commit's disk
    flush, and that thread only runs statements. On PostgreSQL a row stays as
    it is and ``run`` is one multi-row statement (each statement is a round
    trip there; SQLAlchemy processes the values).
    """

    def __init__(self, table: Table, columns: tuple[str, ...], keys: tuple[str, ...], dialect: Dialect) -> None:
        self.table, self.keys, self.dialect = table, keys, dialect
        self.plain = dialect.name == "sqlite"
        quote = dialect.identifier_preparer.quote
        self.statement = (f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, columns))}) "
                          f"VALUES ({', '.join('?' * len(columns))}) "
                          f"ON CONFLICT ({', '.join(map(quote, keys))}) DO NOTHING")
        self._bound = tuple((name, table.c[name].type.bind_processor(dialect)) for name in columns)

    def prepare(self, row: Mapping[str, Any]) -> Any:
        """``row`` ready for ``run`` (its values in the columns' order, each through its type, on SQLite)."""
        if not self.plain:
            return row
        return [row[name] if process is None else process(row[name]) for name, process in self._bound]

    def run(self, conn: Connection, prepared: Sequence[Any]) -> list[int | None]:
        """Insert the ``prepared`` rows in ``conn``'s transaction; each one's id, None where its keys are stored
        already or repeated earlier in ``prepared`` (the first one is kept)."""
        if not prepared:
            return []
        if self.plain:
            return self.run_plain(conn.connection.dbapi_connection, prepared)
        added = {}
        for *key, row_id in conn.execute(_one_statement(self.table, self.keys, self.dialect.name), list(prepared)):
            added[tuple(key)] = row_id
        return [added.pop(tuple(row[key] for key in self.keys), None) for row in prepared]

    def run_plain(self, dbapi_connection: Any, prepared: Sequence[Any]) -> list[int | None]:
        """SQLite: each prepared row one statement through the driver, in the transaction it has open."""
        cursor = dbapi_connection.cursor()
        try:
            ids: list[int | None] = []
            for values in prepared:
                cursor.execute(self.statement, values)  # a row added, or none for a key stored already
                ids.append(cursor.lastrowid if cursor.rowcount == 1 else None)
            return ids
        except self.dialect.loaded_dbapi.Error as error:
            raise _as_sqlalchemy(error, self.statement, self.dialect) from error
        finally:
            cursor.close()


@functools.cache
def row_insert(table: Table, columns: tuple[str, ...], keys: tuple[str, ...], dialect: Dialect) -> RowInsert:
    """The insert of ``columns`` into ``table`` with ``keys`` as its duplicate key, built once."""
    return RowInsert(table, columns, keys, dialect)


@functools.cache
def _one_statement(table: Table, keys: tuple[str, ...], dialect: str):
    """The multi-row insert (PostgreSQL), built once: building it costs more than running it."""
    return (DIALECT_INSERTS[dialect](table).on_conflict_do_nothing(index_elements=list(keys))
            .returning(*(table.c[key] for key in keys), table.c.id))


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

    def insert_prepared(self, insert: RowInsert, prepared: Sequence[Any]) -> list[int | None]:
        """``insert.run`` in a transaction of its own on the held connection, committed before it returns."""
        with self._lock:
            if self._conn is None:
                self._conn = self._engine.connect()
            conn = self._conn
            try:
                if not insert.plain:
                    with conn.begin():
                        return insert.run(conn, prepared)
                return self._in_sqlite_transaction(conn, insert, prepared)
            except BaseException:
                self._drop(lost=True)
                raise

    @staticmethod
    def _in_sqlite_transaction(conn: Connection, insert: RowInsert, prepared: Sequence[Any]) -> list[int | None]:
        driver: Any = conn.connection.dbapi_connection  # sqlite3's own connection, open while conn is
        try:
            driver.execute("BEGIN IMMEDIATE")  # the write lock at once: no deferred upgrade to wait on
            ids = insert.run_plain(driver, prepared) if prepared else []
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
