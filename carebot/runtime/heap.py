"""What start-up made is left out of the garbage collector's full collections.

``carebot serve`` starts with some 165,000 objects that live as long as it
does: modules, the word lists, SQLAlchemy's tables and mappers, twilio's
client. Python's full collection walks every one of them each time: 240-265
ms of the event loop, measured on this 2-core machine while it was busy (load
about 11), during which no webhook is answered; one came in a phase of 6,000
webhooks of the webhook benchmark (the inbound worker's texts make and keep
many objects, which brings them on). ``gc.freeze()`` moves what exists at that
moment into a generation the collector never walks (a full collection after it
took under 1 ms), as CPython's documentation suggests for long-running
servers; objects made afterwards are collected as before.
"""

from __future__ import annotations

import gc
import signal
import threading


def leave_start_up_out_of_collections() -> int:
    """Collect what start-up left as garbage, then freeze the rest; how many objects were frozen.

    A Ctrl-C during the collection is held and given back after it: the collection runs finalizers
    and weakref callbacks, and a KeyboardInterrupt raised inside one of those is printed as "Exception
    ignored" and lost, so serve went on serving (tests/test_web_serve.py, the Ctrl-C during a beat).
    """
    held: list[int] = []
    main = threading.current_thread() is threading.main_thread()  # only there can a handler be set
    before = signal.signal(signal.SIGINT, lambda number, frame: held.append(number)) if main else None
    try:
        gc.collect()  # garbage frozen now would never be freed
        gc.freeze()
    finally:
        if main:
            signal.signal(signal.SIGINT, before)
    if held:
        signal.raise_signal(signal.SIGINT)  # to the handler that was there: a KeyboardInterrupt, here
    return gc.get_freeze_count()
