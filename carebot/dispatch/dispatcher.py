"""The one entry point: every inbound text and every due timeout goes through here.

An inbound text is first stored (``store_inbound``: deduplicated on the provider's
id, in a short transaction of its own, which is all a webhook waits for), then
processed (``process_inbound``) in one transaction: claim it -> identify the
member -> the flows decide (no I/O) -> apply the effects -> write the replies to
the outbox -> keep or end the conversation -> clear the text -> commit. A due
timeout runs the same way from ``run_due``. Delivery happens afterwards, from
the outbox, so a crash never loses a text or a reply, nor half-applies one.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Insert, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from carebot.channels import SIGNAL, SMS, Inbound
from carebot.domain import clock
from carebot.domain.config import load_settings
from carebot.domain.i18n import DEFAULT_LANGUAGE
from carebot.domain.logsafe import where
from carebot.domain.phone import normalize_phone
from carebot.flows import goaround, router
from carebot.flows.base import (
    CARE_EFFECTS,
    COORD_EFFECTS,
    Answered,
    AnswerInfo,
    ChannelChanged,
    Context,
    CourtesyAnswered,
    Forgotten,
    GroupInfo,
    HowChanged,
    Joined,
    LanguageChanged,
    MembershipInfo,
    NameChanged,
    OptedIn,
    OptedOut,
    Relayed,
    Reply,
    Transition,
    Waiting,
)
from carebot.flows.words import Text, read
from carebot.outbox.policy import sms_consented
from carebot.outbox.write import FINAL, address_on, enqueue, push
from carebot.services import care, care_requests, questions
from carebot.services import coordination as coord
from carebot.store import crypto, removals, retention
from carebot.store.db import Database, storage_trouble
from carebot.store.models import (
    Answer,
    CareFlag,
    ConsentEvent,
    Conversation,
    Group,
    InboundMessage,
    InboundSeen,
    Member,
    Membership,
    NotWith,
    OutboxMessage,
    Pairing,
    PendingAction,
    QueuedQuestion,
    seen_key,
)

log = logging.getLogger(__name__)

# Conversations whose data can point at another member's pairing, approval or person.
ABOUT_OTHERS = ("pairing", "checkin", "relay", "approval", "coord")
MAX_INBOUND_ATTEMPTS = 5  # failures before a stored text is given up, so one bad text cannot stop the queue


@functools.cache
def _queue_insert(dialect: str) -> Insert:
    """The inbound queue's insert, built once: building it costs more than running it."""
    # ON CONFLICT DO NOTHING (SQLite and PostgreSQL): a duplicate needs no
    # savepoint, so many texts can share one statement; a concurrent insert of
    # the same key waits for the other to commit, then does nothing. RETURNING
    # names each added row by its key, since duplicates return nothing.
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[dialect]
    return (
        insert(InboundMessage)
        .on_conflict_do_nothing(index_elements=["channel", "provider_id"])
        .returning(InboundMessage.channel, InboundMessage.provider_id, InboundMessage.id)
    )


def _queue_row(message: Inbound) -> dict:
    """The inbound queue's row for ``message``: the sender is encrypted by the column type."""
    sender = (message.sender or None) and message.sender[:64]
    sender_uuid = message.sender_uuid and message.sender_uuid[:64]
    return {
        "channel": message.channel,
        "provider_id": message.provider_id[:64],
        "received_at": message.received_at,
        "sender": sender,
        "sender_uuid": sender_uuid,
        "sender_hash": crypto.sender_hash(sender, sender_uuid),
        "body": message.text,
    }


def database_away(error: BaseException) -> bool:
    """Whether ``error`` says the database is away: the connection lost or not to be had, or its
    storage unable to take a write (a full disk, a read-only database; db.storage_trouble).

    SQLite's write lock held by another process past the busy timeout is
    away too: no text's doing. Narrow on purpose otherwise: any other error
    (PostgreSQL's lock or statement timeouts) might be the text's own doing, and still counts towards giving it up; when
    the database is away for good, recording that count fails too, so it is
    not counted either.
    """
    if isinstance(error, PoolTimeout) or storage_trouble(error) is not None:
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def group_infos(session: Session) -> dict[str, GroupInfo]:
    """Every group on this deployment, by keyword."""
    return {
        g.keyword: GroupInfo(g.id, g.keyword, g.name, g.timezone, g.language, g.round_schedule,
                             g.crisis_resources)
        for g in session.scalars(select(Group))
    }


