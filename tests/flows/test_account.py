"""The member's own account as a table: STOP, START, HELP, STATUS, MYDATA, FORGET, LANG, NAME."""

from __future__ import annotations

from datetime import timedelta

import pytest

from carebot.domain.i18n import render
from carebot.domain.sms import segments
from carebot.flows import router
from carebot.flows.base import (
    AnswerInfo,
    Forgotten,
    LanguageChanged,
    MembershipInfo,
    NameChanged,
    OptedIn,
    OptedOut,
    PairingInfo,
    Waiting,
)
from carebot.flows.words import read
from tests.flows.kit import DMMA, NOW, Row, check, context, has, row, says

MEMBER = context("DMMA")
COORDINATOR = context("DMMA", coordinator_of=("DMMA",))
STOPPED = context("DMMA", opted_out=True)
STRANGER = context()
SPANISH = context("COMIDA")
ANSWERED = context("DMMA", answers=(AnswerInfo(1, 1, None, "call evenings", None),))
SUPPORTING = context("DMMA", pairings=(PairingInfo(7, 1, "DMMA", 1, "supporter", "Sam", "active", 7),))
ASKED = context("DMMA", pairings=(PairingInfo(8, 1, "DMMA", 1, "requester", "Sam", "offered", 7),))
FORGETTING = context("DMMA", waiting=Waiting("forget", "confirm", {}, NOW + timedelta(hours=1)))
STOPPED_FORGETTING = context("DMMA", opted_out=True, waiting=Waiting("forget", "confirm", {}, NOW + timedelta(hours=1)))
# Removed from DMMA by its coordinators (and in no group now), even after FORGET.
REMOVED = context(removed_from=frozenset({1}))
REMOVED_STOPPED = context(removed_from=frozenset({1}), opted_out=True)
REMOVED_FORGETTING = context(removed_from=frozenset({1}), waiting=Waiting("forget", "confirm", {}, NOW + timedelta(hours=1)))
REMOVED_SAYS = says("status.removed", keyword="DMMA")

# HELP says what this number is (the group's whole name) and how to write to the coordinators, in one SMS.
HELP_DMMA = says("help.member.named", groups="Des Moines Mutual Aid (DMMA)",
                 coordinators="Bea (text @coordinators and your message)")

