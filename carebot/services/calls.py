"""Calls' own effects on the database: the member's rule for missed calls, and what a missed call does.

Plain handler functions, called by the dispatcher for the effects the call flows
return (carebot/flows/calls.py).
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from carebot.channels import VOICE
from carebot.store.models import InboundMessage, Member


def set_missed_calls(member: Member, call_back: bool) -> None:
    """``HOW missed call means call me`` (True) or ``... means nothing`` (False)."""
    member.missed_call_means_call = call_back


def chose_nothing(session: Session, call_sid: str) -> bool:
    """Whether no keypress of the call ``call_sid`` was acted on: each one is an inbound named after the call."""
    return not session.scalar(select(exists().where(
        InboundMessage.channel == VOICE, InboundMessage.provider_id.startswith(f"{call_sid}.", autoescape=True))))
