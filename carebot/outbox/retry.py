"""How often, and after how long, a text the provider refused for now is tried again."""

from __future__ import annotations

import random
from datetime import timedelta

MAX_ATTEMPTS = 6
BASE_BACKOFF = timedelta(seconds=30)


def backoff(attempts: int) -> timedelta:
    """Exponential backoff with jitter, so retries never arrive as a storm."""
    delay = BASE_BACKOFF * (2 ** (attempts - 1))
    return delay + delay * random.random() * 0.25
