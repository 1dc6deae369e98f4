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

from twilio.twiml.voice_response import Gather, VoiceResponse

VOICE_PATH = "/twilio/voice"
START = "start"  # the step of a call that has just come in
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


@dataclass(frozen=True)
class Prompt:
    """The menu that waits for the caller's next key: its step and what it carries on."""

    step: str
    state: Mapping[str, str]
    speech: bool = False  # whether the caller may also say their answer


def parse_call(form: Mapping[str, str], query: Mapping[str, str]) -> CallInput | None:
    """A call's webhook as a CallInput; None when the form is not one."""
    sid = form.get("CallSid")
    caller = form.get("From")
    if not sid or not caller:
        return None
    state = {name: value[:64] for name, value in query.items() if name != "step"}
    return CallInput(sid[:64], caller, (query.get("step") or START)[:16], state,
                     (form.get("Digits") or "")[:8], (form.get("SpeechResult") or "")[:200])


def parse_call_status(form: Mapping[str, str]) -> tuple[str, str, str] | None:
    """A call's status callback (the number's, on the texts' status path) as (call id, caller, status);
    None when the form is not one."""
    sid, status = form.get("CallSid"), form.get("CallStatus")
    if not sid or not status or form.get("MessageSid"):
        return None
    return sid[:64], form.get("From") or "", status.lower()


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
