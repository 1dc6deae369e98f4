"""Calls (issue 23) against the real ASGI app: signed webhooks in, TwiML from the twilio library out."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from datetime import UTC, timedelta

import pytest
from sqlalchemy import select

from carebot.channels import VOICE
from carebot.channels.voice import TwilioVoice
from carebot.domain.i18n import render
from carebot.outbox.sender import deliver_due
from carebot.outbox.write import SPEAKING, push
from carebot.store.models import Answer, ConsentEvent, Group, Member, Membership, OutboxMessage
from tests.fakes.world import ANA, BEN, FROM, NOW, PUBLIC_URL, row
from tests.helpers import NEWCOMER, app_for, post, sign

CALL = "CA" + "7" * 32


def call_form(sender=ANA, sid=CALL, **more):
    return {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": sender, "To": "+15155550100",
            "CallStatus": "in-progress", "Direction": "inbound", "ApiVersion": "2010-04-01", **more}


class Caller:
    """One call, as Twilio makes it: the first webhook, then each key posted to the menu's action URL."""

    def __init__(self, db, sender=ANA):
        self.app, self.sender, self.path = app_for(db), sender, "/twilio/voice"

    def hear(self, **fields) -> ET.Element:
        form = call_form(self.sender, **fields)
        response = asyncio.run(post(self.app, self.path, form, sign(self.path, form)))
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/xml")
        document = ET.fromstring(response.text)
        menu = document.find("Gather")
        if menu is not None:  # Twilio resolves the relative action URL against the one it called
            self.path = menu.get("action")
        return document

    def press(self, key: str) -> ET.Element:
        return self.hear(Digits=key)


def said(document: ET.Element) -> str:
    """What the caller hears before a key: the menu's words (its goodbye comes only if no key does)."""
    menu = document.find("Gather")
    return " ".join(say.text or "" for say in (menu if menu is not None else document).iter("Say"))


def test_a_member_hears_a_menu_in_twiml_and_a_keypress_answers_the_go_around(db):
    caller = Caller(db)
    first = caller.hear()
    menu = first.find("Gather")
    assert menu.get("action") == "/twilio/voice?step=main&n=1" and menu.get("method") == "POST"
    assert menu.get("input") == "dtmf speech" and menu.get("numDigits") == "1" and menu.get("language") == "en-US"
    assert "Hi Ana" in said(first) and "press 1 reach out to me" in said(first)
    assert first.find("Hangup") is not None  # after the menu, unanswered: goodbye
    assert "how long" in said(caller.press("1")).lower()
    answer = caller.press("3")
    assert "reach out" in said(answer)
    assert "Text STATUS" not in said(answer)  # the spoken variant: a caller is not told to text
    with db.transaction() as session:
        ana = Member.by_phone(session, ANA)
        [kept] = session.scalars(select(Answer).where(Answer.member_id == ana.id)).all()
        assert (kept.option, kept.until) == (1, None)
        # The reply was spoken in the call: kept as sent, without its words, never for the sender.
        rows = session.scalars(select(OutboxMessage)).all()
        assert [(r.channel, r.status, r.body) for r in rows] == [("voice", "sent", "")]
        assert not session.scalars(select(OutboxMessage).where(OutboxMessage.status.in_(("pending", SPEAKING)))).all()


def test_the_same_keypress_posted_twice_acts_once(db):
    caller = Caller(db)
    caller.hear()
    caller.press("5")
    path = caller.path
    caller.press("1")
    caller.path = path  # Twilio tries the same webhook again
    caller.press("1")
    with db.transaction() as session:
        ana = Member.by_phone(session, ANA)
        assert len(session.scalars(select(Answer).where(Answer.member_id == ana.id)).all()) == 1


