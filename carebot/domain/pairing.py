"""The pairing engine: who reaches out to whom, as a pure function.

People who asked for care (go-around option 1, "reach out to me", and option 4,
"I'd like company") are paired with people who offered it (option 2 and option
5), within one group. :func:`propose` takes the whole current state and returns
proposed pairings plus every request it could not serve, each with a reason, so
nobody is left out silently. It reads no database, no clock and no files:
``now`` is part of the state, and the same state and seed always give the same
proposal, whatever order the input tuples are in.

The hard rules (never broken): option 1 goes with option 2 and option 4 with
option 5, in the same group; a supporter carries at most ``capacity`` pairings
for an offer, counting the ones they already carry; resting members (option 3)
support nobody; nobody is paired with themselves; a private "not with" entry
keeps two people apart in both directions; a supporter who declined a requester
is not asked again.

The preferences (traded off by :func:`score`): serve as many requests as
possible, then a shared language, then spread load so nobody burns out, avoid
re-pairing two people recently, and serve those who have waited longest.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from carebot.domain.vocabulary import CAN_KEEP_COMPANY, I_CAN_REACH_OUT, REACH_OUT_TO_ME, WANT_COMPANY

# How long a past pairing, and a declined or expired offer, keep the same two people from being
# offered to each other again (retention keeps pairings at least this long).
RECENT_PAIRING = timedelta(weeks=8)
DECLINE_MEMORY = timedelta(days=30)

#: The offer kind that serves each request kind.
SERVED_BY = {REACH_OUT_TO_ME: I_CAN_REACH_OUT, WANT_COMPANY: CAN_KEEP_COMPANY}

# The score of a valid pair. BASE outweighs every pair-specific preference put
# together (LANGUAGE + RECENT + LOAD <= BASE, and the load penalty stays below
# LOAD), so moving one person to another supporter to make room for someone
# unserved raises the total: serving one more person beats any preference.
BASE = 100.0
LANGUAGE = 40.0  # shared language: talking matters more than the rest
RECENT = 30.0  # re-pairing two people who were just paired, fading to 0
LOAD = 30.0  # times the share of capacity the supporter already uses
WAIT = 10.0  # waited WAIT_FULL or longer; breaks scarcity in favour of the longest waiting
RECENT_FADE = timedelta(weeks=8)
WAIT_FULL = timedelta(weeks=4)


@dataclass(frozen=True)
class Request:
    """One member's current, unserved request in one group."""

    member_id: int
    group_id: int
    kind: int  # REACH_OUT_TO_ME or WANT_COMPANY
    language: str
    since: datetime


@dataclass(frozen=True)
class Offer:
    """One member's current offer in one group.

    ``load`` is how many pairings the member already carries for this offer;
    it counts against ``capacity``.
    """

    member_id: int
    group_id: int
    kind: int  # I_CAN_REACH_OUT or CAN_KEEP_COMPANY
    capacity: int
    language: str
    load: int = 0


@dataclass(frozen=True)
class PairingState:
    """Everything the engine may look at. Pairs of ids are (requester, supporter).

    ``recent`` maps two people to when they were last paired (either way round);
    ``declined`` holds supporters who declined or let lapse an offer of that
    requester; ``not_with`` holds private "NOT <name>" entries, (a, b) meaning a
    does not want to be paired with b, honoured both ways.
    """

    requests: tuple[Request, ...]
    offers: tuple[Offer, ...]
    now: datetime
    resting: frozenset[int] = frozenset()
    recent: Mapping[tuple[int, int], datetime] = field(default_factory=dict)
    declined: frozenset[tuple[int, int]] = frozenset()
    not_with: frozenset[tuple[int, int]] = frozenset()


@dataclass(frozen=True)
class Pair:
    """A proposed pairing: ``supporter_id`` serves the request of ``requester_id``."""

    requester_id: int
    supporter_id: int
    group_id: int
    kind: int  # the request's kind: REACH_OUT_TO_ME or WANT_COMPANY
    score: float


