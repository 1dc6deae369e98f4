"""Joining a group: ``JOIN <KEYWORD>`` (or the keyword alone), a consent question, ``YES``.

Before ``YES`` nothing but the question itself is ever sent to the person.
"""

from __future__ import annotations

from datetime import timedelta

from carebot.flows.base import Context, GroupInfo, Joined, Reply, Transition, Waiting, render_for, say
from carebot.flows.frequency import describe
from carebot.flows.words import JOIN, Text, answers_no, answers_yes

CONSENT_WAIT = timedelta(days=7)


def find_group(ctx: Context, word: str) -> GroupInfo | None:
    """The group whose keyword is ``word`` (already folded), if any."""
    return ctx.groups.get(word.upper())


# Between the JOIN word and the group's word in a sentence: "quiero unirme a dmma", "how do i join
# the dmma group", "me quiero unir al grupo dmma".
_BEFORE_GROUP = frozenset("a al to the en el grupo group con with".split())
MOST_WORDS_TO_JOIN = 8


def _named_in_words(ctx: Context, words: list[str]) -> GroupInfo | None:
    """The group a short sentence asks to join ("quiero unirme a dmma", "hi, how do i join dmma?"):
    a JOIN word, then (past "a", "to the", "al grupo") a group's word. Anything else is not a JOIN.
    A longer text joins only when it ends with them ("hi i got this number from maria at the
    meeting, how do i join east?"): the request is its last words, not something in passing."""
    for index, word in enumerate(words):
        if word in JOIN:
            rest = words[index + 1:]
            while rest and rest[0] in _BEFORE_GROUP:
                rest = rest[1:]
            if len(words) > MOST_WORDS_TO_JOIN and not all(w in _AFTER_GROUP for w in rest[1:]):
                return None
            return find_group(ctx, rest[0]) if rest else None
    return None


_AFTER_GROUP = frozenset("group grupo please pls plz por favor porfa thanks thx gracias".split())


def consent_question(ctx: Context, group: GroupInfo) -> str:
    """The exact consent question, as sent and as recorded with the consent."""
    freq = describe(group.round_schedule, ctx.language)
    return render_for(ctx, "join.ask", group=group.name, freq=freq)  # on a call, spoken and answered by a key


def request(ctx: Context, text: Text) -> Transition | None:
    """``JOIN DMMA`` or ``DMMA``: ask for consent to join that group."""
    words = text.words
    if words[0] in JOIN:
        if len(words) < 2:
            # Someone removed and in no group hears the way back (a coordinator), never "text JOIN".
            return (removed_reply(ctx) if not ctx.memberships else None) or say(ctx, "join.which")
        group = find_group(ctx, words[1])
        if group is None:
            return say(ctx, "join.unknown_group", keyword=text.rest(1)[:16].upper())
    else:
        group = find_group(ctx, words[0]) if len(words) == 1 else _named_in_words(ctx, words)
        if group is None:
            return None
    if ctx.membership(group.id):
        return say(ctx, "join.already", group=group.name)
    if group.id in ctx.removed_from:
        # Removal is the coordinators' decision: a kind word, and the way back is through them.
        return say(ctx, "join.removed", group=group.name)
    return Transition(
        replies=(Reply(consent_question(ctx, group)),),
        wait=Waiting("join", "consent", {"group_id": group.id}, ctx.now + CONSENT_WAIT),
    )


def _waiting_group(ctx: Context) -> GroupInfo | None:
    group_id = ctx.waiting_data.get("group_id")
    return next((g for g in ctx.groups.values() if g.id == group_id), None)


def consent(ctx: Context, text: Text) -> Transition | None:
    """The answer to the consent question: ``YES`` joins, ``NO`` declines."""
    group = _waiting_group(ctx)
    if group is None:
        return Transition()  # the group was removed meanwhile; nothing to join
    if answers_yes(text, more=not ctx.crisis):  # "yes", "si claro", "👍", "ya", "yes sorry just saw this"
        freq = describe(group.round_schedule, ctx.language)
        return Transition(
            replies=(Reply(render_for(ctx, "join.welcome", group=group.name, freq=freq)),),
            # An invitation's own wording is what was consented to.
            effects=(Joined(group.id, ctx.waiting_data.get("wording") or consent_question(ctx, group)),),
        )
    if answers_no(text):  # "no", "no thanks", "no sorry"
        return say(ctx, "join.declined", group=group.name, keyword=group.keyword)
    return None


def removed_keywords(ctx: Context) -> list[str]:
    """The keywords of the groups whose coordinators removed the member (even after FORGET)."""
    return [g.keyword for g in ctx.groups.values() if g.id in ctx.removed_from]


def removed_lines(ctx: Context) -> list[str]:
    """One line for each group whose coordinators removed the member: the way back is through them
    (never JOIN, which cannot work for them), without naming who decided it."""
    return [render_for(ctx, "status.removed", keyword=keyword) for keyword in removed_keywords(ctx)]


def removed_reply(ctx: Context) -> Transition | None:
    """Those lines as one reply, when the coordinators of any group removed the member."""
    removed = removed_lines(ctx)
    return Transition(replies=(Reply("\n".join(removed)),)) if removed else None


def not_a_member(ctx: Context) -> Transition:
    """For a member's command from someone in no group: what is waiting, their removal, or how to join."""
    return pending_reminder(ctx) or removed_reply(ctx) or say(ctx, "join.none")


def pending_reminder(ctx: Context) -> Transition | None:
    """For a text that is not the answer: remind the person what is waiting."""
    group = _waiting_group(ctx)
    return say(ctx, "join.pending", group=group.name) if group else None


def late_yes(ctx: Context) -> Transition:
    """A YES from someone in no group with nothing waiting: unless it is their first text, a consent question they had may
    have lapsed (it lasts CONSENT_WAIT), so they are told how to ask again; a late YES never joins anyone.

    Never a group's word, even with one group: someone who texted "hi" and then "yes" was never asked anything,
    and a stranger learns nothing of a group from texting the number (members6); whoever did ask knows the word.
    """
    if ctx.is_new:
        # Their first text ever: nothing was asked, so nothing lapsed. What this number is (outside5).
        return say(ctx, "fallback.stranger")
    return say(ctx, "join.lapsed.any")
