"""Shared fixtures: a fresh simulated carebot for each test."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from carebot.transcript import Simulation, run_lines

TRANSCRIPTS = Path(__file__).parent / "transcripts"


@pytest.fixture
def sim() -> Simulation:
    simulation = Simulation()
    yield simulation
    simulation.db.dispose()


def run_transcript(text: str) -> None:
    """Run transcript lines and fail the test with the runner's own message."""
    failure = asyncio.run(run_lines(text.strip().splitlines()))
    if failure is not None:
        pytest.fail(str(failure), pytrace=False)
