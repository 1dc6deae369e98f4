"""Benchmark of the pairing engine: speed on a federation, quality against the optimum.

``python -m carebot.bench pairing`` builds a synthetic federation (25,000
members in 50 groups by default), times :func:`carebot.domain.pairing.propose` on it
next to a trivial greedy on the same machine, and compares the engine's total
score with the exact optimum (scipy's ``linear_sum_assignment``) on smaller
federations, and on the full one too (about a second: every group and kind is
solved on its own). Machines are shared and noisy, so the figures that matter are the
ratios measured in the same run. Exits 1 when quality falls below 98%.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import TypedDict

from carebot.domain.pairing import (
    BASE,
    SERVED_BY,
    Offer,
    PairingState,
    Proposal,
    Request,
    blocked,
    last_paired,
    propose,
    score,
)
from carebot.domain.vocabulary import CAN_KEEP_COMPANY, I_CAN_REACH_OUT, REACH_OUT_TO_ME, WANT_COMPANY

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
QUALITY_TARGET = 0.98


def synthetic_state(
    members: int,
    *,
    groups: int,
    seed: int = 0,
    now: datetime = NOW,
    supply: float = 1.0,
    not_with: float = 0.01,
    recent: float = 0.15,
    declined: float = 0.03,
) -> PairingState:
    """A federation with a realistic mix of go-around answers.

    Groups differ in how many offer support (some are short of supporters) and
    in how many speak Spanish. About 12% rest (a fifth of them with an old
    offer still standing), requests and offers are drawn independently so some
    members both ask and offer, capacities are 1-3 and some supporters already
    carry pairings. ``supply`` scales how many offer; ``not_with`` is the share
    of members with a "not with" entry, ``recent`` and ``declined`` the shares
    of requests with a recent pairing or a decline.
    """
    rng = random.Random(seed)
    supplies = [supply * rng.uniform(0.4, 1.4) for _ in range(groups)]
    spanish = [rng.uniform(0.05, 0.5) for _ in range(groups)]
    roster: dict[int, list[int]] = defaultdict(list)
    requests: list[Request] = []
    offers: list[Offer] = []
    resting: set[int] = set()

    def since() -> datetime:
        return now - timedelta(minutes=rng.randrange(8 * 7 * 24 * 60))

    def offer(member: int, group: int, kind: int, language: str) -> None:
        capacity = rng.choice((1, 1, 2, 2, 3))
        load = rng.randint(0, capacity) if rng.random() < 0.3 else 0
        offers.append(Offer(member, group, kind, capacity, language, load))

    for member in range(1, members + 1):
        group = rng.randrange(groups)
        roster[group].append(member)
        language = "es" if rng.random() < spanish[group] else "en"
        f = supplies[group]
        if rng.random() < 0.12:
            resting.add(member)
            if rng.random() < 0.2:
                offer(member, group, rng.choice((I_CAN_REACH_OUT, CAN_KEEP_COMPANY)), language)
            if rng.random() < 0.3:
                requests.append(Request(member, group, REACH_OUT_TO_ME, language, since()))
            continue
        if rng.random() < 0.15:
            requests.append(Request(member, group, REACH_OUT_TO_ME, language, since()))
        if rng.random() < 0.10:
            requests.append(Request(member, group, WANT_COMPANY, language, since()))
        if rng.random() < 0.16 * f:
            offer(member, group, I_CAN_REACH_OUT, language)
        if rng.random() < 0.11 * f:
            offer(member, group, CAN_KEEP_COMPANY, language)

    supporters: dict[tuple[int, int], list[int]] = defaultdict(list)
    for o in offers:
        supporters[(o.group_id, o.kind)].append(o.member_id)
    recents: dict[tuple[int, int], datetime] = {}
    declines: set[tuple[int, int]] = set()
    for r in requests:
        pool = supporters.get((r.group_id, SERVED_BY[r.kind]))
        if not pool:
            continue
        if rng.random() < recent:
            recents[(r.member_id, rng.choice(pool))] = now - timedelta(
                hours=rng.randrange(12 * 7 * 24)
            )
        if rng.random() < declined:
            declines.add((r.member_id, rng.choice(pool)))
    apart: set[tuple[int, int]] = set()
    for people in roster.values():
        for member in people:
            if rng.random() < not_with:
                apart.add((member, rng.choice(people)))
    return PairingState(
        requests=tuple(requests),
        offers=tuple(offers),
        now=now,
        resting=frozenset(resting),
        recent=recents,
        declined=frozenset(declines),
        not_with=frozenset(apart),
    )


def _parts(state: PairingState) -> Iterable[tuple[list[Request], list[Offer]]]:
    offers: dict[tuple[int, int], list[Offer]] = defaultdict(list)
    for o in state.offers:
        if o.member_id not in state.resting:
            offers[(o.group_id, o.kind)].append(o)
    requests: dict[tuple[int, int], list[Request]] = defaultdict(list)
    for r in state.requests:
        requests[(r.group_id, SERVED_BY[r.kind])].append(r)
    for key in sorted(requests):
        yield requests[key], offers.get(key, [])


def _total(state: PairingState, chosen: Iterable[tuple[Request, Offer]]) -> tuple[float, int]:
    """Total score of an assignment, each offer's slots filled in turn."""
    taken: dict[int, int] = defaultdict(int)
    total, count = 0.0, 0
    for r, o in chosen:
        last = last_paired(state, r.member_id, o.member_id)
        total += score(r, o, load=o.load + taken[id(o)], last=last, now=state.now)
        taken[id(o)] += 1
        count += 1
    return total, count


