"""/metrics moves with the traffic and names no member; /healthz reports the backlog."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import make_url

from carebot.channels import SMS
from carebot.dispatch.dispatcher import Dispatcher
from carebot.domain import metrics
from carebot.outbox.sender import deliver_due
from carebot.runtime.serve import start_beat
from tests.fakes.twilio_api import FakeTwilio
from tests.fakes.world import ANA, BEN, NOW, queue, with_channel
from tests.helpers import app_for, inbound_form, post, scrape, sign, value

SECRET_WORDS = "zanahoria velvetine quokkaberry"


def test_metrics_move_with_texts_in_and_out_and_name_no_one(db):
    app = app_for(db)
    _, before = scrape(app)
    form = inbound_form(sender="+15155550177", body=SECRET_WORDS)
    assert asyncio.run(post(app, "/twilio/sms", form, sign("/twilio/sms", form))).status_code == 204
    asyncio.run(post(app, "/twilio/sms", form, sign("/twilio/sms", form)))  # Twilio's retry

    queue(db, ANA, SECRET_WORDS)
    queue(db, BEN, "a check-in for later", now=NOW + timedelta(days=1))
    _, queued = scrape(app)
    assert value(queued, "carebot_outbox_backlog", state="pending") == 1
    assert value(queued, "carebot_outbox_backlog", state="scheduled") == 1

    with FakeTwilio() as fake:
        fake.script(BEN, (400, 21610))
        with_channel(fake, lambda channel: deliver_due(db, {SMS: channel}, NOW + timedelta(days=2)))
    page, after = scrape(app)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("carebot_messages_in_total", channel=SMS, status="stored") == 1
    assert moved("carebot_messages_in_total", channel=SMS, status="duplicate") == 1
    assert moved("carebot_messages_out_total", channel=SMS, status="sent") == 1
    assert moved("carebot_messages_out_total", channel=SMS, status="failed") == 1
    assert moved("carebot_send_errors_total", channel=SMS, code="21610") == 1
    assert value(after, "carebot_outbox_backlog", state="pending") == 0
    # No number (nor a piece of one) in any label, and no text anywhere on the page.
    labels = " ".join(v for _, pairs in after for _, v in pairs)
    assert labels and not re.search(r"\d{6}", labels)
    assert "+1515" not in page and "5155550" not in page
    for word in SECRET_WORDS.split():
        if len(word) > 3:
            assert word not in page


def test_a_status_report_counts_as_its_state(db):
    app = app_for(db)
    _, before = scrape(app)
    row_id = queue(db, ANA, "hello")
    with FakeTwilio() as fake:
        with_channel(fake, lambda channel: deliver_due(db, {SMS: channel}, NOW))
        sid = fake.sent_to(ANA)[0]["sid"]
    form = {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": "AC" + "0" * 32}
    path = f"/twilio/status?outbox={row_id}"
    assert asyncio.run(post(app, path, form, sign(path, form))).status_code == 204
    _, after = scrape(app)
    assert (value(after, "carebot_messages_out_total", channel=SMS, status="delivered")
            - value(before, "carebot_messages_out_total", channel=SMS, status="delivered")) == 1


@pytest.mark.parametrize("code, label", [
    ("21610", "21610"), ("http-503", "http-503"), ("rate-limit", "rate-limit"),
    ("+15155550101", "other"), ("15155550101", "other"), ("call me at home", "other"), (None, "none"),
])
def test_error_codes_never_carry_a_number_or_words(code, label):
    assert metrics.error_code(code) == label


def test_the_ticker_counts_ticks_and_its_lag_and_empties_sqlites_log(db):
    ticks = metrics.TICKS._value.get()
    wal = Path(f"{make_url(db.url).database}-wal") if db.url.startswith("sqlite") else None
    if wal is not None:
        assert wal.stat().st_size > 0  # the world's set-up is still in the log

    async def go():
        wake = asyncio.Event()
        beat = start_beat(Dispatcher(db), wake, lambda: datetime.now(UTC))
        await asyncio.wait_for(wake.wait(), 60)  # the first beat runs at once (a busy machine: seconds)
        beat.shutdown(wait=False)

    asyncio.run(go())
    assert metrics.TICKS._value.get() == ticks + 1
    assert metrics.SCHEDULER_LAG._value.get() >= 0
    if wal is not None:
        assert wal.stat().st_size == 0


def test_healthz_reports_the_outbox_backlog(db):
    queue(db, ANA, "hello")

    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app_for(db)), base_url="http://t") as client:
            return await client.get("/healthz")

    answer = asyncio.run(go()).json()
    assert answer["database"] == "ok" and answer["outbox"] == {"pending": 1, "sending": 0, "scheduled": 0}
