"""A group's go-around schedule (a crontab) in plain words: "every Monday at 10:00"."""

from __future__ import annotations

from carebot.domain.i18n import day_name, render

_CRON_DAYS = {"sun": 6, "mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5}


def _weekday(field: str) -> int | None:
    field = field.lower()
    if field in _CRON_DAYS:
        return _CRON_DAYS[field]
    if field.isdigit() and 0 <= int(field) <= 7:
        return (int(field) - 1) % 7  # cron counts from Sunday (0 or 7)
    return None


def describe(schedule: str, language: str) -> str:
    """How often a group writes, for the welcome message."""
    fields = schedule.split()
    if len(fields) != 5 or not (fields[0].isdigit() and fields[1].isdigit()):
        return render("freq.other", language)
    minute, hour, day, month, weekday = fields
    at = f"{int(hour):02d}:{int(minute):02d}"
    if day == "*" and month == "*":
        if weekday == "*":
            return render("freq.daily", language, time=at)
        number = _weekday(weekday)
        if number is not None:
            return render("freq.weekly", language, day=day_name(number, language), time=at)
    if day.isdigit() and month == "*" and weekday == "*":
        return render("freq.monthly", language, day=day, time=at)
    return render("freq.other", language)
