"""store/group_commit.GroupCommit: many callers' items, written a batch at a time, each answered with its own result."""

from __future__ import annotations

import asyncio

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


def test_a_writer_thread_runs_each_call_in_turn_and_refuses_any_once_closed():
    """The texts coming in are stored on a WriterThread: each call's outcome (or error) comes back to its caller;
    after close, a call is refused at once rather than left waiting for a thread that has ended."""
    closed = []
    writer = WriterThread("test-writer", on_close=lambda: closed.append(True))
    writes = Writes(fail_on="x")

    async def go():
        commit = GroupCommit(writes.write, writer.run)
        results = await asyncio.gather(commit.submit("a"), commit.submit("b"), return_exceptions=True)
        failed = await asyncio.gather(commit.submit("x"), return_exceptions=True)
        writer.close()
        late = await asyncio.gather(commit.submit("c"), return_exceptions=True)
        return results, failed, late

    results, [failed], [late] = asyncio.run(go())
    assert results == ["A", "B"] and writes.batches[0] == ["a", "b"]  # one batch: gathered before it was handed on
    assert isinstance(failed, RuntimeError) and "disk" in str(failed)
    assert isinstance(late, RuntimeError) and "closed" in str(late)
    assert closed == [True]
