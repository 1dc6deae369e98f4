"""Phone calls: each keypress through the dispatcher as the text it stands for, its replies spoken.

The call menus decide (carebot/flows/calls.py); the text a keypress stands
for goes through :meth:`Dispatcher.handle_inbound` like any text, so it has
the same effects through the same flows and the same consent rules; the
replies the dispatcher wrote for the caller are spoken in the call's answer
(carebot/outbox/spoken.py), followed by the next menu, as TwiML built by
the twilio library (carebot/channels/voice.py).
"""

from __future__ import annotations

import logging
from datetime import datetime

from carebot.channels import SMS, VOICE, Inbound
from carebot.channels.voice import OUT, START, CallEnded, CallInput, Prompt, answered_by_machine, twiml
from carebot.dispatch.dispatcher import Dispatcher, build_context
from carebot.domain.i18n import DEFAULT_LANGUAGE, render
from carebot.domain.phone import normalize_phone
from carebot.flows import calls
from carebot.flows.base import Context
from carebot.outbox.spoken import placed_message, send_unspoken, take_spoken, try_again_unheard
from carebot.outbox.write import NO_WORDS
from carebot.services import calls as calls_kept
from carebot.store.facts import Facts
from carebot.store.models import Member

log = logging.getLogger(__name__)


class CallDesk:
    """Answers a call's webhooks with TwiML, through the dispatcher."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.db = dispatcher.db

    def answer(self, call: CallInput, now: datetime) -> str:
        """The TwiML for one of the call's webhooks; the keypress, if any, acted on."""
        caller = normalize_phone(call.caller)
        if caller is None:  # a withheld or foreign-format number: nobody to answer for
            log.info("call from an unusable number: told so, and hung up")
            return twiml([render("call.no_number", DEFAULT_LANGUAGE)], DEFAULT_LANGUAGE, None)
        ctx = self._context(caller, now)
        turn = None
        state: dict[str, str] = {}
        step: str | None
        if call.step == START:
            step = calls.first_step(ctx)
            spoken = [*calls.greeting(ctx)] if step in (calls.MAIN, calls.GROUP) else []
        elif call.step == OUT:
            with self.db.transaction() as session:
                row = placed_message(session, call.state.get("outbox", ""), caller)
                if ctx.opted_out:  # STOP came after the call was placed: nothing more is said
                    return twiml([], ctx.language, None, goodbye=render("call.goodbye", ctx.language))
                if row is None or answered_by_machine(call.answered_by):
                    # Never the content on a voicemail: the group's name, and a call back asked for.
                    log.info("a call carebot placed reached %s", "a machine" if row is not None else "no message")
                    return twiml([calls.on_a_machine(ctx)], ctx.language, None)
                spoken, row.body = [row.body], NO_WORDS
            step = calls.after_message(ctx)
        else:
            turn = calls.press(ctx, call.step, call.state, call.digits, call.speech)
            spoken, step, state = list(turn.said), turn.next, dict(turn.state)
        if turn is not None and turn.text is not None:
            number = call.state.get("n", "0")
            # One inbound per keypress: the call and the turn name it, so Twilio's retry of a webhook acts once.
            self.dispatcher.handle_inbound(Inbound(VOICE, f"{call.call_sid}.{number}", caller, turn.text, now))
            with self.db.transaction() as session:
                spoken += take_spoken(session, caller)
            ctx = self._context(caller, now)  # what the text changed: a new member, a STOP
            log.info("call keypress handled as a text (step %s)", call.step)
        if step is None or (step == calls.MAIN and ctx.opted_out):
            return twiml(spoken, ctx.language, None, goodbye=render("call.goodbye", ctx.language))
        if turn is None or turn.menu:
            spoken += calls.menu(ctx, step, state)
        turns = int(call.state.get("n", "0")) + 1 if call.state.get("n", "0").isdigit() else 1
        prompt = Prompt(step, {**state, "n": str(turns)}, speech=calls.takes_speech(step))
        return twiml(spoken, ctx.language, prompt, goodbye=render("call.goodbye", ctx.language))

    def ended(self, call: CallEnded, now: datetime) -> bool:
        """A call has ended. One carebot placed that nobody heard is tried once more an hour later.
        When a member hung up before choosing anything and has said a missed call means "call me"
        (HOW missed call means call me), it asks for a call back, as CALL does. Otherwise nothing
        happens: phones get borrowed. True when it asked."""
        if call.outbound:
            with self.db.transaction() as session:
                try_again_unheard(session, call.call_sid, now)
            return False
        number, call_sid = normalize_phone(call.caller), call.call_sid
        if number is None:
            return False
        with self.db.transaction() as session:
            member = Member.by_phone(session, number)
            if (member is None or member.opted_out or not member.missed_call_means_call
                    or not calls_kept.chose_nothing(session, call_sid)):
                return False
        self.dispatcher.handle_inbound(Inbound(VOICE, f"{call_sid}.missed", number, "CALL", now))
        with self.db.transaction() as session:
            member = Member.by_phone(session, number)
            if member is not None:
                send_unspoken(session, number, member)  # nobody is on the line to hear the reply
        log.info("a missed call asked for a call back, as the member chose")
        return True

    def _context(self, caller: str, now: datetime) -> Context:
        """What the flows know of the caller now; a stranger's is empty but for the groups."""
        with self.db.transaction() as session, Facts.load(session, now, phones=[caller]) as facts:
            groups = facts.groups
            member = facts.by_phone(caller)
            if member is not None:
                return build_context(session, member, VOICE, now, facts=facts)
        language = next(iter(groups.values())).language if groups else DEFAULT_LANGUAGE
        return Context(now=now, channel=VOICE, language=language, opted_out=False, name=None,
                       memberships=(), answers=(), groups=groups, reachable=frozenset({SMS}))
