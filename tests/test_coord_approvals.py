"""Approvals, ROUND and ANNOUNCE that two busy coordinators can't trip over (outside9), on PostgreSQL too.

An outside tester's transcripts run on SQLite only (tests/conftest.py: they are about wording); these
also read the store in ways of their own (an approval's lapse found by the ticker's due query, an
announcement's keyed hash in the log), so they run on both databases.
"""

from __future__ import annotations

import asyncio

import pytest

from carebot.tools.transcript import run_lines
from tests.databases import SQLITE
from tests.helpers import TRANSCRIPTS

COORDINATORS_AT_ONCE = sorted(path.name for path in TRANSCRIPTS.glob("outside9_coord_*.txt"))


def test_the_outside_testers_findings_have_transcripts() -> None:
    assert len(COORDINATORS_AT_ONCE) >= 4, COORDINATORS_AT_ONCE


@pytest.mark.parametrize("name", COORDINATORS_AT_ONCE)
def test_on_this_database(name: str, backend, request: pytest.FixtureRequest) -> None:
    if backend.name == SQLITE:
        pytest.skip("tests/test_transcripts.py runs it on SQLite")
    path = TRANSCRIPTS / name
    sim = request.getfixturevalue("sim")
    failure = asyncio.run(run_lines(path.read_text(encoding="utf-8").splitlines(), str(path), sim))
    assert failure is None, str(failure)
