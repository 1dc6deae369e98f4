"""/metrics says which carebot runs and how its process fares; Signal's gauge only where Signal is (issue 20)."""

from __future__ import annotations

import platform
from types import SimpleNamespace

from carebot import __version__
from tests.helpers import app_for, scrape, value


def test_build_info_and_process_metrics(db):
    page, values = scrape(app_for(db))
    assert value(values, "carebot_build_info", version=__version__, python=platform.python_version()) == 1
    assert value(values, "process_resident_memory_bytes") > 0 and value(values, "process_open_fds") > 0
    assert "python_info" in page


def test_the_signal_gauge_is_absent_without_signal_and_present_with_it(db):
    app = app_for(db)
    page, _ = scrape(app)
    assert "carebot_signal_connected" not in page  # SMS only: no series, not a 0 that reads as "down"
    app.state.signal = SimpleNamespace(status="up", probe_status=None)
    _, values = scrape(app)
    assert value(values, "carebot_signal_connected") == 1
    app.state.signal.status = "down"
    page, values = scrape(app)
    assert "carebot_signal_connected 0.0" in page
    app.state.signal = None  # e.g. Signal turned off and carebot restarted in the same process (the tests)
    assert "carebot_signal_connected" not in scrape(app)[0]


def test_waiting_requests_are_read_at_scrape_time(db):
    from datetime import timedelta

    from sqlalchemy import select

    from carebot.store.models import Answer, Group, Member
    from tests.fakes.world import ANA, BEN, NOW

    app = app_for(db)
    _, values = scrape(app)
    assert value(values, "carebot_requests_waiting") == 0
    with db.transaction() as session:
        group = session.scalars(select(Group)).one()
        for phone, option, hours in ((ANA, 1, 30), (BEN, 4, 2)):
            member = Member.by_phone(session, phone)
            session.add(Answer(group_id=group.id, member_id=member.id, option=option,
                               since=NOW - timedelta(hours=hours)))
    _, values = scrape(app)
    assert value(values, "carebot_requests_waiting") == 2
    assert value(values, "carebot_requests_oldest_wait_seconds") == 30 * 3600
