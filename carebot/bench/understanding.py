"""``python -m carebot.bench understanding``: how well carebot reads the labelled corpus.

Loads every ``tests/language/corpus_*.yaml`` (or the files given), reads each text with
``carebot.flows.understanding.read`` and prints accuracy per intent, crisis recall, the false
crisis-alarm rate and the slowest parse. A text counts as right when every key of its
``expect`` matches (``how`` compared case-insensitively after trimming).
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml

from carebot.flows.understanding import read

CORPUS_DIR = Path(__file__).resolve().parents[2] / "tests" / "language"


class _Loader(yaml.SafeLoader):
    """YAML where only true/false are booleans: a member's "no", "yes", "y" or "off" stays text."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _first in "tTfF":
    _Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), [_first])


def load(paths: list[Path] | None = None) -> list[dict]:
    """Every corpus entry, each with the file it came from."""
    entries = []
    for path in paths or sorted(CORPUS_DIR.glob("corpus_*.yaml")):
        for entry in yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader) or []:
            entries.append({**entry, "_file": path.name})
    return entries


def _same(key: str, expected, got) -> bool:
    if key == "how":
        return (expected or "").strip().casefold() == (got or "").strip().casefold()
    if key == "options":
        return sorted(expected or []) == sorted(got or [])
    if key == "until" and expected is not None:
        return str(expected) == str(got)
    return expected == got


@dataclass
class Score:
    total: int = 0
    right: int = 0
    per_intent: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    crisis_total: int = 0
    crisis_found: int = 0
    calm_total: int = 0
    false_alarms: int = 0
    slowest: tuple[float, str] = (0.0, "")
    misses: list = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 1.0

    @property
    def crisis_recall(self) -> float:
        return self.crisis_found / self.crisis_total if self.crisis_total else 1.0

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.calm_total if self.calm_total else 0.0


def score(entries: list[dict]) -> Score:
    result = Score()
    # The first read loads dateparser's language data (a few hundred ms, once a process):
    # done here so the slowest parse measured is a member's text, not the loading.
    read("1 until friday", lang="en", tz="UTC", now=datetime(2026, 3, 2, 10))
    for entry in entries:
        expect = entry.get("expect") or {}
        now = datetime.fromisoformat(str(entry.get("now", "2026-03-02T10:00")))
        started = time.perf_counter()
        reading = read(str(entry["text"]), lang=entry.get("lang"), tz=entry.get("tz", "America/Chicago"), now=now)
        took = time.perf_counter() - started
        if took > result.slowest[0]:
            result.slowest = (took, str(entry["text"]))
        got = reading.as_dict()
        wrong = {k: (v, got.get(k)) for k, v in expect.items() if k in got and not _same(k, v, got.get(k))}
        intent = expect.get("intent", reading.intent)
        result.total += 1
        result.per_intent[intent][1] += 1
        if not wrong:
            result.right += 1
            result.per_intent[intent][0] += 1
        else:
            result.misses.append((entry["_file"], entry["text"], wrong))
        expected_crisis = expect.get("crisis", intent == "crisis")
        if expected_crisis:
            result.crisis_total += 1
            result.crisis_found += reading.crisis
        else:
            result.calm_total += 1
            result.false_alarms += reading.crisis
    return result


def report(result: Score) -> str:
    lines = [f"{'intent':<10} {'right':>6} {'texts':>6} {'accuracy':>9}"]
    for intent, (right, total) in sorted(result.per_intent.items()):
        lines.append(f"{intent:<10} {right:>6} {total:>6} {right / total:>9.1%}")
    lines += [
        f"overall accuracy   {result.accuracy:.1%} ({result.right}/{result.total})",
        f"crisis recall      {result.crisis_recall:.1%} ({result.crisis_found}/{result.crisis_total})",
        f"false crisis alarm {result.false_alarm_rate:.1%} ({result.false_alarms}/{result.calm_total})",
        f"slowest parse      {result.slowest[0] * 1000:.1f} ms ({result.slowest[1][:40]!r})",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    show_misses = "--misses" in argv
    paths = [Path(a) for a in argv if not a.startswith("--")] or None
    result = score(load(paths))
    print(report(result))
    if show_misses:
        for file, text, wrong in result.misses:
            print(f"MISS {file}: {text!r} {wrong}")
    return 0
