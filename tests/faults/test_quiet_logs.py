"""Case 5 of issue 15: no message body, ciphertext or address hash in any log, whatever fails.

SQLAlchemy puts a statement's parameters in its errors' text, and a traceback
log (``log.exception``) prints that text: an outbox body, a ciphertext. Every
engine carebot makes hides the parameters, and the loops that must survive any
error (the sender, the ticker, Signal's receiver) log where it failed, never
the error's text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from carebot.runtime.serve import run_sender
from carebot.store.db import make_engine
from carebot.store.lease import Lease
from tests.helpers import wait_until

BODY = "I can't stop crying, please call me tonight"


def test_every_engine_hides_statement_parameters(migrated_url):
    engines = [make_engine(migrated_url)]
    lease = Lease(migrated_url)
    lease.hold()
    if lease._conn is not None:
        engines.append(lease._conn.engine)
    try:
        for engine in engines:
            with engine.connect() as conn, pytest.raises(Exception) as raised:
                conn.execute(text("INSERT INTO no_such_table (body) VALUES (:body)"), {"body": BODY})
            print(f"{engine.url.get_backend_name()} error text: {str(raised.value)[:160]!r}")
            assert BODY not in str(raised.value)
    finally:
        lease.release()
        engines[0].dispose()


def test_a_failed_sender_pass_logs_where_not_what(caplog):
    """The ticker's and the sender's loops meet a long lock: the log names the error, not its SQL parameters."""
    tries: list[int] = []

    async def locked(*args, **kwargs):
        tries.append(1)
        raise OperationalError("UPDATE outbox SET body=?", {"body": BODY, "address": "gAAAAAB-cipher"},
                               Exception("database is locked"))

    async def one_pass():
        wake = asyncio.Event()
        task = asyncio.create_task(run_sender(None, {}, wake, idle=0.01, in_db=locked))
        await wait_until(lambda: len(tries) >= 2, "a failed pass, logged, and the next one")
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    with caplog.at_level(logging.DEBUG):
        asyncio.run(one_pass())
    logged = "\n".join(record.getMessage() + str(record.exc_info or "") + str(record.exc_text or "")
                       for record in caplog.records)
    print(f"the sender's log after a failed pass: {logged[:200]!r}")
    assert "sender pass failed" in logged
    assert BODY not in logged and "cipher" not in logged
    assert all(record.exc_info is None for record in caplog.records), "a traceback log"
