"""The questions carebot asks members: one *asked* at a time, the others waiting their turn.

A YES, NO or LATER must answer the question in the member's latest text from
carebot that asked for one. So a question is only ever sent when it becomes
the asked one (the member's :class:`~carebot.store.models.Conversation`); a question
that cannot be asked yet waits, text and all, as a
:class:`~carebot.store.models.QueuedQuestion`, and is asked when the current one is
settled. Care outranks everything else: an offer of care or a "did you
connect?" pushes an unanswered gathering invitation back into the queue
instead of waiting behind it, and low-stakes questions expire on their own.

Every question's Waiting data carries its rank, its text and its group
(``_rank``, ``_prompt``, ``_group``), so it can be set aside and asked again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, delete, select, update
from sqlalchemy.orm import Session

from carebot.domain.daytime import next_daytime
from carebot.domain.vocabulary import MembershipStatus, OutboxStatus, PairingStatus
from carebot.flows.base import Waiting
from carebot.outbox.policy import cancel
from carebot.outbox.write import member_timezone, push
from carebot.store.conversations import end_waiting, set_waiting
from carebot.store.models import (
    Conversation,
    Gathering,
    Group,
    Member,
    Membership,
    OutboxMessage,
    Pairing,
    PendingAction,
    QueuedQuestion,
    Rsvp,
)
from carebot.store.queries import existing

# Lower ranks are asked first and are never held back by higher ones.
CARE, CONSENT, LOW = 0, 1, 2
# A question past its time that can still be answered, with no new text ("did you connect?" until
# the next check-in): it holds back nothing, and any other question takes its place for good.
LATE = 3
# A care question asked again gets at least this much daytime for its answer.
ANSWER_WINDOW = timedelta(hours=24)
# The flows whose questions are set aside and asked again; the rest (a relay's
# reply window, a coordinator's own confirmation, MORE) lapse when pushed aside.
ASKED_AGAIN = frozenset({"pairing", "checkin", "gather", "approval", "join", "caremap", "network"})
# Flows whose questions follow one another (MAP's three, then its share question): the next
# replaces the one it follows instead of setting it aside to be asked again.
STEP_BY_STEP = frozenset({"caremap"})


def rank_of(waiting: Waiting | Conversation) -> int:
    """A question's rank; one carebot asked in reply to the member's own text counts as care."""
    return int((waiting.data or {}).get("_rank", CARE))


def current(session: Session, member_id: int, now: datetime) -> Conversation | None:
    """The member's asked question, while it is open."""
    conversation = session.scalars(select(Conversation).where(Conversation.member_id == member_id)).first()
    if conversation is None or (conversation.wait_until is not None and conversation.wait_until <= now):
        return None
    return conversation


def ask(session: Session, member: Member, waiting: Waiting, prompt: str, now: datetime, *,
        group_id: int | None, rank: int) -> bool:
    """Ask ``prompt`` now, or queue it behind the question already asked; True when asked now."""
    if member.opted_out:
        return False
    waiting = Waiting(waiting.flow, waiting.step,
                      {**waiting.data, "_rank": rank, "_prompt": prompt, "_group": group_id}, waiting.until)
    asked = current(session, member.id, now)
    if asked is not None:
        if rank >= rank_of(asked):
            _queue(session, member.id, waiting, now)
            return False
        set_aside(session, asked)
    return _put(session, member, waiting, now)


def _put(session: Session, member: Member, waiting: Waiting, now: datetime) -> bool:
    row = push(session, member, waiting.data["_prompt"], now, waiting.data.get("_group"))
    if row is None:
        return False  # no way to reach them: nothing is asked
    session.flush()
    # Its text: until it has reached the member (it may wait for the morning), a YES cannot answer it.
    set_waiting(session, member.id, Waiting(waiting.flow, waiting.step, {**waiting.data, "_row": row.id},
                                            waiting.until), now)
    return True


def unseen(session: Session, data: dict) -> bool:
    """Whether a question's text has not reached the member yet (so nothing they text answers it)."""
    row_id = (data or {}).get("_row")
    if row_id is None:
        return False
    row = session.get(OutboxMessage, int(row_id))
    return row is not None and row.status in (OutboxStatus.PENDING, OutboxStatus.SENDING)