def test_a_forged_or_changed_call_webhook_is_refused(db):
    app = app_for(db)
    form = call_form()
    assert asyncio.run(post(app, "/twilio/voice", form)).status_code == 403
    wrong = sign("/twilio/voice", form, url="http://10.0.0.7:8000")
    assert asyncio.run(post(app, "/twilio/voice", form, wrong)).status_code == 403
    # The menu's state is in the signed URL: another step than Twilio was given is refused.
    signed = sign("/twilio/voice?step=main&n=1", {**form, "Digits": "7"})
    assert asyncio.run(post(app, "/twilio/voice?step=stop&n=1", {**form, "Digits": "7"}, signed)).status_code == 403
    with db.transaction() as session:
        assert not session.scalar(select(Member.opted_out).where(Member.phone_hash.is_not(None)).limit(1))


def test_a_stranger_joins_by_keypad_with_the_spoken_question_recorded_as_consent_on_voice(db):
    caller = Caller(db, NEWCOMER)
    assert "press 1" in said(caller.hear())
    question = said(caller.press("1"))
    assert "Press 1 to join" in question
    welcome = caller.press("1")
    assert "Welcome to Des Moines Mutual Aid" in said(welcome)
    with db.transaction() as session:
        newcomer = Member.by_phone(session, NEWCOMER)
        assert newcomer.channel == "sms"  # the question said the check-ins come by text
        [membership] = session.scalars(select(Membership).where(Membership.member_id == newcomer.id)).all()
        assert membership.status == "active"
        [event] = session.scalars(select(ConsentEvent).where(ConsentEvent.member_id == newcomer.id)).all()
        assert (event.kind, event.channel, event.wording) == ("opt_in", "voice", question)


def test_seven_confirmed_once_stops_everything_and_the_call_ends(db):
    caller = Caller(db, BEN)
    caller.hear()
    assert "press 7 again" in said(caller.press("7"))
    ended = caller.press("7")
    assert ended.find("Gather") is None and ended.find("Hangup") is not None
    assert "unsubscribed" in said(ended).lower()
    with db.transaction() as session:
        ben = Member.by_phone(session, BEN)
        assert ben.opted_out
        [event] = session.scalars(select(ConsentEvent).where(ConsentEvent.member_id == ben.id)).all()
        assert (event.kind, event.channel) == ("opt_out", "voice")


def test_a_spanish_member_hears_spanish_voices(db):
    with db.transaction() as session:
        Member.by_phone(session, ANA).language = "es"
    document = Caller(db).hear()
    assert {say.get("language") for say in document.iter("Say")} == {"es-MX"}
    assert document.find("Gather").get("language") == "es-MX"
    assert render("call.menu", "es") in said(document)


def test_a_key_said_instead_of_pressed_and_other_words_read_as_a_text(db):
    caller = Caller(db)
    caller.hear()
    assert "how long" in said(caller.hear(SpeechResult="Four.", Confidence="0.9")).lower()
    caller.hear(SpeechResult="cuatro", Confidence="0.8")  # at how long: 4 is no duration
    caller.press("3")
    with db.transaction() as session:
        ana = Member.by_phone(session, ANA)
        assert [a.option for a in session.scalars(select(Answer).where(Answer.member_id == ana.id))] == [4]
    assert "DMMA" in said(caller.hear(SpeechResult="status", Confidence="0.9"))


def test_nine_asks_for_a_call_back_and_nothing_spoken_holds_a_number(db):
    with db.transaction() as session:
        session.scalars(select(Membership)).first().role = "coordinator"  # Ana holds the role
    caller = Caller(db, BEN)
    caller.hear()
    spoken = said(caller.press("9"))
    assert "reach out" in spoken
    assert "+1515" not in spoken and "555" not in spoken
    with db.transaction() as session:
        ana = Member.by_phone(session, ANA)
        [told] = session.scalars(select(OutboxMessage).where(OutboxMessage.member_id == ana.id)).all()
        # The on-call coordinator is told by text, with the number Ben agreed to share by asking.
        assert told.channel == "sms" and BEN in told.body


