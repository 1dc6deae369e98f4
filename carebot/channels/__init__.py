"""Channels: one adapter per provider, one contract for the rest of carebot.

An adapter turns a provider's request into :class:`Inbound` messages and sends
one text, answering :class:`Sent` or raising :class:`SendError`. Nothing outside
``carebot/channels/`` sees a Twilio form or a Signal envelope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

SMS = "sms"
SIGNAL = "signal"


@dataclass(frozen=True)
class Inbound:
    """One message from a member, whatever channel it came on."""

    channel: str
    provider_id: str
    sender: str  # E.164 number as the provider gave it ("" when Signal hides it)
    text: str
    received_at: datetime
    sender_uuid: str | None = None  # Signal's stable identity


@dataclass(frozen=True)
class Sent:
    """The provider accepted the message."""

    provider_id: str


class SendError(Exception):
    """The provider did not take the message.

    ``retryable`` errors (rate limits, outages) are tried again later; the rest
    are final. ``opted_out`` means the carrier says the member sent STOP there;
    ``unusable`` that the address can never receive texts.
    """

    def __init__(
        self,
        code: str,
        *,
        retryable: bool,
        opted_out: bool = False,
        unusable: bool = False,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.retryable = retryable
        self.opted_out = opted_out
        self.unusable = unusable


class Channel(Protocol):
    """What the outbox sender needs from a channel."""

    name: str

    async def send(self, address: str, text: str, outbox_id: int) -> Sent:
        """Send one text; raise SendError when the provider does not take it."""
        ...
