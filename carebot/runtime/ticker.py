"""The ticker: runs whatever has fallen due, then delivers the outbox.

Due times live in carebot's own tables (conversation waits, answer ends,
deferred texts), so a restart loses nothing and a missed tick is simply caught
up by the next one. APScheduler only supplies the beat: one job, every
minute, coalesced, never two at once. The simulation calls the same ``tick``
with its own clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from carebot.channels import Channel
from carebot.dispatch.dispatcher import Dispatcher
from carebot.domain import clock
from carebot.domain.logsafe import where
from carebot.outbox.sender import deliver_due

log = logging.getLogger(__name__)

TICK_SECONDS = 60


async def tick(dispatcher: Dispatcher, channels: Mapping[str, Channel], now: datetime) -> None:
    """Run due timeouts and lapses, then send what is due."""
    dispatcher.run_due(now)
    await deliver_due(dispatcher.db, channels, now, default_tz=dispatcher.default_timezone)


def start_ticker(
    dispatcher: Dispatcher,
    channels: Mapping[str, Channel],
    *,
    seconds: int = TICK_SECONDS,
    now: Callable[[], datetime] = clock.now,
) -> AsyncIOScheduler:
    """Start the beat inside the running event loop; the caller shuts it down."""

    async def beat() -> None:
        try:
            await tick(dispatcher, channels, now())
        except Exception as error:  # one bad tick must not stop the next one
            log.error("tick failed: %s", where(error))

    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(beat, "interval", seconds=seconds, coalesce=True, max_instances=1,
                      next_run_time=now(), id="tick")
    scheduler.start()
    return scheduler
