"""Calls' own effects on the database: the member's rule for missed calls, and what a missed call does.

Plain handler functions, called by the dispatcher for the effects the call flows
return (carebot/flows/calls.py).
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from carebot.channels import VOICE
from carebot.flows.base import MissedCallsMean
from carebot.services.effects import Act, Outcome, handles
from carebot.store.models import InboundMessage


@handles(MissedCallsMean)
def missed_calls_mean(act: Act, effect: MissedCallsMean) -> Outcome:
    """``HOW missed call means call me`` (True) or ``... means nothing`` (False)."""
    act.member.missed_call_means_call = effect.call_back
    return Outcome()


def chose_nothing(session: Session, call_sid: str) -> bool:
    """Whether no keypress of the call ``call_sid`` was acted on: each one is an inbound named after the call."""
    return not session.scalar(select(exists().where(
        InboundMessage.channel == VOICE, InboundMessage.provider_id.startswith(f"{call_sid}.", autoescape=True))))
