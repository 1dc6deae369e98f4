"""Phone calls through Twilio: a call's webhook read, and its TwiML built with the twilio library.

A call is a string of webhooks: Twilio posts when the call comes in, then
posts each keypress (or what the caller said) to the ``<Gather>``'s action
URL that the previous answer gave it. Where the caller is in the menu travels
in that URL's query (``?step=…``), which Twilio signs with the rest of the
request, so no call state is kept between two webhooks. Nothing outside
``carebot/channels/`` sees Twilio's call forms or TwiML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from twilio.rest import Client
from twilio.twiml.voice_response import Gather, VoiceResponse

from carebot.channels import VOICE, Sent
from carebot.channels.pacing import Pacer
from carebot.channels.twilio import SEND_TIMEOUT, STATUS_PATH, TWILIO_API, RebasedHttpClient, classified

VOICE_PATH = "/twilio/voice"
START = "start"  # the step of a call that has just come in
OUT = "out"  # the step of a call carebot placed, when it is picked up
# Twilio's <Say> languages for carebot's two: its Spanish voice for the Americas.
SAY_LANGUAGE = {"en": "en-US", "es": "es-MX"}
GATHER_SECONDS = 8  # how long a menu waits for a key after it is read
ENDED = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


@dataclass(frozen=True)
class CallInput:
    """One of a call's webhooks: who calls, where in the menu they are, and what they pressed or said."""

    call_sid: str
    caller: str
    step: str = START
    state: Mapping[str, str] = field(default_factory=dict)
    digits: str = ""
    speech: str = ""
    answered_by: str = ""  # a call carebot placed: "human", "machine_start", "fax", "unknown"


@dataclass(frozen=True)
class CallEnded:
    """A call's status callback: it has ended, or never was picked up."""

    call_sid: str
    caller: str  # the member's number: who called, or whom carebot called
    status: str  # completed, busy, no-answer, failed, canceled
    outbound: bool  # carebot placed it


@dataclass(frozen=True)
class Prompt:
    """The menu that waits for the caller's next key: its step and what it carries on."""

    step: str
    state: Mapping[str, str]
    speech: bool = False  # whether the caller may also say their answer


def parse_call(form: Mapping[str, str], query: Mapping[str, str]) -> CallInput | None:
    """A call's webhook as a CallInput; None when the form is not one."""
    sid = form.get("CallSid")
    caller = _member_number(form)
    if not sid or not caller:
        return None
    state = {name: value[:64] for name, value in query.items() if name != "step"}
    return CallInput(sid[:64], caller, (query.get("step") or START)[:16], state,
                     (form.get("Digits") or "")[:8], (form.get("SpeechResult") or "")[:200],
                     (form.get("AnsweredBy") or "")[:32])


def _outbound(form: Mapping[str, str]) -> bool:
    return (form.get("Direction") or "").startswith("outbound")


def _member_number(form: Mapping[str, str]) -> str:
    """The member's end of the call: who called in, or whom carebot called."""
    return form.get("To" if _outbound(form) else "From") or ""


def parse_call_status(form: Mapping[str, str]) -> CallEnded | None:
    """A call's status callback (on the texts' status path) once the call is over; None when the
    form is not one, or the call goes on."""
    sid, status = form.get("CallSid"), (form.get("CallStatus") or "").lower()
    if not sid or not status or form.get("MessageSid") or status not in ENDED:
        return None
    return CallEnded(sid[:64], _member_number(form), status, _outbound(form))


def action_url(prompt: Prompt) -> str:
    """Where Twilio posts the caller's answer: relative, so Twilio resolves it against the
    public URL it called (and signs it as such)."""
    return f"{VOICE_PATH}?{urlencode({'step': prompt.step, **prompt.state})}"


def twiml(spoken: list[str], language: str, prompt: Prompt | None, *, goodbye: str = "") -> str:
    """The TwiML that says ``spoken``, then waits for a key at ``prompt``, or hangs up.

    A menu nobody answers is followed by ``goodbye`` and the end of the call.
    """
    say_in = SAY_LANGUAGE.get(language, SAY_LANGUAGE["en"])
    response = VoiceResponse()
    if prompt is None:
        for text in spoken:
            response.say(text, language=say_in)
    else:
        gather = Gather(action=action_url(prompt), method="POST", num_digits=1, timeout=GATHER_SECONDS,
                        input="dtmf speech" if prompt.speech else "dtmf", language=say_in,
                        speech_timeout="auto" if prompt.speech else None, action_on_empty_result=False)
        for text in spoken:
            gather.say(text, language=say_in)
        response.append(gather)
    if goodbye:
        response.say(goodbye, language=say_in)
    response.hangup()
    return response.to_xml()


def answered_by_machine(answered_by: str) -> bool:
    """Whether Twilio's machine detection heard a voicemail or a fax, not a person."""
    return answered_by.startswith("machine") or answered_by == "fax"


class TwilioVoice:
    """carebot's own messages as short calls through Twilio's Calls API, from ``TWILIO_FROM``.

    The call's words are not given to Twilio: when the member picks up, Twilio
    asks ``/twilio/voice?step=out&outbox=<id>`` (signed) and carebot answers
    with them, or, where machine detection hears a voicemail, only the
    group's name and "please call back". Build it inside the running loop.
    """

    name = VOICE

    def __init__(self, *, account_sid: str, auth_token: str, public_url: str, from_number: str,
                 base_url: str = TWILIO_API, rate: float = 1.0, timeout: float = SEND_TIMEOUT) -> None:
        self.http = RebasedHttpClient(base_url, timeout=timeout)
        self.client = Client(account_sid, auth_token, http_client=self.http)
        self.public_url = public_url.rstrip("/")
        self.from_number = from_number
        self.pacer = Pacer(rate)

    async def send(self, address: str, text: str, outbox_id: int) -> Sent:
        """Place one call; raise a classified SendError when Twilio does not take it."""
        # Twilio may have placed a call it did not answer clearly for: given up rather than made twice.
        with classified(ask_when_unclear=False):
            call = await self.client.calls.create_async(
                to=address, from_=self.from_number, method="POST",
                url=f"{self.public_url}{VOICE_PATH}?{urlencode({'step': OUT, 'outbox': outbox_id})}",
                machine_detection="Enable",
                status_callback=f"{self.public_url}{STATUS_PATH}?outbox={outbox_id}",
                status_callback_method="POST", status_callback_event=["completed"],
            )
        return Sent(call.sid)

    async def close(self) -> None:
        await self.http.close()
