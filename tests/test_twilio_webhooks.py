"""Twilio's webhooks against the real ASGI app, signed with the twilio library's own validator."""

from __future__ import annotations

import asyncio
import itertools

import httpx
import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from carebot.channels import SMS
from carebot.channels.twilio import parse_inbound
from carebot.dispatch.dispatcher import Dispatcher
from carebot.outbox.views import undelivered_for_group
from carebot.store.models import OutboxMessage
from tests.fakes.world import ANA, NOW, PUBLIC_URL, queue, row
from tests.helpers import NEWCOMER, TOKEN, app_for, counts, inbound_form, post, sign, status_form


def test_a_signed_text_is_stored_answered_with_empty_twiml_then_handled_by_the_worker(db):
    woken = []
    form = inbound_form()
    response = asyncio.run(post(app_for(db, woken=woken), "/twilio/sms", form, sign("/twilio/sms", form)))
    # Twilio's documented answer that sends no reply: 204, no body, and so no content headers.
    assert response.status_code == 204 and response.content == b""
    assert "content-type" not in response.headers and "content-length" not in response.headers
    assert counts(db) == (1, 0, 3)  # stored only: the dispatcher runs in the inbound worker
    assert woken == [1]  # the inbound worker is told at once, so the text does not wait for a poll
    assert Dispatcher(db).process_pending() == 1
    inbound, outbox, members = counts(db)
    assert (inbound, members) == (1, 4)
    with db.transaction() as session:
        [reply] = session.scalars(select(OutboxMessage)).all()
        assert (reply.address, reply.channel, reply.status) == (NEWCOMER, SMS, "pending")


@pytest.mark.parametrize("case", ["missing", "tampered", "wrong-url", "wrong-token", "local-url"])
def test_a_forged_webhook_is_refused_and_changes_nothing(db, case):
    form = inbound_form()
    signature = {
        "missing": None,
        "tampered": sign("/twilio/sms", form),
        "wrong-url": sign("/twilio/sms", form, url="https://evil.example.org"),
        "wrong-token": sign("/twilio/sms", form, token="d" * 32),
        # signed for the URL the server sees behind the proxy, not the public one
        "local-url": sign("/twilio/sms", form, url="http://10.0.0.7:8000"),
    }[case]
    if case == "tampered":
        form = {**form, "Body": "STOP"}
    before = counts(db)
    response = asyncio.run(post(app_for(db), "/twilio/sms", form, signature))
    assert response.status_code == 403
    assert counts(db) == before


def test_a_form_with_a_repeated_field_is_checked_over_every_value(db):
    """Twilio signs every value of a repeated field; the app reads them all, and one changed value is refused."""
    class Fields(dict):  # name -> every value, read as the library reads a Django QueryDict
        getlist = dict.__getitem__

    form = {**{name: [value] for name, value in inbound_form().items()},
            "MediaUrl": ["https://example.org/b", "https://example.org/a"]}
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC_URL + "/twilio/sms", Fields(form))
    assert asyncio.run(post(app_for(db), "/twilio/sms", form, signature)).status_code == 204
    changed = {**form, "MediaUrl": ["https://example.org/b", "https://example.org/c"]}
    assert asyncio.run(post(app_for(db), "/twilio/sms", changed, signature)).status_code == 403
    assert counts(db)[0] == 1


def test_a_signed_form_that_is_not_a_message_gets_400(db):
    form = {"AccountSid": "AC" + "0" * 32, "Body": "hi"}
    response = asyncio.run(post(app_for(db), "/twilio/sms", form, sign("/twilio/sms", form)))
    assert response.status_code == 400
    assert counts(db)[0] == 0


@pytest.mark.parametrize("workers", [1, 5])
def test_the_same_message_five_times_at_once_acts_once(db, workers):
    """Twilio's retries and its fallback URL can deliver one text several times, concurrently."""
    app = app_for(db, workers=workers)
    form = inbound_form()
    signature = sign("/twilio/sms", form)

    async def storm():
        return await asyncio.gather(*(post(app, "/twilio/sms", form, signature) for _ in range(5)))

    responses = asyncio.run(storm())
    assert [r.status_code for r in responses] == [204] * 5
    assert counts(db) == (1, 0, 3)
    assert Dispatcher(db).process_pending() == 1
    inbound, outbox, members = counts(db)
    assert (inbound, outbox, members) == (1, 1, 4)  # one effect, one reply

    # the same text under another MessageSid is a new text: the storm's single reply was not luck
    other = inbound_form(sid="SM" + "2" * 32)
    asyncio.run(post(app, "/twilio/sms", other, sign("/twilio/sms", other)))
    assert counts(db)[0] == 2


def test_parse_inbound_reads_twilios_form():
    message = parse_inbound(inbound_form(body="1 call evenings"), NOW)
    assert (message.channel, message.provider_id, message.sender, message.text) == (
        SMS, "SM" + "1" * 32, NEWCOMER, "1 call evenings")
    assert parse_inbound({"Body": "hi"}, NOW) is None


def send_callbacks(db, row_id, sid, statuses, error=None):
    app = app_for(db)
    path = f"/twilio/status?outbox={row_id}"

    async def go():
        for status in statuses:
            form = status_form(sid, status, error if status in ("undelivered", "failed") else None)
            response = await post(app, path, form, sign(path, form))
            assert response.status_code == 204

    asyncio.run(go())


def sent_row(db, sid):
    row_id = queue(db, ANA, "Checking in")
    with db.transaction() as session:
        sent = session.get(OutboxMessage, row_id)
        sent.status, sent.provider_id = "sent", sid
    return row_id


@pytest.mark.parametrize("order", list(itertools.permutations(["queued", "sent", "delivered"])))
def test_status_only_moves_forward_whatever_the_order(db, order):
    sid = "SM" + "3" * 32
    row_id = sent_row(db, sid)
    send_callbacks(db, row_id, sid, order)
    done = row(db, row_id)
    assert (done.status, done.provider_status, done.error_code) == ("sent", "delivered", None)
    with db.transaction() as session:
        assert undelivered_for_group(session, done.group_id) == []


@pytest.mark.parametrize("order", list(itertools.permutations(["queued", "sent", "undelivered"])))
def test_an_undelivered_check_in_reaches_the_coordinators_view_whatever_the_order(db, order):
    sid = "SM" + "4" * 32
    row_id = sent_row(db, sid)
    send_callbacks(db, row_id, sid, order, error="30003")
    done = row(db, row_id)
    assert (done.provider_status, done.error_code) == ("undelivered", "30003")
    with db.transaction() as session:
        assert [r.id for r in undelivered_for_group(session, done.group_id)] == [row_id]


def test_a_forged_status_callback_changes_nothing(db):
    sid = "SM" + "5" * 32
    row_id = sent_row(db, sid)
    path = f"/twilio/status?outbox={row_id}"
    form = status_form(sid, "undelivered", "30003")
    forged = sign(f"/twilio/status?outbox={row_id + 1}", form)  # signed for another row
    response = asyncio.run(post(app_for(db), path, form, forged))
    assert response.status_code == 403
    assert row(db, row_id).provider_status is None


def test_healthz_says_the_database_answers(db):
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app_for(db)), base_url="http://t") as client:
            return await client.get("/healthz")

    response = asyncio.run(go())
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "role": "all",
                               "outbox": {"pending": 0, "sending": 0, "scheduled": 0},
                               "inbound": {"waiting": 0, "oldest_seconds": 0, "given_up_24h": 0}}