def _queue(session: Session, member_id: int, waiting: Waiting, now: datetime) -> None:
    session.add(QueuedQuestion(
        member_id=member_id, group_id=waiting.data.get("_group"), flow=waiting.flow, step=waiting.step,
        data=dict(waiting.data), rank=rank_of(waiting), prompt=waiting.data["_prompt"],
        expires_at=waiting.until, created_at=now))


def set_aside(session: Session, conversation: Conversation) -> None:
    """Another question takes the asked place: this one waits to be asked again (or lapses)."""
    data = dict(conversation.data or {})
    if unseen(session, data):
        # Never shown: its text does not go out now that another question comes first.
        cancel(existing(session, OutboxMessage, int(data["_row"])))
    data.pop("_row", None)
    if conversation.flow in ASKED_AGAIN and "_prompt" in data:
        waiting = Waiting(conversation.flow, conversation.step, data, conversation.wait_until)
        _queue(session, conversation.member_id, waiting, conversation.updated_at)
    session.delete(conversation)
    session.flush()


def replace(session: Session, member_id: int, waiting: Waiting, now: datetime) -> None:
    """The member's own text opened ``waiting``: it becomes the asked one, the old one set aside."""
    asked = current(session, member_id, now)
    moving_on = asked is not None and asked.flow == waiting.flow and asked.flow in STEP_BY_STEP
    if asked is not None and not moving_on and (asked.flow, asked.step, asked.data) != (
            waiting.flow, waiting.step, waiting.data):
        set_aside(session, asked)
    set_waiting(session, member_id, waiting, now)


def settle(session: Session, member: Member, answered: Waiting | None, now: datetime) -> None:
    """The member's asked question ``answered`` is settled: ask the next one waiting, care first."""
    asked = session.scalars(select(Conversation).where(Conversation.member_id == member.id)).first()
    if asked is not None and answered is not None and (asked.flow, asked.step, asked.data) == (
            answered.flow, answered.step, answered.data):
        end_waiting(session, member.id)
    ask_next(session, member, now)
    if answered is not None and current(session, member.id, now) is None:
        free_again(session, member, now)


def free_again(session: Session, member: Member, now: datetime) -> None:
    """The member answered and nothing else is asked of them: an offer the planner held back while they
    were busy (planner.BUSY_RETRY) is looked at now, at the next tick, not an hour later."""
    groups = select(Membership.group_id).where(Membership.member_id == member.id,
                                               Membership.status == MembershipStatus.ACTIVE)
    session.execute(update(Group).where(Group.id.in_(groups), Group.pairing_due_at > now)
                    .values(pairing_due_at=now).execution_options(synchronize_session="fetch"))


def queued(session: Session, member_id: int) -> bool:
    """Whether questions wait their turn for the member."""
    return session.scalar(select(QueuedQuestion.id).where(QueuedQuestion.member_id == member_id).limit(1)) is not None


def ask_next(session: Session, member: Member, now: datetime) -> None:
    """Ask the member's next waiting question, if nothing is asked now."""
    if member.opted_out:
        session.execute(delete(QueuedQuestion).where(QueuedQuestion.member_id == member.id))
        return
    if current(session, member.id, now) is not None:
        return
    queued = session.scalars(select(QueuedQuestion).where(QueuedQuestion.member_id == member.id)
                             .order_by(QueuedQuestion.rank, QueuedQuestion.created_at, QueuedQuestion.id)).all()
    for question in queued:
        if question.expires_at is not None and question.expires_at <= now:
            continue  # run_due times it out (an offer passes to someone else)
        session.delete(question)
        if not still_open(session, question, now):
            continue
        until = question.expires_at
        if question.rank == CARE:
            until = _fresh_window(session, member, question, now)
        if _put(session, member, Waiting(question.flow, question.step, dict(question.data), until), now):
            return


