"""carebot's own words, as constants every layer can share: the go-around's options, the channels.

They live here, below everything, so that a pure decision (flows, pairing) can name an option
or a channel without importing the database models or a provider's adapter.
"""

from __future__ import annotations

from enum import StrEnum

# The five go-around options, in the order the zine gives them (0 means "nothing for now").
REACH_OUT_TO_ME = 1
I_CAN_REACH_OUT = 2
UNAVAILABLE = 3
WANT_COMPANY = 4
CAN_KEEP_COMPANY = 5
REQUESTS = (REACH_OUT_TO_ME, WANT_COMPANY)  # the options that ask for care
# Which request each offer serves, and the offer that serves each request.
SERVES = {I_CAN_REACH_OUT: REACH_OUT_TO_ME, CAN_KEEP_COMPANY: WANT_COMPANY}
OFFER_FOR = {request: offer for offer, request in SERVES.items()}


class Channel(StrEnum):
    """Where carebot writes to a member."""

    SMS = "sms"
    SIGNAL = "signal"
    VOICE = "voice"  # a phone call: what carebot says in a call is spoken there and then, never sent afterwards


class Role(StrEnum):
    """A member's role in one group."""

    MEMBER = "member"
    COORDINATOR = "coordinator"


class MembershipStatus(StrEnum):
    """Where a member stands with one group: asked to join, in it, or removed by its coordinators."""

    INVITED = "invited"
    ACTIVE = "active"
    REMOVED = "removed"


class PairingStatus(StrEnum):
    """A pairing's life: offered to a supporter, then active, or closed one of three ways."""

    OFFERED = "offered"
    ACTIVE = "active"
    DECLINED = "declined"
    EXPIRED = "expired"
    ENDED = "ended"


class Purpose(StrEnum):
    """Why an outbox text goes, which decides what the sender re-checks at send time."""

    REPLY = "reply"  # an answer to the member's own text
    PUSH = "push"  # a text carebot starts on its own: by day, within the group's budget
    FINAL = "final"  # goes even though consent just ended (STOP's confirmation, the crisis reply)
    NOTICE = "notice"  # the coordinators' "budget reached": a push in every way but the budget
    # An answer about a stopped member's own data (MYDATA, FORGET's question, HELP): goes as a final one does,
    # and past the flood limit once a flood window (carebot.dispatch.flood tells it apart by this purpose).
    AFTER_STOP = "after_stop"


# The purposes that go even though consent has ended.
GO_AFTER_STOP = frozenset({Purpose.FINAL, Purpose.AFTER_STOP})


class OutboxStatus(StrEnum):
    """An outbox row's state: waiting, claimed by a sender, or done one of three ways."""

    PENDING = "pending"
    SPEAKING = "speaking"  # a reply to a caller, spoken in the call's own answer: the sender never takes it
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


# The same values under the names every layer already speaks.
SMS: str = Channel.SMS
SIGNAL: str = Channel.SIGNAL
VOICE: str = Channel.VOICE
OPEN_PAIRINGS = (PairingStatus.OFFERED, PairingStatus.ACTIVE)  # a request with one of these is being answered
CLOSED_PAIRINGS = (PairingStatus.ENDED, PairingStatus.DECLINED, PairingStatus.EXPIRED)
