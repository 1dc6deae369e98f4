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

import contextlib
import functools
import logging
from dataclasses import replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from carebot.channels import SIGNAL, SMS, VOICE, Inbound
from carebot.dispatch import due, inbound
from carebot.dispatch.context import build_context
from carebot.dispatch.transition import apply_transition
from carebot.domain import clock
from carebot.domain.config import DEFAULT_RETENTION_DAYS
from carebot.domain.logsafe import where
from carebot.flows import router, understanding
from carebot.flows.base import GroupInfo, Waiting
from carebot.flows.words import Text, read
from carebot.store import crypto
from carebot.store.db import Database, storage_trouble
from carebot.store.facts import Facts
from carebot.store.inserts import HeldConnection, RowInsert, row_insert
from carebot.store.models import (
    Conversation,
    InboundMessage,
    Member,
    seen_key,
)

log = logging.getLogger(__name__)

QUEUE_COLUMNS = ("channel", "provider_id", "received_at", "sender", "sender_uuid", "sender_hash", "body")
MAX_INBOUND_ATTEMPTS = 5  # failures before a stored text is given up, so one bad text cannot stop the queue


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


def _clear(logged: InboundMessage) -> None:
    """What a handled text keeps of itself: not its words, nor who sent it (only its dedupe key)."""
    logged.sender = logged.sender_uuid = logged.sender_hash = logged.body = None


def _facts_of(session: Session, rows: list[InboundMessage]) -> Facts:
    """What the contexts of these claimed texts need, read for all their senders at once."""
    return Facts.load(session, min((r.received_at for r in rows), default=clock.now()),
                      phones=[r.sender for r in rows if r.sender],
                      uuids=[r.sender_uuid for r in rows if r.sender_uuid],
                      seen=[seen_key(r.channel, r.provider_id) for r in rows], handling=[r.id for r in rows])


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


class _HandleCarefully(Exception):
    """A text of a batch handled in one go raised: the batch is handled again, a savepoint a text."""


