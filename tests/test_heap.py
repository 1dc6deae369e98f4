"""serve leaves what start-up made out of the garbage collector's full collections (carebot/runtime/heap.py)."""

from __future__ import annotations

import gc
import signal

import pytest
import uvicorn

from carebot.runtime import serve
from carebot.runtime.heap import leave_start_up_out_of_collections


class _Kept:
    """An object that lives long, as start-up's do."""


def _walked(kept: object) -> bool:
    """Whether the collector's generations (what a full collection walks) hold ``kept``."""
    return any(each is kept for each in gc.get_objects())


def test_what_exists_is_frozen_and_what_comes_after_is_collected_as_before():
    kept = _Kept()
    try:
        frozen = leave_start_up_out_of_collections()
        later = _Kept()
        assert frozen > 1000
        assert not _walked(kept)  # a full collection no longer walks it
        assert _walked(later)
        # No long pause: a full collection walks only what came after (gc.get_objects() is what it
        # walks), a small fraction of what it walked before. Counted, not timed: a busy machine can
        # stop this process for half a second whatever the collector does.
        assert len(gc.get_objects()) < frozen / 20
    finally:
        gc.unfreeze()  # the test process goes on as before
    assert _walked(kept)


def test_serve_freezes_start_up_just_before_it_serves(deployment, monkeypatch):
    seen = []

    def serving(self, *args, **kwargs) -> None:  # uvicorn's Server.run, standing in: it would serve until stopped
        seen.append(gc.get_freeze_count())

    monkeypatch.setattr(uvicorn.Server, "run", serving)
    try:
        serve.run("127.0.0.1", 0)
    finally:
        gc.unfreeze()
    assert seen and seen[0] > 1000


class _InterruptsWhenCollected:
    """Garbage whose finalizer is where a Ctrl-C lands: the collection runs it."""

    def __init__(self) -> None:
        self.me = self  # a cycle: only a collection frees it

    def __del__(self) -> None:
        signal.raise_signal(signal.SIGINT)


def test_a_ctrl_c_during_the_collection_is_not_lost():
    _InterruptsWhenCollected()
    try:
        with pytest.raises(KeyboardInterrupt):  # given back once the collection is done, not swallowed in it
            leave_start_up_out_of_collections()
    finally:
        gc.unfreeze()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
