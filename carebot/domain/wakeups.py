"""Waiting to be woken, for at most a while, in a way a cancellation always ends.

Not ``asyncio.wait_for(event.wait(), seconds)``: on Python 3.11 it swallows a
cancellation that comes just after the event was set (fixed in 3.12), and a
loop around it then goes on; serve's shutdown cancels its loops and waits for
them, so carebot did not stop on SIGTERM in a busy moment (tests/test_stopping.py).
"""

from __future__ import annotations

import asyncio


async def woken(event: asyncio.Event, seconds: float) -> bool:
    """Wait until ``event`` is set or ``seconds`` have passed; whether it was set."""
    waiting = asyncio.ensure_future(event.wait())
    try:
        done, _ = await asyncio.wait({waiting}, timeout=seconds)
    finally:
        waiting.cancel()  # nothing when it is done; else it would wait on, unowned
    return bool(done)