class Reason(StrEnum):
    """Why a request is unmatched.

    ``ONLY_EXCLUDED`` deliberately does not say whether a private "not with"
    entry or a decline was the cause, so showing it reveals nobody's list.
    """

    NO_SUPPORTER = "no_supporter"  # nobody (not resting) offered this in the group
    AT_CAPACITY = "at_capacity"  # supporters exist, but all are full
    ONLY_EXCLUDED = "only_excluded"  # the only supporters are ones it can't go to


@dataclass(frozen=True)
class Unmatched:
    """A request the proposal does not serve, and why."""

    requester_id: int
    group_id: int
    kind: int
    reason: Reason


@dataclass(frozen=True)
class Proposal:
    """The engine's answer; every request is in exactly one of the two tuples."""

    pairs: tuple[Pair, ...]
    unmatched: tuple[Unmatched, ...]

    @property
    def total_score(self) -> float:
        """The sum of the pairs' scores: what the engine maximizes."""
        return sum(p.score for p in self.pairs)


def last_paired(state: PairingState, a: int, b: int) -> datetime | None:
    """When ``a`` and ``b`` were last paired, whichever way round, or None."""
    one = state.recent.get((a, b))
    other = state.recent.get((b, a))
    if one is None or other is None:
        return one or other
    return max(one, other)


def blocked(state: PairingState, requester: int, supporter: int) -> bool:
    """Whether these two must not be paired (self, "not with" either way, declined)."""
    return (
        requester == supporter
        or (requester, supporter) in state.not_with
        or (supporter, requester) in state.not_with
        or (requester, supporter) in state.declined
    )


def score(
    request: Request, offer: Offer, *, load: int, last: datetime | None, now: datetime
) -> float:
    """The score of serving ``request`` with ``offer`` when it already carries ``load``.

    Assumes the pair is valid (see :func:`blocked`) and the offer has room
    (``load < capacity``). ``last`` is when the two were last paired. Every
    valid pair scores more than zero.
    """
    value = BASE - LOAD * load / offer.capacity
    if request.language == offer.language:
        value += LANGUAGE
    waited = now - request.since
    if waited >= WAIT_FULL:
        value += WAIT
    elif waited > timedelta(0):
        value += WAIT * (waited / WAIT_FULL)
    if last is not None:
        age = max(now - last, timedelta(0))
        if age < RECENT_FADE:
            value -= RECENT * (1 - age / RECENT_FADE)
    return value


def propose(state: PairingState, *, seed: int = 0) -> Proposal:
    """Propose pairings for every open request in ``state``.

    Deterministic: ties are broken by ``seed``, never by input order.
    Raises ValueError on a request or offer of the wrong kind, a negative
    capacity or load, or the same member's request (or offer) twice for one
    group and kind.
    """
    _validate(state)
    offers_by_part: dict[tuple[int, int], list[Offer]] = defaultdict(list)
    for offer in state.offers:
        if offer.member_id not in state.resting:
            offers_by_part[(offer.group_id, offer.kind)].append(offer)
    requests_by_part: dict[tuple[int, int], list[Request]] = defaultdict(list)
    for request in state.requests:
        requests_by_part[(request.group_id, SERVED_BY[request.kind])].append(request)

    pairs: list[Pair] = []
    unmatched: list[Unmatched] = []
    for part in sorted(requests_by_part):
        _Partition(state, seed, requests_by_part[part], offers_by_part.get(part, [])).solve(
            pairs, unmatched
        )
    pairs.sort(key=lambda p: (p.group_id, p.kind, p.requester_id))
    unmatched.sort(key=lambda u: (u.group_id, u.kind, u.requester_id))
    return Proposal(tuple(pairs), tuple(unmatched))


def _validate(state: PairingState) -> None:
    seen: set[tuple[int, int, int]] = set()
    for request in state.requests:
        if request.kind not in SERVED_BY:
            raise ValueError(f"request of member {request.member_id} has kind {request.kind}")
        key = (request.member_id, request.group_id, request.kind)
        if key in seen:
            raise ValueError(f"member {request.member_id} has two requests of one kind")
        seen.add(key)
    seen.clear()
    for offer in state.offers:
        if offer.kind not in (I_CAN_REACH_OUT, CAN_KEEP_COMPANY):
            raise ValueError(f"offer of member {offer.member_id} has kind {offer.kind}")
        if offer.capacity < 0 or offer.load < 0:
            raise ValueError(f"offer of member {offer.member_id} has a negative capacity or load")
        key = (offer.member_id, offer.group_id, offer.kind)
        if key in seen:
            raise ValueError(f"member {offer.member_id} has two offers of one kind")
        seen.add(key)


