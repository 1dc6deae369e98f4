"""Care across a network of groups: when nobody in a member's own group is free.

A group may belong to a network (carebot.store.models.Network) and set an overflow time. A
request for care nobody in the group has taken by then is not sent anywhere on its own: the
member is asked first, through the one-question-at-a-time model (carebot.services.questions),
whether the network's other groups may be asked. Only after their YES does the same pairing
engine (carebot.domain.pairing) look at the supporters of the sister groups; each of them still
gets an offer saying where the request comes from, and still has to say YES before any contact
is shared. NO keeps the request in its own group, with the usual honest word.

A pairing made across the network keeps the requester's group as its ``group_id`` (PULSE counts
it there) and the supporter's own group as ``supporter_group_id``: the supporter's texts about it
go as their own group's (their daytime, language, budget), and that group's coordinators see it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carebot.domain.daytime import next_daytime
from carebot.domain.i18n import DEFAULT_LANGUAGE, render
from carebot.domain.pairing import SERVED_BY, Offer, PairingState, Request, propose
from carebot.domain.vocabulary import OPEN_PAIRINGS, UNAVAILABLE
from carebot.flows.base import NetworkAnswered, Waiting
from carebot.outbox.write import member_timezone
from carebot.services import questions
from carebot.services.effects import Act, Outcome, handles
from carebot.store.models import Answer, Group, Member, Membership, Network, NotWith, Pairing
from carebot.store.transparency import record

# The member gets a day of their own daytime to answer; silence keeps the request in its group.
ANSWER_WINDOW = timedelta(hours=24)


def network_of(session: Session, group: Group) -> Network | None:
    return session.get(Network, group.network_id) if group.network_id is not None else None


def sisters(session: Session, group: Group) -> list[Group]:
    """The other groups of the group's network, now (none once it has left)."""
    if group.network_id is None:
        return []
    return list(session.scalars(select(Group).where(Group.network_id == group.network_id, Group.id != group.id)
                                .order_by(Group.id)))


def overflow_due(group: Group, answer: Answer) -> datetime | None:
    """When this request's network question is due, if the group overflows and it was never asked."""
    if group.network_id is None or group.overflow_after_hours is None or answer.network_asked_at is not None:
        return None
    return answer.since + timedelta(hours=group.overflow_after_hours)


def ask(session: Session, group: Group, requester: Member, answer: Answer, now: datetime,
        prompt: Callable[[str, str], str] | None = None) -> bool:
    """"No one in DMMA is free yet. May I ask people in the MIDWEST network's other groups?".

    True when it is asked now; False when there is nobody else to ask, or when it waits behind the
    member's open question (then it is no word to them yet, and the usual word covers the wait).
    ``prompt(language, network code)``: the question's own text, when it also says something else
    (a pairing that just ended: planner.after_ends).
    """
    network = network_of(session, group)
    answer.network_asked_at = now
    if network is None or not sisters(session, group):
        answer.network_consent = False  # nobody else to ask: the usual word covers it
        return False
    language = requester.language or group.language or DEFAULT_LANGUAGE
    text = (prompt(language, network.code) if prompt is not None
            else render("network.ask", language, keyword=group.keyword, network=network.code))
    tz, starts, ends = member_timezone(session, requester, group.id, group.timezone)
    until = next_daytime(now, tz, starts, ends) + ANSWER_WINDOW
    return questions.ask(session, requester, Waiting("network", "ask", {"answer_id": answer.id}, until), text, now,
                         group_id=group.id, rank=questions.CARE)


def still_open(session: Session, answer_id: int, now: datetime) -> bool:
    """Whether a network question still needs its answer: the request is current and unanswered."""
    answer = session.get(Answer, answer_id)
    if answer is None or answer.ended_at is not None or (answer.until is not None and answer.until <= now):
        return False
    return answer.network_consent is None


def answer(session: Session, member: Member, effect: NetworkAnswered, now: datetime) -> list[str]:
    """The member's YES or NO to the network question (None: silence, which keeps it local)."""
    request = session.get(Answer, effect.answer_id)
    group = session.get(Group, request.group_id) if request is not None else None
    language = member.language or (group.language if group else DEFAULT_LANGUAGE)
    if request is None or group is None or request.member_id != member.id or not still_open(session, request.id, now):
        return [render("yes.nothing" if effect.yes else "no.nothing", language)] if effect.yes is not None else []
    network = network_of(session, group)
    # The group may have left its network between the question and the YES: then nothing goes across.
    request.network_consent = bool(effect.yes) and network is not None
    if request.told_waiting_at is None:
        # The answer's reply is word about the request; unanswered, the question itself was the last word.
        request.told_waiting_at = now if effect.yes is not None else (request.network_asked_at or now)
    if group.pairing_due_at is None or group.pairing_due_at > now:
        # The planner looks at once: across after a YES, and in every case it plans the next word
        # about the request (24 daytime hours on), which no one had planned while the question was open.
        group.pairing_due_at = now
    if effect.yes is None:
        return []
    if not effect.yes:
        return [render("network.no", language, keyword=group.keyword)]
    if network is None:
        return [render("network.gone", language, keyword=group.keyword)]
    return [render("network.yes", language, network=network.code)]


