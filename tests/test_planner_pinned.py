"""The planner's results on a sizeable seeded group, pinned: a change made for speed must not change them.

A group of 120 members and a sister group of 20 in a network, with seeded answers (requests, offers
with their capacity, rest), eight weeks of pairings in every state and end, NOT-WITH pairs, members
busy with a question, and requests that said YES to the network. The planner looks three times (now,
after the busy supporters' retry, a day and a half on, when the grace is over and the network's
question is due); what it did each time is compared with what it did when this test was written.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from carebot.domain.vocabulary import PairingStatus
from carebot.services.planner import plan_due_groups
from carebot.store.models import Answer, Conversation, Group, Member, NotWith, OutboxMessage, Pairing

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=ZoneInfo("America/Chicago"))
# Mostly closed: open pairings take the supporters' capacity, and closed ones keep pairs apart.
HISTORY = [PairingStatus.DECLINED, PairingStatus.DECLINED, PairingStatus.EXPIRED, PairingStatus.ENDED, PairingStatus.ENDED,
           PairingStatus.ENDED, PairingStatus.ACTIVE, PairingStatus.OFFERED]
ENDS = ("done", "coordinator", "rematch", "not_with", "request_ended", "left", "stopped")


def _build(sim, seed: int = 7) -> None:
    rng = random.Random(seed)
    asyncio.run(sim.execute('group DMMA name="Des Moines Mutual Aid" tz=America/Chicago network=MIDWEST overflow=24h'))
    asyncio.run(sim.execute('group ICMA name="Iowa City Mutual Aid" tz=America/Los_Angeles network=MIDWEST'))
    for index in range(140):
        keyword = "ICMA" if index >= 120 else "DMMA"
        asyncio.run(sim.execute(f"{'coordinator' if index in (0, 120) else 'member'} {keyword} +1515556{index:04d} "
                                f"name=P{index:03d}"))
    with sim.db.transaction() as session:
        groups = {g.keyword: g for g in session.scalars(select(Group))}
        members = {m.name: m for m in session.scalars(select(Member))}
        people = [members[f"P{index:03d}"] for index in range(140)]
        # DMMA's members asking for each kind of care (1, 4), and offering it (2 serves 1, 5 serves 4): the
        # history and the NOT-WITH pairs fall mostly between them, where they change what the planner does.
        asking: dict[int, list[Member]] = {1: [], 4: []}
        offering: dict[int, list[Member]] = {1: [], 4: []}
        for index, member in enumerate(people):
            group = groups["ICMA" if index >= 120 else "DMMA"]
            # The sister group mostly offers: its supporters serve DMMA's requests that said YES to the network.
            options = [2, 5, 2, 5, 1] if index >= 120 else [1, 1, 1, 4, 4, 4, 2, 3, 0]
            for option in dict.fromkeys(rng.sample(options, rng.choice([1, 1, 2]))):
                if option == 0:
                    continue
                if index < 120 and option in (1, 2, 4, 5):
                    (asking if option in (1, 4) else offering)[option if option in (1, 4) else option - 1].append(member)
                since = NOW - timedelta(hours=rng.randint(1, 24 * 20))
                session.add(Answer(group_id=group.id, member_id=member.id, option=option, since=since,
                                   until=rng.choice([None, None, NOW + timedelta(days=rng.randint(1, 9)),
                                                     NOW - timedelta(days=1)]),
                                   capacity=rng.choice([None, 1, 2, 3]) if option in (2, 5) else None,
                                   network_consent=rng.choice([None, True, True, False]) if option in (1, 4) else None,
                                   network_asked_at=since + timedelta(hours=25) if rng.random() < 0.2 else None))
        dmma = people[:120]
        def pair(kind: int) -> tuple[Member, Member]:
            requester = rng.choice(asking[kind] or dmma) if rng.random() < 0.8 else rng.choice(dmma)
            supporter = rng.choice(offering[kind] or dmma) if rng.random() < 0.8 else rng.choice(dmma)
            return (requester, supporter) if requester is not supporter else pair(kind)

        for _ in range(260):
            kind = rng.choice([1, 4])
            requester, supporter = pair(kind)
            offered = NOW - timedelta(hours=rng.randint(1, 24 * 40))
            status = rng.choice(HISTORY)
            ended = offered + timedelta(hours=rng.randint(1, 24 * 10)) if status != PairingStatus.OFFERED else None
            across = rng.random() < 0.08
            session.add(Pairing(group_id=groups["DMMA"].id, requester_id=requester.id,
                                supporter_id=(rng.choice(people[120:]) if across else supporter).id,
                                supporter_group_id=groups["ICMA"].id if across else None,
                                kind=kind, status=status, offered_at=offered,
                                respond_by=offered + timedelta(days=1),
                                started_at=offered + timedelta(hours=2) if status in ("active", "ended") else None,
                                ended_at=ended if status != PairingStatus.ACTIVE else None,
                                end_reason=rng.choice(ENDS) if status in ("ended", "declined", "expired") else None,
                                cadence_days=7, missed_checkins=0))
        # Most of those asking were declined by a supporter, or ended a pairing, lately: pairs kept apart.
        for kind, askers in asking.items():
            for requester in askers:
                for status, reason in ((PairingStatus.DECLINED, "declined"), (PairingStatus.DECLINED, "declined"),
                                       (PairingStatus.EXPIRED, "lapsed"), (PairingStatus.ENDED, "done")):
                    supporter = rng.choice(offering[kind] or dmma)
                    if rng.random() < 0.7 and supporter is not requester:
                        offered = NOW - timedelta(days=rng.randint(1, 29), hours=rng.randint(0, 23))
                        session.add(Pairing(group_id=groups["DMMA"].id, requester_id=requester.id,
                                            supporter_id=supporter.id, kind=kind, status=status, offered_at=offered,
                                            respond_by=offered + timedelta(days=1), ended_at=offered + timedelta(hours=5),
                                            started_at=offered + timedelta(hours=2) if status == "ended" else None,
                                            end_reason=reason, cadence_days=7, missed_checkins=0))
        # DMMA's supporters serving the sister group's requests: their load counts in DMMA too.
        for kind in (1, 4, 1, 4, 1, 1):
            session.add(Pairing(group_id=groups["ICMA"].id, requester_id=rng.choice(people[120:]).id,
                                supporter_id=rng.choice(offering[kind] or dmma).id, supporter_group_id=groups["DMMA"].id,
                                kind=kind, status=PairingStatus.ACTIVE, offered_at=NOW - timedelta(days=3),
                                respond_by=NOW - timedelta(days=2), started_at=NOW - timedelta(days=3),
                                cadence_days=7, missed_checkins=0))
        for _ in range(40):
            one, other = pair(rng.choice([1, 4]))
            session.add(NotWith(member_id=one.id, other_id=other.id, created_at=NOW - timedelta(days=3)))
        for member in rng.sample(people, 25):
            session.add(Conversation(member_id=member.id, flow="rsvp", step="ask", data={"_rank": rng.choice([0, 2])},
                                     wait_until=NOW + timedelta(hours=rng.choice([1, 5, 30])), updated_at=NOW))
        for group in groups.values():
            group.pairing_due_at = NOW


def _look(sim, now: datetime) -> tuple[list, list, list, str | None, str]:
    """Plan every due group at ``now``: the offers it made, who was told their request waits, who was
    asked the network's question, when it looks again, and a digest of every text it wrote."""
    with sim.db.transaction() as session:
        before = session.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()).limit(1)) or 0
        plan_due_groups(session, now)
        session.flush()
        names = {m.id: m.name for m in session.scalars(select(Member))}
        offers = sorted((names[p.requester_id], names[p.supporter_id], p.kind, p.supporter_group_id is not None,
                         p.respond_by.astimezone(NOW.tzinfo).isoformat())
                        for p in session.scalars(select(Pairing).where(Pairing.offered_at == now)))
        told = sorted((names[a.member_id], a.option) for a in session.scalars(select(Answer).where(
            Answer.told_waiting_at == now)))
        asked = sorted((names[a.member_id], a.option) for a in session.scalars(select(Answer).where(
            Answer.network_asked_at == now)))
        due = session.scalar(select(Group.pairing_due_at).where(Group.keyword == "DMMA"))
        texts = sorted(f"{names.get(r.member_id)}:{r.purpose}:{r.not_before.isoformat()}:{r.body}"
                       for r in session.scalars(select(OutboxMessage).where(OutboxMessage.id > before)))
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    return offers, told, asked, due and due.astimezone(NOW.tzinfo).isoformat(), f"{len(texts)} texts {digest}"


