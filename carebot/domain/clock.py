"""The one place that reads the wall clock.

Everything else takes ``now`` as an argument, so a month of conversation can
be replayed in milliseconds with a simulated clock.
"""

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)