def exact(state: PairingState) -> tuple[float, int]:
    """The optimum total score and its number of pairs, by linear_sum_assignment.

    Each supporter becomes one column per free slot, scored at that slot's
    load; a forbidden pair scores 0, which means "not paired" since every
    valid pair scores more. Groups and kinds are independent, so each is
    solved on its own (the same optimum as one block-diagonal matrix).
    """
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    total, count = 0.0, 0
    for requests, offers in _parts(state):
        slots = [(o, load) for o in offers for load in range(o.load, o.capacity)]
        if not slots:
            continue
        matrix = np.zeros((len(requests), len(slots)))
        for i, r in enumerate(requests):
            for j, (o, load) in enumerate(slots):
                if not blocked(state, r.member_id, o.member_id):
                    last = last_paired(state, r.member_id, o.member_id)
                    matrix[i, j] = score(r, o, load=load, last=last, now=state.now)
        rows, cols = linear_sum_assignment(matrix, maximize=True)
        picked = matrix[rows, cols]
        total += float(picked.sum())
        count += int((picked > 0).sum())
    return total, count


def trivial(state: PairingState) -> tuple[float, int]:
    """The baseline: each request, in input order, takes the first supporter with room.

    Keeps the hard rules, ignores every preference.
    """
    chosen: list[tuple[Request, Offer]] = []
    for requests, offers in _parts(state):
        room = [o.capacity - o.load for o in offers]
        for r in requests:
            for i, o in enumerate(offers):
                if room[i] > 0 and not blocked(state, r.member_id, o.member_id):
                    room[i] -= 1
                    chosen.append((r, o))
                    break
    return _total(state, chosen)


def violations(state: PairingState, proposal: Proposal) -> list[str]:
    """Every hard rule the proposal breaks, in words; empty when it keeps them all."""
    found: list[str] = []
    requests = {(r.member_id, r.group_id, r.kind): r for r in state.requests}
    offers = {(o.member_id, o.group_id, o.kind): o for o in state.offers}
    seen: dict[tuple[int, int, int], int] = defaultdict(int)
    carried: dict[tuple[int, int, int], int] = defaultdict(int)
    for p in proposal.pairs:
        seen[(p.requester_id, p.group_id, p.kind)] += 1
        if (p.requester_id, p.group_id, p.kind) not in requests:
            found.append(f"pair {p} serves no request")
        offer = offers.get((p.supporter_id, p.group_id, SERVED_BY.get(p.kind, -1)))
        if offer is None:
            found.append(f"pair {p} has no matching offer in the group")
        else:
            carried[(offer.member_id, offer.group_id, offer.kind)] += 1
        if p.supporter_id in state.resting:
            found.append(f"pair {p}: the supporter is resting")
        if blocked(state, p.requester_id, p.supporter_id):
            found.append(f"pair {p}: self, not-with or declined")
    for key, count in carried.items():
        if offers[key].load + count > offers[key].capacity:
            found.append(f"offer {offers[key]} gets {count} more")
    for u in proposal.unmatched:
        seen[(u.requester_id, u.group_id, u.kind)] += 1
    for key in requests:
        if seen[key] != 1:
            found.append(f"request {key} appears {seen[key]} times")
    for key in seen:
        if key not in requests:
            found.append(f"{key} is in the proposal but was never requested")
    return found


