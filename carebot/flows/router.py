"""What a member's text means, in the order that keeps consent safe.

STOP always wins; after STOP only START, HELP, MYDATA and FORGET are answered; then the
conversation the member is in the middle of; then the keywords; then a kind
word about what carebot understands. Never silence, never a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import NamedTuple

from carebot.flows import (
    account,
    autoreply,
    calls,
    care,
    caremap,
    channel,
    coord,
    crisis,
    goaround,
    join,
    network,
    relay,
    understanding,
)
from carebot.flows.base import Answered, Context, CourtesyAnswered, GroupInfo, Transition, Waiting, say
from carebot.flows.words import (
    HELP,
    LATER,
    START,
    Text,
    answers_no,
    answers_yes,
    as_keyword,
    asks_how_to_leave,
    is_never_mind,
    is_not_now,
    is_one_of,
    is_stop,
    is_unsure,
    is_whole_stop,
    looks_spanish,
)

COURTESY_EVERY = timedelta(days=1)

Step = Callable[[Context, Text], Transition | None]

# The steps a conversation can wait in, by (flow, step).
STEPS: dict[tuple[str, str], Step] = {
    ("join", "consent"): join.consent,
    ("forget", "confirm"): account.forget_confirm,
    ("pairing", "offer"): care.offer_reply,
    ("checkin", "followup"): care.followup_reply,
    (care.CHECKIN_LATE, "followup"): care.late_followup_reply,
    ("pairing", "rematch"): care.rematch_reply,
    ("coord", "confirm"): coord.confirm_reply,
    ("approval", "approve"): coord.approve_reply,
    ("gather", "rsvp"): coord.rsvp_reply,
    ("pager", "more"): coord.more,
    ("caremap", "helps"): caremap.answer,
    ("caremap", "hurts"): caremap.answer,
    ("caremap", "also"): caremap.answer,
    ("caremap", "share"): caremap.share,
    ("caremap", "call"): caremap.call_reply,
    ("network", "ask"): network.reply,
    goaround.FREE_WHICH: goaround.free_which_reply,
}
# Steps that take the member's own words, whatever they look like: only STOP and crisis
# words come before them (not HELP, START, a go-around answer or any other command).
OWN_WORDS = frozenset({("caremap", "helps"), ("caremap", "hurts"), ("caremap", "also")})

# Steps tried only after every keyword handler: a plain reply is relayed only when it
# is none of carebot's own words.
LATE_STEPS: dict[tuple[str, str], Step] = {
    ("relay", "open"): relay.reply_in_window,
}

# Keyword handlers, tried in order when no waiting step took the text.
HANDLERS: tuple[Step, ...] = (
    coord.typo_by_coordinator,  # "remvoe sam, 3": a coordinator's typo of a command, never their go-around answer
    goaround.amend,  # "for 2 weeks", "call me in the evenings" right after "1": a piece of that answer
    crisis.call,
    crisis.talk,
    relay.relay,
    join.request,
    goaround.answer,
    goaround.no_longer_needed,  # "ya no lo necesito": the member's request for care ends, as at 0
    goaround.same_again,  # "same as before", "lo mismo": the answer held, given again
    goaround.free_which,  # "i'm free this week": 2 or 5? asked, never guessed
    calls.missed_calls,
    relay.asks_for_a_coordinator,  # "how do i contact the coordinators?", "como contacto a coordinacion": not HOW
    goaround.how,
    crisis.prefers_calls_reply,  # "i'd rather you call": how to ask for a call, and for calls; after goaround.amend
    account.status,
    account.mydata,
    account.forget,
    account.language,
    account.name,
    care.done,
    care.every,
    care.not_with,
    care.hours,
    care.round_now,
    coord.command,
    coord.no_more,
    channel.choose,
    caremap.command,
    goaround.runon,  # "Um hi I think I'm a one this week": the answer inside a longer sentence, when nothing else is
)

# Readers of a longer sentence, not of carebot's own words: while a relay window is open (a message was
# just relayed to the member), a plain text is their reply to the other member, relayed whole, however
# many options it mentions in passing ("honestly I'm a one this week ... maybe thursday"). Only a text
# that is clearly carebot's words (an answer by number, STATUS, DONE ...) is taken as them.
NOT_IN_A_RELAY = frozenset({goaround.amend, goaround.runon, goaround.no_longer_needed, relay.asks_for_a_coordinator,
                            crisis.prefers_calls_reply})

# A pending join, care question, approval or RSVP survives other texts (the person may
# ask HELP or STATUS first); FORGET's question, a coordinator's own confirmation and a
# list's MORE are dropped once the member moves on, so a stale YES can never act.
SURVIVES_OTHER_TEXTS = frozenset({"join", "pairing", "checkin", care.CHECKIN_LATE, "approval", "gather", "relay",
                                  "network", goaround.FREE_WHICH[0]})


def respond(ctx: Context, text: Text) -> Transition:
    """The transition for one inbound text."""
    words = text.words
    if _is_stop_here(ctx, words):
        stopped = account.stop(ctx, text)
        if not crisis.in_crisis(text):
            return stopped
        # "stop i want to die": STOP wins, and the crisis words still get resources (as after STOP).
        care_too = crisis.reply_after_stop(ctx)
        return Transition(replies=stopped.replies + care_too.replies, effects=stopped.effects + care_too.effects,
                          wait=stopped.wait)
    if understanding.is_reaction(text.raw):
        return _keep_waiting(ctx, Transition())  # a phone's "Liked “…”": nothing to answer
    text = _without_courtesy(ctx, text)
    words = text.words
    if ctx.opted_out:
        if is_one_of(words, START):
            return account.start(ctx, text)
        if is_one_of(words, HELP):
            return account.help_(ctx)
        if crisis.in_crisis(text):
            return crisis.reply_after_stop(ctx)  # resources only, once a day, nobody contacted
        # MYDATA and FORGET (with its YES): their own data, still theirs to see and erase.
        return account.after_stop(ctx, text) or Transition()  # nothing else is answered after STOP
    if not text.raw:
        # A picture or a file with no words (an MMS's empty Body, a Signal attachment): carebot reads only words,
        # so it says so and how to answer; nothing is read into it, and a question that waits still waits.
        return _keep_waiting(ctx, say(ctx, "nowords"))
    in_relay = ctx.waiting is not None and ctx.waiting.flow == "relay"
    if autoreply.is_autoreply(text) and not in_relay and not crisis.in_crisis(text):
        return _keep_waiting(ctx, Transition())  # answering a machine's auto-reply starts a loop
    if crisis.in_crisis(text):
        # Care first, at once. Whatever else the text said still counts (minus the words
        # themselves: they are never kept), nothing is passed on to anyone unasked, and
        # whatever the member was in the middle of is still there for them. A reply in a relay window goes
        # where the member sent it, as an @ reply does (docs/care-requests.md).
        care_first = crisis.crisis_reply(in_crisis_language(ctx, text))
        extra = _understood(replace(ctx, crisis=True), text) or Transition()
        return Transition(replies=care_first.replies + extra.replies,
                          effects=care_first.effects + extra.effects,
                          wait=extra.wait or ctx.waiting)
    understood = _understood(ctx, text)
    if understood is None:
        typo = understanding.corrected(text)  # "STAUTS", "HEPL": never STOP, START, YES or NO
        understood = _understood(ctx, typo) if typo is not None else None
    return understood or _keep_waiting(ctx, _nothing_matched(ctx, text))


def _without_courtesy(ctx: Context, text: Text) -> Text:
    """"pulse pls", "status thanks", "LANG ES por favor": the keyword, its courtesy set aside (``as_keyword``); not
    while the member's own words are awaited (a care-map answer, a reply in a relay window: kept whole), nor in a
    plea ("please help" is not HELP)."""
    if ctx.waiting is not None and ((ctx.waiting.flow, ctx.waiting.step) in OWN_WORDS or ctx.waiting.flow == "relay"):
        return text
    keyword = as_keyword(text, frozenset(m.group.keyword.casefold() for m in ctx.memberships))
    return text if keyword is None or crisis.in_crisis(text) else keyword


def _is_stop_here(ctx: Context, words: list[str]) -> bool:
    """STOP wins everywhere; while a care-map question waits for the member's own words, only a
    text that is wholly a request to stop is one ("stop asking me if im ok" answers it)."""
    if ctx.waiting is not None and (ctx.waiting.flow, ctx.waiting.step) in OWN_WORDS:
        return is_whole_stop(words)
    return is_stop(words)


def _understood(ctx: Context, text: Text) -> Transition | None:
    """What the text means, or None when carebot does not understand it."""
    words = text.words
    if ctx.waiting is not None and (ctx.waiting.flow, ctx.waiting.step) in OWN_WORDS and text.raw:
        return STEPS[(ctx.waiting.flow, ctx.waiting.step)](ctx, text)
    if is_one_of(words, START):
        return _keep_waiting(ctx, account.start(ctx, text))
    if (is_one_of(words, HELP) or (ctx.memberships and understanding.asks_what_this_is(text.raw))) and not ctx.crisis:
        # "help now" is a plea: the crisis reply alone. A member's "who is this?", "quien es?": what this
        # number is (a stranger's hears what carebot is and how to join, below).
        return _keep_waiting(ctx, account.help_(ctx))
    if ctx.waiting is not None and (words or text.raw):  # 👍 has no words, and may answer
        step = STEPS.get((ctx.waiting.flow, ctx.waiting.step))
        result = step(ctx, text) if step else None
        if result is not None:
            return result
    if words:
        in_relay = ctx.waiting is not None and ctx.waiting.flow == "relay"
        for handler in HANDLERS:
            if in_relay and handler in NOT_IN_A_RELAY:
                continue
            if in_relay and handler is goaround.answer and not relay.answers_carebot(ctx, text):
                continue  # "1 sec", "5 works, thanks!": the member's words to the person they answer
            result = handler(ctx, text)
            if result is not None:
                return _keep_waiting(ctx, result)
    if ctx.waiting is not None:
        step = LATE_STEPS.get((ctx.waiting.flow, ctx.waiting.step))
        result = step(ctx, text) if step else None
        if result is not None:
            return result
    return None


class YesNoWords(NamedTuple):
    """What carebot says to a text that does not answer a question waiting for YES or NO (catalog keys)."""

    fallback: str  # not understood (or "k", "forget it"): how to answer it
    unsure: str  # an honest "idk", "no se": no rush, and how to answer it when they know


# Questions that wait for YES or NO (the check-in's also for LATER) and survive other texts, by flow.
_YES_NO = YesNoWords("fallback.yes_no", "unsure.yes_no")
YES_NO_WAITING = {"pairing": _YES_NO, "network": _YES_NO, "gather": _YES_NO, "approval": _YES_NO,
                  "checkin": YesNoWords("fallback.yes_no_later", "unsure.yes_no_later")}


def _nothing_matched(ctx: Context, text: Text) -> Transition:
    if ctx.waiting is not None and ctx.waiting.flow == "join":
        return join.pending_reminder(ctx) or say(ctx, "fallback")
    if ctx.waiting is not None and ctx.waiting.flow == "forget":
        return account.forget_again(ctx)  # only an explicit YES erases: ask again, plainly
    if ctx.memberships and is_never_mind(text.words):
        # "forget it", "olvidalo": the everyday "never mind", not FORGET. To a question that waits
        # for YES or NO it answers neither; elsewhere nothing changes.
        if ctx.waiting is not None and ctx.waiting.flow in YES_NO_WAITING:
            return say(ctx, YES_NO_WAITING[ctx.waiting.flow].fallback)
        return say(ctx, "never_mind")
    if ctx.memberships and understanding.says_not_well(text.raw):
        # "im not ok", "no estoy bien", "nada bien" (outside9): the hard-news word, whatever question waits (it stays
        # open); never a "no, I'm fine", an OK, a YES-or-NO reminder or "didn't understand".
        return say(ctx, "hard_news")
    if ctx.waiting is not None and ctx.waiting.flow in YES_NO_WAITING and understanding.is_acknowledgement(text.raw):
        return say(ctx, YES_NO_WAITING[ctx.waiting.flow].fallback)  # "k" to an offer: is that a YES? ask, never guess
    if ctx.memberships and (ctx.waiting is None or ctx.waiting.flow not in YES_NO_WAITING) and (
            is_unsure(text.words) or is_not_now(text.words) or is_one_of(text.words, LATER)):
        # "idk", "not sure", "no se", "maybe later", "luego" with no question open: no rush, and
        # the go-around's options in one line for when they are ready (not "didn't understand").
        return say(ctx, "unsure")
    if understanding.is_courtesy(text.raw):
        # "thanks", "ok", "👍" with nothing waiting: a short warm word, once a day (a second
        # "thanks" needs no answer), never the menu.
        if ctx.courtesy_at is not None and ctx.now - ctx.courtesy_at < COURTESY_EVERY:
            return Transition()
        return Transition(replies=say(ctx, "courtesy.reply").replies, effects=(CourtesyAnswered(),))
    if ctx.memberships and understanding.asks_about_options(text.raw):
        return say(ctx, "goaround.explain")  # "what does 4 mean?": what 1-5 mean, nothing recorded
    if asks_how_to_leave(text):
        return say(ctx, "leave.how")  # "leave me alone", a lone 🛑: how to leave, never a guessed STOP
    if understanding.says_wrong_number(text.raw):
        # "sorry wrong number": no harm done, and how to get nothing more; an open question stays
        # open, unanswered (it is neither a YES nor a NO).
        return say(ctx, "wrong_number")
    if ctx.waiting is not None and ctx.waiting.flow in YES_NO_WAITING:
        asked = YES_NO_WAITING[ctx.waiting.flow]
        return say(ctx, asked.unsure if is_unsure(text.words) else asked.fallback)
    answered = _yes_no_with_nothing_asked(ctx, text, more=False)  # "yes i can" with nothing asked
    if answered is not None:
        return answered
    if ctx.memberships and understanding.tells_good_news(text.raw, thanks=True):
        return say(ctx, "good_news")  # a long thank-you ("...it was a hard week but seeing people helped")
    if ctx.memberships and understanding.tells_hard_news(text.raw):
        return say(ctx, "hard_news")  # "my cat died last week, sad but ok": kindness, not the menu
    if ctx.memberships and understanding.tells_good_news(text.raw):
        return say(ctx, "good_news")  # "we had coffee on tuesday it was really nice"
    answered = _yes_no_with_nothing_asked(ctx, text)  # "yes sorry just saw this": after the stories above
    if answered is not None:
        return answered
    if not ctx.memberships and not ctx.opted_out:
        # A stranger's "hola" or "who is this": what carebot is and how to join, not the members' menu
        # (for someone the coordinators removed, the way back is through them, not JOIN).
        return join.not_a_member(ctx) if ctx.removed_from else say(ctx, "fallback.stranger")
    return say(ctx, "fallback")


def _yes_no_with_nothing_asked(ctx: Context, text: Text, *, more: bool = True) -> Transition | None:
    """A YES or NO (``more``: with a word more) when nothing waits for one: nothing is waiting, said kindly."""
    if answers_yes(text, more=more):
        if not ctx.memberships and not ctx.removed_from:
            return join.late_yes(ctx)  # a consent question that lapsed: how to ask again
        return say(ctx, "yes.nothing")
    if answers_no(text, more=more):
        return say(ctx, "no.nothing")
    return None


def _keep_waiting(ctx: Context, result: Transition) -> Transition:
    waiting = ctx.waiting
    if waiting is not None and (waiting.flow, waiting.step) == goaround.FREE_WHICH and any(
            isinstance(effect, Answered) for effect in result.effects):
        return result  # "2 or 5?" is moot once the member gave a go-around answer of their own
    if result.wait is None and waiting is not None and waiting.flow in SURVIVES_OTHER_TEXTS:
        return replace(result, wait=waiting)
    return result


def timeout(waiting: Waiting) -> Transition:
    """A waiting question ran out of time.

    The consent question and FORGET's question lapse quietly: carebot does not
    write to someone who has not consented, nor nag about erasure. Silence to a
    care question has a meaning of its own (an offer passes to someone else).
    """
    if waiting.flow == "network":
        return network.timed_out(waiting)
    return care.timed_out(waiting)


def text_language(text: Text) -> str | None:
    """The language a text is written in, when it tells: Spanish command words first, then
    its everyday words, accents and the crisis lexicon's hits."""
    if looks_spanish(text.words):
        return "es"
    return understanding.guess_language(text.raw)