_MASK = (1 << 64) - 1


def _mix(x: int) -> int:
    # splitmix64's finalizer: a fixed, well-spread hash of an integer, unlike
    # hash() it is the same in every process.
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def _rank(seed: int, member_id: int, group_id: int, kind: int) -> int:
    """A seeded tie-break that depends only on who it is, not on input order."""
    return _mix(_mix(_mix(_mix(seed & _MASK) ^ (member_id & _MASK)) ^ (group_id & _MASK)) ^ kind)


class _Partition:
    """The requests and offers of one group and one kind: an independent problem.

    A greedy that always makes the best pair still open, then a repair:
    1. each request knows its best supporter with room; the request whose
       best pair scores highest is served first. Scores only fall as
       supporters fill up, so a request's last known score is an upper
       bound: it is re-checked only when it reaches the top (lazy greedy).
       When supporters are scarce this serves the requests that fit best
       and have waited longest, and nobody takes a same-language supporter
       from someone who needs one;
    2. a request still unserved while someone it may go to has room behind a
       chain of moves gets served by shifting others along that chain.
    Within a language the best clean supporter is the one using the least of
    their capacity, so each language keeps a heap keyed on load / capacity;
    exclusions and recent pairings are rare and handled by looking further.
    """

    def __init__(
        self, state: PairingState, seed: int, requests: list[Request], offers: list[Offer]
    ) -> None:
        self.state = state
        # Position in these lists is the tie-break: longest waiting first, then the seed.
        self.requests = sorted(
            requests,
            key=lambda r: (r.since, _rank(seed, r.member_id, r.group_id, r.kind), r.member_id),
        )
        self.offers = sorted(
            offers, key=lambda o: (_rank(seed, o.member_id, o.group_id, o.kind), o.member_id)
        )
        self.load = [o.load for o in self.offers]
        self.assigned: list[list[int]] = [[] for _ in self.offers]  # offer -> request indexes
        # Heaps of (load / capacity, offer index); an entry whose key is not the
        # offer's current one is stale and dropped when met.
        self.heaps: dict[str, list[tuple[float, int]]] = defaultdict(list)
        for i, o in enumerate(self.offers):
            if o.load < o.capacity:
                self.heaps[o.language].append((o.load / o.capacity, i))
        for heap in self.heaps.values():
            heapq.heapify(heap)
        self.languages = sorted(self.heaps)

    def solve(self, pairs: list[Pair], unmatched: list[Unmatched]) -> None:
        match: list[int | None] = [None] * len(self.requests)
        queue: list[tuple[float, int]] = []
        for ri in range(len(self.requests)):
            found = self._best(ri)
            if found is not None:
                queue.append((-found[0], ri))
        heapq.heapify(queue)
        while queue:
            _, ri = heapq.heappop(queue)
            found = self._best(ri)
            if found is None:
                continue
            key = (-found[0], ri)
            if queue and queue[0] < key:
                heapq.heappush(queue, key)
                continue
            self._assign(ri, found[1], match)
        left = [ri for ri, oi in enumerate(match) if oi is None]
        if left and any(self.load[i] < o.capacity for i, o in enumerate(self.offers)):
            dead: set[int] = set()
            allowed: dict[int, list[int]] = {}
            for ri in left:
                if self._augment(ri, match, dead, allowed):
                    dead.clear()
        self._emit(match, pairs, unmatched)

    def _best(self, ri: int) -> tuple[float, int] | None:
        """The best score request ``ri`` can get now, and from which offer."""
        state, request = self.state, self.requests[ri]
        best: tuple[float, int] | None = None  # (-score, offer index)
        for language in self.languages:
            heap = self.heaps[language]
            popped: list[tuple[float, int]] = []
            while heap:
                entry = heapq.heappop(heap)
                oi = entry[1]
                offer = self.offers[oi]
                if self.load[oi] >= offer.capacity or entry[0] != self.load[oi] / offer.capacity:
                    continue  # stale
                popped.append(entry)
                if blocked(state, request.member_id, offer.member_id):
                    continue
                last = last_paired(state, request.member_id, offer.member_id)
                value = score(request, offer, load=self.load[oi], last=last, now=state.now)
                if best is None or (-value, oi) < best:
                    best = (-value, oi)
                if last is None or state.now - last >= RECENT_FADE:
                    # Everything further down this heap is at least as loaded
                    # and no better in language, so it cannot beat this one.
                    break
            for entry in popped:
                heapq.heappush(heap, entry)
        return None if best is None else (-best[0], best[1])

    def _assign(self, ri: int, oi: int, match: list[int | None]) -> None:
        match[ri] = oi
        self.assigned[oi].append(ri)
        self.load[oi] += 1
        offer = self.offers[oi]
        if self.load[oi] < offer.capacity:
            heapq.heappush(self.heaps[offer.language], (self.load[oi] / offer.capacity, oi))

    def _allowed(self, ri: int, cache: dict[int, list[int]]) -> list[int]:
        if ri not in cache:
            member = self.requests[ri].member_id
            cache[ri] = [
                oi
                for oi, o in enumerate(self.offers)
                if o.capacity > 0 and not blocked(self.state, member, o.member_id)
            ]
        return cache[ri]

    def _augment(
        self, ri: int, match: list[int | None], dead: set[int], cache: dict[int, list[int]]
    ) -> bool:
        """Serve ``ri`` by moving others along a chain ending at a supporter with room.

        Breadth-first, so the chain is as short as it can be. Runs only when
        exclusions left someone out while room remains, which is rare. Offers
        a failed search reached cannot lead to room either until something
        moves, so they join ``dead`` and later searches skip them.
        """
        parent: dict[int, tuple[int, int | None]] = {}  # offer -> (request moved in, from offer)
        frontier: list[int] = []
        for oi in self._allowed(ri, cache):
            if oi not in dead:
                parent[oi] = (ri, None)
                frontier.append(oi)
        while frontier:
            nxt: list[int] = []
            for oi in frontier:
                if self.load[oi] < self.offers[oi].capacity:
                    self._shift(oi, parent, match)
                    return True
                for rj in self.assigned[oi]:
                    for oj in self._allowed(rj, cache):
                        if oj not in parent and oj not in dead:
                            parent[oj] = (rj, oi)
                            nxt.append(oj)
            frontier = nxt
        dead.update(parent)
        return False

    def _shift(
        self, oi: int, parent: dict[int, tuple[int, int | None]], match: list[int | None]
    ) -> None:
        self.load[oi] += 1  # the end of the chain gains one; every other offer keeps its count
        while True:
            rj, from_oi = parent[oi]
            match[rj] = oi
            self.assigned[oi].append(rj)
            if from_oi is None:
                return
            self.assigned[from_oi].remove(rj)
            oi = from_oi

    def _emit(
        self, match: list[int | None], pairs: list[Pair], unmatched: list[Unmatched]
    ) -> None:
        state = self.state
        for oi, offer in enumerate(self.offers):
            # Slots fill in request order: the total is the same in any order,
            # this one just makes each pair's own score well defined.
            for slot, ri in enumerate(sorted(self.assigned[oi])):
                request = self.requests[ri]
                last = last_paired(state, request.member_id, offer.member_id)
                value = score(request, offer, load=offer.load + slot, last=last, now=state.now)
                pairs.append(
                    Pair(request.member_id, offer.member_id, request.group_id, request.kind, value)
                )
        for ri, request in enumerate(self.requests):
            if match[ri] is None:
                unmatched.append(
                    Unmatched(request.member_id, request.group_id, request.kind, self._why(request))
                )

    def _why(self, request: Request) -> Reason:
        others = [o for o in self.offers if o.member_id != request.member_id]
        if not others:
            return Reason.NO_SUPPORTER
        if all(blocked(self.state, request.member_id, o.member_id) for o in others):
            return Reason.ONLY_EXCLUDED
        return Reason.AT_CAPACITY