def test_a_call_without_a_number_is_told_so_kindly(db):
    document = Caller(db, "anonymous").hear()
    assert "number" in said(document) and document.find("Gather") is None
    with db.transaction() as session:
        assert session.scalar(select(Member).where(Member.phone_hash.is_(None))) is None


def test_a_missed_call_reported_on_the_status_callback_asks_for_a_call_back_only_when_the_member_said_so(db):
    app = app_for(db)
    with db.transaction() as session:
        session.scalars(select(Membership)).first().role = "coordinator"  # Ana holds the role

    def hang_up(sid):
        form = call_form(BEN, sid=sid, CallStatus="completed", CallDuration="4")
        return asyncio.run(post(app, "/twilio/status", form, sign("/twilio/status", form))).status_code

    def told_ana():
        with db.transaction() as session:
            ana = Member.by_phone(session, ANA)
            return session.scalars(select(OutboxMessage).where(OutboxMessage.member_id == ana.id)).all()

    assert hang_up("CA" + "1" * 32) == 204 and told_ana() == []  # phones get borrowed
    with db.transaction() as session:
        Member.by_phone(session, BEN).missed_call_means_call = True
    assert hang_up("CA" + "2" * 32) == 204
    [told] = told_ana()
    assert BEN in told.body
    with db.transaction() as session:
        ben = Member.by_phone(session, BEN)
        [reply] = session.scalars(select(OutboxMessage).where(OutboxMessage.member_id == ben.id)).all()
        assert (reply.channel, reply.status) == ("sms", "pending")  # nobody on the line: by text
    assert hang_up("CA" + "2" * 32) == 204 and len(told_ana()) == 1  # the same report twice acts once


# --- CHANNEL VOICE: carebot's own messages as calls, through the real client and the fake ---------


def calls_through(fake, db, now):
    """One sender pass with the real voice channel pointed at the fake Calls API."""
    async def go():
        channel = TwilioVoice(account_sid=fake.account_sid, auth_token=fake.auth_token, public_url=PUBLIC_URL,
                              from_number=FROM, base_url=fake.base_url, rate=1000)
        try:
            return await deliver_due(db, {VOICE: channel}, now)
        finally:
            await channel.close()

    return asyncio.run(go())


def a_call_for(db, phone, text):
    """A check-in for ``phone``, a member who chose calls (CHANNEL VOICE): written as carebot writes it."""
    with db.transaction() as session:
        member = Member.by_phone(session, phone)
        member.channel = "voice"
        row = push(session, member, text, NOW, session.scalars(select(Group)).one().id)
        session.flush()
        return row.id


def picked_up(db, outbox_id, answered_by, sid):
    form = call_form(ANA, sid=sid, Direction="outbound-api", From=FROM, To=ANA, AnsweredBy=answered_by)
    path = f"/twilio/voice?step=out&outbox={outbox_id}"
    response = asyncio.run(post(app_for(db), path, form, sign(path, form)))
    assert response.status_code == 200
    return ET.fromstring(response.text)


def call_ended(db, sid, status):
    form = call_form(ANA, sid=sid, Direction="outbound-api", From=FROM, To=ANA, CallStatus=status)
    assert asyncio.run(post(app_for(db), "/twilio/status", form, sign("/twilio/status", form))).status_code == 204


