"""The SMS webhook's edge: who may text carebot, and what a forged request costs.

Each case here came from an adversarial run against a real ``carebot serve``
(issue #15): letters in ``From`` answered at the digits phonenumbers makes of
them, ``whatsapp:`` senders taken for the SMS number, a forged request parsed
whole and checked three times over before being refused.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import select

from carebot.dispatch.dispatcher import Dispatcher
from carebot.domain import metrics
from carebot.domain.phone import normalize_phone
from carebot.store.models import Member, Membership
from tests.fakes.world import ANA
from tests.helpers import TOKEN, app_for, counts, inbound_form, post, sign


def refused(reason: str) -> float:
    return metrics.REGISTRY.get_sample_value("carebot_messages_refused_total",
                                             {"channel": "sms", "reason": reason}) or 0.0


@pytest.mark.parametrize("raw", ["+1515555ABCD", "+1 515 555 CARE", "1-800-FLOWERS", "515555abcd",
                                 "whatsapp:+15155550101", "messenger:+15155550101", "sms:+15155550101"])
def test_letters_and_prefixes_are_not_a_phone_number(raw):
    assert normalize_phone(raw) is None


@pytest.mark.parametrize("raw", ["+15155550101", "+1 (515) 555-0101", "515.555.0101", " 5155550101 "])
def test_the_ways_people_write_a_number_still_are_one(raw):
    assert normalize_phone(raw) == "+15155550101"


@pytest.mark.parametrize(("sender", "reason"), [("+1515555ABCD", "not_a_number"),
                                                ("whatsapp:" + ANA, "prefixed"),
                                                ("messenger:" + ANA, "prefixed")])
def test_a_signed_text_from_no_sms_number_is_refused_before_the_store(db, sender, reason, caplog):
    """Letters are never turned into digits, and ``whatsapp:+1…`` is not that SMS number (its STOP is not Ana's)."""
    form = inbound_form(sender=sender, body="STOP")
    before, counted = counts(db), refused(reason)
    with caplog.at_level(logging.INFO):
        response = asyncio.run(post(app_for(db), "/twilio/sms", form, sign("/twilio/sms", form)))
    # Taken and dropped: an error would only send Twilio to the fallback URL with the same text.
    assert response.status_code == 204 and response.content == b""
    assert counts(db) == before  # nothing stored: no member made, no reply written
    assert Dispatcher(db).process_pending() == 0
    with db.transaction() as session:
        ana = Member.by_phone(session, ANA)
        assert session.scalars(select(Membership.status).where(Membership.member_id == ana.id)).all() == ["active"]
    assert refused(reason) == counted + 1
    said = " ".join(record.getMessage() for record in caplog.records)
    assert "refused" in said and "5155550101" not in said and "ABCD" not in said


def test_a_stored_text_from_letters_is_not_answered_at_the_digits(db):
    """Defence in depth: a text queued before this check (or by another channel) still names no member."""
    from datetime import UTC, datetime

    from carebot.channels import SMS, Inbound

    dispatcher = Dispatcher(db)
    dispatcher.store_inbound(Inbound(SMS, "SM" + "7" * 32, "+1515555ABCD", "JOIN DMMA",
                                     datetime(2026, 3, 2, 16, 0, tzinfo=UTC)))
    before = counts(db)
    assert dispatcher.process_pending() == 1  # it left the queue
    assert counts(db)[1:] == before[1:]  # no reply, no member


# --- forged requests: refused cheaply, one HMAC each, logged sparingly, counted ---

def webhooks_refused(reason: str) -> float:
    return metrics.REGISTRY.get_sample_value("carebot_webhooks_refused_total", {"reason": reason}) or 0.0


async def raw_post(app, headers: list[tuple[bytes, bytes]], body: bytes = b"x=1"):
    """One POST straight through ASGI; also says whether the app read the body at all."""
    read, sent = [], []

    async def receive():
        read.append(1)
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/twilio/sms", "query_string": b"", "headers": headers,
             "http_version": "1.1", "scheme": "http", "server": ("10.0.0.7", 8000), "client": ("203.0.113.9", 1)}
    await app(scope, receive, send)
    return sent[0]["status"], bool(read)


FORM_TYPE = (b"content-type", b"application/x-www-form-urlencoded")
SIGNED = (b"x-twilio-signature", b"bm90IGEgc2lnbmF0dXJl")


@pytest.mark.parametrize(("headers", "status", "reason"), [
    ([FORM_TYPE], 403, "no_signature"),
    ([SIGNED, (b"content-type", b"application/json")], 415, "content_type"),
    ([SIGNED], 415, "content_type"),
    ([SIGNED, FORM_TYPE, (b"content-length", b"10000000")], 413, "too_large"),
])
def test_a_request_that_cannot_be_a_webhook_is_refused_before_its_body_is_read(db, headers, status, reason):
    counted = webhooks_refused(reason)
    assert asyncio.run(raw_post(app_for(db), headers)) == (status, False)
    assert webhooks_refused(reason) == counted + 1


def test_a_form_of_thousands_of_fields_is_refused_before_it_is_parsed(db):
    """Reading 5,000 fields cost a forged request some 30 ms of event loop; Twilio's have about 20."""
    import urllib.parse

    many = urllib.parse.urlencode({f"f{n}": "v" for n in range(5000)}).encode()
    counted = webhooks_refused("too_many_fields")
    assert asyncio.run(raw_post(app_for(db), [SIGNED, FORM_TYPE], many)) == (413, True)
    assert webhooks_refused("too_many_fields") == counted + 1


