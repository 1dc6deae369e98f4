"""What a text would mean inside a conversation, for ``carebot parse``.

A text alone can be "unknown" and still mean something to carebot in a conversation: a voice-to-text
run-on from a member is a go-around answer, "for 2 weeks" right after an answer completes it, "k" to
a question waiting for YES or NO is neither, anything in a relay window goes to the other member.
The router itself is asked, in a few plain contexts (a member of one group, just after answering 1,
with an offer waiting for YES or NO, in a relay window), so what is shown is what carebot would do.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from carebot.flows import router
from carebot.flows.base import (
    Answered,
    AnswerInfo,
    AnswerSpec,
    CheckinAnswered,
    Context,
    GroupInfo,
    MembershipInfo,
    OfferAnswered,
    PairingInfo,
    Relayed,
    Transition,
    Waiting,
)
from carebot.flows.words import read

NO_ANSWER = "not a YES or NO: the question stays open"


def in_conversation(raw: str, *, language: str, tz: str, now: datetime, alone: str) -> dict[str, str]:
    """Where ``raw`` means something other than it does alone (``alone``: its intent read alone), by context:
    ``from_a_member`` (a go-around answer said in a sentence), ``after_an_answer`` (a member's 1 five minutes
    ago), ``to_a_yes_no_question`` (an offer of care waiting), ``in_a_relay_window`` (just after a message
    from the member's pair). Empty when the text means the same everywhere."""
    group = GroupInfo(1, "GROUP", "the group", tz, language, "")
    member = Context(now=now, channel="sms", language=language, opted_out=False, name="Ana",
                     memberships=(MembershipInfo(group, "member"),), answers=(), groups={group.keyword: group},
                     reachable=frozenset({"sms"}))
    contexts = {
        "after_an_answer": replace(member, answers=(
            AnswerInfo(group.id, 1, None, None, None, since=now - timedelta(minutes=5)),)),
        "to_a_yes_no_question": replace(
            member, pairings=(PairingInfo(7, group.id, group.keyword, 1, "supporter", "Sam", "offered", 7),),
            waiting=Waiting("pairing", "offer", {"pairing_id": 7}, now + timedelta(days=1))),
        "in_a_relay_window": replace(
            member, pairings=(PairingInfo(7, group.id, group.keyword, 1, "requester", "Sam", "active", 7),),
            waiting=Waiting("relay", "open", {"pairing_id": 7}, now + timedelta(minutes=30))),
    }
    text = read(raw)
    baseline = _described(router.respond(member, text), member)
    found = {}
    if alone != "goaround" and baseline.startswith("a go-around answer"):
        found["from_a_member"] = baseline
    for name, ctx in contexts.items():
        said = _described(router.respond(ctx, text), ctx) or (NO_ANSWER if ctx.waiting and name.startswith("to_") else "")
        if said != baseline:
            found[name] = said or "nothing is done with it"
    return found


def _described(transition: Transition, ctx: Context) -> str:
    """What a transition does, in a few plain words (its replies aside)."""
    said = []
    for effect in transition.effects:
        if isinstance(effect, Answered):
            said.append("a go-around answer: " + ("; ".join(_spec(s, ctx) for s in effect.answers) or "none (0)"))
        elif isinstance(effect, OfferAnswered | CheckinAnswered):
            yes = effect.accepted if isinstance(effect, OfferAnswered) else effect.outcome == "yes"
            said.append("YES to the question" if yes else "NO to the question")
        elif isinstance(effect, Relayed):
            said.append("passed on to the other member")
    return "; ".join(said)


def _spec(spec: AnswerSpec, ctx: Context) -> str:
    tz = ctx.memberships[0].group.tz
    until = f" until {(spec.until.astimezone(tz) - timedelta(microseconds=1)).date().isoformat()}" if spec.until else ""
    how = f" ({spec.how})" if spec.how else ""
    return f"{spec.option}{until}{how}"
