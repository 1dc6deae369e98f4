"""The pairing engine's hard rules hold on any state (Hypothesis)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from carebot.domain.pairing import Offer, PairingState, Reason, Request, propose
from carebot.domain.vocabulary import CAN_KEEP_COMPANY, I_CAN_REACH_OUT, REACH_OUT_TO_ME, WANT_COMPANY

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
SERVES = {REACH_OUT_TO_ME: I_CAN_REACH_OUT, WANT_COMPANY: CAN_KEEP_COMPANY}


@st.composite
def states(draw) -> PairingState:
    n = draw(st.integers(1, 10))
    member = st.integers(1, n)
    group = st.integers(1, draw(st.integers(1, 3)))
    language = st.sampled_from(["en", "es"])
    days = st.integers(-3, 90)
    requests = draw(st.lists(
        st.builds(lambda m, g, k, lang, d: Request(m, g, k, lang, NOW - timedelta(days=d)),
                  member, group, st.sampled_from([REACH_OUT_TO_ME, WANT_COMPANY]), language, days),
        max_size=16, unique_by=lambda r: (r.member_id, r.group_id, r.kind)))
    offers = draw(st.lists(
        st.builds(Offer, member, group, st.sampled_from([I_CAN_REACH_OUT, CAN_KEEP_COMPANY]),
                  st.integers(0, 3), language, st.integers(0, 4)),
        max_size=12, unique_by=lambda o: (o.member_id, o.group_id, o.kind)))
    pair = st.tuples(member, member)
    return PairingState(
        requests=tuple(requests),
        offers=tuple(offers),
        now=NOW,
        resting=draw(st.frozensets(member, max_size=4)),
        recent=draw(st.dictionaries(pair, days.map(lambda d: NOW - timedelta(days=d)),
                                    max_size=10)),
        declined=draw(st.frozensets(pair, max_size=8)),
        not_with=draw(st.frozensets(pair, max_size=8)),
    )


def forbidden(s: PairingState, requester: int, supporter: int) -> bool:
    return (
        requester == supporter
        or (requester, supporter) in s.not_with
        or (supporter, requester) in s.not_with
        or (requester, supporter) in s.declined
    )


def candidates(s: PairingState, r: Request) -> list[Offer]:
    """The offers that could ever serve ``r``, ignoring capacity and exclusions."""
    return [
        o for o in s.offers
        if o.group_id == r.group_id and o.kind == SERVES[r.kind]
        and o.member_id not in s.resting and o.member_id != r.member_id
    ]


def most_servable(s: PairingState) -> int:
    """How many requests the best possible assignment serves (a 0/1 assignment)."""
    slots = [o for o in s.offers if o.member_id not in s.resting
             for _ in range(max(0, o.capacity - o.load))]
    if not s.requests or not slots:
        return 0
    m = np.zeros((len(s.requests), len(slots)))
    for i, r in enumerate(s.requests):
        for j, o in enumerate(slots):
            if o in candidates(s, r) and not forbidden(s, r.member_id, o.member_id):
                m[i, j] = 1
    rows, cols = linear_sum_assignment(m, maximize=True)
    return int(m[rows, cols].sum())


@settings(max_examples=300, deadline=None)
@given(states(), st.integers(0, 2**64 - 1))
def test_hard_rules_hold(s: PairingState, seed: int) -> None:
    proposal = propose(s, seed=seed)
    requests = {(r.member_id, r.group_id, r.kind): r for r in s.requests}
    offers = {(o.member_id, o.group_id, o.kind): o for o in s.offers}
    carried: Counter[tuple[int, int, int]] = Counter()
    for p in proposal.pairs:
        assert (p.requester_id, p.group_id, p.kind) in requests  # a real request, its own kind
        offer_key = (p.supporter_id, p.group_id, SERVES[p.kind])
        assert offer_key in offers  # 1 with 2, 4 with 5, same group
        assert p.supporter_id not in s.resting
        assert p.supporter_id != p.requester_id
        assert (p.requester_id, p.supporter_id) not in s.not_with
        assert (p.supporter_id, p.requester_id) not in s.not_with
        assert (p.requester_id, p.supporter_id) not in s.declined
        assert p.score > 0
        carried[offer_key] += 1
    for key, count in carried.items():
        assert offers[key].load + count <= offers[key].capacity

    # Every request exactly once: paired or unmatched with a reason.
    seen = Counter((p.requester_id, p.group_id, p.kind) for p in proposal.pairs)
    seen.update((u.requester_id, u.group_id, u.kind) for u in proposal.unmatched)
    assert seen == Counter(requests.keys())

    # The reason is true, and nobody is left out while a supporter they may
    # have still has room.
    for u in proposal.unmatched:
        r = requests[(u.requester_id, u.group_id, u.kind)]
        others = candidates(s, r)
        allowed = [o for o in others if not forbidden(s, r.member_id, o.member_id)]
        if not others:
            assert u.reason == Reason.NO_SUPPORTER
        elif not allowed:
            assert u.reason == Reason.ONLY_EXCLUDED
        else:
            assert u.reason == Reason.AT_CAPACITY
            for o in allowed:
                assert o.load + carried[(o.member_id, o.group_id, o.kind)] >= o.capacity

    # As many served as any assignment could serve.
    assert len(proposal.pairs) == most_servable(s)


@settings(max_examples=100, deadline=None)
@given(states(), st.integers(0, 2**64 - 1), st.randoms(use_true_random=False))
def test_same_proposal_whatever_the_input_order(s: PairingState, seed: int, rnd) -> None:
    requests, offers, recent = list(s.requests), list(s.offers), list(s.recent.items())
    rnd.shuffle(requests)
    rnd.shuffle(offers)
    rnd.shuffle(recent)
    shuffled = dataclasses.replace(
        s, requests=tuple(requests), offers=tuple(offers), recent=dict(recent)
    )
    assert propose(shuffled, seed=seed) == propose(s, seed=seed)
