"""The data model: what carebot keeps, and nothing more than the care needs.

Every model is importable from here, and importing this package registers every table
on ``Base.metadata`` (the migrations and their test compare against it):

- ``base``: the declarative base, its naming convention and :class:`UTCDateTime`
- ``groups``: networks, groups, members, memberships and consent events
- ``care``: answers, conversations and queued questions, pairings, "not with", care flags, care maps
- ``messages``: the inbound queue, the hashes of deleted inbound texts, the outbox
- ``coordination``: removals, coordinator actions (done and pending), gatherings and RSVPs
- ``housekeeping``: due jobs, the key fingerprint, provider pauses
"""

from carebot.store.models.base import NAMING, Base, UTCDateTime
from carebot.store.models.care import Answer, CareFlag, CareMap, Conversation, NotWith, Pairing, QueuedQuestion
from carebot.store.models.coordination import CoordAction, Gathering, PendingAction, Removal, Rsvp
from carebot.store.models.groups import ConsentEvent, Group, Member, Membership, Network
from carebot.store.models.housekeeping import DueJob, KeyFingerprint, ProviderPause
from carebot.store.models.messages import InboundMessage, InboundSeen, OutboxMessage, seen_key

__all__ = [
    "NAMING", "Answer", "Base", "CareFlag", "CareMap", "ConsentEvent", "Conversation", "CoordAction", "DueJob",
    "Gathering", "Group", "InboundMessage", "InboundSeen", "KeyFingerprint", "Member", "Membership", "Network",
    "NotWith", "OutboxMessage", "Pairing", "PendingAction", "ProviderPause", "QueuedQuestion", "Removal", "Rsvp",
    "UTCDateTime", "seen_key",
]
