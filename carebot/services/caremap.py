"""The care map's rows (MAP / MAPA): kept encrypted, shown to its owner, sent only on their YES.

A member's map goes to nobody but themselves, whoever said YES to support them
(when they chose to share it), and the on-call people of a CALL (only after
their YES to that). Never to coordinators, never in LOG, PULSE or another
member's MYDATA, never through a relay, never into a log line. MAP OFF, FORGET
and a removal from any of their groups delete it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from carebot.domain.i18n import DEFAULT_LANGUAGE, render
from carebot.domain.sms import fold_gsm7
from carebot.domain.vocabulary import OutboxStatus
from carebot.flows import caremap as flow
from carebot.flows.base import CareMapInfo, MapAnswered, MapDeleted, MapFinished, MapStarted, MapToCall
from carebot.outbox.write import push
from carebot.services import questions
from carebot.services.effects import Act, Outcome, handles
from carebot.services.people import display_name, tell_text
from carebot.store.lookups import care_map_of
from carebot.store.models import CareMap, Member, OutboxMessage, Pairing, QueuedQuestion

log = logging.getLogger(__name__)


def _language(member: Member) -> str:
    return member.language or DEFAULT_LANGUAGE


def _row(session: Session, member_id: int, *, draft: bool) -> CareMap | None:
    return session.scalars(select(CareMap).where(CareMap.member_id == member_id, CareMap.draft.is_(draft))).first()


def info(session: Session, member_id: int) -> CareMapInfo | None:
    """The member's finished map, for the flows (their own MAP and MYDATA)."""
    return care_map_of(session, member_id)


def withdraw_waiting(session: Session, owner_id: int, *, to: int | None = None) -> int:
    """Copies of the member's map still waiting in the outbox (a supporter's night) never go: the map
    is about to change or go, or (``to``) that person no longer supports them. How many were withdrawn.

    Only a copy of the map as it stands now is one: a map text is matched by its words, as written
    for its reader (in their language, folded to GSM-7 or not), never by a guess at its shape.
    """
    row = _row(session, owner_id, draft=False)
    owner = session.get(Member, owner_id)
    if row is None or owner is None:
        return 0
    care_map = CareMapInfo(row.helps, row.hurts, row.also, row.shared)
    waiting = select(OutboxMessage, Member).join(Member, Member.id == OutboxMessage.member_id).where(
        OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.created_at >= row.updated_at,
        OutboxMessage.member_id != owner_id)
    if to is not None:
        waiting = waiting.where(OutboxMessage.member_id == to)
    texts: dict[str, set[str]] = {}
    withdrawn = 0
    for message, reader in session.execute(waiting):
        language = _language(reader)
        if language not in texts:
            text = flow.for_other(care_map, display_name(owner, language), language)
            texts[language] = {text, fold_gsm7(text)}
        if message.body in texts[language]:
            session.delete(message)
            withdrawn += 1
    if withdrawn:
        log.info("member %s's care map: %d waiting copies withdrawn", owner_id, withdrawn)
    return withdrawn


def delete_all(session: Session, member_id: int) -> bool:
    """The member's map and draft are gone, and so are the map's questions and its copies still
    waiting to go; True when a map was there."""
    withdraw_waiting(session, member_id)
    had = _row(session, member_id, draft=False) is not None
    session.execute(delete(CareMap).where(CareMap.member_id == member_id))
    session.execute(delete(QueuedQuestion).where(QueuedQuestion.member_id == member_id,
                                                 QueuedQuestion.flow == flow.FLOW))
    return had


def text_for(session: Session, owner: Member, reader: Member, *, shared_only: bool = True) -> str | None:
    """``owner``'s map as ``reader`` reads it, or None when there is none (or it is not shared)."""
    care_map = info(session, owner.id)
    if care_map is None or (shared_only and not care_map.shared):
        return None
    language = _language(reader)
    return flow.for_other(care_map, display_name(owner, language), language)


def after_yes(session: Session, requester: Member, supporter: Member) -> list[str]:
    """The supporter just said YES: the requester's shared map follows the contact details."""
    text = text_for(session, requester, supporter)
    if text is not None:
        log.info("member %s's care map went to their new supporter %s", requester.id, supporter.id)
    return [] if text is None else [text]


