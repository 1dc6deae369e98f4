"""A group's go-around schedule (a crontab) in plain words, as a table, in English and Spanish."""

from __future__ import annotations

import pytest

from carebot.flows.frequency import describe


@pytest.mark.parametrize(("schedule", "english", "spanish"), [
    ("0 10 * * mon", "every Monday at 10:00", "cada lunes a las 10:00"),
    ("30 18 * * 4", "every Thursday at 18:30", "cada jueves a las 18:30"),
    ("0 9 * * 0", "every Sunday at 09:00", "cada domingo a las 09:00"),
    ("0 9 * * 7", "every Sunday at 09:00", "cada domingo a las 09:00"),
    ("0 9 * * *", "every day at 09:00", "cada día a las 09:00"),
    ("0 9 1 * *", "monthly on day 1 at 09:00", "cada mes el día 1 a las 09:00"),
    ("0 9 * * mon-fri", "on the group's schedule", "según el calendario del grupo"),
    ("0 9 15 3 *", "on the group's schedule", "según el calendario del grupo"),
    ("*/5 * * * *", "on the group's schedule", "según el calendario del grupo"),
    ("weekly", "on the group's schedule", "según el calendario del grupo"),
    ("", "on the group's schedule", "según el calendario del grupo"),
])
def test_describe(schedule: str, english: str, spanish: str) -> None:
    assert (describe(schedule, "en"), describe(schedule, "es")) == (english, spanish)
