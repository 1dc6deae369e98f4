"""Pacing: a provider's sending rate, shared by every send on one sender number."""

from __future__ import annotations

import asyncio


class Pacer:
    """Spaces sends on one sender number to at most ``rate`` a second.

    Each caller reserves the next free slot before it sleeps, so concurrent
    senders share the rate instead of each taking all of it.
    """

    def __init__(self, rate: float, *, time=None, sleep=asyncio.sleep) -> None:
        if rate <= 0:
            raise ValueError("the send rate must be above zero")
        self.interval = 1.0 / rate
        self._time = time or (lambda: asyncio.get_running_loop().time())
        self._sleep = sleep
        self._next = float("-inf")

    async def wait(self) -> bool:
        """Return when the next send may go: True when that meant waiting, False when it may go at once."""
        now = self._time()
        slot = max(now, self._next)
        self._next = slot + self.interval
        if slot <= now:
            return False
        await self._sleep(slot - now)
        return True
