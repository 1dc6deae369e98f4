"""Group commit: items from many callers written a batch at a time, each caller answered with its own result.

Used where a commit per item would keep a thread in a disk's flush for each
one: the webhooks storing the texts that come in (runtime/web.InboundWriter)
and the outbox sender's steps (outbox/sender.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

I = TypeVar("I")  # noqa: E741 (an item)
R = TypeVar("R")


class GroupCommit(Generic[I, R]):
    """Writes items through ``write(items) -> results`` (one result an item, in order), one call at a time.

    While one batch is being written (``in_db`` runs ``write`` off the loop,
    on a database thread), the items that arrive meanwhile gather into the
    next one. A lone item is written at once: no batch waits on purpose for
    more, which would only add to every caller's time. The writing runs in a
    task of its own, so a caller that goes away (a request closed, a pass
    cancelled) takes nothing from the others. When ``write`` raises, every
    item of its batch gets the error. ``most`` items go in a batch at most
    (None: all that are waiting), so that one batch holds a lock no longer than that.
    """

    def __init__(self, write: Callable[[list[I]], list[R]], in_db: Callable[..., Awaitable],
                 *, most: int | None = None) -> None:
        self._write_batch = write
        self._in_db = in_db
        self._most = most
        self._gathering: list[tuple[I, asyncio.Future]] = []
        self._writing: asyncio.Task | None = None
        self.last_write = float("-inf")  # the loop's time when the last batch was written

    @property
    def writing(self) -> bool:
        return self._writing is not None

    async def submit(self, item: I) -> R:
        """``item``'s result, once the batch it went in is written."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._gathering.append((item, future))
        if self._writing is None:
            self._writing = loop.create_task(self._write())
        return await future

    async def _write(self) -> None:
        try:
            loop = asyncio.get_running_loop()
            while self._gathering:
                cut = len(self._gathering) if self._most is None else self._most
                batch, self._gathering = self._gathering[:cut], self._gathering[cut:]
                try:
                    results = await self._in_db(self._write_batch, [item for item, _ in batch])
                except Exception as error:
                    results, failed = None, error
                self.last_write = loop.time()
                for index, (_, future) in enumerate(batch):
                    if future.done():  # its caller went away meanwhile
                        continue
                    if results is None:
                        future.set_exception(failed)
                    else:
                        future.set_result(results[index])
        finally:
            self._writing = None