def _fresh_window(session: Session, member: Member, question: QueuedQuestion, now: datetime) -> datetime | None:
    """A care question asked late still gets a day of daytime to be answered."""
    group = session.get(Group, question.group_id) if question.group_id else None
    tz, starts, ends = member_timezone(session, member, question.group_id, group.timezone if group else "UTC")
    until = next_daytime(now, tz, starts, ends) + ANSWER_WINDOW
    if question.expires_at is not None and question.expires_at > until:
        until = question.expires_at
    pairing_id = question.data.get("pairing_id")
    pairing = session.get(Pairing, int(pairing_id)) if pairing_id else None
    if pairing is not None and pairing.status == PairingStatus.OFFERED:
        pairing.respond_by = until
    return until


def still_open(session: Session, question: QueuedQuestion | Conversation, now: datetime) -> bool:
    """Whether what a question is about still needs its answer."""
    data = question.data or {}
    if question.flow == "pairing":
        pairing = session.get(Pairing, int(data.get("pairing_id", 0)))
        wanted = PairingStatus.OFFERED if question.step == "offer" else PairingStatus.ACTIVE
        return pairing is not None and pairing.status == wanted
    if question.flow == "checkin":
        pairing = session.get(Pairing, int(data.get("pairing_id", 0)))
        return pairing is not None and pairing.status == PairingStatus.ACTIVE
    if question.flow == "gather":
        gathering = session.get(Gathering, int(data.get("gathering_id", 0)))
        answered = session.scalar(select(Rsvp.id).where(Rsvp.gathering_id == gathering.id,
                                                        Rsvp.member_id == question.member_id)) if gathering else 1
        return gathering is not None and gathering.starts_at > now and answered is None
    if question.flow == "approval":
        from carebot.services.coordination import moot

        pending = session.get(PendingAction, int(data.get("pending_id", 0)))
        return pending is not None and pending.status == "pending" and pending.expires_at > now and not moot(
            session, pending)
    if question.flow == "join":
        membership = session.scalars(select(Membership).where(
            Membership.member_id == question.member_id,
            Membership.group_id == int(data.get("group_id", 0)))).first()
        return membership is None or membership.status != MembershipStatus.ACTIVE
    if question.flow == "network":
        from carebot.services.network import still_open as network_question_open

        return network_question_open(session, int(data.get("answer_id", 0)), now)
    return True


def withdraw(session: Session, member: Member, key: str, value: int) -> bool:
    """Questions about something that is over (data ``key`` is ``value``) are no longer asked.

    True when one was the asked question: the caller asks the next one when it fits.
    """
    return _drop(session, member, lambda data: data.get(key) == value)


def drop_for_group(session: Session, member: Member, group_id: int) -> bool:
    """The member left a group: its questions to them go. True when one was the asked question."""
    return _drop(session, member, lambda data: group_id in (data.get("_group"), data.get("group_id")))


def drop_flow(session: Session, member: Member, flow: str) -> bool:
    """Every question of ``flow`` to the member goes (the care map's, with the map). True when one was asked."""
    return _drop(session, member, lambda data: True, flow=flow)


def _drop(session: Session, member: Member, about, *, flow: str | None = None) -> bool:
    was_asked = False
    conversation = session.scalars(select(Conversation).where(Conversation.member_id == member.id)).first()
    if conversation is not None and flow in (None, conversation.flow) and about(conversation.data or {}):
        session.delete(conversation)
        session.flush()
        was_asked = True
    for question in session.scalars(select(QueuedQuestion).where(QueuedQuestion.member_id == member.id)).all():
        if flow in (None, question.flow) and about(question.data or {}):
            session.delete(question)
    return was_asked


def expire_queued(session: Session, now: datetime) -> list[tuple[int, Waiting]]:
    """Drop queued questions past their time; the care ones, whose silence means something, are returned."""
    expired = session.scalars(select(QueuedQuestion).where(QueuedQuestion.expires_at <= now)).all()
    timed_out = []
    for question in expired:
        if question.rank == CARE:
            timed_out.append((question.member_id, Waiting(question.flow, question.step, dict(question.data),
                                                          question.expires_at)))
        session.delete(question)
    return timed_out


def next_expiry() -> Select:
    """The earliest expiry of a queued question, as a query (carebot.dispatch.due reads it with the rest)."""
    return (select(QueuedQuestion.expires_at).where(QueuedQuestion.expires_at.is_not(None))
            .order_by(QueuedQuestion.expires_at).limit(1))