ROWS = [
    # STOP, however it is written, wins at once and is confirmed past everything ("final").
    pytest.param(row(MEMBER, "stop", says("stop.done", purpose="final"), effects=(OptedOut("STOP"),)), id="stop"),
    pytest.param(row(MEMBER, "STOP please", says("stop.done", purpose="final"), effects=(OptedOut("STOP"),)),
                 id="stop-please"),
    pytest.param(row(MEMBER, "stop texting me!!", says("stop.done", purpose="final"), effects=(OptedOut("STOP"),)),
                 id="stop-texting-me"),
    pytest.param(row(MEMBER, "Cancel", says("stop.done", purpose="final"), effects=(OptedOut("CANCEL"),)),
                 id="cancel-alone"),
    pytest.param(row(MEMBER, "opt out", says("stop.done", purpose="final"), effects=(OptedOut("OPTOUT"),)),
                 id="opt-out-two-words"),
    pytest.param(row(MEMBER, "ѕтор", says("stop.done", purpose="final"), effects=(OptedOut("STOP"),)),
                 id="stop-in-cyrillic-lookalikes"),
    pytest.param(row(SPANISH, "parar", says("stop.done", purpose="final"), effects=(OptedOut("PARAR"),)),
                 id="parar-in-spanish"),
    pytest.param(row(SPANISH, "darme de baja", says("stop.done", purpose="final"), effects=(OptedOut("BAJA"),)),
                 id="darme-de-baja"),
    pytest.param(row(MEMBER, "take me off this list", says("stop.done", purpose="final"),
                     effects=(OptedOut("STOP"),)), id="take-me-off-this-list"),
    pytest.param(row(STOPPED, "stop"), id="stop-again-after-stop-says-nothing"),
    pytest.param(row(MEMBER, "cancel my pairing", says("fallback")), id="soft-stop-word-in-a-sentence-is-not-stop"),
    # START brings a member back; nothing else does.
    pytest.param(row(STOPPED, "start", says("start.fresh", keywords="DMMA", summary="", purpose="final"),
                     effects=(OptedIn("START"),)), id="start-after-stop"),
    pytest.param(row(context(opted_out=True), "Start", says("start.no_groups", purpose="final"),
                     effects=(OptedIn("START"),)), id="start-without-groups"),
    pytest.param(row(MEMBER, "start", says("start.already")), id="start-while-subscribed"),
    pytest.param(row(STOPPED, "hello?"), id="after-stop-nothing-else-is-answered"),
    # STATUS after STOP: that they stopped, then what is held, as MYDATA (outside4_after_stop.txt:44).
    pytest.param(row(STOPPED, "status", has("You sent STOP: carebot texts you nothing until you text START.\n"
                                            "DMMA: no go-around answer yet (text 1-5).", purpose="after_stop")),
                 id="after-stop-status-says-they-stopped"),
    pytest.param(row(context(opted_out=True), "estado", has("You sent STOP", purpose="after_stop")),
                 id="after-stop-status-without-groups"),
    # HELP: who this is, the coordinators, STOP; answered even after STOP.
    pytest.param(row(MEMBER, "help", HELP_DMMA), id="help"),
    pytest.param(row(MEMBER, "HEPL", HELP_DMMA),
                 id="help-with-a-typo"),
    pytest.param(row(SPANISH, "ayuda", says("help.member.named", groups="Comida Para Todes (COMIDA)",
                                          coordinators="Lupe (escribe @coordinacion y tu mensaje)")),
                 id="ayuda"),
    pytest.param(row(COORDINATOR, "help", HELP_DMMA,
                     says("help.coordinator")), id="help-to-a-coordinator-adds-their-words"),
    pytest.param(row(context("DMMA", "COMIDA", language="en"), "help",
                     says("help.member.named", groups="DMMA and COMIDA",
                          coordinators="Bea, Lupe (text @coordinators and your message)")),
                 id="help-names-both-groups-and-how-in-one-segment"),
    pytest.param(row(context("DMMA", "COMIDA", "LONG", language="en"), "help",
                     says("help.member.named", groups="DMMA, COMIDA, and LONG",
                          coordinators="Bea, Lupe (text @coordinators and your message)")),
                 id="help-in-three-groups-names-them-by-keyword-to-fit"),
    pytest.param(row(context("LONG"), "help",
                     says("help.member.named", groups="LONG",
                          coordinators="Bea (text @coordinators and your message)")),
                 id="help-says-the-how-and-the-keyword-when-a-40-character-name-does-not-fit"),
    pytest.param(row(context("DMMA", memberships=(MembershipInfo(DMMA, "member"),)), "help",
                     says("help.member.named", groups="Des Moines Mutual Aid (DMMA)", coordinators="none yet")),
                 id="help-without-coordinators-says-the-whole-name"),
    pytest.param(row(STRANGER, "help", says("help.none")), id="help-to-a-stranger"),
    pytest.param(row(STOPPED, "help", says("help.stopped", keywords="DMMA",
                                           coordinators="Bea (after START, text @coord and your message)",
                                           purpose="after_stop")), id="help-after-stop"),
    pytest.param(row(context(opted_out=True), "info", says("help.stopped.none", purpose="after_stop")),
                 id="help-after-stop-without-groups"),
    # STATUS: what carebot holds, group by group.
    pytest.param(row(MEMBER, "status", says("status.no_answer", keyword="DMMA")), id="status-without-answer"),
    pytest.param(row(MEMBER, "STAUTS", says("status.no_answer", keyword="DMMA")), id="status-with-a-typo"),
    pytest.param(row(ANSWERED, "Status?", has("DMMA: you'd like someone to reach out (ongoing, call evenings).")),
                 id="status-with-an-answer"),
    pytest.param(row(SUPPORTING, "status", has("DMMA: you check in with Sam.")), id="status-names-the-pairing"),
    pytest.param(row(ASKED, "status", has("DMMA: asking someone to support you.")),
                 id="status-hides-who-until-they-say-yes"),
    pytest.param(row(STRANGER, "estado", says("status.none")), id="status-to-a-stranger"),
    # MYDATA: everything held, the consent history looked up only now.
    pytest.param(row(context("DMMA", consents=(NOW - timedelta(days=2),)), "mydata",
                     has("groups DMMA; name Ana; language English; texts by SMS")), id="mydata"),
    pytest.param(row(context("DMMA", consents=(NOW - timedelta(days=9), NOW - timedelta(days=2))), "MYDATA",
                     has("Consent records: 2, the latest on Feb 28.")), id="mydata-reads-the-consent-lookup"),
    pytest.param(row(COORDINATOR, "misdatos", has("DMMA (coordinator)")), id="misdatos-names-the-coordinator-role"),
    pytest.param(row(STRANGER, "mydata", has("groups none; name Ana")), id="mydata-of-a-stranger"),
    # FORGET asks first; only YES erases.
    pytest.param(row(MEMBER, "forget", says("forget.ask"), wait=("forget", "confirm")), id="forget-asks"),
    pytest.param(row(MEMBER, "borrame", says("forget.ask"), wait=("forget", "confirm")), id="borrame"),
    pytest.param(row(FORGETTING, "yes", says("forget.done", purpose="final"), effects=(Forgotten(),)),
                 id="forget-yes-erases"),
    pytest.param(row(FORGETTING, "Yes!", says("forget.done", purpose="final"), effects=(Forgotten(),)),
                 id="forget-yes-with-punctuation"),
    pytest.param(row(FORGETTING, "no", says("forget.kept")), id="forget-no-keeps"),
    pytest.param(row(FORGETTING, "not rn", says("forget.kept")), id="forget-not-rn-keeps"),
    pytest.param(row(FORGETTING, "status", says("status.no_answer", keyword="DMMA")),
                 id="forget-question-dropped-when-the-member-moves-on"),
    # After STOP, the member's own data is still theirs to see and erase (finding 5); replies go as "after_stop"
    # (as a final reply does, and once a flood window past the flood limit).
    pytest.param(row(STOPPED, "mydata", has("What carebot holds about you: groups DMMA", purpose="after_stop")),
                 id="mydata-after-stop"),
    pytest.param(row(STOPPED, "MyData!", has("You sent STOP", purpose="after_stop")),
                 id="mydata-after-stop-says-they-stopped"),
    pytest.param(row(STOPPED, "Forget", says("forget.ask", purpose="after_stop"), wait=("forget", "confirm")),
                 id="forget-after-stop-asks"),
    pytest.param(row(STOPPED, "olvidar", says("forget.ask", purpose="after_stop"), wait=("forget", "confirm")),
                 id="olvidar-after-stop-asks"),
    pytest.param(row(STOPPED_FORGETTING, "yes", says("forget.done", purpose="final"), effects=(Forgotten(),)),
                 id="forget-yes-after-stop-erases"),
    pytest.param(row(STOPPED_FORGETTING, "nope", says("forget.kept", purpose="after_stop")),
                 id="forget-no-after-stop-keeps"),
    pytest.param(row(STOPPED_FORGETTING, "hello?"), id="after-stop-forgets-question-takes-only-yes-or-no"),
    # A removed member is never told "already subscribed" nor to text JOIN (findings 12, 13).
    pytest.param(row(REMOVED, "start", REMOVED_SAYS), id="start-by-a-removed-member"),
    pytest.param(row(REMOVED_STOPPED, "START", has("You're subscribed again.\nThe coordinators removed you from DMMA",
                                                   purpose="final"), effects=(OptedIn("START"),)),
                 id="start-after-stop-by-a-removed-member"),
    pytest.param(row(REMOVED_FORGETTING, "yes", says("forget.done.removed", keywords="DMMA", purpose="final"),
                     effects=(Forgotten(),)), id="forget-by-a-removed-member-says-ask-a-coordinator"),
    pytest.param(row(REMOVED, "help", says("help.removed", keywords="DMMA")), id="help-to-a-removed-member"),
    pytest.param(row(REMOVED, "1", REMOVED_SAYS), id="an-answer-by-a-removed-member"),
    pytest.param(row(REMOVED, "1 5 ongoing", REMOVED_SAYS), id="answers-by-a-removed-member"),
    pytest.param(row(REMOVED, "pulse", REMOVED_SAYS), id="pulse-by-a-removed-member"),
    pytest.param(row(REMOVED, "hola", REMOVED_SAYS), id="a-removed-members-hello"),
    pytest.param(row(context(removed_from=frozenset({1}), language="es"), "1", says("status.removed", keyword="DMMA")),
                 id="an-answer-by-a-removed-member-in-spanish"),
    # LANG and NAME.
    pytest.param(row(MEMBER, "lang es", says("lang.set", lang="es"), effects=(LanguageChanged("es"),)),
                 id="lang-es"),
    pytest.param(row(SPANISH, "idioma inglés", says("lang.set", lang="en"), effects=(LanguageChanged("en"),)),
                 id="idioma-ingles-with-accent"),
    pytest.param(row(MEMBER, "Language Spanish", says("lang.set", lang="es"), effects=(LanguageChanged("es"),)),
                 id="language-spanish"),
    pytest.param(row(MEMBER, "lang fr", says("lang.unknown")), id="lang-unknown"),
    pytest.param(row(MEMBER, "name Ana María", says("name.set", name="Ana María"),
                     effects=(NameChanged("Ana María"),)), id="name-keeps-accents"),
    pytest.param(row(MEMBER, "nombre", says("name.empty")), id="name-empty"),
    pytest.param(row(MEMBER, "name Maximiliana Josefina de la Cruz", says("name.set", name="Maximiliana Josefina"),
                     effects=(NameChanged("Maximiliana Josefina"),)), id="name-cut-to-twenty"),
]