# How many more hints of one language than the other a member's text needs before a member
# who never chose is answered in it for good: "gracias" or "ya we talked" is not enough.
CLEAR_EVIDENCE = 2


def clear_language(text: Text) -> str | None:
    """The language a text is clearly written in: a command word only Spanish uses ("ayuda"), or
    its words ("no puedo esta semana", "hi how do i join"), else None."""
    if looks_spanish(text.words):
        return "es"
    return understanding.guess_language(text.raw, margin=CLEAR_EVIDENCE)


def initial_language(text: Text, groups: dict[str, GroupInfo]) -> str | None:
    """A newcomer's language, when their first text tells: Spanish words, a group they name,
    or English words ("hi how do i join rcma": a later "gracias" does not make them Spanish).

    None leaves it open: they are answered in their group's language until they choose.
    """
    if text_language(text) == "es":
        return "es"
    for word in text.words[:2]:
        group = groups.get(word.upper())
        if group is not None:
            return group.language
    return clear_language(text)


def in_crisis_language(ctx: Context, text: Text) -> Context:
    """The context to answer crisis words in: the language they were written in, when only one
    language's crisis words are there ("ya no quiero vivir" gets the Spanish reply, whatever was set)."""
    languages = crisis.crisis_languages(text.raw)
    return replace(ctx, language=next(iter(languages))) if len(languages) == 1 else ctx
