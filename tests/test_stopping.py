"""carebot serve's loops end when cancelled, even in the instant they are woken (a SIGTERM in a busy moment).

On Python 3.11, ``asyncio.wait_for`` swallows a cancellation that comes just
after what it waits for completed (fixed in 3.12): a loop around it then goes
on, and serve's shutdown, which cancels the sender and the inbound worker and
waits for them, waited for ever (found by ``python -m carebot.bench webhook``,
whose carebot did not stop on SIGTERM after its drain; 150 of 200 tries of
this race swallowed the cancellation). ``domain.wakeups.woken`` waits without
that flaw.
"""

from __future__ import annotations

import asyncio

import pytest

from carebot.dispatch.dispatcher import Dispatcher
from carebot.domain.wakeups import woken
from carebot.runtime.serve import run_inbound, run_sender

TRIES = 12


async def _ends_when_cancelled_as_woken(start, wake: asyncio.Event) -> None:
    for extra_turns in range(TRIES):
        task = asyncio.create_task(start())
        await asyncio.sleep(0.05)  # its first pass done, it waits to be woken
        wake.set()  # a text came, or a reply was written ...
        for _ in range(extra_turns % 4):
            await asyncio.sleep(0)
        task.cancel()  # ... as carebot stops
        # Generous: the bug waited for ever; a busy machine may take seconds over a pass it had begun.
        done, _ = await asyncio.wait({task}, timeout=30)
        assert task in done, f"still running after its cancel ({extra_turns % 4} turns after the wake)"
        wake.clear()


def test_the_inbound_worker_ends_when_cancelled_just_as_it_is_woken(db):
    dispatcher = Dispatcher(db)

    async def go() -> None:
        wake, replies = asyncio.Event(), asyncio.Event()
        await _ends_when_cancelled_as_woken(
            lambda: run_inbound(dispatcher, asyncio.to_thread, wake, replies, idle=3600), wake)

    asyncio.run(go())


def test_the_sender_ends_when_cancelled_just_as_it_is_woken(db):
    async def go() -> None:
        wake = asyncio.Event()
        await _ends_when_cancelled_as_woken(lambda: run_sender(db, {}, wake, idle=3600), wake)

    asyncio.run(go())


def test_woken_says_whether_the_event_came_and_never_swallows_a_cancel():
    async def go() -> None:
        event = asyncio.Event()
        assert await woken(event, 0.01) is False
        event.set()
        assert await woken(event, 1) is True
        for turns in range(40):
            event.clear()
            waiting = asyncio.create_task(woken(event, 3600))
            await asyncio.sleep(0)
            event.set()
            for _ in range(turns % 4):
                await asyncio.sleep(0)
            if waiting.cancel():  # it had not ended yet: the cancel must end it
                with pytest.raises(asyncio.CancelledError):
                    await waiting
            else:  # it had ended, woken, before the cancel came
                assert waiting.result() is True

    asyncio.run(go())
