"""store/group_commit: many callers' items, written a batch at a time, each answered with its own result (GroupCommit on
the database worker; WriterThread, which gathers its batches on its own thread)."""

from __future__ import annotations

import asyncio
import gc
import threading
import time

import pytest

from carebot.store.group_commit import GroupCommit, WriterThread


class Writes:
    """``write`` that keeps each batch it was given; ``in_db`` that lets the loop run first, as a thread would."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.batches: list[list[str]] = []
        self.fail_on = fail_on

    def write(self, items: list[str]) -> list[str]:
        self.batches.append(list(items))
        if self.fail_on in items:
            raise RuntimeError("the disk is full")
        return [item.upper() for item in items]

    async def in_db(self, function, *args):
        await asyncio.sleep(0)
        return function(*args)


def submit_all(writes: Writes, items: list[str], **options) -> list:
    async def go():
        commit = GroupCommit(writes.write, writes.in_db, **options)
        return await asyncio.gather(*(commit.submit(item) for item in items), return_exceptions=True)

    return asyncio.run(go())


def test_each_caller_gets_its_own_result_and_waiting_items_share_a_batch():
    writes = Writes()
    assert submit_all(writes, ["a", "b", "c", "d"]) == ["A", "B", "C", "D"]
    assert sorted(item for batch in writes.batches for item in batch) == ["a", "b", "c", "d"]
    assert len(writes.batches) < 4


def test_a_batch_holds_at_most_the_items_it_may():
    writes = Writes()
    assert submit_all(writes, list("abcdefg"), most=3) == list("ABCDEFG")
    assert [len(batch) for batch in writes.batches] == [3, 3, 1]  # none lost, none written twice


def test_a_batch_that_raises_gives_each_of_its_callers_the_error():
    writes = Writes(fail_on="b")
    results = submit_all(writes, ["a", "b"])
    assert all(isinstance(result, RuntimeError) for result in results)


def test_a_caller_that_goes_away_takes_nothing_from_the_others():
    writes = Writes()

    async def go():
        commit = GroupCommit(writes.write, writes.in_db)
        first = asyncio.ensure_future(commit.submit("a"))
        second = asyncio.ensure_future(commit.submit("b"))
        await asyncio.sleep(0)
        first.cancel()
        return await second

    assert asyncio.run(go()) == "B"
    assert writes.batches == [["a", "b"]]


@pytest.mark.parametrize("most", [None, 1])
def test_items_that_come_while_a_batch_is_written_go_in_the_next(most):
    writes = Writes()

    async def go():
        commit = GroupCommit(writes.write, writes.in_db, most=most)
        first = asyncio.ensure_future(commit.submit("a"))
        await asyncio.sleep(0)  # the batch of "a" is being written
        return await asyncio.gather(first, commit.submit("b"))

    assert asyncio.run(go()) == ["A", "B"]
    assert writes.batches == [["a"], ["b"]]


def test_a_writer_thread_answers_each_caller_and_refuses_any_once_closed():
    """The texts coming in are stored by a WriterThread: each caller gets its own result (or its batch's error);
    close writes what it was given first, then runs on_close; after it, a caller is refused at once rather than
    left waiting for a thread that has ended."""
    closed = []
    writes = Writes(fail_on="x")
    writer = WriterThread(writes.write, "test-writer", on_close=lambda: closed.append(True))

    async def go():
        results = await asyncio.gather(writer.submit("a"), writer.submit("b"), return_exceptions=True)
        failed = await asyncio.gather(writer.submit("x"), return_exceptions=True)
        given = asyncio.ensure_future(writer.submit("y"))
        await asyncio.sleep(0)  # on the thread's queue
        assert writer.writing
        writer.close()
        late = await asyncio.gather(writer.submit("c"), return_exceptions=True)
        return results, failed, await given, late

    results, [failed], given, [late] = asyncio.run(go())
    assert results == ["A", "B"]
    assert isinstance(failed, RuntimeError) and "disk" in str(failed)
    assert given == "Y" and not writer.writing  # given before close: written, answered
    assert isinstance(late, RuntimeError) and "closed" in str(late)
    assert closed == [True]


def test_a_writer_thread_takes_everything_that_came_during_a_write_as_its_next_batch_without_the_loop():
    """The thread gathers its own batches, as the benchmark's durable floor does: the items given while a write
    runs go in the next one, taken the moment the write is done, while the loop that gave them is still busy."""
    first_may_end, writing_first = threading.Event(), threading.Event()
    batches: list[list[str]] = []

    def write(items: list[str]) -> list[str]:
        batches.append(list(items))
        if items == ["a"]:
            writing_first.set()
            first_may_end.wait(timeout=10)
        return [item.upper() for item in items]

    writer = WriterThread(write, "test-writer")

    async def go():
        first = asyncio.ensure_future(writer.submit("a"))
        await asyncio.sleep(0)
        assert writing_first.wait(timeout=10)
        rest = [asyncio.ensure_future(writer.submit(item)) for item in "bcd"]
        await asyncio.sleep(0)  # each on the thread's queue
        first_may_end.set()
        deadline = time.monotonic() + 10
        while len(batches) < 2 and time.monotonic() < deadline:
            time.sleep(0.001)  # the loop held busy: the thread must not need it to go on
        return await asyncio.gather(first, *rest)

    try:
        assert asyncio.run(go()) == ["A", "B", "C", "D"]
        assert batches == [["a"], ["b", "c", "d"]]
    finally:
        writer.close()


def test_a_writer_thread_nobody_refers_to_ends():
    writes = Writes()
    writer = WriterThread(writes.write, "test-forgotten")

    async def go(given: WriterThread) -> str:
        return await given.submit("a")

    assert asyncio.run(go(writer)) == "A"
    thread = writer._thread
    del writer
    gc.collect()
    assert thread is not None
    thread.join(timeout=10)
    assert not thread.is_alive()
