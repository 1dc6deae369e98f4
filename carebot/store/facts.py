"""What the contexts of a batch of texts need, loaded for all of its senders at once.

A text's context (``dispatch.context``) needs its sender, their memberships, current
answers, conversation, questions waiting, pairings, removals and recent texts, and the
groups with their coordinators. Read per text, that is about fifteen statements a text,
and the cost a member feels in a round's rush; read for a whole batch (``Facts.load``),
it is about fifteen statements a batch. One text is a batch of one (timeouts, calls).

The rows are the session's own objects, so what an earlier text of the batch changes in
one of them is seen as it is. What a loaded list cannot see (a row added or deleted, a
pairing that now names someone else) is caught by :class:`Changes`, which watches the
session's flushes: a member whose rows an earlier text touched has their facts read again,
alone, before their own text is handled.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import event, or_, select
from sqlalchemy.orm import ORMExecuteState, Session

from carebot.domain.phone import normalize_phone
from carebot.domain.vocabulary import OPEN_PAIRINGS, MembershipStatus, PairingStatus, Role
from carebot.flows.base import GroupInfo
from carebot.store.crypto import lookup_hash
from carebot.store.models import (
    Answer,
    CareMap,
    ConsentEvent,
    Conversation,
    Group,
    InboundMessage,
    InboundSeen,
    Member,
    Membership,
    OutboxMessage,
    Pairing,
    QueuedQuestion,
    Removal,
)

# Pairings ended this lately still show in a context, so a late "@Ana" is answered honestly ("can't receive").
RECENTLY_ENDED = timedelta(days=14)
# How far back a member's texts count for flood control (dispatch.flood).
FLOOD_WINDOW = timedelta(minutes=10)
# A group's fields that a context reads (GroupInfo); a change to another (the engine's due time) changes no context.
GROUP_FIELDS = ("keyword", "name", "timezone", "language", "round_schedule", "crisis_resources")
# Rows a member's facts are made of, by the attribute that names the member.
MEMBER_ROWS: dict[type, tuple[str, ...]] = {
    Membership: ("member_id",), Answer: ("member_id",), Conversation: ("member_id",),
    QueuedQuestion: ("member_id",), CareMap: ("member_id",), ConsentEvent: ("member_id",),
    OutboxMessage: ("member_id",), Pairing: ("requester_id", "supporter_id"), Member: ("id",),
}
# Written in bulk by the queue itself, about no member's facts.
QUEUE_TABLES = frozenset({"inbound_messages", "inbound_seen"})


def group_infos(groups: Iterable[Group]) -> dict[str, GroupInfo]:
    """Groups as the flows see them, by keyword."""
    return {g.keyword: GroupInfo(g.id, g.keyword, g.name, g.timezone, g.language, g.round_schedule,
                                 g.crisis_resources) for g in groups}


@dataclass
class MemberFacts:
    """One member's rows that a context is built from (the session's objects, filtered by ``now`` on use)."""

    memberships: list[Membership] = field(default_factory=list)  # every status: removed ones too
    answers: list[Answer] = field(default_factory=list)  # not ended; lapsed ones are filtered by the moment
    conversation: Conversation | None = None
    queued: bool = False  # whether questions wait their turn
    pairings: list[Pairing] = field(default_factory=list)  # open, or ended since the batch's RECENTLY_ENDED
    removed_from: frozenset[int] = frozenset()
    texts_at: list[datetime] = field(default_factory=list)  # when their handled texts of late came
    epoch: int = 0  # the batch's changes epoch (``Changes.epoch``) they were read at

    def current_answers(self, now: datetime) -> list[Answer]:
        """Their answers that have neither ended nor lapsed by ``now``, as ``queries.current_answers`` orders them."""
        return sorted((a for a in self.answers if a.ended_at is None and (a.until is None or a.until > now)),
                      key=lambda a: a.option)

    def open_pairings_in(self, member_id: int, group_id: int) -> list[Pairing]:
        """Their offered and active pairings on their side in ``group_id`` (as ``pairings.in_group`` says),
        active ones first, oldest first."""
        return sorted((p for p in self.pairings if p.status in OPEN_PAIRINGS and p.group_for(member_id) == group_id),
                      key=lambda p: (p.status, p.id))

    def recent_texts(self, now: datetime) -> int:
        """How many of their handled texts came within the flood window before ``now``."""
        return sum(1 for at in self.texts_at if at > now - FLOOD_WINDOW)


class _Shown:
    """How many times anything a context shows of a group (its fields, its coordinators' roles and names)
    was set in this process: a batch whose groups were read at another count reads them again."""

    count = 0


def _shown_changed(*_args: object) -> None:
    _Shown.count += 1


for _attribute in (*(getattr(Group, name) for name in GROUP_FIELDS), Membership.role, Membership.status, Member.name):
    event.listen(_attribute, "set", _shown_changed)


class Changes:
    """Which members' rows the texts handled so far in a session added, deleted or changed.

    The facts hold the session's own rows, so a change to one of them is seen in place; what a
    list of them cannot see is a row added (seen as it is attached to the session) or deleted
    (the session's deleted rows, few), and, at a flush, any row whose member changed. Bulk
    statements (an UPDATE or DELETE by condition) name no member: after one, every member's
    facts are read again, as are the groups.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.members: dict[int, set[type]] = defaultdict(set)
        # One more at each change no row names (a bulk statement, a failed text's undoing): facts read
        # at another epoch are read again.
        self.epoch = 0
        self._groups_read_at: tuple[int, int] | None = None
        self._added: list[object] = []  # attached since they were last looked at
        event.listen(session, "after_attach", self._attached)
        event.listen(session, "before_flush", self._flushing)
        event.listen(session, "do_orm_execute", self._executing)

    def close(self) -> None:
        event.remove(self.session, "after_attach", self._attached)
        event.remove(self.session, "before_flush", self._flushing)
        event.remove(self.session, "do_orm_execute", self._executing)

    @property
    def groups(self) -> bool:
        """Whether what the contexts show of the groups may have changed since it was read."""
        return self._groups_read_at != (_Shown.count, self.epoch)

    def groups_read(self) -> None:
        self._groups_read_at = (_Shown.count, self.epoch)

    def everyone(self) -> None:
        """A change no row names: every member's facts, and the groups, are read again."""
        self.epoch += 1

    def touched(self, member_id: int, *kinds: type) -> bool:
        """Whether a text changed this member's rows (of ``kinds``, or of any kind) since the facts were read."""
        self._look_at(self._added)
        self._added.clear()
        self._look_at(self.session.deleted)
        seen = self.members.get(member_id, set())
        return bool(seen) and (not kinds or any(kind in seen for kind in kinds))

    def forget(self, member_id: int) -> None:
        """The member's facts are read again: changes before now are in them."""
        self.members.pop(member_id, None)

    def _attached(self, _session: Session, row: object) -> None:
        self._added.append(row)

    def _flushing(self, session: Session, *_args: object) -> None:
        self._look_at((*session.new, *session.dirty, *session.deleted))

    def _look_at(self, rows: Iterable[object]) -> None:
        for row in rows:
            kind = type(row)
            if kind is Removal:
                self.everyone()  # kept by hashes of a number: whose, only a member's own row can say
            for attribute in MEMBER_ROWS.get(kind, ()):
                member_id = getattr(row, attribute)
                if member_id is not None:
                    self.members[member_id].add(kind)

    def _executing(self, state: ORMExecuteState) -> None:
        if state.is_update or state.is_delete or state.is_insert:
            table = getattr(state.statement, "table", None)
            if getattr(table, "name", None) not in QUEUE_TABLES:
                self.everyone()


class Facts:
    """The facts of a batch's senders, read in a few statements, and read again where a text changed them."""

    def __init__(self, session: Session, since: datetime) -> None:
        self.session = session
        self.since = since  # the earliest moment a context is built for
        self.changes = Changes(session)
        self._members: dict[int, MemberFacts] = {}
        self._by_phone: dict[str, Member] = {}
        self._by_signal: dict[str, Member] = {}
        self._seen: set[str] = set()
        self._held: list[object] = []  # rows kept alive so that session.get finds them without a query
        self._groups: dict[str, GroupInfo] | None = None
        self._coordinators: dict[int, list[str]] | None = None
        self._numbers: dict[str, str | None] = {}
        self.handling: list[int] = []  # the batch's texts: not yet among a member's recent ones (flood control)

    @classmethod
    def load(cls, session: Session, since: datetime, *, phones: Iterable[str] = (), uuids: Iterable[str] = (),
             members: Iterable[Member] = (), seen: Iterable[str] = (), handling: Iterable[int] = ()) -> Facts:
        """Read, for everyone given by number, Signal UUID or row, what their contexts need.

        ``seen``: the batch's dedupe keys (``seen_key``); ``handling``: its texts' row ids.
        """
        facts = cls(session, since)
        facts.handling = list(handling)
        phone_hashes = {h for h in map(lookup_hash, filter(None, map(facts.number, phones))) if h}
        uuid_hashes = {h for h in map(lookup_hash, uuids) if h}
        found = list(members)
        if phone_hashes or uuid_hashes:
            found += session.scalars(select(Member).where(or_(Member.phone_hash.in_(phone_hashes),
                                                              Member.signal_hash.in_(uuid_hashes))))
        for member in found:
            if member.phone_hash:
                facts._by_phone[member.phone_hash] = member
            if member.signal_hash:
                facts._by_signal[member.signal_hash] = member
        keys = list(seen)
        if keys:
            facts._seen = set(session.scalars(select(InboundSeen.key).where(InboundSeen.key.in_(keys))))
        facts._read([m.id for m in found])
        facts._held.extend(found)
        return facts

    def close(self) -> None:
        self.changes.close()

    def __enter__(self) -> Facts:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def distrust(self) -> None:
        """A text failed and its savepoint rolled back: every member's facts are read again."""
        self.changes.everyone()

    # --- who texted --------------------------------------------------------

    def number(self, raw: str | None) -> str | None:
        """A sender's number in E.164 form (None: not a number), worked out once a batch."""
        if not raw:
            return None
        if raw not in self._numbers:
            self._numbers[raw] = normalize_phone(raw)
        return self._numbers[raw]

    def seen_before(self, key: str) -> bool:
        """Whether this dedupe key is one retention kept of a text handled long ago (a replay)."""
        return key in self._seen

    def by_phone(self, number: str | None) -> Member | None:
        """The member with this number: read with the batch, else (someone new to the batch) looked up now."""
        found = self._by_phone.get(lookup_hash(number) or "") if number else None
        return found if found is not None else Member.by_phone(self.session, number)

    def by_signal(self, uuid: str | None) -> Member | None:
        found = self._by_signal.get(lookup_hash(uuid) or "") if uuid else None
        return found if found is not None else Member.by_signal(self.session, uuid)

    # --- what a context needs ---------------------------------------------

    @property
    def groups(self) -> dict[str, GroupInfo]:
        """Every group on this deployment, by keyword."""
        if self._groups is None or self.changes.groups:
            self._refresh_groups()
        assert self._groups is not None
        return self._groups

    def coordinators(self, group_ids: Iterable[int]) -> dict[int, list[str]]:
        """The names of the coordinators of every group, by group (read once for all groups)."""
        if self._coordinators is None or self.changes.groups:
            self._refresh_groups()
        assert self._coordinators is not None
        return {g: self._coordinators.get(g, []) for g in group_ids}

    def of(self, member: Member, *kinds: type) -> MemberFacts:
        """The member's facts as they are now: read again if a text of the batch changed their rows (of
        ``kinds``: those about to be used; any, by default)."""
        known = self._members.get(member.id)
        if known is None or known.epoch != self.changes.epoch or self.changes.touched(member.id, *kinds):
            self.changes.forget(member.id)
            self._read([member.id])
        return self._members[member.id]

    def recent_texts(self, member: Member, now: datetime) -> int:
        """How many of the member's handled texts came within the flood window before ``now``. Texts are
        not among the rows watched for changes: a member's come one a batch, so those read with it stand."""
        known = self._members.get(member.id)
        return (known if known is not None else self.of(member)).recent_texts(now)

    def quiet(self, member: Member) -> bool:
        """Whether the member has no question asked or waiting, and no text since the facts changed that."""
        known = self._members.get(member.id)
        return (known is not None and known.epoch == self.changes.epoch and known.conversation is None
                and not known.queued and not self.changes.touched(member.id, Conversation, QueuedQuestion))

    # --- reading ----------------------------------------------------------

    def _refresh_groups(self) -> None:
        self.changes.groups_read()
        rows = list(self.session.scalars(select(Group)))
        self._held.extend(rows)
        self._groups = group_infos(rows)
        coordinators: dict[int, list[str]] = {}
        for group_id, name in self.session.execute(
            select(Membership.group_id, Member.name).join(Member, Member.id == Membership.member_id)
            .where(Membership.role == Role.COORDINATOR, Membership.status == MembershipStatus.ACTIVE,
                   Member.name.is_not(None))
            .order_by(Membership.group_id, Membership.id)
        ):
            if name is not None:
                coordinators.setdefault(group_id, []).append(name)
        self._coordinators = coordinators

    def _read(self, member_ids: list[int]) -> None:
        """Every fact of these members, in one statement per kind of row."""
        if not member_ids:
            return
        session, ids = self.session, member_ids
        facts = {member_id: MemberFacts(epoch=self.changes.epoch) for member_id in ids}
        for membership in session.scalars(select(Membership).where(Membership.member_id.in_(ids))
                                          .order_by(Membership.id)):
            facts[membership.member_id].memberships.append(membership)
        for answer in session.scalars(select(Answer).where(Answer.member_id.in_(ids), Answer.ended_at.is_(None))):
            facts[answer.member_id].answers.append(answer)
        conversations = list(session.scalars(select(Conversation).where(Conversation.member_id.in_(ids))))
        for conversation in conversations:
            facts[conversation.member_id].conversation = conversation
        for member_id in session.scalars(select(QueuedQuestion.member_id).where(QueuedQuestion.member_id.in_(ids))
                                         .distinct()):
            facts[member_id].queued = True
        pairings = list(session.scalars(select(Pairing).where(
            or_(Pairing.requester_id.in_(ids), Pairing.supporter_id.in_(ids)),
            or_(Pairing.status.in_(OPEN_PAIRINGS),
                (Pairing.status == PairingStatus.ENDED) & (Pairing.ended_at > self.since - RECENTLY_ENDED)),
        ).order_by(Pairing.id)))
        for pairing in pairings:
            for member_id in {pairing.requester_id, pairing.supporter_id}:
                if member_id in facts:
                    facts[member_id].pairings.append(pairing)
        members = {member_id: session.get(Member, member_id) for member_id in ids}  # in the session already
        hashes = {h: m.id for m in members.values() if m is not None for h in (m.phone_hash, m.signal_hash) if h}
        removed: dict[int, set[int]] = defaultdict(set)
        if hashes:
            for identity, group_id in session.execute(select(Removal.identity_hash, Removal.group_id)
                                                      .where(Removal.identity_hash.in_(hashes))):
                removed[hashes[identity]].add(group_id)
        for member_id, group_ids in removed.items():
            facts[member_id].removed_from = frozenset(group_ids)
        for sender, at in session.execute(select(InboundMessage.member_id, InboundMessage.received_at).where(
                InboundMessage.member_id.in_(ids), InboundMessage.received_at > self.since - FLOOD_WINDOW,
                InboundMessage.id.not_in(self.handling))):
            if sender is not None:
                facts[sender].texts_at.append(at)
        self._hold_related(pairings, conversations)
        self._members.update(facts)

    def _hold_related(self, pairings: list[Pairing], conversations: list[Conversation]) -> None:
        """The rows a context goes on to get by id (the other side of each pairing, the text of each question
        asked), read now in one statement each, so that ``session.get`` finds them without one."""
        others = {p.requester_id for p in pairings} | {p.supporter_id for p in pairings}
        if others:
            self._held.extend(self.session.scalars(select(Member).where(Member.id.in_(others))))
        rows = {int(c.data["_row"]) for c in conversations if (c.data or {}).get("_row") is not None}
        if rows:
            self._held.extend(self.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(rows))))
