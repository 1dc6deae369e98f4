"""Simulated channels: SMS, Signal and calls without any provider, for the demo, chat and transcripts."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from carebot.channels import SIGNAL, SMS, VOICE, Inbound, Sent

VOICE_PREFIX = "voice:"  # a call with a number, as transcripts name it
_SIGNAL_NAMESPACE = uuid.UUID("5f0c6d2e-8a4b-4c1e-9a57-2b8f0c1d7e11")


def signal_uuid_for(number: str) -> str:
    """The stable Signal identity the simulation gives a number."""
    return str(uuid.uuid5(_SIGNAL_NAMESPACE, number))


@dataclass
class Delivered:
    """A text the simulated provider accepted, as a person's phone would show it."""

    to: str  # "+1515…" for SMS, "signal:+1515…" for Signal, "voice:+1515…" for what a call said
    text: str
    at: datetime
    outbox_id: int
    read: bool = False


@dataclass
class Ring:
    """A call carebot placed, ringing until the transcript answers it (or does not)."""

    number: str
    outbox_id: int
    call_sid: str


@dataclass
class SimNetwork:
    """Both simulated channels and every text they delivered, in order."""

    delivered: list[Delivered] = field(default_factory=list)
    rings: list[Ring] = field(default_factory=list)
    clock: datetime | None = None
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _numbers_by_uuid: dict[str, str] = field(default_factory=dict)

    def channels(self) -> dict[str, SimChannel]:
        return {SMS: SimChannel(SMS, self), SIGNAL: SimChannel(SIGNAL, self), VOICE: SimChannel(VOICE, self)}

    def inbound(self, address: str, text: str, now: datetime) -> Inbound:
        """A message typed by ``address`` ("+1515…" or "signal:+1515…")."""
        provider_id = f"SIM{next(self._ids):08d}"
        if address.startswith("signal:"):
            number = address.removeprefix("signal:")
            identity = self.register_signal(number)
            return Inbound(SIGNAL, provider_id, number, text, now, sender_uuid=identity)
        return Inbound(SMS, provider_id, address, text, now)

    def register_signal(self, number: str) -> str:
        identity = signal_uuid_for(number)
        self._numbers_by_uuid[identity] = number
        return identity

    def record(self, channel: str, address: str, text: str, outbox_id: int) -> Sent:
        if channel == VOICE:  # a call: its words are said only when it is picked up
            ring = Ring(address, outbox_id, f"CA{next(self._ids):032d}")
            self.rings.append(ring)
            return Sent(ring.call_sid)
        if channel == SIGNAL:
            to = "signal:" + self._numbers_by_uuid.get(address, address)
        else:
            to = address
        assert self.clock is not None, "the simulation's clock must be set before sending"
        self.delivered.append(Delivered(to, text, self.clock, outbox_id))
        return Sent(f"SIMOUT{next(self._ids):08d}")

    def spoken(self, number: str, text: str) -> None:
        """Something carebot said in a call with ``number``, heard as "voice:+1515…"."""
        assert self.clock is not None, "the simulation's clock must be set before a call"
        self.delivered.append(Delivered(VOICE_PREFIX + number, text, self.clock, 0))

    def unread(self, to: str) -> list[Delivered]:
        return [d for d in self.delivered if d.to == to and not d.read]


@dataclass
class SimChannel:
    """One simulated channel; it accepts every text (and places every call)."""

    name: str
    network: SimNetwork

    async def send(self, address: str, text: str, outbox_id: int) -> Sent:
        return self.network.record(self.name, address, text, outbox_id)
