"""Group commit: items from many callers written a batch at a time, each caller answered with its own result.

Used where a commit per item would keep a thread in a disk's flush for each
one: the webhooks storing the texts that come in (runtime/web.InboundWriter, a
``WriterThread``, which gathers its batches on its own thread) and the outbox
sender's steps (outbox/sender.py, a ``GroupCommit`` on the database worker).
"""

from __future__ import annotations

import asyncio
import functools
import queue
import threading
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar, cast

I = TypeVar("I")  # noqa: E741 (an item)
R = TypeVar("R")


class GroupCommit(Generic[I, R]):
    """Writes items through ``write(items) -> results`` (one result an item, in order), one call at a time.

    While one batch is being written (``in_db`` runs ``write`` off the loop,
    on a database thread), the items that arrive meanwhile gather into the
    next one. A lone item is written at once: no batch waits on purpose for
    more, which would only add to every caller's time. The batches are handed
    on from callbacks on the loop, not from a caller's task, so a caller that
    goes away (a request closed, a pass cancelled) takes nothing from the
    others. When ``write`` raises, every
    item of its batch gets the error. ``most`` items go in a batch at most
    (None: all that are waiting), so that one batch holds a lock no longer than that.
    """

    def __init__(self, write: Callable[[list[I]], list[R]], in_db: Callable[..., Awaitable],
                 *, most: int | None = None) -> None:
        self._write_batch = write
        self._in_db = in_db
        self._most = most
        self._gathering: list[tuple[I, asyncio.Future]] = []
        self._writing = False
        self.last_write = float("-inf")  # the loop's time when the last batch was written

    @property
    def writing(self) -> bool:
        return self._writing

    async def submit(self, item: I) -> R:
        """``item``'s result, once the batch it went in is written."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._gathering.append((item, future))
        if not self._writing:
            self._writing = True
            loop.call_soon(self._next)  # after the callers already scheduled have added theirs
        return await future

    def _next(self) -> None:
        if not self._gathering:
            self._writing = False
            return
        cut = len(self._gathering) if self._most is None else self._most
        batch, self._gathering = self._gathering[:cut], self._gathering[cut:]
        try:
            written = asyncio.ensure_future(self._in_db(self._write_batch, [item for item, _ in batch]))
        except Exception as error:  # the runner refused it (closed): the batch's callers hear so
            self._written(batch, None, error)
            return
        written.add_done_callback(functools.partial(self._took, batch))

    def _took(self, batch: list[tuple[I, asyncio.Future]], written: asyncio.Future) -> None:
        if written.cancelled():  # the loop is ending: so are the callers
            failed: BaseException | None = asyncio.CancelledError()
        else:
            failed = written.exception()
        self._written(batch, None if failed is not None else written.result(), failed)

    def _written(self, batch: list[tuple[I, asyncio.Future]], results: list[R] | None,
                 failed: BaseException | None) -> None:
        self.last_write = asyncio.get_running_loop().time()
        for index, (_, future) in enumerate(batch):
            if isinstance(failed, asyncio.CancelledError):
                future.cancel()  # nothing when its caller went away meanwhile (done already)
            else:
                _settle(future, None if failed is not None else cast(list, results)[index], failed)
        self._next()


_DONE = None  # put on a WriterThread's queue: the thread ends


class _Progress:
    """What a WriterThread's callers have given and been answered, kept apart from the WriterThread itself so
    that its thread holds no reference to it (one nobody uses is collected, and its finalizer ends the thread)."""

    def __init__(self) -> None:
        self.unanswered = 0  # items given and not answered yet; read and written on the callers' loop only
        self.last_write = float("-inf")  # the loop's time when the last batch was answered


class WriterThread(Generic[I, R]):
    """Items written a batch at a time on a thread of its own, which gathers its batches itself.

    ``submit(item)`` puts the item on the thread's queue and waits for its
    result. As soon as one write is done the thread takes every item that came
    meanwhile and writes them with one ``write(items) -> results`` (one result
    an item, in order: one transaction, one commit), then answers the batch's
    callers with one wake-up of their loop; when ``write`` raises, every item of
    the batch gets the error. A lone item is written at once: no batch waits on
    purpose for more. This is the shape of the benchmark's durable floor: the
    thread never waits for the event loop to hand it the next batch, which
    under a burst of webhooks is busy answering them (handing batches on from
    the loop, as ``GroupCommit`` does, left the writer idle between commits and
    cost about a sixth of the webhooks' throughput; ``python -m carebot.bench
    webhook``). For the texts coming in, which every webhook waits for.

    The thread starts with the first item, and ends with ``close`` (serve's
    lifespan: the items given before are written first) or once nothing refers
    to this object any more; ``on_close`` runs on it as it ends (serve: the
    connection the writes kept is closed).
    """

    def __init__(self, write: Callable[[list[I]], list[R]], name: str, *,
                 on_close: Callable[[], None] | None = None) -> None:
        self._write = write
        self._name = name
        self._on_close = on_close
        self._waiting: queue.SimpleQueue = queue.SimpleQueue()
        self._progress = _Progress()
        self._thread: threading.Thread | None = None
        self._closed = False
        weakref.finalize(self, self._waiting.put, _DONE)

    @property
    def writing(self) -> bool:
        """Whether items given are not answered yet."""
        return self._progress.unanswered > 0

    @property
    def last_write(self) -> float:
        """The loop's time when the last batch was answered."""
        return self._progress.last_write

    async def submit(self, item: I) -> R:
        """``item``'s result, once the batch it went in is written."""
        if self._closed:  # nothing would ever answer it: say so at once
            raise RuntimeError(f"{self._name} is closed")
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if self._thread is None:
            self._thread = threading.Thread(target=_gather, args=(self._waiting, self._write, self._progress,
                                                                   self._on_close), name=self._name, daemon=True)
            self._thread.start()
        self._progress.unanswered += 1
        self._waiting.put((item, loop, future))
        return await future

    def close(self) -> None:
        """End the thread once what it was given is written; wait for it."""
        self._closed = True
        self._waiting.put(_DONE)
        if self._thread is not None:
            self._thread.join()
        elif self._on_close is not None:
            self._on_close()


