"""The labelled corpus of members' texts, read by carebot.flows.understanding: the thresholds hold."""

from __future__ import annotations

from carebot.bench.understanding import load, report, score


def test_the_corpus_is_read_well_enough() -> None:
    result = score(load())
    misses = "\n".join(f"{file}: {text!r} {wrong}" for file, text, wrong in result.misses)
    summary = report(result) + "\n" + misses
    assert result.total >= 40, summary
    assert result.accuracy >= 0.97, summary
    assert result.crisis_recall == 1.0, summary
    assert result.false_alarm_rate <= 0.01, summary