@pytest.mark.parametrize("r", ROWS)
def test_account(r: Row) -> None:
    check(r)


@pytest.mark.parametrize("ctx", [context("LONG"), context("DMMA", "COMIDA", "LONG", language="en"),
                                 context("COMIDA", "LONG", language="es")])
def test_help_names_the_groups_in_one_segment(ctx) -> None:
    reply = check(row(ctx, "help", has("carebot"))).replies[0].text
    assert segments(reply) == 1, reply
    assert all(m.group.keyword in reply for m in ctx.memberships)


# outside5: "how do i see my answers?" is STATUS, with how to see it again; a language asked for in
# the same text ("hola, prefiero español. ¿cómo veo mis respuestas?") is taken, and the answer is in it.
@pytest.mark.parametrize("text", ["how do i see my answers?", "where can i see my answers", "what did i answer?"])
def test_asking_how_to_see_ones_answers_is_status(text: str) -> None:
    result = router.respond(ANSWERED, read(text))
    assert [r.text.splitlines()[0] for r in result.replies] == [render("status.how_to_see", "en")]
    assert "call evenings" in result.replies[0].text and not result.effects


def test_a_language_asked_for_with_it_is_taken() -> None:
    result = router.respond(ANSWERED, read("hola, prefiero español. ¿cómo veo mis respuestas?"))
    assert result.effects == (LanguageChanged("es"),)
    assert result.replies[0].text.startswith(render("status.how_to_see", "es"))