# --- planning across ------------------------------------------------------------------


def propose_across(session: Session, group: Group, requests: list[Request], now: datetime, *,
                   declined: set[tuple[int, int]], recent: dict[tuple[int, int], datetime]) -> list[tuple[int, int, int, Group]]:
    """(requester, supporter, kind, supporter's group) for consented requests the sister groups can serve.

    The same engine as within a group: the sister groups' supporters stand as one pool (each
    supporter once, by their first sister group), their capacity counting every pairing they carry.
    """
    groups = {g.id: g for g in sisters(session, group)}
    if not requests or not groups:
        return []
    own = set(session.scalars(select(Membership.member_id).where(Membership.group_id == group.id,
                                                                 Membership.status == "active")))
    rows = session.execute(
        select(Answer, Member).join(Member, Member.id == Answer.member_id)
        .join(Membership, (Membership.member_id == Answer.member_id) & (Membership.group_id == Answer.group_id))
        .where(Answer.group_id.in_(list(groups)), Answer.current(now), Membership.status == "active",
               Member.opted_out.is_(False)).order_by(Answer.group_id, Answer.id)).all()
    resting = {(a.member_id, a.group_id) for a, _ in rows if a.option == UNAVAILABLE}
    wanted = {SERVED_BY[r.kind] for r in requests}
    offers: dict[tuple[int, int], tuple[Offer, Group]] = {}
    for a, member in rows:
        if a.option not in wanted or member.id in own or (member.id, a.group_id) in resting:
            continue
        if (member.id, a.option) in offers:
            continue  # one offer of each kind a supporter: by their first sister group
        sister = groups[a.group_id]
        offers[(member.id, a.option)] = (Offer(member.id, group.id, a.option, a.capacity or 1,
                                               member.language or sister.language,
                                               load=_load(session, member.id, a.option, sister.id)), sister)
    if not offers:
        return []
    people = [r.member_id for r in requests] + [m for m, _ in offers]
    not_with = frozenset((a, b) for a, b in session.execute(
        select(NotWith.member_id, NotWith.other_id).where(NotWith.member_id.in_(people))))
    proposal = propose(PairingState(requests=tuple(requests), offers=tuple(o for o, _ in offers.values()), now=now,
                                    recent=recent, declined=frozenset(declined), not_with=not_with), seed=group.id)
    return [(p.requester_id, p.supporter_id, p.kind, offers[(p.supporter_id, SERVED_BY[p.kind])][1])
            for p in proposal.pairs]


def _load(session: Session, supporter_id: int, offer_kind: int, group_id: int) -> int:
    """How many open pairings a supporter carries for this offer, within their group and across."""
    request_kind = {served: request for request, served in SERVED_BY.items()}[offer_kind]
    side = func.coalesce(Pairing.supporter_group_id, Pairing.group_id)
    return session.scalar(select(func.count()).select_from(Pairing).where(
        Pairing.supporter_id == supporter_id, Pairing.kind == request_kind, Pairing.status.in_(OPEN_PAIRINGS),
        side == group_id)) or 0


def served_from(session: Session, group_id: int) -> list[Pairing]:
    """Open pairings made across a network whose supporter is of ``group_id``."""
    return list(session.scalars(select(Pairing).where(Pairing.supporter_group_id == group_id,
                                                      Pairing.status.in_(OPEN_PAIRINGS)).order_by(Pairing.id)))


def record_accepted(session: Session, pairing: Pairing, now: datetime) -> None:
    """LOG shows a pairing made across the network in both groups (who, never a number)."""
    if pairing.supporter_group_id is None:
        return
    record(session, pairing.group_id, None, "network", now, pairing.requester_id, pairing.supporter_id)
    record(session, pairing.supporter_group_id, None, "network", now, pairing.supporter_id, pairing.requester_id)


def other_group(session: Session, pairing: Pairing, group_id: int) -> Group | None:
    """The group on the other side of a pairing across a network, seen from ``group_id``."""
    if pairing.supporter_group_id is None:
        return None
    return session.get(Group, pairing.group_id if pairing.supporter_group_id == group_id
                       else pairing.supporter_group_id)


@handles(NetworkAnswered)
def network_answered(act: Act, effect: NetworkAnswered) -> Outcome:
    return Outcome(answer(act.session, act.member, effect, act.now))
