"""The context a flow decides in: a read-only snapshot of the member and the moment, built
from their facts (``store.facts``, read for a whole batch of texts at once), and the
lookups (``carebot.store.lookups``) that fetch the rest only when asked.

The dispatcher calls :func:`build_context` once per text or due timeout; flows never see
the session.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebot.domain.i18n import DEFAULT_LANGUAGE
from carebot.domain.vocabulary import OPEN_PAIRINGS, SIGNAL, SMS, VOICE, PairingStatus
from carebot.flows.base import AnswerInfo, Context, MembershipInfo, PairingInfo, Waiting
from carebot.outbox.write import address_on
from carebot.services import questions
from carebot.services.people import display_name, language_of
from carebot.store.facts import RECENTLY_ENDED, Facts, MemberFacts
from carebot.store.lookups import StoreLookups
from carebot.store.models import CareFlag, ConsentEvent, Group, Member
from carebot.store.queries import existing


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


def _pairings(session: Session, member: Member, known: MemberFacts, now: datetime) -> tuple[PairingInfo, ...]:
    """The member's offered and active pairings, and those ended lately, seen from their side."""
    infos = []
    for pairing in known.pairings:
        if not (pairing.status in OPEN_PAIRINGS or (pairing.status == PairingStatus.ENDED and pairing.ended_at
                                                     and pairing.ended_at > now - RECENTLY_ENDED)):
            continue
        mine_to_give = pairing.supporter_id == member.id
        other = session.get(Member, pairing.requester_id if mine_to_give else pairing.supporter_id)
        side = pairing.group_for(member.id)  # across a network, a supporter sees it in their own group
        infos.append(PairingInfo(
            id=pairing.id, group_id=side, keyword=existing(session, Group, side).keyword, kind=pairing.kind,
            role="supporter" if mine_to_give else "requester",
            other_name=display_name(other, language_of(member)), status=pairing.status,
            cadence_days=pairing.cadence_days,
        ))
    return tuple(infos)


def build_context(session: Session, member: Member, channel: str, now: datetime, *,
                  facts: Facts | None = None, is_new: bool = False) -> Context:
    """A read-only snapshot of everything the flows may know about ``member`` now.

    ``facts``: those of the batch the text is handled in; without, the member's own are read.
    """
    own = facts is None  # a batch of one: its facts are read here, and let go of here
    if facts is None:
        facts = Facts.load(session, now, members=[member])
    try:
        known = facts.of(member)
        groups = facts.groups
        by_id = {g.id: g for g in groups.values()}
        rows = [m for m in known.memberships if m.status == "active"]
        group_ids = [m.group_id for m in rows]
        coordinators = facts.coordinators(group_ids)
        memberships = tuple(
            MembershipInfo(by_id[m.group_id], m.role, tuple(coordinators[m.group_id]), m.last_asked_at)
            for m in rows if m.group_id in by_id
        )
        answers = tuple(
            AnswerInfo(a.group_id, a.option, a.until, a.how, a.capacity, a.private, a.since)
            for a in known.current_answers(now) if a.group_id in group_ids
        )
        conversation = known.conversation
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
            pairings=_pairings(session, member, known, now),
            reachable=frozenset(c for c in (SMS, SIGNAL, VOICE) if address_on(member, c)
                                and not (c == SMS and member.phone_unusable)),
            removed_from=known.removed_from,
            lookups=StoreLookups(session, member.id, group_ids),
        )
    finally:
        if own:
            facts.close()