def test_a_message_for_a_member_who_chose_calls_is_a_call_placed_through_the_real_client(db, fake):
    row_id = a_call_for(db, ANA, "Checking in: how are you this week?")
    assert calls_through(fake, db, NOW) == 1
    [call] = fake.calls
    request = call["request"]
    assert (request["To"], request["From"], request["Method"]) == (ANA, FROM, "POST")
    assert request["Url"] == f"{PUBLIC_URL}/twilio/voice?step=out&outbox={row_id}"
    assert request["MachineDetection"] == "Enable"
    assert request["StatusCallback"] == f"{PUBLIC_URL}/twilio/status?outbox={row_id}"
    assert "Checking in" not in str(request)  # the words are not given to Twilio
    placed = row(db, row_id)
    assert (placed.status, placed.provider_id, placed.body) == ("sent", call["sid"], "Checking in: how are you this week?")
    assert calls_through(fake, db, NOW) == 0  # never placed twice
    # Picked up by Ana: the message, then the go-around's keys; its words are kept no longer.
    heard = picked_up(db, row_id, "human", call["sid"])
    assert "Checking in: how are you this week?" in said(heard) and "press 1 reach out to me" in said(heard)
    assert row(db, row_id).body == ""
    call_ended(db, call["sid"], "completed")
    assert row(db, row_id).status == "sent"  # heard: not tried again


def test_a_voicemail_hears_only_the_groups_name_and_an_unheard_call_is_tried_once_more_an_hour_later(db, fake):
    row_id = a_call_for(db, ANA, "Rosa asked for support: can you check in on Ben?")
    calls_through(fake, db, NOW)
    first = fake.calls[0]["sid"]
    machine = picked_up(db, row_id, "machine_start", first)
    assert said(machine) == "Hi, this is Des Moines Mutual Aid's care line. Please call us back. Thank you."
    assert machine.find("Gather") is None
    call_ended(db, first, "completed")
    again = row(db, row_id)
    assert (again.status, again.not_before.replace(tzinfo=UTC)) == ("pending", NOW + timedelta(hours=1))
    assert calls_through(fake, db, NOW + timedelta(minutes=59)) == 0
    assert calls_through(fake, db, NOW + timedelta(hours=1)) == 1
    second = fake.calls[1]["sid"]
    call_ended(db, second, "no-answer")
    given_up = row(db, row_id)
    assert (given_up.status, given_up.body) == ("failed", "")  # twice unheard: given up, its words gone
    assert calls_through(fake, db, NOW + timedelta(hours=3)) == 0


def test_a_call_picked_up_for_another_number_or_an_unknown_row_says_nothing_of_any_message(db, fake):
    row_id = a_call_for(db, BEN, "Ben: a check-in")
    calls_through(fake, db, NOW)
    heard = picked_up(db, row_id, "human", fake.calls[0]["sid"])  # Ana's number, Ben's message
    assert "check-in" not in said(heard) and heard.find("Gather") is None


def test_the_fake_refuses_a_call_the_contract_does_not_allow(fake):
    from twilio.base.exceptions import TwilioRestException
    from twilio.rest import Client

    client = Client(fake.account_sid, fake.auth_token)
    client.api.base_url = fake.base_url
    with pytest.raises(TwilioRestException) as refused:
        client.calls.create(to=ANA, from_=FROM)  # no Url, Twiml nor ApplicationSid
    assert refused.value.code == 21205


def test_a_call_twilio_answers_unclearly_for_is_given_up_not_placed_twice_and_a_refused_one_retried(db, fake):
    fake.script(ANA, (500, 20500), (429, 20429))
    unclear = a_call_for(db, ANA, "first")
    assert calls_through(fake, db, NOW) == 0
    assert (row(db, unclear).status, row(db, unclear).error_code) == ("failed", "20500")
    limited = a_call_for(db, ANA, "second")
    calls_through(fake, db, NOW)
    assert row(db, limited).status == "pending"  # a rate limit: tried again later
    assert fake.calls == []


def test_a_call_picked_up_after_the_member_sent_stop_says_nothing_of_the_message(db, fake):
    row_id = a_call_for(db, ANA, "A gathering on Friday: will you come?")
    calls_through(fake, db, NOW)
    with db.transaction() as session:
        Member.by_phone(session, ANA).opted_out = True
    heard = picked_up(db, row_id, "human", fake.calls[0]["sid"])
    assert "gathering" not in said(heard) and heard.find("Gather") is None
