"""Go-around answers: a member's answer replaces their current one in that group; HOW and its
privacy change it; an answer whose time is up lapses, with a word to the member.

Whatever no longer holds up after a change (a pairing whose request ended, a supporter past
what they now offer) ends with it (``pairings.reconcile``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebot.domain.i18n import DEFAULT_LANGUAGE, names_list, render
from carebot.domain.vocabulary import REQUESTS, PairingStatus
from carebot.flows import goaround
from carebot.flows.base import Answered, HowChanged, PrivacyChanged
from carebot.outbox.write import push
from carebot.services.effects import Act, Outcome, handles
from carebot.services.pairings import end_unheld, reconcile
from carebot.services.people import display_name, language_of
from carebot.store.models import Answer, Group, Member, Pairing
from carebot.store.queries import current_answers, existing


@handles(Answered)
def answered(act: Act, effect: Answered) -> Outcome:
    session, member, now, group_id = act.session, act.member, act.now, effect.group_id
    told = {}
    known = act.facts.of(member, Answer, Pairing)  # read with the batch: its current answers and pairings
    for old in known.current_answers(now):
        if old.group_id == group_id:
            old.ended_at = now
            told[old.option] = old.told_waiting_at
    pairings = known.open_pairings_in(member.id, group_id)
    for spec in effect.answers:
        session.add(Answer(
            group_id=group_id, member_id=member.id, option=spec.option,
            # Its how is already only how to be reached (goaround.kept_answers): never a story.
            since=now, until=spec.until, how=spec.how, capacity=spec.capacity,
            private=spec.private,
            # Asking again for the same care: they already know if nobody is free.
            told_waiting_at=told.get(spec.option),
        ))
    active = [p for p in pairings if p.status == PairingStatus.ACTIVE]
    end_unheld(session, member, group_id, now, [(spec.option, spec.capacity) for spec in effect.answers], pairings)
    return Outcome(_ended_by_answer(session, member, group_id, [p for p in active if p.status != PairingStatus.ACTIVE]))


def _ended_by_answer(session: Session, member: Member, group_id: int, ended: list[Pairing]) -> list[str]:
    """What the member hears of their own pairings that their new answer ended (the other side hears it
    from ``end_unheld``): a request no longer in the answer ends, with how to keep it (outside6)."""
    language = language_of(member)
    keyword = existing(session, Group, group_id).keyword
    requests = [p for p in ended if p.requester_id == member.id]
    offers = [p for p in ended if p.requester_id != member.id]
    texts = []
    if requests:
        kinds = sorted({p.kind for p in requests})
        texts.append(render("goaround.ended.request", language, keyword=keyword,
                            other=_names(session, [p.supporter_id for p in requests], language),
                            options=" ".join(str(kind) for kind in kinds)))
    if offers:
        texts.append(render("goaround.ended.offer", language, keyword=keyword,
                            other=_names(session, [p.requester_id for p in offers], language)))
    return texts


def _names(session: Session, member_ids: list[int], language: str) -> str:
    return names_list([display_name(session.get(Member, member_id), language) for member_id in member_ids], language)


@handles(HowChanged)
def how_changed(act: Act, effect: HowChanged) -> Outcome:
    for current in current_answers(act.session, act.member.id, act.now, effect.group_id):
        current.how = effect.how  # only how to be reached: HOW kept nothing else (goaround.how)
    return Outcome()


@handles(PrivacyChanged)
def privacy_changed(act: Act, effect: PrivacyChanged) -> Outcome:
    for answer in act.session.scalars(select(Answer).where(
            Answer.member_id == act.member.id, Answer.group_id == effect.group_id, Answer.ended_at.is_(None),
            Answer.option.in_(REQUESTS))):
        answer.private = effect.private
    return Outcome()


def lapsed(session: Session, now: datetime) -> list[tuple[int, int]]:
    """(member, group) for every answer whose time is up but has not lapsed yet."""
    return [(member_id, group_id) for member_id, group_id in session.execute(
        select(Answer.member_id, Answer.group_id)
        .where(Answer.ended_at.is_(None), Answer.until <= now)
        .distinct()
    )]


def lapse(session: Session, member_id: int, group_id: int, now: datetime, default_tz: str) -> None:
    """The member's answers in the group whose time is up lapse; they hear it, and pairings follow."""
    ended = session.scalars(
        select(Answer).where(Answer.member_id == member_id, Answer.group_id == group_id,
                             Answer.ended_at.is_(None), Answer.until <= now)
    ).all()
    member = session.get(Member, member_id)
    group = session.get(Group, group_id)
    if not ended or member is None or group is None:
        return
    for answer in ended:
        answer.ended_at = answer.until
    first = ended[0]
    language = member.language or DEFAULT_LANGUAGE
    # A pairing that ends with the answer is said in the same text (outside5: a supporter's "2 for a
    # week" lapsed, his requester was told, he was not).
    others = [display_name(other, language) for other in reconcile(session, member, group_id, now)]
    text = goaround.lapsed_prompt(language, group.keyword, first.option, first.capacity, ended_with=others)
    push(session, member, text, now, group_id, default_tz)
