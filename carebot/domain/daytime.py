"""Quiet hours: what carebot starts on its own reaches members only by day."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_STARTS = 9
DAY_ENDS = 20


def next_daytime(now: datetime, tz: ZoneInfo, starts: int = DAY_STARTS, ends: int = DAY_ENDS) -> datetime:
    """``now`` if it is daytime in ``tz``, else the next morning at ``starts`` o'clock there."""
    local = now.astimezone(tz)
    if starts <= local.hour < ends:
        return now
    day = local.date() if local.hour < starts else local.date() + timedelta(days=1)
    return datetime.combine(day, time(starts), tz).astimezone(now.tzinfo)


def is_daytime(now: datetime, tz: ZoneInfo, starts: int = DAY_STARTS, ends: int = DAY_ENDS) -> bool:
    """True when a text started by carebot may reach a member in ``tz`` now."""
    return next_daytime(now, tz, starts, ends) == now


def after_daytime_hours(start: datetime, hours: float, tz: ZoneInfo, starts: int = DAY_STARTS,
                        ends: int = DAY_ENDS) -> datetime:
    """The moment ``hours`` of daytime in ``tz`` have passed since ``start``; night hours do not count.

    Counted in real elapsed time (UTC), so a clock change at night changes nothing.
    """
    left = timedelta(hours=hours)
    moment = next_daytime(start, tz, starts, ends)
    while True:
        local = moment.astimezone(tz)
        day_ends = (datetime.combine(local.date(), time(0), tz) + timedelta(hours=ends)).astimezone(start.tzinfo)
        room = day_ends - moment
        if left <= room:
            return moment + left
        left -= room
        moment = next_daytime(day_ends, tz, starts, ends)
