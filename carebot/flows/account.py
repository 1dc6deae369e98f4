"""The member's own account: STATUS, MYDATA, STOP, START, HELP, FORGET, LANG and NAME."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, timedelta
from itertools import chain

from carebot.domain.i18n import LANGUAGE_NAMES as LANGUAGE_LABELS
from carebot.domain.i18n import names_list, render, short_date
from carebot.domain.sms import GSM_SINGLE, fold_gsm7, segments
from carebot.domain.vocabulary import OPEN_PAIRINGS, SIGNAL, Purpose
from carebot.flows.base import (
    Context,
    Forgotten,
    LanguageChanged,
    NameChanged,
    OptedIn,
    OptedOut,
    PairingInfo,
    Reply,
    Transition,
    Waiting,
    render_for,
    say,
)
from carebot.flows.goaround import summarize
from carebot.flows.join import not_a_member, removed_keywords, removed_lines, removed_reply
from carebot.flows.words import (
    ERASE_YES,
    LANG,
    LANGUAGE_NAMES,
    MYDATA,
    NAME,
    STATUS,
    Text,
    answers_no,
    answers_yes,
    asks_to_forget,
    asks_to_see_answers,
    explicit_yes,
    is_never_mind,
    is_one_of,
    prefers_language,
    stop_word,
)

FORGET_WAIT = timedelta(hours=1)
MAX_NAME = 20
MIN_GROUP_NAME = 12  # in HELP, a group's name cut shorter than this says less than its keyword


def _keywords(ctx: Context) -> str:
    return names_list([m.group.keyword for m in ctx.memberships], ctx.language)  # "RCMA and EAST", "RCMA y EAST"


def stop(ctx: Context, text: Text) -> Transition:
    """STOP and its synonyms: one confirmation, then nothing at all."""
    if ctx.opted_out:
        return Transition()
    return Transition(
        replies=(Reply(render_for(ctx, "stop.done"), purpose="final"),),
        effects=(OptedOut((stop_word(text.words) or text.words[0]).upper()),),
    )


def start(ctx: Context, text: Text) -> Transition:
    """START: the only word that brings a member back after STOP."""
    if not ctx.opted_out:
        # In no group (removed, erased by FORGET, or never joined): "already subscribed" would read as
        # still in a group; they hear what is true and the way in (or back, through a coordinator).
        return not_a_member(ctx) if not ctx.memberships else say(ctx, "start.already")
    effect = OptedIn(text.words[0].upper())
    if ctx.memberships:
        # What is kept, said plainly: STOP ended any request for care, the other answers stand.
        kept = [(m.group, ctx.answers_in(m.group.id)) for m in ctx.memberships if ctx.answers_in(m.group.id)]
        summary = "; ".join((f"{g.keyword} " if len(kept) > 1 else "") + summarize(a, ctx.language, g.tz)
                            for g, a in kept)
        key = "start.kept" if kept else "start.fresh"
        reply = render_for(ctx, key, keywords=_keywords(ctx), summary=summary)
    else:
        # JOIN cannot bring back a member the coordinators removed: the way back is through them.
        removed = removed_lines(ctx)
        reply = "\n".join([render("start.again", ctx.language), *removed]) if removed else render(
            "start.no_groups", ctx.language)
    # "final", like STOP's: a change of consent is always confirmed, even past the flood limit.
    return Transition(replies=(Reply(reply, purpose="final"),), effects=(effect,))


def help_(ctx: Context, text: Text | None = None) -> Transition:
    """HELP: what this number is, who the coordinators are and how to write to them, and STOP."""
    if not ctx.memberships:
        removed = ", ".join(removed_keywords(ctx))
        if removed and not ctx.opted_out:
            message = render("help.removed", ctx.language, keywords=removed)
        else:
            message = render("help.stopped.none" if ctx.opted_out else "help.none", ctx.language)
    else:
        names = ", ".join(sorted({n for m in ctx.memberships for n in m.coordinators}))
        # After STOP, the way back (START) rather than the way out they already took; the relay to the
        # coordinators (carebot.flows.relay) is theirs again after it.
        if ctx.opted_out:
            message = _first_fitting(render("help.stopped", ctx.language, keywords=_keywords(ctx), coordinators=c)
                                     for c in _coordinators(ctx, names, "help.coordinators.after_start"))
        else:
            message = _help_named(ctx, names)
    # Carriers require HELP to be answered even after STOP, so it is exempt from consent.
    replies = [_own(ctx, message)]
    if any(m.role == "coordinator" for m in ctx.memberships) and not ctx.opted_out:
        replies.append(Reply(render("help.coordinator", ctx.language)))
    return Transition(replies=tuple(replies))


def _coordinators(ctx: Context, names: str, *ways: str) -> list[str]:
    """The coordinators as HELP names them: with how to write to them (each of ``ways``, longest first),
    then their names alone, for when HELP cannot fit more in one SMS."""
    if not names:
        return [render("help.no_coordinators", ctx.language)]
    return [render(way, ctx.language, names=names) for way in ways] + [names]


def _help_named(ctx: Context, names: str) -> str:
    """HELP naming each group as members know it, with the word they text: "Des Moines Mutual
    Aid (DMMA)", and how to write to the coordinators. To stay one SMS segment, the how is said
    shorter ("@coord"), then the keywords alone are what carebot names, then the names are shortened (at a
    word, with "..."); only when even that cannot fit are the coordinators named without the how. A group's
    whole name goes before the longer how: HELP says first what this number is."""
    def named(limit: int | None) -> str:
        return ", ".join(f"{_shorten(m.group.name, limit)} ({m.group.keyword})" for m in ctx.memberships)

    def ways(coordinators: str) -> Iterator[tuple[int, str]]:
        """Each way HELP may name the groups, ranked: the whole names, the keywords (clearer than a name cut
        short), shortened names."""
        def message(groups: str) -> str:
            return render("help.member.named", ctx.language, groups=groups, coordinators=coordinators)

        yield 0, message(named(None))
        yield 1, message(_keywords(ctx))
        room = (GSM_SINGLE - len(message(named(0)))) // len(ctx.memberships)
        if room >= MIN_GROUP_NAME:
            yield 2, message(named(room))

    *with_how, alone = _coordinators(ctx, names, "help.coordinators.reach", "help.coordinators.reach.short")
    with_how_ranked = sorted(chain(*(ways(c) for c in with_how)), key=lambda ranked: ranked[0])  # stable
    return _first_fitting(chain((message for _, message in with_how_ranked), (message for _, message in ways(alone))))


def _first_fitting(messages: Iterable[str]) -> str:
    """The first of ``messages`` that fits one SMS segment, else the last (the shortest way to say it). As
    sent: the outbox folds "aún" to "aun" where that saves segments (carebot.outbox.write)."""
    message = ""
    for message in messages:
        if segments(fold_gsm7(message)) <= 1:
            return message
    return message


def _shorten(name: str, limit: int | None) -> str:
    if limit is None or len(name) <= limit:
        return name
    if limit < 4:
        return ""
    cut = name[: limit - 3].rsplit(" ", 1)[0] if " " in name[: limit - 3] else name[: limit - 3]
    return cut.rstrip(" ,.-") + "..."


def status(ctx: Context, text: Text) -> Transition | None:
    """STATUS: what carebot holds for the member, group by group; after STOP, first that they stopped."""
    if not is_one_of(text.words, STATUS):
        return _asked_to_see(ctx, text)
    if ctx.opted_out:
        held = _status_lines(ctx) if ctx.memberships else []
        return Transition(replies=(_own(ctx, "\n".join([render("mydata.stopped", ctx.language), *held])),))
    # A removal is said as it is (not "not in a group yet"), without naming who decided it.
    if not ctx.memberships:
        return removed_reply(ctx) or say(ctx, "status.none")
    return Transition(replies=(Reply("\n".join(_status_lines(ctx) + removed_lines(ctx))),))


def _asked_to_see(ctx: Context, text: Text) -> Transition | None:
    """"how do i see my answers?": STATUS, opened with how to see it again; a language asked for in the
    same text ("hola, prefiero español. ¿cómo veo mis respuestas?") is taken, and the answer is in it."""
    if not asks_to_see_answers(text.words) or ctx.opted_out or not ctx.memberships:
        return None
    chosen = prefers_language(text.words) or ctx.language
    if chosen != ctx.language:
        ctx = replace(ctx, language=chosen)
        effects: tuple[LanguageChanged, ...] = (LanguageChanged(chosen),)
    else:
        effects = ()
    lines = [render("status.how_to_see", ctx.language), *_status_lines(ctx), *removed_lines(ctx)]
    return Transition(replies=(Reply("\n".join(lines)),), effects=effects)


def _status_lines(ctx: Context) -> list[str]:
    """STATUS's lines: the member's answers and open pairings, group by group."""
    lines = []
    for membership in ctx.memberships:
        group = membership.group
        answers = ctx.answers_in(group.id)
        if answers:
            summary = summarize(answers, ctx.language, group.tz)
            lines.append(render("status.group", ctx.language, keyword=group.keyword, summary=summary))
        else:
            lines.append(render("status.no_answer", ctx.language, keyword=group.keyword))
        pairings = [_pairing_line(ctx, p) for p in ctx.pairings
                    if p.group_id == group.id and p.status in OPEN_PAIRINGS]
        if pairings:
            lines.append(f"{group.keyword}: " + "; ".join(pairings) + ".")
    return lines


def mydata(ctx: Context, text: Text) -> Transition | None:
    """MYDATA: everything carebot holds about the member, in a few lines."""
    if not is_one_of(text.words, MYDATA):
        return None
    lang = ctx.language
    groups = ", ".join(
        m.group.keyword + (f" ({render('mydata.coordinator', lang)})" if m.role == "coordinator" else "")
        for m in ctx.memberships) or render("mydata.no_groups", lang)
    channel = "Signal" if ctx.channel == SIGNAL else "SMS"
    lines = [render("mydata.about", lang, groups=groups, name=ctx.name or render("mydata.no_name", lang),
                    lang=LANGUAGE_LABELS[lang], channel=channel)]
    if ctx.opted_out:
        lines.append(render("mydata.stopped", lang))
    stopped = ctx.lookups.requests_ended_by_stop()
    for membership in ctx.memberships:
        group = membership.group
        answers = ctx.answers_in(group.id)
        if answers:
            lines.append(render("status.group", lang, keyword=group.keyword,
                                summary=summarize(answers, lang, group.tz)))
        pairings = [_pairing_line(ctx, p) for p in ctx.pairings if p.group_id == group.id]
        if pairings:
            lines.append(f"{group.keyword}: " + "; ".join(pairings) + ".")
        # Requests STOP ended are still held (until retention deletes them): said as ended, and why.
        lines.extend(render("mydata.request.stopped", lang, keyword=group.keyword,
                            summary=summarize([r.answer], lang, group.tz),
                            date=short_date(r.ended_at.astimezone(group.tz), lang))
                     for r in stopped if r.answer.group_id == group.id)
    consents = ctx.lookups.consent_times()
    if consents:
        when = consents[-1].astimezone(ctx.memberships[0].group.tz if ctx.memberships else UTC)
        lines.append(render("mydata.consent", lang, count=len(consents), date=short_date(when, lang)))
    # That a care map exists and whether it is shared, never its words (MAP shows those).
    care_map = ctx.lookups.care_map()
    if care_map is not None:
        lines.append(render("mydata.caremap.shared" if care_map.shared else "mydata.caremap.private", lang))
    lines.append(render("mydata.kept", lang))
    return Transition(replies=(_own(ctx, "\n".join(lines)),))


def _pairing_line(ctx: Context, pairing: PairingInfo) -> str:
    if pairing.status == "ended":  # lately (MYDATA): never said as if it went on
        return render("mydata.pairing.ended", ctx.language, other=pairing.other_name)
    if pairing.status == "offered":
        # The requester learns who only once that person has said YES.
        key = "status.pairing.looking" if pairing.role == "requester" else "status.pairing.offered"
    else:
        key = f"status.pairing.{pairing.role}"
    return render(key, ctx.language, other=pairing.other_name)


def _own(ctx: Context, message: str) -> Reply:
    """A reply about the member's own data: after STOP it still answers them ("after_stop": as a final
    reply, once a flood window past the flood limit), as HELP does; the outbox's opt-out rules (a
    carrier's block) still decide whether it can go."""
    return Reply(message, purpose=Purpose.AFTER_STOP) if ctx.opted_out else Reply(message)


