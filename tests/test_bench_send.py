"""The sender benchmark runs and sends every text of the round (a smoke run, not a timing)."""

from __future__ import annotations

import re

from carebot.bench import send


def test_send_benchmark_sends_the_whole_round_and_prints_its_figures(capsys, no_key) -> None:
    send.main(["--members", "300", "--groups", "3", "--target", "0"])
    output = capsys.readouterr().out
    # 10% answered in the last day (skipped, and every STOP is among them): 270 asked, all by day.
    assert "texts sent:        270" in output
    assert re.search(r"carebot's sender: +[\d,]+ texts/s", output)
    assert re.search(r"ratio sender / bare: \d+\.\dx", output)


def test_the_benchmarks_name_themselves_without_a_traceback(capsys, monkeypatch):
    from carebot.bench.__main__ import main

    monkeypatch.setattr("sys.argv", ["carebot.bench", "--help"])
    assert main() == 0
    assert "send" in capsys.readouterr().out
    monkeypatch.setattr("sys.argv", ["carebot.bench", "sendd"])
    assert main() == 2
    assert "no benchmark 'sendd'" in capsys.readouterr().err
