"""The ticker: runs whatever has fallen due, then delivers the outbox.

Due times live in carebot's own tables (conversation waits, answer ends,
deferred texts), so a restart loses nothing and a missed tick is simply caught
up by the next one. APScheduler only supplies the beat (``runtime.serve.start_beat``):
one job, every minute, coalesced, never two at once. The simulation calls ``tick``
with its own clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from carebot.channels import Channel
from carebot.dispatch.dispatcher import Dispatcher
from carebot.outbox.sender import deliver_due

TICK_SECONDS = 60


async def tick(dispatcher: Dispatcher, channels: Mapping[str, Channel], now: datetime) -> None:
    """Run due timeouts and lapses, then send what is due."""
    dispatcher.run_due(now)
    await deliver_due(dispatcher.db, channels, now, default_tz=dispatcher.default_timezone)