def after_stop(ctx: Context, text: Text) -> Transition | None:
    """After STOP, a member can still see what carebot holds (MYDATA, STATUS) and erase it (FORGET, YES)."""
    if ctx.waiting is not None and (ctx.waiting.flow, ctx.waiting.step) == ("forget", "confirm"):
        answered = forget_confirm(ctx, text)
        if answered is not None:
            return answered
    return forget(ctx, text) or mydata(ctx, text) or status(ctx, text)


def forget(ctx: Context, text: Text) -> Transition | None:
    """FORGET (also "forget me", "delete my data", "borra mis datos"): ask for a YES before erasing everything."""
    if not asks_to_forget(text.words):
        return None
    return Transition(
        replies=(_own(ctx, render("forget.ask", ctx.language)),),
        wait=Waiting("forget", "confirm", {}, ctx.now + FORGET_WAIT),
    )


def forget_confirm(ctx: Context, text: Text) -> Transition | None:
    """The answer to FORGET's question: only an explicit YES erases. "no", "forget it" or "never mind"
    keep everything; "ok", "sure" or 👍 get the question again, plainly (``forget_again``)."""
    if explicit_yes(text, ERASE_YES):  # "yes", "yes sorry", "si perdon": a YES word, at most an apology
        # A removed member is not told to JOIN again (it cannot work for them): the coordinators can.
        removed = removed_keywords(ctx)
        done = (render("forget.done.removed", ctx.language, keywords=", ".join(removed)) if removed
                else render("forget.done", ctx.language))
        return Transition(replies=(Reply(done, purpose="final"),), effects=(Forgotten(),))
    if answers_no(text) or is_never_mind(text.words):  # "no", "no thanks", "no sorry", "forget it"
        return Transition(replies=(_own(ctx, render("forget.kept", ctx.language)),))
    if answers_yes(text) or answers_no(text):
        return forget_again(ctx)
    return None