def current_answers(session: Session, member_id: int, now: datetime, group_id: int | None = None):
    """The member's answers that have neither ended nor lapsed."""
    query = select(Answer).where(
        Answer.member_id == member_id,
        Answer.current(now),
    )
    if group_id is not None:
        query = query.where(Answer.group_id == group_id)
    return session.scalars(query.order_by(Answer.option)).all()


def _crisis_answered_since_stop(session: Session, member: Member) -> datetime | None:
    """When crisis words from a member who sent STOP were last answered (since that STOP)."""
    if not member.opted_out:
        return None
    stopped = session.scalar(select(ConsentEvent.at).where(
        ConsentEvent.member_id == member.id, ConsentEvent.kind == "opt_out").order_by(ConsentEvent.at.desc()).limit(1))
    query = select(CareFlag.at).where(CareFlag.member_id == member.id, CareFlag.category == "crisis")
    if stopped is not None:
        query = query.where(CareFlag.at > stopped)
    return session.scalar(query.order_by(CareFlag.at.desc()).limit(1))


def build_context(
    session: Session,
    member: Member,
    channel: str,
    now: datetime,
    *,
    groups: dict[str, GroupInfo] | None = None,
    is_new: bool = False,
) -> Context:
    """A read-only snapshot of everything the flows may know about ``member`` now."""
    groups = groups if groups is not None else group_infos(session)
    by_id = {g.id: g for g in groups.values()}
    rows = session.scalars(
        select(Membership).where(Membership.member_id == member.id, Membership.status == "active")
    ).all()
    group_ids = [m.group_id for m in rows]
    coordinators: dict[int, list[str]] = {}
    if group_ids:
        for group_id, name in session.execute(
            select(Membership.group_id, Member.name)
            .join(Member, Member.id == Membership.member_id)
            .where(
                Membership.group_id.in_(group_ids),
                Membership.role == "coordinator",
                Membership.status == "active",
                Member.name.is_not(None),
            )
        ):
            coordinators.setdefault(group_id, []).append(name)
    memberships = tuple(
        MembershipInfo(by_id[m.group_id], m.role, tuple(coordinators.get(m.group_id, ())), m.last_asked_at)
        for m in sorted(rows, key=lambda m: m.id)
        if m.group_id in by_id
    )
    answers = tuple(
        AnswerInfo(a.group_id, a.option, a.until, a.how, a.capacity, a.private)
        for a in current_answers(session, member.id, now)
        if a.group_id in group_ids
    )
    conversation = session.scalars(
        select(Conversation).where(Conversation.member_id == member.id)
    ).first()
    waiting = None
    if (conversation is not None and (conversation.wait_until is None or conversation.wait_until > now)
            and not questions.unseen(session, conversation.data)):
        # A question whose text still waits for the morning is not asked yet: a YES now is not its answer.
        waiting = Waiting(conversation.flow, conversation.step, dict(conversation.data), conversation.wait_until)
    return Context(
        now=now,
        channel=channel,
        language=member.language or (memberships[0].group.language if memberships else DEFAULT_LANGUAGE),
        opted_out=member.opted_out,
        name=member.name,
        memberships=memberships,
        answers=answers,
        groups=groups,
        waiting=waiting,
        is_new=is_new,
        courtesy_at=member.courtesy_at,
        crisis_answered_at=_crisis_answered_since_stop(session, member),
        pairings=care.open_pairings(session, member, now),
        find_people=care.people_finder(session, member, group_ids),
        find_in_group=coord.group_finder(session),
        reachable=frozenset(c for c in (SMS, SIGNAL) if address_on(member, c)
                            and not (c == SMS and member.phone_unusable)),
        removed_from=removals.groups_of(session, member),
        consent_times=lambda: tuple(session.scalars(
            select(ConsentEvent.at).where(ConsentEvent.member_id == member.id).order_by(ConsentEvent.at))),
    )