def test_a_forged_request_costs_one_hmac_and_a_signed_one_too(db, monkeypatch):
    import hmac as real_hmac

    from carebot.channels import twilio

    app = app_for(db)
    form = inbound_form(body="x" * 2000)
    wrong, right = sign("/twilio/sms", form, token="d" * 32), sign("/twilio/sms", form)
    made, original = [], real_hmac.new
    # Counted: the HMACs keyed with the auth token (storing a text hashes its sender too).
    monkeypatch.setattr(twilio.hmac, "new",
                        lambda key, *a, **k: made.append(key == TOKEN.encode()) or original(key, *a, **k))
    forged = asyncio.run(post(app, "/twilio/sms", form, wrong))
    assert forged.status_code == 403 and made.count(True) == 1
    signed = asyncio.run(post(app, "/twilio/sms", form, right))
    assert signed.status_code == 204 and made.count(True) == 2


@pytest.mark.parametrize("form", [
    {"MessageSid": "SM1", "From": ANA, "Body": "quiero ayuda 🙏 “por favor” ñandú"},
    {"MessageSid": "SM1", "From": ANA, "Body": "", "To": "+15155550100"},
    {"MessageSid": "SM1", "From": ANA, "Body": "a+b=c&d %20 ?"},
])
def test_the_check_agrees_with_twilios_validator_byte_for_byte(form):
    from twilio.request_validator import RequestValidator

    from carebot.channels.twilio import WebhookVerifier

    url = "https://care.example.org/twilio/sms"
    signature = RequestValidator("t" * 32).compute_signature(url, form)
    pairs = list(form.items())
    verifier = WebhookVerifier("t" * 32, "https://care.example.org/")
    assert verifier.valid("/twilio/sms", "", pairs, signature, None)
    assert not verifier.valid("/twilio/sms", "", pairs + [("Body", "STOP")], signature, None)
    sha256 = RequestValidator("t" * 32).compute_signature(url, form, "HMAC_SHA256")
    assert verifier.valid("/twilio/sms", "", pairs, sha256, "key=k1,algorithm=HMAC_SHA256")
    assert not verifier.valid("/twilio/sms", "", pairs, sha256, "algorithm=HMAC_MD5")


def test_repeated_fields_and_repeated_values_are_signed_as_twilios_validator_signs_them():
    """The library signs each name once, its distinct values sorted: a value sent twice counts once."""
    from multidict import MultiDict
    from twilio.request_validator import RequestValidator

    from carebot.channels.twilio import WebhookVerifier

    pairs = [("MessageSid", "SM1"), ("MediaUrl", "https://e.org/b"), ("MediaUrl", "https://e.org/a"),
             ("MediaUrl", "https://e.org/b"), ("From", ANA)]
    signature = RequestValidator("t" * 32).compute_signature("https://care.example.org/twilio/status?outbox=7",
                                                             MultiDict(pairs))
    verifier = WebhookVerifier("t" * 32, "https://care.example.org")
    assert verifier.valid("/twilio/status", "outbox=7", pairs, signature, None)
    assert not verifier.valid("/twilio/status", "outbox=8", pairs, signature, None)


def test_a_public_url_with_a_port_takes_both_of_twilios_signings():
    """Twilio signs a URL with a port sometimes with it, sometimes without; the library takes both."""
    from twilio.request_validator import RequestValidator

    from carebot.channels.twilio import WebhookVerifier

    pairs = [("MessageSid", "SM1"), ("From", ANA)]
    verifier = WebhookVerifier("t" * 32, "https://care.example.org:8443")
    for url in ("https://care.example.org:8443/twilio/sms", "https://care.example.org/twilio/sms"):
        assert verifier.valid("/twilio/sms", "", pairs, RequestValidator("t" * 32).compute_signature(url, dict(pairs)), None)


def test_a_flood_of_forged_requests_is_counted_each_and_logged_once_a_minute(db, caplog):
    app, form = app_for(db), inbound_form()
    forged = sign("/twilio/sms", form, token="d" * 32)
    counted = webhooks_refused("bad_signature")

    async def flood():
        for _ in range(50):
            assert (await post(app, "/twilio/sms", form, forged)).status_code == 403

    with caplog.at_level(logging.INFO, logger="carebot"):
        asyncio.run(flood())
    assert webhooks_refused("bad_signature") == counted + 50
    lines = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in lines]  # journald keeps the real lines


def test_the_refusal_log_says_how_many_since_its_last_line():
    from carebot.runtime.web import RefusalLog

    moments = iter([0.0, 1.0, 2.0, 61.0])
    said = []
    refusals = RefusalLog(every=60.0, now=lambda: next(moments), say=said.append)
    for reason in ("bad_signature", "bad_signature", "no_signature", "bad_signature"):
        refusals.refused(reason)
    assert len(said) == 2
    assert "1 bad_signature" in said[0]
    assert "2 bad_signature" in said[1] and "1 no_signature" in said[1]
    # A wrong token refuses Twilio's own texts as forged: the line says where to look (a deployer could not tell).
    assert said[0].endswith(": if members' texts go unanswered, TWILIO_AUTH_TOKEN or CAREBOT_PUBLIC_URL is wrong "
                            "(`carebot check` tells)")
    said.clear()
    refusals = RefusalLog(every=60.0, now=lambda: 0.0, say=said.append)
    refusals.refused("too_large")
    assert said == ["webhooks refused, forged or malformed, since the last such line: 1 too_large"]
