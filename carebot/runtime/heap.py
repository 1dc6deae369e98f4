"""What start-up made is left out of the garbage collector's full collections.

``carebot serve`` starts with some 165,000 objects that live as long as it
does: modules, the word lists, SQLAlchemy's tables and mappers, twilio's
client. Python's full collection walks every one of them each time, a pause of
60 ms or more of the event loop on a quiet 2-core machine (250 ms with other
work on it), during which no webhook is answered; the inbound worker's texts,
which make and drop many objects, bring such collections on every few
thousand webhooks. ``gc.freeze()`` moves what exists at that moment into a
generation the collector never walks, as CPython's documentation suggests for
long-running servers; objects made afterwards are collected as before.
"""

from __future__ import annotations

import gc


def leave_start_up_out_of_collections() -> int:
    """Collect what start-up left as garbage, then freeze the rest; how many objects were frozen."""
    gc.collect()  # garbage frozen now would never be freed
    gc.freeze()
    return gc.get_freeze_count()
