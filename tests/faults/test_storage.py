"""Case 4 of issue 15: a full disk or a read-only database is the database being away, not the text's fault.

A text stored before the disk filled up must wait, never be given up after
five quick failures, and be handled once there is room again; ``/healthz``
says 503 while no webhook could be stored. SQLite runs on a small tmpfs
mounted for the test (skipped, with the reason, where the machine does not
allow a mount); PostgreSQL's database is set read-only for the second case.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select, text

from carebot.dispatch.dispatcher import MAX_INBOUND_ATTEMPTS, Dispatcher
from carebot.store.models import InboundMessage
from tests.fakes.world import NOW, make_db
from tests.helpers import NEWCOMER, app_for, inbound_form

SIZE = "8m"


@contextlib.contextmanager
def tmpfs(path: Path):
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a {SIZE} tmpfs here to fill a disk ({done.stderr.strip() or 'not root'})")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(directory: Path) -> Path:
    """Write a file until the disk has no room left; the file, to delete to make room again."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as out:
        for size in (1 << 20, 4096, 1):  # big writes, then smaller, until not one byte fits
            with contextlib.suppress(OSError):
                while True:
                    out.write(b"\0" * size)
    return filler


def health(db) -> tuple[int, dict]:
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app_for(db)), base_url="http://t") as client:
            return await client.get("/healthz")

    answer = asyncio.run(go())
    return answer.status_code, answer.json()


def stored(db) -> InboundMessage:
    with db.transaction() as session:
        return session.scalars(select(InboundMessage)).one()


def try_hard(dispatcher) -> int:
    """The inbound worker's passes, more than enough to give a text up; how many raised."""
    raised = 0
    for _ in range(MAX_INBOUND_ATTEMPTS + 2):
        try:
            dispatcher.process_pending()
        except Exception:  # the worker logs the failed pass and tries again
            raised += 1
    return raised


@pytest.mark.parametrize("trouble", ["disk full", "read-only"])
def test_sqlite_full_or_read_only_keeps_the_text_and_healthz_says_503(tmp_path, trouble):
    with tmpfs(tmp_path / "disk") as disk:
        url = f"sqlite:///{disk}/carebot.sqlite"
        db = make_db(url)
        try:
            dispatcher = Dispatcher(db)
            assert dispatcher.store_inbound(inbound_form_message()) is not None
            if trouble == "disk full":
                filler = fill(disk)
            else:
                db.engine.dispose()  # a filesystem with files open for writing cannot be made read-only
                subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
            raised = try_hard(dispatcher)
            status, answer = health(db)
            if trouble == "disk full":
                filler.unlink()
            else:
                db.engine.dispose()
                subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
            row = stored(db)
            print(f"SQLite {trouble}: {MAX_INBOUND_ATTEMPTS + 2} passes, {raised} raised; text attempts "
                  f"{row.attempts}, handled {row.handled_at is not None}; /healthz {status} {answer}")
            assert (row.handled_at, row.attempts) == (None, 0), "the text was counted against or given up"
            assert status == 503 and answer["database"] == trouble
            assert dispatcher.process_pending() == 1
            assert stored(db).handled_at is not None
            assert health(db)[0] == 200
        finally:
            db.dispose()


def inbound_form_message():
    from carebot.channels.twilio import parse_inbound

    return parse_inbound(inbound_form(sender=NEWCOMER), NOW)


@pytest.mark.postgresql
def test_postgresql_read_only_keeps_the_text_and_healthz_says_503(migrated_url):
    db = make_db(migrated_url)
    name = db.engine.url.database
    admin = create_engine(migrated_url, isolation_level="AUTOCOMMIT")
    try:
        dispatcher = Dispatcher(db)
        assert dispatcher.store_inbound(inbound_form_message()) is not None
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
        db.engine.dispose()  # new connections take the setting
        raised = try_hard(dispatcher)
        status, answer = health(db)
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = off'))
        db.engine.dispose()
        row = stored(db)
        print(f"PostgreSQL read-only: {raised} passes raised; text attempts {row.attempts}; /healthz {status} {answer}")
        assert (row.handled_at, row.attempts) == (None, 0)
        assert status == 503 and answer["database"] == "read-only"
        assert dispatcher.process_pending() == 1
    finally:
        admin.dispose()
        db.dispose()