# What the planner did at each look, computed with the planner as it was before its speed-ups (1 Dec 2026).
# Changed once on purpose (members5, 1 Dec 2026): "no one is free yet" waits a day from the end of the
# request's last pairing, not from when it was first asked, so P027, P060, P073 (a pairing ended lately) are
# not told at the first look, P004, P075, P099 not at the second, and P073 is at the third, its day over;
# the offers, the network's questions and the next looks are as they were.
# Changed on purpose again (members6, 1 Dec 2026): a request whose offer is still unanswered hears that someone
# has been asked (care.asked.1, .4), never "no one is free yet": the same people told at the same looks, only
# that text differs (18 of the 63 texts); offers, who is told, the network's questions and next looks unchanged.
PINNED = [([('P004', 'P129', 4, True, '2026-03-05T11:00:00-06:00'), ('P012', 'P130', 4, True, '2026-03-05T11:00:00-06:00'),
            ('P023', 'P074', 1, False, '2026-03-05T10:00:00-06:00'), ('P026', 'P135', 4, True, '2026-03-05T11:00:00-06:00'),
            ('P027', 'P126', 4, True, '2026-03-05T11:00:00-06:00'), ('P029', 'P122', 4, True, '2026-03-05T11:00:00-06:00'),
            ('P034', 'P124', 1, True, '2026-03-05T11:00:00-06:00'), ('P049', 'P125', 4, True, '2026-03-05T11:00:00-06:00'),
            ('P075', 'P097', 1, False, '2026-03-05T10:00:00-06:00'), ('P080', 'P131', 4, True, '2026-03-05T11:00:00-06:00'),
            ('P096', 'P133', 1, True, '2026-03-05T11:00:00-06:00'), ('P099', 'P139', 1, True, '2026-03-05T11:00:00-06:00'),
            ('P101', 'P067', 1, False, '2026-03-05T10:00:00-06:00')],
           [('P003', 1), ('P005', 1), ('P008', 1), ('P013', 4), ('P018', 4), ('P019', 4), ('P038', 4), ('P040', 1),
            ('P057', 1), ('P061', 4), ('P065', 4), ('P068', 4), ('P072', 1), ('P076', 4), ('P078', 1),
            ('P080', 1), ('P082', 4), ('P092', 1), ('P093', 4), ('P095', 4), ('P097', 4), ('P098', 4), ('P106', 1), ('P107', 4),
            ('P109', 4), ('P113', 4), ('P115', 1), ('P116', 1), ('P118', 4)],
           [('P003', 1), ('P005', 1), ('P013', 4), ('P018', 4), ('P019', 4), ('P038', 4), ('P040', 1), ('P072', 1), ('P092', 1),
            ('P097', 4), ('P106', 1), ('P107', 4), ('P118', 4)],
           '2026-02-15T18:00:00-06:00', '43 texts a07279616582a150'),
          ([],
           [('P012', 4), ('P023', 1), ('P026', 4), ('P027', 4), ('P029', 4), ('P034', 1), ('P049', 4),
            ('P080', 4), ('P096', 1), ('P101', 1)],
           [], '2026-03-04T12:00:00-06:00', '10 texts b15cba3d21c1a112'),
          ([('P061', 'P126', 4, True, '2026-03-07T11:00:00-06:00'), ('P062', 'P130', 4, True, '2026-03-07T11:00:00-06:00'),
            ('P065', 'P135', 4, True, '2026-03-07T11:00:00-06:00'), ('P070', 'P122', 4, True, '2026-03-07T11:00:00-06:00'),
            ('P115', 'P110', 1, False, '2026-03-07T09:00:00-06:00')],
           [('P036', 1), ('P037', 4), ('P073', 1), ('P112', 4)], [('P036', 1)], '2026-03-04T15:00:00-06:00',
           '10 texts c8cd57a869846d09')]


def test_the_planner_s_results_on_a_sizeable_group_stay_as_pinned(sim) -> None:
    _build(sim)
    looks = [_look(sim, NOW + after) for after in (timedelta(), timedelta(hours=1), timedelta(hours=36))]
    # Something happened at each look, so the pin is not of nothing.
    assert all(offers or told or asked for offers, told, asked, _, _ in looks), looks
    assert looks == PINNED