Given = tuple[Any, asyncio.AbstractEventLoop, asyncio.Future]  # an item, its caller's loop, the caller's future


def _gather(waiting: queue.SimpleQueue, write: Callable[[list], list], progress: _Progress,
            on_close: Callable[[], None] | None) -> None:
    """The thread: every item waiting, written in one call, until ``_DONE``; each batch answered on its loop."""
    try:
        ending = False
        while not ending and (first := waiting.get()) is not _DONE:
            batch: list[Given] = [first]
            while not waiting.empty():  # everything that came while the last write ran
                given = waiting.get()
                if given is _DONE:
                    ending = True
                    break
                batch.append(given)
            try:
                results, failed = write([item for item, _, _ in batch]), None
            except Exception as error:
                results, failed = None, error
            by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, object]]] = {}
            for index, (_, loop, future) in enumerate(batch):  # serve has one loop; a test may have several
                by_loop.setdefault(loop, []).append((future, None if results is None else results[index]))
            for loop, answers in by_loop.items():
                try:
                    loop.call_soon_threadsafe(_answer, progress, answers, failed)
                except RuntimeError:  # that loop is closed: nobody waits for these any more
                    pass
    finally:
        if on_close is not None:
            on_close()


def _answer(progress: _Progress, answers: list[tuple[asyncio.Future, object]], failed: BaseException | None) -> None:
    """On the callers' loop: each caller given its result, or ``failed``."""
    progress.unanswered -= len(answers)
    progress.last_write = asyncio.get_running_loop().time()
    for future, result in answers:
        _settle(future, result, failed)


def _settle(future: asyncio.Future, outcome: object, failed: BaseException | None) -> None:
    """``future`` given ``outcome``, or ``failed`` when not None; nothing when its caller went away (done)."""
    if future.done():
        return
    if failed is None:
        future.set_result(outcome)
    else:
        future.set_exception(failed)
