"""The conversation invariants checker (tests/invariants.py) on each database.

Each seed is a 40-member group over eight weeks through the real dispatcher, outbox and
scheduler. On this project's CI machine one seed takes 10-30 s, so the normal run checks
two seeds on each database; CAREBOT_INVARIANT_SEEDS=20 runs the twenty the issue asks for.
A seed that ever fails is kept in REGRESSIONS with what it found.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from carebot.tools.transcript import Simulation
from tests.invariants import simulate

SEEDS = [s for s in range(1, int(os.environ.get("CAREBOT_INVARIANT_SEEDS", "2")) + 1) if s != 4]
# Seeds that once broke an invariant (seed: what it found); an xfail one is not fixed yet.
REGRESSIONS = {
    # A request whose only supporter was busy with other offers, one after another, was neither
    # offered nor told it waits (transcript pairing_waiting_busy_supporter.txt).
    4: pytest.param(4, id="4-busy-supporter"),
}


@pytest.mark.parametrize("seed", SEEDS + list(REGRESSIONS.values()))
def test_invariants_hold(seed: int, sim: Simulation) -> None:
    world = asyncio.run(simulate(seed, sim))
    # The simulation really exercised the care: people asked, offered and answered.
    assert world.steps >= 20
    assert any("asked for someone" in d.text or "would like company" in d.text for d in sim.network.delivered)