def _time(fn: Callable[[], object], repeat: int) -> float:
    """The median wall time of ``repeat`` calls, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


class Mix(TypedDict, total=False):
    """The share of each kind of answer ``synthetic_state`` draws; a share not given keeps its default."""

    supply: float
    not_with: float
    recent: float
    declined: float


HARD: Mix = {"supply": 0.3, "not_with": 0.3, "recent": 0.8, "declined": 0.2}


def _quality(label: str, mix: Mix, members: int, groups: int, seeds: int) -> float:
    """Print the engine's quality against the optimum over ``seeds`` federations; the worst."""
    ratios, trivial_ratios, soft_ratios = [], [], []
    engine_s = exact_s = 0.0
    for k in range(seeds):
        state = synthetic_state(members, groups=groups, seed=1000 + k, **mix)
        start = time.perf_counter()
        mine = propose(state, seed=k)
        engine_s += time.perf_counter() - start
        start = time.perf_counter()
        best, best_count = exact(state)
        exact_s += time.perf_counter() - start
        ratios.append(mine.total_score / best if best else 1.0)
        trivial_ratios.append(trivial(state)[0] / best if best else 1.0)
        # The part of the score above BASE is what the preferences earn.
        soft_best = best - BASE * best_count
        soft_mine = mine.total_score - BASE * len(mine.pairs)
        soft_ratios.append(soft_mine / soft_best if soft_best else 1.0)
        if len(mine.pairs) != best_count:
            print(f"  seed {1000 + k}: engine {len(mine.pairs)} pairs, optimum {best_count}")
    print(
        f"quality, {label}, {members} members x {seeds} seeds: "
        f"worst {min(ratios):.3%}, mean {statistics.mean(ratios):.3%} "
        f"(target >= {QUALITY_TARGET:.0%}); preferences alone (score above BASE) "
        f"mean {statistics.mean(soft_ratios):.3%}; trivial greedy mean "
        f"{statistics.mean(trivial_ratios):.2%}; exact / engine time = {exact_s / engine_s:.0f}x"
    )
    return min(ratios)


def main(argv: list[str]) -> int:
    """Run the benchmark; 0 when quality holds, 1 when it falls below 98%."""
    parser = argparse.ArgumentParser(prog="python -m carebot.bench pairing", description=__doc__)
    parser.add_argument("--members", type=int, default=25_000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--quality-members", type=int, default=2_000)
    parser.add_argument("--quality-groups", type=int, default=4, help="500 a group, as above")
    parser.add_argument("--quality-seeds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs; the median counts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--no-full-exact", action="store_true", help="skip the optimum of the full federation"
    )
    args = parser.parse_args(argv)

    state = synthetic_state(args.members, groups=args.groups, seed=args.seed)
    print(
        f"federation: {args.members} members, {args.groups} groups, "
        f"{len(state.requests)} requests, {len(state.offers)} offers, "
        f"{len(state.resting)} resting, {len(state.not_with)} not-with, "
        f"{len(state.recent)} recent, {len(state.declined)} declined"
    )
    proposal = propose(state, seed=args.seed)
    broken = violations(state, proposal)
    if broken:
        print("FAIL: the proposal breaks a hard rule:", *broken[:5], sep="\n  ")
        return 1
    engine_s = _time(lambda: propose(state, seed=args.seed), args.repeat)
    trivial_s = _time(lambda: trivial(state), args.repeat)
    reasons: dict[str, int] = defaultdict(int)
    for u in proposal.unmatched:
        reasons[u.reason.value] += 1
    print(
        f"engine:  {engine_s:.3f} s for {args.members} members (target < 1 s), "
        f"{len(proposal.pairs)} pairs, unmatched {dict(sorted(reasons.items()))}"
    )
    print(
        f"baseline: trivial greedy {trivial_s:.3f} s; "
        f"engine / trivial greedy = {engine_s / trivial_s:.2f}x"
    )
    worst = 1.0
    if not args.no_full_exact:
        start = time.perf_counter()
        best, best_count = exact(state)
        exact_full_s = time.perf_counter() - start
        worst = proposal.total_score / best if best else 1.0
        print(
            f"quality at full size: engine {proposal.total_score:.1f} "
            f"({len(proposal.pairs)} pairs) "
            f"/ optimum {best:.1f} ({best_count} pairs) = {worst:.3%}; "
            f"exact optimum {exact_full_s:.3f} s, exact / engine = {exact_full_s / engine_s:.1f}x"
        )

    mixes: dict[str, Mix] = {
        "usual mix": {},
        "hard mix (few supporters, many not-with, recent and declined)": HARD,
    }
    for label, mix in mixes.items():
        if args.quality_seeds:
            ratio = _quality(
                label, mix, args.quality_members, args.quality_groups, args.quality_seeds
            )
            worst = min(worst, ratio)
    if worst < QUALITY_TARGET:
        print(f"FAIL: quality {worst:.2%} is below {QUALITY_TARGET:.0%}")
        return 1
    return 0
