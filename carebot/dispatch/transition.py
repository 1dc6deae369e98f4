"""Applying one transition, inside the dispatcher's transaction: each effect through its
registered handler (carebot.services.effects), then the replies to the outbox, then the
conversation's next wait (or the next question waiting its turn).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from carebot.dispatch.flood import flooding, past_the_limit
from carebot.domain.vocabulary import SIGNAL, MembershipStatus
from carebot.flows.base import RELAYS, Context, Reply, Transition
from carebot.outbox.write import enqueue
from carebot.services import questions
from carebot.services.account import forget
from carebot.services.handlers import Act, apply
from carebot.store.facts import Facts
from carebot.store.models import Member, Membership


def apply_transition(session: Session, member: Member, ctx: Context, transition: Transition, facts: Facts, *,
                     reply_channel: str | None) -> None:
    """Carry ``transition`` out for ``member``; its replies go on ``reply_channel`` (None: a timeout's, none).

    ``facts``: those the context was built from (the member's texts of late, their questions).
    """
    now = ctx.now
    forgotten = False
    # Their texts of late, and this one.
    flooded = reply_channel is not None and flooding(session, member, now, facts.recent_texts(member, now) + 1)
    replies = list(transition.replies)
    wait = transition.wait
    act = Act(session, member, now, ctx.channel, facts)
    for effect in transition.effects:
        if flooded and isinstance(effect, RELAYS):
            continue  # a flood is not passed on to another member
        outcome = apply(act, effect)
        replies.extend(Reply(text) for text in outcome.texts)
        wait = wait or outcome.wait
        forgotten = forgotten or outcome.forgotten
    address = None
    if reply_channel is not None:
        address = member.signal_uuid if reply_channel == SIGNAL else member.phone
    if forgotten:
        forget(session, member)
    if flooded:
        # Past the flood limit only the "final" replies still go: the confirmations of STOP,
        # START and FORGET, the crisis reply, and one answer a window about their own data after STOP.
        replies = past_the_limit(session, member, now, replies)
    groups = None if forgotten else [m.group_id for m in facts.of(member, Membership).memberships
                                     if m.status == MembershipStatus.ACTIVE]
    for reply in replies:
        if address is None or reply_channel is None:
            break
        enqueue(
            session,
            member=None if forgotten else member,
            channel=reply_channel,
            address=address,
            text=reply.text,
            purpose=reply.purpose,
            now=now,
            member_groups=groups,
        )
    # After the replies, so the member reads the answer before any next question. A text that only
    # left open the question it found (HELP, CALL, a go-around answer while an offer waits) changes
    # nothing of it: what its effects asked the member meanwhile (CALL's care-map question, a
    # network question) is the question just asked, which their next YES answers; and a question
    # its effects ended stays ended.
    if forgotten or (wait is not None and wait is ctx.waiting):
        return
    if wait is not None:
        questions.replace(session, member.id, wait, now)
    elif not facts.quiet(member):
        # The question this text (or timeout) settled ends; the next one waiting is asked.
        questions.settle(session, member, ctx.waiting, now)