@pytest.mark.parametrize("text", ["i see my answers are wrong lol", "prefiero español", "my answers"])
def test_near_it_is_not_status(text: str) -> None:
    result = router.respond(ANSWERED, read(text))
    assert not any(r.text.startswith(render("status.how_to_see", "en")) for r in result.replies)


# FORGET in a member's words (outside8): "Forget me", "delete my data", "borra mis datos" ask FORGET's question
# (only a YES after it erases, so reading more wordings as FORGET is safe), also after STOP. "forget it" and
# "never mind" are README's "never mind"; "dont forget me", "no me olvides" are no request; "delete me from the
# list" is STOP and "remove me" is how to leave, as they were.
@pytest.mark.parametrize("text", [
    "Forget me", "forget me pls", "forget me please", "delete me", "Delete my data", "delete my info please",
    "pls delete my info", "erase me", "can you delete my number", "i want you to forget me",
    "delete everything about me", "borrame", "Bórrame por favor", "olvidame", "olvídenme", "borra mis datos",
    "borren mis datos porfa", "quiero que borren mis datos", "elimina mi información", "forget me thanks",
])
def test_forget_in_words_asks_for_a_yes(text: str) -> None:
    language = context("COMIDA") if any(w in text.lower() for w in ("borr", "olvid", "elimin")) else MEMBER
    check(row(language, text, says("forget.ask"), wait=("forget", "confirm")))
    check(row(context("DMMA", opted_out=True), text, says("forget.ask", purpose="after_stop"),
              wait=("forget", "confirm")))


@pytest.mark.parametrize("text, key", [("forget it", "never_mind"), ("never mind", "never_mind"),
                                       ("olvidalo", "never_mind"), ("remove me", "leave.how")])
def test_near_forget_is_not_forget(text: str, key: str) -> None:
    check(row(MEMBER, text, says(key)))


@pytest.mark.parametrize("text", ["dont forget me", "no me olvides", "forget about it lol", "delete me from the list",
                                  "delete the photo"])
def test_near_forget_never_asks_to_erase(text: str) -> None:
    result = router.respond(MEMBER, read(text))
    assert result.wait is None or result.wait.flow != "forget", result