class Dispatcher:
    """Runs the flows against the database, one transaction per event."""

    def __init__(self, db: Database, *, default_timezone: str = "UTC",
                 retention_days: int = DEFAULT_RETENTION_DAYS) -> None:
        self.db = db
        self.default_timezone = default_timezone
        # How long logs are kept (carebot.store.retention): the runtime passes CAREBOT_RETENTION_DAYS in.
        self.retention_days = retention_days
        # Where store_inbounds writes: a connection serve's webhook writer keeps open (runtime/web.py),
        # or, when None, one from the pool a transaction.
        self.queue_connection: HeldConnection | None = None

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
        """Queue several inbound texts in one transaction and one commit; each one's row id or None.

        A text whose key is stored already (or repeated in the batch: its
        first text is the one stored) adds none (``store_prepared``).
        """
        return self.store_prepared([self.prepare_inbound(message) for message in messages])

    def prepare_inbound(self, message: Inbound) -> Any:
        """``message``'s queue row made ready to insert (``store.inserts.RowInsert.prepare``: on SQLite the number
        and the words encrypted, the sender's keyed hash made), for ``store_prepared``.

        serve's webhooks call it on the event loop, so that the thread storing
        their texts, which every webhook waits for, only runs statements.
        """
        return self._queue_insert().prepare(_queue_row(message))

    def store_prepared(self, prepared: list[Any]) -> list[int | None]:
        """Queue texts made ready by ``prepare_inbound`` in one transaction and one commit; each one's row id, or
        None for a duplicate.

        The webhooks' hot path, so a plain connection rather than an ORM
        session: ON CONFLICT DO NOTHING (SQLite and PostgreSQL), so a
        duplicate needs no savepoint and a concurrent insert of the same key
        waits for the other to commit, then adds nothing.
        """
        insert = self._queue_insert()
        if self.queue_connection is not None:
            ids = self.queue_connection.insert_prepared(insert, prepared)
        else:
            with self.db.engine.begin() as conn:
                ids = insert.run(conn, prepared)
        duplicates = ids.count(None)
        if duplicates:
            log.info("duplicate inbound ignored (%d)", duplicates)
        return ids

    def _queue_insert(self) -> RowInsert:
        return row_insert(cast(Table, InboundMessage.__table__), QUEUE_COLUMNS, ("channel", "provider_id"),
                          self.db.engine.dialect)

    def process_inbound(self, row_id: int, *, received_at: datetime | None = None) -> bool:
        """Handle one stored text, after any older one from the same sender still waiting.

        False when it was handled already (a text acts once) or is ignored.
        When handling raises, nothing of it is applied and it stays queued.
        ``received_at``, the same moment as stored, keeps the caller's timezone.
        """
        for earlier in self._waiting_before(row_id):
            self._process_one(earlier)
        return self._process_one(row_id, received_at)

    def process_pending(self, limit: int = 100, batch: int = 100, budget: float | None = None) -> int:
        """Handle up to ``limit`` stored texts, oldest first; returns how many left the queue.

        In batches of up to ``batch`` texts, one transaction each (``_batch``);
        with a ``budget`` (seconds), no text is begun once it is spent, so the
        database's other users wait that long at most. A text whose handling
        raises ends the pass, so that no later text overtakes it; the next pass
        tries it again, and after ``MAX_INBOUND_ATTEMPTS`` failures it is given
        up (and logged). When the connection to the database is lost under it,
        the error is raised instead: nothing of its batch is applied, nor
        counted against the text.
        """
        done = 0
        deadline = None if budget is None else clock.ticks() + budget
        while done < limit:
            handled, stopped = self._batch(min(batch, limit - done), deadline)
            done += handled
            if stopped or not handled:
                break
        return done

    def _batch(self, limit: int, deadline: float | None = None) -> tuple[int, bool]:
        """One transaction, one commit: up to ``limit`` texts, one per sender (dispatch.inbound). How many
        left the queue, and whether the pass ends (a text failed, or the ``deadline`` passed).

        First all in one go, written in one flush at the end (statements shared by the batch);
        when a text raises, none of that is kept and the batch is handled again with each text
        in a savepoint (``careful``), so the failing text applies nothing, the texts after it go
        back to the queue and what was handled before it commits.
        """
        try:
            return self._handle_batch(limit, deadline, careful=False)
        except _HandleCarefully:
            return self._handle_batch(limit, deadline, careful=True)

    def _handle_batch(self, limit: int, deadline: float | None, *, careful: bool) -> tuple[int, bool]:
        done = 0
        with self.db.transaction() as session:
            rows = inbound.take(session, limit)
            with _facts_of(session, rows) as facts:
                for index, row in enumerate(rows):
                    if done and deadline is not None and clock.ticks() > deadline:
                        inbound.release(session, rows[index:])  # for the next pass: the time is up
                        return done, True
                    try:
                        with session.begin_nested() if careful else contextlib.nullcontext():
                            self._handle(session, row, facts)
                    except Exception as error:  # one bad text must not stop the queue for good
                        if database_away(error):
                            raise  # not the text's fault: the batch waits for the next pass
                        if not careful:
                            raise _HandleCarefully from error  # the transaction rolls back: nothing of it stays
                        facts.distrust()
                        if not self._failed(row, error):
                            inbound.release(session, rows[index + 1:])
                            return done, True
                    done += 1
                if not careful:
                    try:
                        session.flush()  # a text's writes that fail fail here, not at the commit
                    except Exception as error:
                        if database_away(error):
                            raise
                        raise _HandleCarefully from error
        return done, False

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
            claimed = inbound.claim(session, [row_id])
            if not claimed:
                return False
            with _facts_of(session, claimed) as facts:
                return self._handle(session, claimed[0], facts, received_at)

    def _handle(self, session: Session, logged: InboundMessage, facts: Facts,
                received_at: datetime | None = None) -> bool:
        """Handle one claimed text in ``session``: identify, decide, apply; False when it is ignored."""
        # The database gives UTC back; the caller's clock may carry a timezone, and
        # wall-clock arithmetic ("in 7 days" across a DST change) depends on it.
        when = received_at if received_at == logged.received_at else logged.received_at
        message = Inbound(logged.channel, logged.provider_id, logged.sender or "", logged.body or "",
                          when, logged.sender_uuid)
        # Kept only until handled: the text and its sender go in this same transaction (one
        # update with the member's id, so they are cleared just before it, whatever comes).
        forget = functools.partial(_clear, logged)
        if facts.seen_before(seen_key(logged.channel, logged.provider_id)):
            # Its first coming was handled and then purged by retention: a replay, not a new text.
            log.info("replayed inbound ignored: handled before retention (channel %s)", logged.channel)
            forget()
            return False
        groups = facts.groups
        text = read(message.text)
        found = self._identify(session, message, text, groups, facts)
        if found is None:
            log.info("inbound from an unusable address ignored (channel %s)", message.channel)
            forget()
            return False
        member, is_new = found
        if member.language is None and router.clear_language(text) == "es":
            member.language = "es"  # they clearly write Spanish and never chose: answer in Spanish
        elif member.language != "es" and understanding.writes_spanish(text):
            member.language = "es"  # README: a sentence in Spanish changes it for good
        forget()
        logged.member_id = member.id
        ctx = build_context(session, member, message.channel, message.received_at, facts=facts, is_new=is_new)
        transition = router.respond(ctx, text)
        apply_transition(session, member, ctx, transition, facts, reply_channel=message.channel)
        log.info("inbound handled: member %s, channel %s, %d replies",
                 member.id, message.channel, len(transition.replies))
        return True

    def _failed(self, row: InboundMessage, error: Exception) -> bool:
        """Count a failed attempt at a claimed text, in the batch's transaction; True when it is given up."""
        # The error's message may quote SQL parameters (numbers, texts): log where, never what.
        at = where(error)
        row.attempts += 1
        if row.attempts < MAX_INBOUND_ATTEMPTS:
            row.handled_at = None  # back in the queue, untouched
            log.error("inbound row %s failed (attempt %d): %s", row.id, row.attempts, at)
            return False
        _clear(row)
        log.error("inbound row %s given up after %d failed attempts: %s", row.id, row.attempts, at)
        return True

    def _identify(
        self, session: Session, message: Inbound, text: Text, groups: dict[str, GroupInfo], facts: Facts
    ) -> tuple[Member, bool] | None:
        phone = facts.number(message.sender)
        member = None
        if message.channel == SIGNAL and message.sender_uuid:
            member = facts.by_signal(message.sender_uuid)
            if member is None and phone:
                member = facts.by_phone(phone)
                if member is not None:
                    member.signal_uuid = message.sender_uuid
        elif message.channel in (SMS, VOICE):  # a call comes from a number, as a text does
            if phone is None:
                return None
            member = facts.by_phone(phone)
            if member is not None and member.phone_unusable and message.channel == SMS:
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
            # Someone who joins by phone gets carebot's own messages by text (the consent question says so).
            channel=SMS if message.channel == VOICE else message.channel,
            language=router.initial_language(text, groups),
            created_at=message.received_at,
        )
        session.add(member)
        session.flush()
        return member, True

    # --- due work ---------------------------------------------------------

    def run_due(self, now: datetime) -> int:
        """Run every timeout and lapse that has fallen due by ``now``; returns how many."""
        return self._run_timeouts(now) + due.run_due(
            self.db, now, default_timezone=self.default_timezone, retention_days=self.retention_days)

    def _run_timeouts(self, now: datetime) -> int:
        """Conversations whose wait ran out: the flows say what silence means, as for a text."""
        done = 0
        with self.db.transaction() as session:
            expired = session.scalars(
                select(Conversation.member_id).where(Conversation.wait_until <= now)
            ).all()
        for member_id in expired:
            with self.db.transaction() as session:
                member = session.get(Member, member_id)
                conversation = session.scalars(select(Conversation).where(Conversation.member_id == member_id)).first()
                if (member is None or conversation is None or conversation.wait_until is None
                        or conversation.wait_until > now):
                    continue
                waiting = Waiting(conversation.flow, conversation.step, dict(conversation.data),
                                  conversation.wait_until)
                with Facts.load(session, now, members=[member]) as facts:
                    ctx = replace(build_context(session, member, member.channel, now, facts=facts), waiting=waiting)
                    apply_transition(session, member, ctx, router.timeout(waiting), facts, reply_channel=None)
                done += 1
        return done

    def next_due(self) -> datetime | None:
        """The earliest moment at which something is due: a timeout, a lapse, a deferred text."""
        return due.next_due(self.db)
