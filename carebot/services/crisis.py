"""Crisis: a category flag kept when crisis words were answered (never the words), and CALL,
the member's own consent to their groups' on-call people being told, with their number.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from carebot.domain.i18n import names_list, render
from carebot.flows.base import CallRequested, CrisisNoted
from carebot.flows.crisis import DEFAULT_RESOURCES
from carebot.outbox.write import push
from carebot.services import caremap
from carebot.services.effects import Act, Outcome, handles
from carebot.services.people import display_name, language_of
from carebot.store.models import CareFlag, ConsentEvent, Group, Member
from carebot.store.queries import coordinators_of

log = logging.getLogger(__name__)


@handles(CrisisNoted)
def crisis_noted(act: Act, effect: CrisisNoted) -> Outcome:
    for group_id in effect.group_ids or (None,):
        act.session.add(CareFlag(member_id=act.member.id, group_id=group_id, category="crisis", at=act.now))
    log.info("member %s: crisis words answered with resources", act.member.id)
    return Outcome()


@handles(CallRequested)
def call(act: Act, effect: CallRequested) -> Outcome:
    """CALL: the member asked for someone from their group; only now are the on-call people told."""
    session, member, now, group_ids = act.session, act.member, act.now, effect.group_ids
    language = language_of(member)
    session.add(ConsentEvent(member_id=member.id, kind="call", channel=member.channel,
                             wording="CALL: tell my group's on-call people, with my number", at=now))
    told: list[Member] = []
    later = False
    keywords = []
    for group_id in group_ids:
        group = session.get(Group, group_id)
        if group is None:
            continue
        keywords.append(group.keyword)
        session.add(CareFlag(member_id=member.id, group_id=group_id, category="call", at=now))
        for person in coordinators_of(session, group_id):
            if person.id == member.id:
                continue
            row = push(session, person, render(
                "crisis.call.oncall", language_of(person), name=display_name(member, language_of(person)),
                keyword=group.keyword, contact=member.phone or render("care.no_number", language_of(person))),
                now, group_id)
            if row is not None:
                told.append(person)
                later = later or row.not_before > now
    log.info("member %s asked for a CALL; %d on-call people told", member.id, len(told))
    if not told:
        return Outcome([render("crisis.call.nobody", language, resources=_resources(session, group_ids, language))])
    key = "crisis.call.later" if later else "crisis.call.sent"
    return Outcome([render(key, language, keywords=names_list(keywords, language),
                           resources=_resources(session, group_ids, language)),
                    *caremap.after_call(session, member, told, now)])


def _resources(session: Session, group_ids: tuple[int, ...], language: str) -> str:
    listed = [g.crisis_resources.strip() for g in (session.get(Group, i) for i in group_ids)
              if g is not None and g.crisis_resources.strip()]
    return "; ".join(dict.fromkeys(listed)) or DEFAULT_RESOURCES.get(language, DEFAULT_RESOURCES["en"])
