"""The context a flow decides in, built from the database: a read-only snapshot of the member
and the moment, and the lookups (``carebot.store.lookups``) that fetch the rest only when asked.

The dispatcher calls :func:`build_context` once per text or due timeout; flows never see
the session.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebot.domain.i18n import DEFAULT_LANGUAGE
from carebot.domain.vocabulary import SIGNAL, SMS, VOICE
from carebot.flows.base import AnswerInfo, Context, GroupInfo, MembershipInfo, Waiting
from carebot.outbox.write import address_on
from carebot.services import questions
from carebot.services.pairings import open_pairings
from carebot.store import removals
from carebot.store.lookups import StoreLookups
from carebot.store.models import CareFlag, ConsentEvent, Conversation, Group, Member, Membership
from carebot.store.queries import current_answers


def group_infos(session: Session) -> dict[str, GroupInfo]:
    """Every group on this deployment, by keyword."""
    return {
        g.keyword: GroupInfo(g.id, g.keyword, g.name, g.timezone, g.language, g.round_schedule,
                             g.crisis_resources)
        for g in session.scalars(select(Group))
    }


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
    # Every membership of the member in one query: the active ones, and the groups that removed them.
    everywhere = session.scalars(select(Membership).where(Membership.member_id == member.id)).all()
    rows = [m for m in everywhere if m.status == "active"]
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
            if name is not None:
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
        pairings=open_pairings(session, member, now),
        reachable=frozenset(c for c in (SMS, SIGNAL, VOICE) if address_on(member, c)
                            and not (c == SMS and member.phone_unusable)),
        removed_from=removals.groups_of(session, member),
        lookups=StoreLookups(session, member.id, group_ids),
    )
