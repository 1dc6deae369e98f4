"""The round benchmark runs and counts what a round must write (a smoke run, not a timing)."""

from __future__ import annotations

from carebot.bench import round as bench_round


def test_round_benchmark_writes_one_text_per_member_who_should_be_asked(capsys, no_key) -> None:
    assert bench_round.main(["--members", "500", "--groups", "5", "--target", "600"]) == 0
    output = capsys.readouterr().out
    # 10% answered in the last day (skipped, and every STOP is among them): 450 asked.
    assert "texts written:      450" in output
    assert "ratio round / bare:" in output
