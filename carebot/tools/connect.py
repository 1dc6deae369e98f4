"""``carebot twilio connect``: point Twilio at carebot, and the words for a 10DLC campaign.

Through the real twilio client, the number's "A message comes in" webhook (SmsUrl, POST)
and its status callback (for texts and calls alike), and its "A call comes in" webhook (VoiceUrl,
POST: the go-around by phone), are set to ``CAREBOT_PUBLIC_URL`` plus carebot's paths, or, with
``TWILIO_MESSAGING_SERVICE_SID``, the Messaging Service's Incoming Messages and Delivery
Status Callback. Each field that changes is shown before → after. ``carebot check`` reads
the same fields, so a connected number passes it.

The registration text is rendered from the message catalog, so it says what carebot
really sends: the invitation a member must answer YES to, the go-around, HELP and STOP.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from carebot.channels.twilio import STATUS_PATH
from carebot.channels.voice import VOICE_PATH
from carebot.domain.config import ServeSettings
from carebot.domain.i18n import render
from carebot.domain.startup import Refusal
from carebot.flows.frequency import describe
from carebot.flows.words import HELP, STOP_ALONE, STOP_STRONG
from carebot.tools.check import SMS_PATH, _twilio_client, _twilio_said


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [f"{name}: {before[name] or '(none)'} → {after[name]}" for name in after if before[name] != after[name]]


def connect(serve: ServeSettings, echo: Callable[[str], None]) -> bool:
    """Point the service's (or the number's) webhooks at carebot; True when they point there now."""
    sms, status = serve.carebot_public_url + SMS_PATH, serve.carebot_public_url + STATUS_PATH
    voice = serve.carebot_public_url + VOICE_PATH
    client = _twilio_client(serve)
    try:
        if serve.twilio_messaging_service_sid:
            where = f"the Messaging Service {serve.twilio_messaging_service_sid}"
            service = client.messaging.v1.services(serve.twilio_messaging_service_sid).fetch()
            before = {"InboundRequestUrl": service.inbound_request_url, "InboundMethod": service.inbound_method,
                      "StatusCallback": service.status_callback,
                      # True would send texts to each number's own webhook and past the service's.
                      "UseInboundWebhookOnNumber": service.use_inbound_webhook_on_number}
            after = {"InboundRequestUrl": sms, "InboundMethod": "POST", "StatusCallback": status,
                     "UseInboundWebhookOnNumber": False}
            if before != after:
                service.update(inbound_request_url=sms, inbound_method="POST", status_callback=status,
                               use_inbound_webhook_on_number=False)
        else:
            where = "the number TWILIO_FROM"
            found = [n for n in client.incoming_phone_numbers.list(phone_number=serve.twilio_from, limit=20)
                     if n.phone_number == serve.twilio_from]
            if not found:
                echo("✗ TWILIO_FROM is not a number of this account: copy it from the console's Phone Numbers page.")
                return False
            number = found[0]
            if number.sms_application_sid:
                echo("✗ the number's messaging goes to a TwiML App (SmsApplicationSid), which overrides any URL: "
                     "in Twilio's console, set the number's messaging to a webhook, then run this again.")
                return False
            before = {"SmsUrl": number.sms_url, "SmsMethod": number.sms_method, "StatusCallback": number.status_callback,
                      "StatusCallbackMethod": number.status_callback_method}
            after = {"SmsUrl": sms, "SmsMethod": "POST", "StatusCallback": status, "StatusCallbackMethod": "POST"}
            if not number.voice_application_sid:  # calls too (issue 23), unless a TwiML App answers them
                before |= {"VoiceUrl": number.voice_url, "VoiceMethod": number.voice_method}
                after |= {"VoiceUrl": voice, "VoiceMethod": "POST"}
            if before != after:
                calls = {"voice_url": voice, "voice_method": "POST"} if "VoiceUrl" in after else {}
                number.update(sms_url=sms, sms_method="POST", status_callback=status, status_callback_method="POST",
                              **calls)
    except Exception as error:  # any failure of the calls is the one line's answer
        echo(f"✗ {_twilio_said(error)}")
        return False
    changed = _changes(before, after)
    if not changed:
        echo(f"✓ {where} already points at {serve.carebot_public_url}; nothing changed.")
        return True
    echo(f"✓ {where} now points at {serve.carebot_public_url}:")
    for line in changed:
        echo(f"  {line}")
    return True


def campaign_text(group: str, keyword: str, language: str = "en", schedule: str = "0 10 * * mon") -> str:
    """What to paste into a 10DLC campaign registration, from the catalog's own texts."""
    freq = describe(schedule, language)
    samples = [render("invite.ask.group", language, group=group),
               render("join.ask", language, group=group, freq=freq),
               render("goaround.prompt", language, keyword=keyword),
               render("care.offer.1", language, requester="Sam", keyword=keyword, how="")]
    return "\n".join([
        "Campaign description:",
        f"  {group} is a mutual-aid group. Its members get care check-ins by text (a weekly go-around "
        "asking how they are) and are put in touch with each other when someone asks for support. "
        "There is no marketing and no third-party content.",
        "",
        "Message flow / opt-in:",
        f"  A coordinator of {group} adds a person who has asked to take part; carebot then sends one "
        f"invitation and nothing more until the person replies YES. A person can also text JOIN {keyword} "
        "to the number themselves; carebot asks them to confirm with YES before any other text. "
        "The invitation names the group, says message and data rates may apply, and says how to opt out "
        "(STOP). STOP works at any time, in any conversation, and START undoes it.",
        "",
        "Sample messages:",
        *(f"  {sample}" for sample in samples),
        "",
        "Opt-in keywords: YES, JOIN",
        # The words carebot itself reads as STOP and HELP (carebot/flows/words.py), so the form says no more.
        f"Opt-out keywords: {', '.join(sorted(w.upper() for w in STOP_STRONG | STOP_ALONE))}",
        f"Help keywords: {', '.join(sorted(w.upper() for w in HELP))}",
        f"Opt-in answer: {render('join.welcome', language, group=group, freq=freq)}",
        f"Opt-out (STOP) answer: {render('stop.done', language)}",
        f"HELP answer: {render('help.member', language, keywords=keyword, coordinators='Ana, Luis')}",
    ])


