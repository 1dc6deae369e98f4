"""What members text about the care itself: offers, check-ins, DONE, NOT, EVERY, HOURS, ROUND.

Replies that need what only the database knows (a requester's number, the
other person's name on the far side) are written by its handler in carebot.services when it
applies the effect; the steps here only decide what the member meant.
"""

from __future__ import annotations

from carebot.domain.i18n import render
from carebot.flows import understanding
from carebot.flows.base import (
    Answered,
    CadenceChanged,
    CheckinAnswered,
    Context,
    DaytimeChanged,
    NotWithAdded,
    OfferAnswered,
    PairingEnded,
    PairingInfo,
    RematchAnswered,
    Reply,
    RoundStarted,
    Transition,
    Waiting,
    render_for,
    say,
)
from carebot.flows.crisis import asks_call_after_yes
from carebot.flows.durations import parse_hours, parse_span
from carebot.flows.goaround import pick_group, resting_instead, summarize
from carebot.flows.lookups import pairings_named
from carebot.flows.words import (
    CADENCE_DAYS,
    DONE,
    DONE_NAMED,
    EVERY,
    FILLER,
    HOURS,
    LATER,
    NOT_A_NAME,
    NOT_WITH,
    ROUND,
    Text,
    after_no,
    answers_no,
    answers_yes,
    fold,
    is_not_now,
    is_one_of,
    says_later,
    sentence_starts,
    yes_and_more,
)

MAX_CADENCE_DAYS = 60


def _pairing_id(ctx: Context) -> int:
    return int(ctx.waiting.data["pairing_id"]) if ctx.waiting else 0


def offer_reply(ctx: Context, text: Text) -> Transition | None:
    """The supporter's answer to a pairing offer ("yes i can", 👍; "not now" passes it on)."""
    if answers_yes(text, more=understanding.yes_may_say_more(ctx, text)):  # also "yes sorry just saw this"
        # "si llamame", "yes call me": the YES to this offer, never a CALL as well; after the number, how to ask
        # for a call of their own (outside9), as after "yes and also ...".
        return Transition(effects=(OfferAnswered(_pairing_id(ctx), True, more=asks_call_after_yes(text.words)),))
    if yes_and_more(text) is not None and not ctx.crisis:
        # "yes and also i need someone to call me": the YES to this offer, and word on how to ask for
        # themselves (the rest is not guessed into an answer or a CALL, nor dropped without a word).
        return Transition(effects=(OfferAnswered(_pairing_id(ctx), True, more=True),))
    declined = OfferAnswered(_pairing_id(ctx), False)  # the reply names whom it was about (services.pairings)
    if answers_no(text, more=False):
        return Transition(effects=(declined,))
    resting = _declined_resting(ctx, text)
    if resting is None and answers_no(text):
        # "no sorry cant this week": NO, and option 3 for that time, as "i cant this week" is.
        rest = after_no(text)
        resting = (_declined_resting(ctx, rest) if rest is not None else None) or Transition(effects=(declined,))
    return resting


def _declined_resting(ctx: Context, text: Text) -> Transition | None:
    """"no puedo esta semana" to an offer: NO to it, and option 3 for that time, said in one text."""
    offer = next((p for p in ctx.pairings if p.id == _pairing_id(ctx) and p.role == "supporter"), None)
    membership = ctx.membership(offer.group_id) if offer is not None else None
    if offer is None or membership is None:
        return None  # the offer is gone: the words are a go-around answer like any other
    group = membership.group
    answers = resting_instead(ctx, text, group)
    if answers is None:
        return None
    reply = render_for(ctx, "care.declined.resting", requester=offer.other_name, keyword=group.keyword,
                       summary=summarize(answers, ctx.language, group.tz))
    return Transition(replies=(Reply(reply),),
                      effects=(OfferAnswered(offer.id, False, said=True), Answered(group.id, answers)))


def followup_reply(ctx: Context, text: Text, *, no: str = "no") -> Transition | None:
    """"Did you connect?": YES, NO or LATER."""
    paired = tuple(fold(word) for p in ctx.pairings for word in p.other_name.split()[:1])
    if is_one_of(text.words, LATER) or is_not_now(text.words) or says_later(text.words, paired):
        # "not rn", "ahorita no", "not yet, this weekend", "gonna call her tmrw": LATER here
        return Transition(effects=(CheckinAnswered(_pairing_id(ctx), "later"),))
    if answers_yes(text, more=understanding.yes_may_say_more(ctx, text)):
        return Transition(effects=(CheckinAnswered(_pairing_id(ctx), "yes"),))
    if answers_no(text):
        return Transition(effects=(CheckinAnswered(_pairing_id(ctx), no),))
    return None


# "Did you connect?" past its day: silence counted as a miss, but until the pairing's next check-in
# (or its end) the supporter's "yes we talked" still answers it (carebot.services.checkins).
CHECKIN_LATE = "checkin_late"


def late_followup_reply(ctx: Context, text: Text) -> Transition | None:
    """A late answer to "did you connect?": YES and LATER as on time; a NO adds no second miss."""
    return followup_reply(ctx, text, no="no_after_missed")


def rematch_reply(ctx: Context, text: Text) -> Transition | None:
    """The requester's answer to "would you like someone else?"."""
    if answers_yes(text, more=understanding.yes_may_say_more(ctx, text)):
        return Transition(effects=(RematchAnswered(_pairing_id(ctx), True),))
    if answers_no(text):
        return Transition(effects=(RematchAnswered(_pairing_id(ctx), False),))
    return None


