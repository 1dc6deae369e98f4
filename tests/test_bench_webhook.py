"""The webhook benchmark runs end to end and prints its figures (a smoke run, not a timing)."""

from __future__ import annotations

import re

from carebot.bench import webhook
from carebot.bench.webhook_endpoints import FloorWriter


def test_webhook_benchmark_runs_and_prints_every_phase(capsys, no_key) -> None:
    assert webhook.main(["--requests", "150", "--concurrency", "4"]) == 0  # it makes a throwaway key
    out = capsys.readouterr().out
    for phase in ("bare ASGI endpoint (max)", "durable floor (max)", "carebot serve (max)", "(half its max)"):
        line = next(line for line in out.splitlines() if phase in line)
        assert re.search(r"errors 0", line), line
    assert re.search(r"ratio carebot/bare \(max throughput\): \d+\.\d\d", out)
    assert re.search(r"ratio carebot/durable floor \(max throughput\): \d+\.\d\d \(target >= 0.8\); floor/bare: \d+\.\d\d", out)
    assert re.search(r"target \(0.8 of the floor, p99 < 50 ms, no error\): (met|NOT met)", out)
    assert re.search(r"target \(half the bare throughput with p99 < 50 ms\): (met|NOT met)", out)
    # Every text the phases stored was handled before the benchmark stopped watching.
    assert re.search(r"inbound worker: \d+ texts waiting when the load stopped; \d+ handled .*, 0 still waiting", out), out


def test_the_durable_floor_stores_each_text_once_and_durably(tmp_path) -> None:
    """The floor does the least a durable webhook must: every text kept, a retry kept once, fsynced."""
    floor = FloorWriter(str(tmp_path / "floor.sqlite"))
    floor.write([("SM1", "+15155550101", "hello"), ("SM2", "+15155550102", "hi")])
    floor.write([("SM2", "+15155550102", "hi"), ("SM3", "+15155550103", "hey")])
    assert floor.conn.execute("SELECT sid FROM texts ORDER BY sid").fetchall() == [("SM1",), ("SM2",), ("SM3",)]
    assert floor.conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL: each commit reaches the disk
    assert floor.conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