def forget_again(ctx: Context) -> Transition:
    """FORGET's question again, plainly, while it is still open: what it takes to erase, and to keep."""
    return Transition(replies=(_own(ctx, render("forget.again", ctx.language)),),
                      wait=Waiting("forget", "confirm", {}, ctx.now + FORGET_WAIT))


def language(ctx: Context, text: Text) -> Transition | None:
    """``LANG ES`` / ``LANG EN`` (also ``IDIOMA ESPAÑOL``): the member's language."""
    words = text.words
    if not words or words[0] not in LANG:
        return None
    chosen = LANGUAGE_NAMES.get(words[1]) if len(words) == 2 else None
    if chosen is None:
        return say(ctx, "lang.unknown")
    return Transition(
        replies=(Reply(render("lang.set", chosen)),),
        effects=(LanguageChanged(chosen),),
    )


def name(ctx: Context, text: Text) -> Transition | None:
    """``NAME Ana``: the name the member's groups see."""
    if not text.words or text.words[0] not in NAME:
        return None
    chosen = text.rest(1)[:MAX_NAME].strip()
    if not chosen:
        return say(ctx, "name.empty")
    return Transition(
        replies=(Reply(render("name.set", ctx.language, name=chosen)),),
        effects=(NameChanged(chosen),),
    )
