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