class UnknownGroup(Refusal):
    """``--group`` names a group that is not there: the registration text would describe the wrong one."""


def group_for_text(url: str, keyword: str | None) -> tuple[str, str, str, str] | None:
    """The named group's (or the first group's) name, keyword, language and schedule, for the registration text;
    None, for an example group, only when no group was named and there is none. A named group that is not there
    is UnknownGroup, naming the groups that are."""
    from sqlalchemy import select

    from carebot.store.db import start_up
    from carebot.store.models import Group

    wanted = keyword.strip().upper() if keyword else None
    try:
        db = start_up(url)
    except Refusal as refusal:  # no database here yet: the text names an example group, unless one was named
        if wanted:
            raise UnknownGroup(f"carebot twilio connect: no group {wanted} ({refusal}); "
                               "make it with `carebot group add`, or leave out --group") from None
        return None
    try:
        with db.transaction() as session:
            groups = session.scalars(select(Group).order_by(Group.id)).all()
    finally:
        db.dispose()
    found = next((g for g in groups if g.keyword == wanted), None) if wanted else next(iter(groups), None)
    if wanted and found is None:
        there = (f"the groups are {', '.join(sorted(g.keyword for g in groups))}" if groups
                 else "there is no group yet (`carebot group add` makes one)")
        raise UnknownGroup(f"carebot twilio connect: no group with the keyword {wanted}: {there}")
    return (found.name, found.keyword, found.language, found.round_schedule) if found is not None else None