def timed_out(waiting: Waiting) -> Transition:
    """What silence means for each care question."""
    pairing_id = int(waiting.data.get("pairing_id", 0))
    if (waiting.flow, waiting.step) == ("pairing", "offer"):
        return Transition(effects=(OfferAnswered(pairing_id, None),))
    if (waiting.flow, waiting.step) == ("checkin", "followup"):
        return Transition(effects=(CheckinAnswered(pairing_id, "missed"),))
    if (waiting.flow, waiting.step) == ("pairing", "rematch"):
        return Transition(effects=(RematchAnswered(pairing_id, None),))
    return Transition()


def _choose_pairing(ctx: Context, text: Text, start: int) -> PairingInfo | Transition:
    """The pairing a DONE or EVERY is about: the only one, or the one named after the word."""
    open_pairings = [p for p in ctx.pairings if p.status == "active"]
    if not open_pairings:
        return say(ctx, "care.done.none")
    named = text.rest(start)
    if named:
        matches = pairings_named(open_pairings, named)  # "done zoe" is Zoë, as "@zoe" is
        if len(matches) == 1:
            return matches[0]
    if len(open_pairings) == 1 and (not named or start in sentence_starts(text)):
        return open_pairings[0]  # "done", and "done, feeling a lot better thank u": a sentence of their own after it
    names = ", ".join(p.other_name for p in open_pairings)
    return say(ctx, "care.done.which", names=names, example=open_pairings[0].other_name)


def done(ctx: Context, text: Text) -> Transition | None:
    """``DONE`` or ``DONE Ana``: end a pairing (also ``listo José``: "listo" with the name of one of them)."""
    if not text.words or text.words[0] not in DONE and not (
            text.words[0] in DONE_NAMED and pairings_named(ctx.pairings, text.rest(1))):
        return None
    chosen = _choose_pairing(ctx, text, 1)
    if isinstance(chosen, Transition):
        return chosen
    return Transition(effects=(PairingEnded(chosen.id),))


def every(ctx: Context, text: Text) -> Transition | None:
    """``EVERY 3d``, ``EVERY 2w Ana`` or ``weekly``: how often the pair checks in."""
    words = text.words
    lead = 1 if words[:1] == ["a"] and words[1:2] and words[1] in CADENCE_DAYS else 0  # "a diario"
    if words[lead:lead + 1] and words[lead] in CADENCE_DAYS:
        days, start = CADENCE_DAYS[words[lead]], lead + 1
    elif words and words[0] in EVERY:
        span = parse_span(words[1:])
        if span is None or not 1 <= span[0] <= MAX_CADENCE_DAYS:
            return say(ctx, "care.cadence.bad")
        days, start = span[0], 1 + span[1]
    else:
        return None
    if all(word in FILLER for word in words[start:]):  # "weekly pls" names no pairing
        start = len(words)
    chosen = _choose_pairing(ctx, text, start)
    if isinstance(chosen, Transition):
        return chosen
    cadence = render("care.days", ctx.language, n=days)
    return Transition(
        replies=(Reply(render("care.cadence.set", ctx.language, other=chosen.other_name, cadence=cadence)),),
        effects=(CadenceChanged(chosen.id, days),),
    )


def not_with(ctx: Context, text: Text) -> Transition | None:
    """``NOT Sam``: never pair me with Sam. Private: Sam and the coordinators never learn it."""
    if not text.words or text.words[0] not in NOT_WITH or not ctx.memberships:
        return None
    words = text.words
    end = len(words)
    while end > 1 and words[end - 1] in FILLER:  # "not sam pls": the name ends before the "pls"
        end -= 1
    name = text.raw[text.starts[1]:text.starts[end]].strip() if end < len(words) else text.rest(1)
    if not name:
        return None
    people = [p for p in ctx.lookups.people_named(name)]
    others = {p.member_id: p for p in people}
    if not others:
        if not _reads_as_name(words[1:end]):
            # "not suicidal just tired", "not rn": a reassurance or a "not now", never a NOT list.
            # Left to the router, which answers it as it answers any text that is not a command:
            # a courtesy for "not rn", the plain fallback otherwise. Nothing alarming, no crisis
            # reply (the crisis guard already read the negation), and nobody is named back.
            return None
        return say(ctx, "care.not.unknown", name=name[:20])
    if len(others) > 1:
        return say(ctx, "care.not.ambiguous", name=name[:20])
    # Its reply is written by carebot.services.pairings: when it ends the member's own pairing while
    # their request stays open, the same text says what happens next.
    return Transition(effects=(NotWithAdded(next(iter(others.values())).member_id),))


def _reads_as_name(words: list[str]) -> bool:
    """A name as people write one: one to three words of letters, none an everyday word."""
    return (0 < len(words) <= 3 and not is_not_now(["not", *words])
            and all(w.replace("'", "").replace("-", "").isalpha() and w not in NOT_A_NAME for w in words))


def hours(ctx: Context, text: Text) -> Transition | None:
    """``HOURS 8 21``: the hours in which carebot may write first to this member."""
    if not text.words or text.words[0] not in HOURS:
        return None
    hours = parse_hours(text.words[1:])  # "8 21", "8-21", "8am 9pm"
    if hours is not None:
        starts, ends = hours
        if 0 <= starts < ends <= 24:
            return Transition(
                replies=(Reply(render("hours.set", ctx.language, start=starts, end=ends)),),
                effects=(DaytimeChanged(starts, ends),),
            )
    return say(ctx, "hours.bad")


def round_now(ctx: Context, text: Text) -> Transition | None:
    """``ROUND`` (coordinators): start a go-around now."""
    membership, start, question = pick_group(ctx, text)
    rest = text.words[start:]
    if not rest or not is_one_of(rest, ROUND):
        return None
    if question is not None:
        return question
    if membership is None or not ctx.is_coordinator(membership.group.id):
        return say(ctx, "coord.only")
    return Transition(effects=(RoundStarted(membership.group.id),))
