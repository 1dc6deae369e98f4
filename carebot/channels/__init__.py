"""Channels: one adapter per provider, one contract for the rest of carebot.

An adapter turns a provider's request into :class:`Inbound` messages and sends
one text, answering :class:`Sent` or raising :class:`SendError`. Nothing outside
``carebot/channels/`` sees a Twilio form or a Signal envelope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from carebot.domain.vocabulary import SIGNAL, SMS, VOICE  # noqa: F401 (the channels' names, part of their contract)


@dataclass(frozen=True)
class Inbound:
    """One message from a member, whatever channel it came on."""

    channel: str
    provider_id: str
    sender: str  # E.164 number as the provider gave it ("" when Signal hides it)
    text: str
    received_at: datetime
    sender_uuid: str | None = None  # Signal's stable identity

    def __post_init__(self) -> None:
        # No member means a NUL, and PostgreSQL's text cannot hold one: dropped at the edge.
        if "\x00" in self.text:
            object.__setattr__(self, "text", self.text.replace("\x00", ""))


@dataclass(frozen=True)
class Sent:
    """The provider accepted the message."""

    provider_id: str


class SendError(Exception):
    """The provider did not take the message.

    ``retryable`` errors (rate limits, outages) are tried again later; the rest
    are final. ``opted_out`` means the carrier says the member sent STOP there;
    ``unusable`` that the address can never receive texts. ``ambiguous`` means
    no answer came (a timeout, a dropped connection): the provider may have
    taken the text, so the sender asks before sending it again.

    ``retry_at`` means the provider asked carebot to wait (a rate limit, a
    captcha, an identity to verify): the text stays pending until then and the
    try does not count against it. ``held`` means the text cannot go on this
    channel until a person acts, so it may go by SMS instead where the member
    consented to SMS. ``notice`` names a catalog message for the coordinators
    of the member's groups (the channel sets it once per episode).
    """

    def __init__(
        self,
        code: str,
        *,
        retryable: bool,
        opted_out: bool = False,
        unusable: bool = False,
        ambiguous: bool = False,
        retry_at: datetime | None = None,
        held: bool = False,
        notice: str | None = None,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.retryable = retryable
        self.opted_out = opted_out
        self.unusable = unusable
        self.ambiguous = ambiguous
        self.retry_at = retry_at
        self.held = held
        self.notice = notice


@dataclass(frozen=True)
class StatusUpdate:
    """The provider's word on a text it took: queued, sent, delivered, undelivered or failed."""

    provider_id: str
    status: str
    error_code: str | None = None


class Channel(Protocol):
    """What the outbox sender needs from a channel."""

    name: str

    async def send(self, address: str, text: str, outbox_id: int) -> Sent:
        """Send one text; raise SendError when the provider does not take it."""
        ...
