"""The one place that reads the wall clock.

Everything else takes ``now`` as an argument, so a month of conversation can
be replayed in milliseconds with a simulated clock.
"""

import time
from datetime import UTC, datetime


def now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def ticks() -> float:
    """Seconds from an arbitrary start, never going back: for a time budget, not a moment."""
    return time.monotonic()
