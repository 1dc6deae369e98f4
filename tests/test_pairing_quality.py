"""The pairing engine against the exact optimum, and the benchmark itself."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

import pytest

from carebot.bench.pairing import HARD, NOW, exact, main, synthetic_state, violations
from carebot.domain.pairing import Offer, PairingState, Request, blocked, last_paired, propose, score
from carebot.domain.vocabulary import I_CAN_REACH_OUT, REACH_OUT_TO_ME


@pytest.mark.parametrize("mix", [{}, HARD], ids=["usual mix", "hard mix"])
@pytest.mark.parametrize("seed", range(3))
def test_at_least_98_percent_of_the_optimum(mix, seed):
    s = synthetic_state(300, groups=1, seed=seed, **mix)
    proposal = propose(s, seed=seed)
    best, best_count = exact(s)
    assert violations(s, proposal) == []
    assert best > 0
    assert proposal.total_score >= 0.98 * best
    assert len(proposal.pairs) >= best_count


def brute_force(s: PairingState) -> float:
    """The best total score by trying every assignment (tiny states only)."""
    options = []
    for r in s.requests:
        options.append([None] + [
            o for o in s.offers
            if o.group_id == r.group_id and o.member_id not in s.resting
            and not blocked(s, r.member_id, o.member_id)
        ])
    best = 0.0
    for choice in itertools.product(*options):
        taken: dict[int, int] = {}
        total = 0.0
        for r, o in zip(s.requests, choice, strict=True):
            if o is None:
                continue
            load = o.load + taken.get(id(o), 0)
            if load >= o.capacity:
                break
            taken[id(o)] = taken.get(id(o), 0) + 1
            total += score(r, o, load=load, last=last_paired(s, r.member_id, o.member_id),
                           now=s.now)
        else:
            best = max(best, total)
    return best


@pytest.mark.parametrize("seed", range(20))
def test_exact_is_the_optimum(seed):
    """The benchmark's optimum, checked by trying every assignment of a tiny state."""
    rng = random.Random(seed)
    requests = tuple(
        Request(m, 1, REACH_OUT_TO_ME, rng.choice("ab"), NOW - timedelta(days=rng.randrange(40)))
        for m in range(1, 6)
    )
    offers = tuple(
        Offer(m, 1, I_CAN_REACH_OUT, rng.randint(1, 2), rng.choice("ab"), rng.randint(0, 1))
        for m in range(4, 8)
    )
    s = PairingState(
        requests, offers, NOW,
        resting=frozenset({rng.randrange(1, 8)}),
        recent={(rng.randrange(1, 6), rng.randrange(4, 8)): NOW - timedelta(days=rng.randrange(60))
                for _ in range(3)},
        not_with=frozenset({(rng.randrange(1, 8), rng.randrange(1, 8))}),
    )
    best, _ = exact(s)
    assert best == pytest.approx(brute_force(s))
    assert propose(s).total_score <= best + 1e-9


def test_the_benchmark_runs(capsys):
    code = main([
        "--members", "2000", "--groups", "4", "--quality-members", "300",
        "--quality-groups", "1", "--quality-seeds", "1", "--repeat", "1",
    ])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "engine / trivial greedy" in out
    assert "quality, usual mix" in out and "quality, hard mix" in out
