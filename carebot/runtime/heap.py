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


def leave_start_up_out_of_collections() -> int:
    """Collect what start-up left as garbage, then freeze the rest; how many objects were frozen."""
    gc.collect()  # garbage frozen now would never be freed
    gc.freeze()
    return gc.get_freeze_count()
