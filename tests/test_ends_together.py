"""Pairings that end together (a supporter carrying several people takes a rest) are looked at together:
the planner looks at the group once for all of them, and what each requester hears is true of all."""

from __future__ import annotations

from carebot.services import planner
from tests.helpers import TRANSCRIPTS, run, texts_to

LINES = [line for line in (TRANSCRIPTS / "m4_several_end_at_once.txt").read_text(encoding="utf-8").splitlines()
         if line.strip() and not line.startswith("#")]
REST = LINES.index("+15155550104 > 3 2w")


def test_one_look_at_the_group_for_three_pairings_ending_at_once(sim, monkeypatch) -> None:
    run(sim, *[line for line in LINES[:REST] if " > " in line or not line.startswith(("+", "quiet"))])
    looks, plans = [], []
    look, plan = planner._look, planner.plan_group
    monkeypatch.setattr(planner, "_look", lambda *args: looks.append(args[1].keyword) or look(*args))
    monkeypatch.setattr(planner, "plan_group", lambda *args: plans.append(args[1].keyword) or plan(*args))
    run(sim, LINES[REST])
    # One look for the three ends together; the planner's own tick (one look a run) comes after.
    assert looks == ["DMMA"] * (1 + len(plans))
    told = [texts_to(sim, phone)[-1] for phone in ("+15155550101", "+15155550102", "+15155550103")]
    assert ["I'll ask someone else" in text for text in told] == [False, True, False]
    assert all(text.startswith("Your pairing with Kai has ended.") for text in told)  # never why (members6)

