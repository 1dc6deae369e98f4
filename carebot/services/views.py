"""What coordinators (and, for GATHER, members) can look at: PAIRS, ROSTER, LOG, PULSE and
GATHER, each a view of the group paged with MORE a few SMS segments at a time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from carebot.domain.i18n import render, short_date
from carebot.domain.sms import segments
from carebot.domain.vocabulary import OPEN_PAIRINGS, MembershipStatus, PairingStatus, Role
from carebot.flows.base import ListShown, Waiting
from carebot.flows.coord import describe_when
from carebot.outbox.views import undelivered_for_group
from carebot.services import network
from carebot.services.effects import Act, Outcome, handles
from carebot.services.gatherings import group_tz, next_gathering
from carebot.services.people import display_name, language_of
from carebot.services.rounds import pulse_text
from carebot.store.models import CoordAction, Group, Member, Membership, Pairing, Rsvp
from carebot.store.queries import active_members_of, existing, is_coordinator, members_by_id, open_requests

PAGE_SEGMENTS = 3
LOG_ENTRIES = 10


def paginate(text: str, more: str) -> list[str]:
    """Split a long list into pages of a few SMS segments, each but the last ending in "(MORE …)"."""
    if segments(text) <= PAGE_SEGMENTS:
        return [text]
    pages, current = [], ""
    for piece in text.replace("; ", ";\n").replace(", ", ",\n").split("\n"):
        candidate = f"{current} {piece}".strip()
        if current and segments(f"{candidate} ({more})") > PAGE_SEGMENTS:
            pages.append(f"{current.rstrip(',;')} ({more})")
            current = piece
        else:
            current = candidate
    pages.append(current)
    return pages


def _pairs_text(session: Session, group: Group, language: str, now: datetime) -> str:

    items = []
    # Its own requests' pairings, and those its supporters took on across a network.
    pairings = session.scalars(
        select(Pairing).where(or_(Pairing.group_id == group.id, Pairing.supporter_group_id == group.id),
                              Pairing.status.in_(OPEN_PAIRINGS)).order_by(Pairing.id)
        .options(selectinload(Pairing.requester), selectinload(Pairing.supporter)))
    served = set()
    for pairing in pairings:
        if pairing.group_id == group.id:
            served.add((pairing.requester_id, pairing.kind))
        key = "coord.pair.active" if pairing.status == PairingStatus.ACTIVE else "coord.pair.offered"
        across = network.other_group(session, pairing, group.id)
        items.append(render(key, language, kind=render(f"coord.kind.{pairing.kind}", language),
                            supporter=display_name(pairing.supporter, language),
                            requester=display_name(pairing.requester, language))
                     + (render("coord.pair.network", language, keyword=across.keyword) if across else ""))
    waiting_ids = [member_id for member_id, option in open_requests(session, group.id, now)
                   if (member_id, option) not in served]
    undelivered_ids = [row.member_id for row in undelivered_for_group(session, group.id) if row.member_id]
    named = members_by_id(session, waiting_ids + undelivered_ids)
    waiting = [display_name(named.get(member_id), language) for member_id in waiting_ids]
    if waiting:
        items.append(render("coord.pair.waiting", language, names=", ".join(waiting)))
    undelivered = sorted({display_name(named.get(member_id), language) for member_id in undelivered_ids})
    if undelivered:
        items.append(render("coord.pair.undelivered", language, names=", ".join(undelivered)))
    if not items:
        return render("coord.pairs.none", language, keyword=group.keyword)
    return render("coord.pairs", language, keyword=group.keyword, pairs="; ".join(items))


def _roster_text(session: Session, group: Group, language: str) -> str:
    rows = session.execute(
        select(Member.name, Membership.role).join(Membership, Membership.member_id == Member.id)
        .where(Membership.group_id == group.id, Membership.status == MembershipStatus.ACTIVE, Member.opted_out.is_(False))
    ).all()
    names = sorted((n for n, _ in rows if n), key=str.casefold)
    coordinators = {n for n, role in rows if n and role == Role.COORDINATOR}
    shown = [render("coord.roster.coordinator", language, name=n) if n in coordinators else n for n in names]
    unnamed = sum(1 for n, _ in rows if not n)
    if unnamed:
        shown.append(render("coord.roster.unnamed", language, count=unnamed))
    return render("coord.roster", language, keyword=group.keyword, count=len(rows), names=", ".join(shown))


# The entries that name the members of a pairing: who asked for care and who offered it.
PAIRING_ACTIONS = frozenset({"pair", "unpair", "network"})
# And a request about a member that lapsed, never done (no second coordinator's YES): named, like a
# pairing, only to that member and the coordinators.
NAMED_TO_THOSE_CONCERNED = PAIRING_ACTIONS | {"lapsed.remove", "lapsed.coord", "lapsed.uncoord"}


def _log_text(session: Session, group: Group, viewer: Member, language: str) -> str:
    """The group's last coordinator actions as ``viewer`` may see them: who acted, what and when for
    everyone, but the members of a pairing named only to those two and the group's coordinators
    (product.md "Transparency without exposure"); roles and removals are not answers and stay named."""
    actions = session.scalars(select(CoordAction).where(CoordAction.group_id == group.id)
                              .order_by(CoordAction.id.desc()).limit(LOG_ENTRIES)).all()
    if not actions:
        return render("log.none", language, keyword=group.keyword)
    former = render("log.former", language)
    sees_all = is_coordinator(session, viewer.id, group.id)

    def who(member_id: int | None) -> str:
        member = session.get(Member, member_id) if member_id else None
        return display_name(member, language) if member else former

    def key(action: CoordAction) -> str:
        named = (sees_all or action.action not in NAMED_TO_THOSE_CONCERNED
                 or viewer.id in (action.target_id, action.other_id))
        return f"log.{action.action}" if named else f"log.{action.action}.unnamed"

    entries = [
        render(key(a), language, when=short_date(a.at.astimezone(group_tz(group)), language),
               actor=who(a.actor_id), a=who(a.target_id), b=who(a.other_id))
        for a in actions
    ]
    return render("log", language, keyword=group.keyword, entries="; ".join(entries))


def _gathering_text(session: Session, group: Group, member: Member, language: str, now: datetime) -> str:
    gathering = next_gathering(session, group.id, now)
    if gathering is None:
        return render("gather.none", language, keyword=group.keyword)
    when = describe_when(gathering.starts_at.astimezone(group_tz(group)), language)
    if not is_coordinator(session, member.id, group.id):
        return render("gather.next", language, keyword=group.keyword, when=when, place=gathering.place)
    answers = list(session.scalars(select(Rsvp.coming).where(Rsvp.gathering_id == gathering.id,
                                                             Rsvp.member_id != gathering.created_by)))
    # Whoever called it was not invited: they are not counted as an answer still missing.
    invited = len([m for m in active_members_of(session, group.id) if m.id != gathering.created_by])
    yes, no = answers.count(True), answers.count(False)
    return render("gather.count", language, keyword=group.keyword, when=when, place=gathering.place,
                  yes=yes, no=no, unknown=max(0, invited - yes - no))


@handles(ListShown)
def show(act: Act, effect: ListShown) -> Outcome:
    session, member, now = act.session, act.member, act.now
    group = existing(session, Group, effect.group_id)
    language = language_of(member)
    if effect.kind == "pairs":
        text = _pairs_text(session, group, language, now)
    elif effect.kind == "roster":
        text = _roster_text(session, group, language)
    elif effect.kind == "log":
        text = _log_text(session, group, member, language)
    elif effect.kind == "gather":
        text = _gathering_text(session, group, member, language, now)
    else:
        text = pulse_text(session, group, language, now)
    pages = paginate(text, render("coord.more", language))
    wait = Waiting("pager", "more", {"pages": pages[1:]}, now + timedelta(hours=1)) if len(pages) > 1 else None
    return Outcome([pages[0]], wait)