def after_call(session: Session, member: Member, told: list[Member], now: datetime) -> list[str]:
    """A CALL told the on-call people: a member with a map is asked whether it goes to them too."""
    if not told or info(session, member.id) is None:
        return []
    prompt, waiting = flow.call_question(_language(member), tuple(m.id for m in told), now)
    questions.replace(session, member.id, waiting, now)
    return [prompt]


def current_supporters(session: Session, member: Member) -> list[Member]:
    """Who supports the member now: the supporters of their active pairings."""
    ids = session.scalars(select(Pairing.supporter_id).where(Pairing.requester_id == member.id,
                                                             Pairing.status == "active")).all()
    return [m for m in (session.get(Member, i) for i in dict.fromkeys(ids)) if m is not None]


def removed(session: Session, member: Member) -> bool:
    """The coordinators removed the member from a group: their map, draft and the map's questions go,
    whatever other groups they stay in. True when the asked question was one of the map's."""
    if delete_all(session, member.id):
        log.info("member %s's care map deleted with their removal", member.id)
    return questions.drop_flow(session, member, flow.FLOW)


# --- the registry's handlers: each map effect a flow asks for, carried out -----------------------


@handles(MapStarted)
def map_started(act: Act, effect: MapStarted) -> Outcome:
    session, member, now = act.session, act.member, act.now
    session.execute(delete(CareMap).where(CareMap.member_id == member.id, CareMap.draft.is_(True)))
    session.add(CareMap(member_id=member.id, draft=True, shared=False, created_at=now, updated_at=now))
    return Outcome()


@handles(MapAnswered)
def map_answered(act: Act, effect: MapAnswered) -> Outcome:
    session, member, now = act.session, act.member, act.now
    draft = _row(session, member.id, draft=True)
    if draft is None:  # its row went (MAP OFF from another phone): the answers start a new one
        draft = CareMap(member_id=member.id, draft=True, shared=False, created_at=now)
        session.add(draft)
    setattr(draft, effect.field, effect.text)
    draft.updated_at = now
    return Outcome()


@handles(MapFinished)
def map_finished(act: Act, effect: MapFinished) -> Outcome:
    session, member, now = act.session, act.member, act.now
    language = _language(member)
    draft = _row(session, member.id, draft=True)
    if draft is None:
        return Outcome([render("caremap.none", language)])
    old = _row(session, member.id, draft=False)
    if old is not None:
        withdraw_waiting(session, member.id)  # the old words, still waiting for someone's morning, never go
        session.delete(old)
        session.flush()  # the unique (member, draft) pair is free before the draft takes its place
    draft.draft = False
    draft.shared = effect.shared
    draft.updated_at = now
    session.flush()
    if not effect.shared:
        return Outcome([render("caremap.saved.private", language)])
    # Made or changed while someone supports them: it reaches that person now.
    supporters = current_supporters(session, member)
    for supporter in supporters:
        text = text_for(session, member, supporter)
        if text is not None:
            tell_text(session, supporter, text, now, None)
    log.info("member %s saved a shared care map; %d current supporters sent it", member.id, len(supporters))
    if supporters:
        names = ", ".join(display_name(s, language) for s in supporters)
        return Outcome([render("caremap.saved.sent", language, names=names)])
    return Outcome([render("caremap.saved.shared", language)])


@handles(MapDeleted)
def map_deleted(act: Act, effect: MapDeleted) -> Outcome:
    session, member = act.session, act.member
    language = _language(member)
    if effect.draft_only:
        session.execute(delete(CareMap).where(CareMap.member_id == member.id, CareMap.draft.is_(True)))
        kept = _row(session, member.id, draft=False) is not None
        return Outcome([render("caremap.empty.kept" if kept else "caremap.empty", language)])
    if delete_all(session, member.id):
        log.info("member %s deleted their care map", member.id)
        return Outcome([render("caremap.deleted", language)])
    return Outcome([render("caremap.none", language)])


@handles(MapToCall)
def map_to_call(act: Act, effect: MapToCall) -> Outcome:
    session, member, now = act.session, act.member, act.now
    language = _language(member)
    if not effect.share:
        return Outcome([render("caremap.call.kept", language)])
    sent = 0
    for person in (session.get(Member, i) for i in effect.member_ids):
        text = text_for(session, member, person, shared_only=False) if person is not None else None
        if person is not None and text is not None and push(session, person, text, now, None) is not None:
            sent += 1
    log.info("member %s's care map went to %d on-call people after their YES", member.id, sent)
    return Outcome([render("caremap.call.sent" if sent else "caremap.none", language)])
