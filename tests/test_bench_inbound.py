"""The inbound benchmark runs end to end and prints its figures (a smoke run, not a timing)."""

from __future__ import annotations

import re

from carebot.bench import inbound


def test_inbound_benchmark_handles_every_answer_and_prints_its_figures(capsys, no_key) -> None:
    inbound.main(["--sizes", "20", "40", "--burst", "30", "--seconds", "1"])  # tiny: the targets are not judged here
    out = capsys.readouterr().out
    for size in (20, 40):
        # Every member's answer was handled and answered: one reply each, nothing left in the queue.
        assert re.search(rf"group of +{size}: +\d+ texts/s +\d+\.\d statements/text +{size} replies written, "
                         r"0 left waiting", out), out
    assert re.search(r"baseline, one insert \+ commit a text: \d+ texts/s", out)
    assert re.search(r"rate at 40 / at 20: \d+\.\d\d \(target >= 0.8\)", out)
    assert re.search(r"rush: 30 answers in 1 s, receipt to outbox row: p50 \d+ ms, p99 \d+ ms", out), out


def test_the_rush_spreads_its_answers_over_its_seconds() -> None:
    """Each member answers at a moment of their own, most early, the last by the end: a new random generator
    for each member once gave them all the same moment, and the "rush" was every answer at once. The moments
    are checked, not the store's sleeps: on a busy machine the store falls behind and rightly stops sleeping
    (CI once saw 12 sleeps for 60 answers)."""
    moments = inbound.arrival_moments(60, 1.0)
    assert len(moments) == 60
    assert moments == sorted(moments)
    assert len(set(moments)) >= 55  # a moment of their own, not one for all
    assert 0 <= moments[0] and moments[-1] <= 1.0
    assert sum(1 for m in moments if m < 1 / 3) > 30  # most in the first third
    assert moments[-1] > 0.5  # and some late in the second


def test_the_rush_lasts_its_seconds(tmp_path) -> None:
    """The store keeps to the moments: the last answers come at the end of the second, not all at once."""
    result = inbound.rush(f"sqlite:///{tmp_path / 'rush.sqlite'}", 60, 1.0)
    assert result["count"] == 60
    assert result["elapsed"] >= 0.9