class Dispatcher:
    """Runs the flows against the database, one transaction per event."""

    def __init__(self, db: Database, *, default_timezone: str = "UTC", retention_days: int | None = None) -> None:
        self.db = db
        self.default_timezone = default_timezone
        # How long logs are kept (carebot.store.retention); CAREBOT_RETENTION_DAYS unless given.
        self.retention_days = retention_days or load_settings().carebot_retention_days

    # --- inbound -----------------------------------------------------------

    def handle_inbound(self, message: Inbound) -> bool:
        """Store one inbound text and handle it at once; False when it was a duplicate or ignored."""
        row_id = self.store_inbound(message)
        if row_id is None:
            return False
        return self.process_inbound(row_id, received_at=message.received_at)

    def store_inbound(self, message: Inbound) -> int | None:
        """Queue one inbound text in one short transaction; its row id, or None for a duplicate."""
        return self.store_inbounds([message])[0]

    def store_inbounds(self, messages: list[Inbound]) -> list[int | None]:
        """Queue several inbound texts in one statement and one commit; each one's row id or None.

        The webhooks' hot path, so a plain connection rather than an ORM
        session, and one multi-row insert that returns the rows it added: a
        text whose key is stored already (or repeated in the batch) adds none.
        """
        rows = [_queue_row(message) for message in messages]
        with self.db.engine.begin() as conn:
            added = {(channel, key): row_id for channel, key, row_id
                     in conn.execute(_queue_insert(conn.dialect.name), rows)}
        ids: list[int | None] = []
        for row in rows:  # a key repeated within the batch: its first text is the one stored
            ids.append(added.pop((row["channel"], row["provider_id"]), None))
        for message, row_id in zip(messages, ids, strict=True):
            if row_id is None:
                log.info("duplicate inbound ignored (channel %s)", message.channel)
        return ids

    def process_inbound(self, row_id: int, *, received_at: datetime | None = None) -> bool:
        """Handle one stored text, after any older one from the same sender still waiting.

        False when it was handled already (a text acts once) or is ignored.
        When handling raises, nothing of it is applied and it stays queued.
        ``received_at``, the same moment as stored, keeps the caller's timezone.
        """
        for earlier in self._waiting_before(row_id):
            self._process_one(earlier)
        return self._process_one(row_id, received_at)

    def process_pending(self, limit: int = 100) -> int:
        """Handle up to ``limit`` stored texts, oldest first; returns how many left the queue.

        A text whose handling raises ends the pass, so that no later text
        overtakes it; the next pass tries it again, and after
        ``MAX_INBOUND_ATTEMPTS`` failures it is given up (and logged). When the
        connection to the database is lost under it, the error is raised
        instead and not counted against the text.
        """
        with self.db.transaction() as session:
            ids = session.scalars(
                select(InboundMessage.id).where(InboundMessage.handled_at.is_(None))
                .order_by(InboundMessage.id).limit(limit)
            ).all()
        done = 0
        for row_id in ids:
            try:
                self._process_one(row_id)
            except Exception as error:  # one bad text must not stop the queue for good
                if database_away(error):
                    raise  # not the text's fault: nothing of it was applied, and it waits for the next pass
                if not self._failed(row_id, error):
                    return done
            done += 1
        return done

    def _waiting_before(self, row_id: int) -> list[int]:
        """Older texts from the same sender that are still queued, oldest first."""
        with self.db.transaction() as session:
            this = session.get(InboundMessage, row_id)
            if this is None or this.handled_at is not None:
                return []
            return list(session.scalars(
                select(InboundMessage.id).where(
                    InboundMessage.handled_at.is_(None),
                    InboundMessage.id < row_id,
                    InboundMessage.channel == this.channel,
                    InboundMessage.sender_hash == this.sender_hash,
                ).order_by(InboundMessage.id)
            ))

    def _process_one(self, row_id: int, received_at: datetime | None = None) -> bool:
        with self.db.transaction() as session:
            # Claimed by a conditional update that commits with the effects: a
            # crash undoes both, and whoever comes second finds nothing to claim.
            claimed = session.execute(
                update(InboundMessage)
                .where(InboundMessage.id == row_id, InboundMessage.handled_at.is_(None))
                .values(handled_at=clock.now())
                .execution_options(synchronize_session=False)
            ).rowcount
            if not claimed:
                return False
            logged = session.get(InboundMessage, row_id)
            # The database gives UTC back; the caller's clock may carry a timezone, and
            # wall-clock arithmetic ("in 7 days" across a DST change) depends on it.
            when = received_at if received_at == logged.received_at else logged.received_at
            message = Inbound(logged.channel, logged.provider_id, logged.sender or "", logged.body or "",
                              when, logged.sender_uuid)
            # Kept only until handled: the text and its sender go in this same transaction.
            logged.sender = logged.sender_uuid = logged.sender_hash = logged.body = None
            if session.get(InboundSeen, seen_key(logged.channel, logged.provider_id)) is not None:
                # Its first coming was handled and then purged by retention: a replay, not a new text.
                log.info("replayed inbound ignored: handled before retention (channel %s)", logged.channel)
                return False
            groups = group_infos(session)
            text = read(message.text)
            found = self._identify(session, message, text, groups)
            if found is None:
                log.info("inbound from an unusable address ignored (channel %s)", message.channel)
                return False
            member, is_new = found
            if member.language is None and router.text_language(text) == "es":
                member.language = "es"  # they write Spanish and never chose: answer in Spanish
            logged.member_id = member.id
            ctx = build_context(session, member, message.channel, message.received_at, groups=groups, is_new=is_new)
            transition = router.respond(ctx, text)
            self._apply(session, member, ctx, transition, reply_channel=message.channel)
            log.info("inbound handled: member %s, channel %s, %d replies",
                     member.id, message.channel, len(transition.replies))
            return True

    def _failed(self, row_id: int, error: Exception) -> bool:
        """Count a failed attempt at a stored text; True when it is given up."""
        # The error's message may quote SQL parameters (numbers, texts): log where, never what.
        at = where(error)
        with self.db.transaction() as session:
            row = session.get(InboundMessage, row_id)
            if row is None or row.handled_at is not None:
                return True
            row.attempts += 1
            if row.attempts < MAX_INBOUND_ATTEMPTS:
                log.error("inbound row %s failed (attempt %d): %s", row_id, row.attempts, at)
                return False
            row.handled_at = clock.now()
            row.sender = row.sender_uuid = row.sender_hash = row.body = None
            log.error("inbound row %s given up after %d failed attempts: %s", row_id, row.attempts, at)
            return True

    def _identify(
        self, session: Session, message: Inbound, text: Text, groups: dict[str, GroupInfo]
    ) -> tuple[Member, bool] | None:
        phone = normalize_phone(message.sender) if message.sender else None
        member = None
        if message.channel == SIGNAL and message.sender_uuid:
            member = Member.by_signal(session, message.sender_uuid)
            if member is None and phone:
                member = Member.by_phone(session, phone)
                if member is not None:
                    member.signal_uuid = message.sender_uuid
        elif message.channel == SMS:
            if phone is None:
                return None
            member = Member.by_phone(session, phone)
            if member is not None and member.phone_unusable:
                # A text from the number shows it takes texts: a carrier's earlier "invalid" no longer holds.
                member.phone_unusable = False
                log.info("member %s texted in: their number is usable again", member.id)
        else:
            return None
        if member is not None:
            return member, False
        member = Member(
            phone=phone,
            signal_uuid=message.sender_uuid if message.channel == SIGNAL else None,
            channel=message.channel,
            language=router.initial_language(text, groups),
            created_at=message.received_at,
        )
        session.add(member)
        session.flush()
        return member, True

    # --- applying a transition --------------------------------------------

    def _apply(
        self,
        session: Session,
        member: Member,
        ctx: Context,
        transition: Transition,
        *,
        reply_channel: str | None,
    ) -> None:
        now = ctx.now
        forgotten = False
        flooding = reply_channel is not None and care.flooding(session, member, now)
        replies = list(transition.replies)
        wait = transition.wait
        for effect in transition.effects:
            if flooding and isinstance(effect, Relayed):
                continue  # a flood is not passed on to another member
            if isinstance(effect, CARE_EFFECTS):
                replies.extend(Reply(text) for text in care.apply(session, member, effect, now))
                continue
            if isinstance(effect, COORD_EFFECTS):
                outcome = coord.apply(session, member, effect, now)
                replies.extend(Reply(text) for text in outcome.texts)
                wait = wait or outcome.wait
                continue
            match effect:
                case Joined(group_id, wording):
                    self._join(session, member, group_id, wording, ctx.channel, now)
                    care.mark_due(session, group_id, now)
                case Answered(group_id, specs):
                    told = {}
                    for old in current_answers(session, member.id, now, group_id):
                        old.ended_at = now
                        told[old.option] = old.told_waiting_at
                    for spec in specs:
                        session.add(Answer(
                            group_id=group_id, member_id=member.id, option=spec.option,
                            since=now, until=spec.until, how=spec.how, capacity=spec.capacity,
                            private=spec.private,
                            # Asking again for the same care: they already know if nobody is free.
                            told_waiting_at=told.get(spec.option),
                        ))
                    session.flush()
                    care.reconcile(session, member, group_id, now)
                case HowChanged(group_id, how):
                    for current in current_answers(session, member.id, now, group_id):
                        current.how = how
                case OptedOut(wording):
                    care.end_all(session, member, now)
                    care_requests.end_requests(session, member, now)  # START does not revive them
                    member.opted_out = True
                    session.add(ConsentEvent(member_id=member.id, kind="opt_out",
                                             channel=ctx.channel, wording=wording, at=now))
                    session.execute(
                        update(OutboxMessage)
                        .where(OutboxMessage.member_id == member.id, OutboxMessage.status == "pending",
                               OutboxMessage.purpose != FINAL)
                        .values(status="cancelled")
                    )
                case OptedIn(wording):
                    member.opted_out = False
                    for membership in ctx.memberships:  # their answers count again
                        care.mark_due(session, membership.group.id, now)
                    session.add(ConsentEvent(member_id=member.id, kind="resubscribe",
                                             channel=ctx.channel, wording=wording, at=now))
                case LanguageChanged(language):
                    member.language = language
                case CourtesyAnswered():
                    member.courtesy_at = now
                case NameChanged(name):
                    member.name = name
                case ChannelChanged(channel):
                    if channel == SMS and not sms_consented(session, member):
                        # Asking for SMS is consent to SMS, recorded like any other consent.
                        session.add(ConsentEvent(member_id=member.id, kind="opt_in", channel=SMS,
                                                 wording="CHANNEL SMS", at=now))
                    member.channel = channel
                case Forgotten():
                    care.end_all(session, member, now)
                    forgotten = True
        address = None
        if reply_channel is not None:
            address = member.signal_uuid if reply_channel == SIGNAL else member.phone
        if forgotten:
            self._forget(session, member)
        if flooding:
            # Past the flood limit only the "final" replies still go: the confirmations of STOP,
            # START and FORGET, and the crisis reply.
            replies = [r for r in replies if r.purpose == FINAL]
        for reply in replies:
            if address is None:
                break
            enqueue(
                session,
                member=None if forgotten else member,
                channel=reply_channel,
                address=address,
                text=reply.text,
                purpose=reply.purpose,
                now=now,
            )
        # After the replies, so the member reads the answer before any next question.
        if not forgotten and wait is not None:
            questions.replace(session, member.id, wait, now)
        elif not forgotten:
            # The question this text (or timeout) settled ends; the next one waiting is asked.
            questions.settle(session, member, ctx.waiting, now)

    def _join(self, session: Session, member: Member, group_id: int, wording: str, channel: str, now: datetime) -> None:
        if group_id in removals.groups_of(session, member):  # even after FORGET: only ADD clears it
            log.info("member %s is removed from group %s: a YES does not bring them back", member.id, group_id)
            return
        membership = session.scalars(
            select(Membership).where(Membership.member_id == member.id, Membership.group_id == group_id)
        ).first()
        if membership is None:
            membership = Membership(group_id=group_id, member_id=member.id, created_at=now)
            session.add(membership)
        membership.status = "active"
        membership.consented_at = now
        session.add(ConsentEvent(member_id=member.id, group_id=group_id, kind="opt_in",
                                 channel=channel, wording=wording, at=now))

    def _forget(self, session: Session, member: Member) -> None:
        # carebot's own tables only: signal-cli's data directory keeps the member's number and
        # UUID in clear text, out of carebot's reach (deploy/signal.md, "What Signal keeps").
        member_id = member.id
        # Others' open questions about them (an offer, a relay window, an approval, a
        # coordinator's YES about them) point at rows that go now, or name them: they end too.
        pairings = set(session.scalars(select(Pairing.id).where(
            or_(Pairing.requester_id == member_id, Pairing.supporter_id == member_id))))
        approvals = set(session.scalars(select(PendingAction.id).where(
            or_(PendingAction.actor_id == member_id, PendingAction.target_id == member_id))))
        for model in (Conversation, QueuedQuestion):
            for conversation in session.scalars(select(model).where(
                    model.member_id != member_id, model.flow.in_(ABOUT_OTHERS))):
                data = conversation.data or {}
                if (data.get("pairing_id") in pairings or data.get("pending_id") in approvals
                        or data.get("target_id") == member_id):
                    session.delete(conversation)
        session.execute(delete(OutboxMessage).where(OutboxMessage.member_id == member_id))
        session.execute(update(InboundMessage).where(InboundMessage.member_id == member_id).values(member_id=None))
        for model in (Answer, ConsentEvent, Conversation, QueuedQuestion, Membership):
            session.execute(delete(model).where(model.member_id == member_id))
        session.execute(delete(NotWith).where(or_(NotWith.member_id == member_id, NotWith.other_id == member_id)))
        session.execute(delete(Pairing).where(or_(Pairing.requester_id == member_id,
                                                  Pairing.supporter_id == member_id)))
        session.delete(member)
        session.flush()
        log.info("member %s forgotten", member_id)

    # --- due work ---------------------------------------------------------

    def run_due(self, now: datetime) -> int:
        """Run every timeout and lapse that has fallen due by ``now``; returns how many."""
        done = 0
        with self.db.transaction() as session:
            expired = session.scalars(
                select(Conversation.member_id).where(Conversation.wait_until <= now)
            ).all()
        for member_id in expired:
            with self.db.transaction() as session:
                member = session.get(Member, member_id)
                conversation = session.scalars(select(Conversation).where(Conversation.member_id == member_id)).first()
                if member is None or conversation is None or conversation.wait_until > now:
                    continue
                waiting = Waiting(conversation.flow, conversation.step, dict(conversation.data),
                                  conversation.wait_until)
                ctx = replace(build_context(session, member, member.channel, now), waiting=waiting)
                self._apply(session, member, ctx, router.timeout(waiting), reply_channel=None)
                done += 1
        with self.db.transaction() as session:
            # Questions that lapsed before their turn came: silence to an offer still passes it on.
            for member_id, waiting in questions.expire_queued(session, now):
                member = session.get(Member, member_id)
                for effect in router.timeout(waiting).effects:
                    care.apply(session, member, effect, now)
                done += 1
        done += self._lapse_answers(now)
        with self.db.transaction() as session:
            done += care.run_due(session, now, self.default_timezone)
            done += coord.send_due_reminders(session, now)
        with self.db.transaction() as session:
            # Housekeeping, not counted as due care work: a forgotten member's delivered
            # farewell goes at once; logs past their time, at most once a day.
            retention.drop_farewells(session)
            retention.run_if_due(session, now, self.retention_days)
        return done

    def _lapse_answers(self, now: datetime) -> int:
        with self.db.transaction() as session:
            pairs = session.execute(
                select(Answer.member_id, Answer.group_id)
                .where(Answer.ended_at.is_(None), Answer.until <= now)
                .distinct()
            ).all()
        for member_id, group_id in pairs:
            with self.db.transaction() as session:
                lapsed = session.scalars(
                    select(Answer).where(Answer.member_id == member_id, Answer.group_id == group_id,
                                         Answer.ended_at.is_(None), Answer.until <= now)
                ).all()
                if not lapsed:
                    continue
                for answer in lapsed:
                    answer.ended_at = answer.until
                member = session.get(Member, member_id)
                group = session.get(Group, group_id)
                first = lapsed[0]
                text = goaround.lapsed_prompt(
                    member.language or DEFAULT_LANGUAGE, group.keyword, first.option, first.capacity
                )
                push(session, member, text, now, group_id, self.default_timezone)
                care.reconcile(session, member, group_id, now)
        return len(pairs)

    def next_due(self) -> datetime | None:
        """The earliest moment at which something is due: a timeout, a lapse, a deferred text."""
        with self.db.transaction() as session:
            candidates = [
                session.scalar(select(Conversation.wait_until).order_by(Conversation.wait_until)
                               .where(Conversation.wait_until.is_not(None)).limit(1)),
                session.scalar(select(Answer.until).where(Answer.ended_at.is_(None), Answer.until.is_not(None))
                               .order_by(Answer.until).limit(1)),
                session.scalar(select(OutboxMessage.not_before).where(OutboxMessage.status == "pending")
                               .order_by(OutboxMessage.not_before).limit(1)),
                *care.next_due(session),
                questions.next_expiry(session),
                *coord.next_due(session),
            ]
        found = [c for c in candidates if c is not None]
        return min(found) if found else None
