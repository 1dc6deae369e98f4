"""Crisis care as a table: warm words and the group's own resources at once, CALL only on request,
resources only (once a day) after STOP, and nothing for idioms that only sound like a crisis."""

from __future__ import annotations

from datetime import timedelta

import pytest

from carebot.flows.base import (
    Answered,
    AnswerSpec,
    CallRequested,
    CrisisNoted,
    OptedOut,
    PairingInfo,
    Waiting,
)
from carebot.flows.crisis import DEFAULT_RESOURCES
from tests.flows.kit import COMIDA, KEEP, NOW, Row, check, context, row, says

PEER = DEFAULT_RESOURCES["en"]
LOCAL = COMIDA.crisis_resources
MEMBER = context("DMMA")
SPANISH = context("COMIDA")
STRANGER = context()
STOPPED = context("DMMA", opted_out=True)
OFFERED = context("DMMA", pairings=(PairingInfo(7, 1, "DMMA", 1, "supporter", "Sam", "offered", 7),),
                  waiting=Waiting("pairing", "offer", {"pairing_id": 7}, NOW + timedelta(days=1)))


def care(resources: str = PEER, key: str = "crisis.reply"):
    """The crisis reply: past every limit, with the groups' own resources or the peer-run default."""
    return says(key, resources=resources, purpose="final")


ROWS = [
    # Crisis words, however they are written, get care at once: resources and the CALL offer.
    pytest.param(row(MEMBER, "i want to die", care(), effects=(CrisisNoted((1,)),)), id="i-want-to-die"),
    pytest.param(row(MEMBER, "I don’t want to live anymore", care(), effects=(CrisisNoted((1,)),)),
                 id="curly-apostrophe"),
    pytest.param(row(MEMBER, "kms", care(), effects=(CrisisNoted((1,)),)), id="shorthand-kms"),
    pytest.param(row(MEMBER, "idk i just cant do this anymore 😞", care(), effects=(CrisisNoted((1,)),)),
                 id="cant-do-this-anymore-with-emoji"),
    pytest.param(row(MEMBER, "he hit me again and im scared to go home", care(), effects=(CrisisNoted((1,)),)),
                 id="danger-from-someone-else"),
    pytest.param(row(SPANISH, "ya no quiero vivir", care(resources=LOCAL), effects=(CrisisNoted((2,)),)),
                 id="spanish-with-the-groups-own-resources"),
    pytest.param(row(SPANISH, "me quiero morir", care(resources=LOCAL), effects=(CrisisNoted((2,)),)),
                 id="spanish-without-accents"),
    pytest.param(row(context("DMMA", "COMIDA", language="en"), "i want to die", care(resources=LOCAL),
                     effects=(CrisisNoted((1, 2)),)), id="two-groups-listed-resources-first"),
    pytest.param(row(STRANGER, "i don’t want to be here anymore", care(key="crisis.reply.stranger"),
                     effects=(CrisisNoted(()),)), id="a-stranger-is-promised-no-group"),
    # Whatever else the text said still counts; the words themselves are never kept as a "how".
    pytest.param(row(MEMBER, "1 i cant go on", care(),
                     says("goaround.confirm", keyword="DMMA", summary="you'd like someone to reach out (ongoing)"),
                     effects=(CrisisNoted((1,)), Answered(1, (AnswerSpec(1, None, None, None, None),)))),
                 id="an-answer-with-crisis-words-keeps-no-how"),
    pytest.param(row(OFFERED, "kms", care(), effects=(CrisisNoted((1,)),), wait=KEEP),
                 id="what-they-were-in-the-middle-of-is-kept"),
    # CALL: only now is anyone told.
    pytest.param(row(MEMBER, "call", effects=(CallRequested((1,)),)), id="call"),
    pytest.param(row(SPANISH, "llámame", effects=(CallRequested((2,)),)), id="llamame-with-accent"),
    pytest.param(row(context("DMMA", "COMIDA", language="en"), "CALL", effects=(CallRequested((1, 2)),)),
                 id="call-tells-every-group"),
    pytest.param(row(STRANGER, "call", says("crisis.call.no_group", resources=PEER)), id="call-from-a-stranger"),
    # After STOP: resources only, once a day, nobody contacted; STOP still wins.
    pytest.param(row(STOPPED, "i want to die", care(key="crisis.reply.stranger"), effects=(CrisisNoted((1,)),)),
                 id="after-stop-resources-only"),
    pytest.param(row(context("DMMA", opted_out=True, crisis_answered_at=NOW - timedelta(hours=3)), "i want to die"),
                 id="after-stop-once-a-day"),
    pytest.param(row(context("DMMA", opted_out=True, crisis_answered_at=NOW - timedelta(days=1, minutes=1)),
                     "i want to die", care(key="crisis.reply.stranger"), effects=(CrisisNoted((1,)),)),
                 id="after-stop-again-the-next-day"),
    pytest.param(row(MEMBER, "stop i want to die", says("stop.done", purpose="final"),
                     care(key="crisis.reply.stranger"), effects=(OptedOut("STOP"), CrisisNoted((1,)))),
                 id="stop-wins-and-resources-follow"),
    pytest.param(row(STOPPED, "call"), id="call-after-stop-is-not-answered"),
    # Idioms are not a crisis.
    pytest.param(row(MEMBER, "this traffic is killing me lol", says("fallback")), id="traffic-is-killing-me"),
    pytest.param(row(SPANISH, "me muero de risa 😂", says("fallback")), id="me-muero-de-risa"),
    pytest.param(row(MEMBER, "my phone is dead", says("fallback")), id="phone-is-dead"),
    # The outside tester's misses (findings 1-3): self-harm, leetspeak, Spanish, and pleas for help.
    *(pytest.param(row(MEMBER, text, care(), effects=(CrisisNoted((1,)),)), id=text) for text in (
        "cutting again", "started cutting again", "i cut again", "i've been cutting", "urge to cut is bad tonight",
        "feeling su1c1dal", "5uicidal", "k!ll mys3lf", "kill my self",
        "sucidal thoughts", "i need help now", "someone please help me", "help me", "please help",
        "can someone help me?", "i really need help", "HELP ME PLEASE", "help now", "pls help me now", "SOS",
        "plz hlp", "help meee", "halp me", "i need hlep now", "$uicidal", "i want to kil myself",
    )),
    *(pytest.param(row(SPANISH, text, care(resources=LOCAL), effects=(CrisisNoted((2,)),)), id=text) for text in (
        "me voy a quitar la vida", "pienso quitarme la vida", "me kiero matar", "necesito ayuda ya",
        "ayudame por favor", "Ayúdenme", "necesito ayuda urgente", "auxilio", "alguien ayudeme", "ayuda ya",
        "me estoy cortando otra vez", "m4tarme", "necesito ayuda porfavor", "ayudame porfavor", "kiero morir",
    )),
    # outside6's typos (finding 1): a slip of the thumb in the crisis phrase's own words still reads as one.
    *(pytest.param(row(MEMBER, text, care(), effects=(CrisisNoted((1,)),)), id=text) for text in (
        "i wnat to die", "i want to kill myslef", "i want too die", "i want to dei", "i feel like dying",
        "i want 2 die", "i want to kill myselg", "i dont wnat to live anymore",
    )),
    *(pytest.param(row(SPANISH, text, care(resources=LOCAL), effects=(CrisisNoted((2,)),)), id=text) for text in (
        "ya no quiero vivr", "ya no quiero bivir", "me quiero matr", "quiero morri",
    )),
    # outside6's finding 2: crisis words are answered in the language they are written in; "suicidarme" is
    # Spanish, "suicidal" English, whatever the member's own language.
    pytest.param(row(MEMBER, "quiero suicidarme", says("crisis.reply", lang="es", resources=DEFAULT_RESOURCES["es"],
                                                       purpose="final"), effects=(CrisisNoted((1,)),)),
                 id="english-member-writes-suicidarme"),
    pytest.param(row(SPANISH, "i feel suicidal", says("crisis.reply", lang="en", resources=LOCAL, purpose="final"),
                     effects=(CrisisNoted((2,)),)), id="spanish-member-writes-suicidal"),
    # ...and a real word a letter away, or an idiom, is not a crisis: "dye", "lie", "love", "morirse".
    *(pytest.param(row(MEMBER, text, says("fallback")), id=text) for text in (
        "i want to dye my hair", "i dont want to lie to you", "i dont want to love again", "i could kill for a coffee",
        "these shoes are killing me", "i feel like dying my hair blue",
    )),
    *(pytest.param(row(SPANISH, text, says("fallback")), id=text) for text in (
        "la sopa estaba para morirse", "me muero de hambre jaja", "me quiero matricular",
    )),
    # outside7's finding 3: crisis said as a plan, as tiredness of living, as no point in life, as a wish to
    # be dead or for it all to end, and a letter dropped from a short crisis word ("wnt", "di", "vvir").
    *(pytest.param(row(MEMBER, text, care(), effects=(CrisisNoted((1,)),)), id=text) for text in (
        "i'm going to take all my pills", "gonna swallow all my meds tonight", "tonight i’ll end it",
        "tired of living", "no reason to live anymore", "i dont see a point in living", "my life has no meaning",
        "i wish i was dead", "i wish i could just die", "i want everything to stop", "i wnt to die",
        "i want to di", "i dont wnt to live anymore", "there's no reason for me to keep living", "i'm exhausted of living",
        "i just want it to be over", "i think tonight is the night i end it", "i wish i was ded",
    )),
    *(pytest.param(row(SPANISH, text, care(resources=LOCAL), effects=(CrisisNoted((2,)),)), id=text) for text in (
        "voy a tomarme todas las pastillas", "ya me canse de vivir", "me cansé de vivir", "cansade de vivir",
        "sin ganas de vivir", "no le veo sentido a nada", "la vida no tiene sentido", "no le encuentro sentido a la vida",
        "ojala me muriera", "ojala no despertar", "quiero que todo termine", "ya no quiero vvir", "quiero mrir",
        "esta noche acabo con todo", "me voy a aventar del puente", "para que seguir viviendo", "ya nada tiene sentido",
    )),
    # ...and the everyday words beside them stay calm: idioms, a place or a roommate, a week, a real word.
    *(pytest.param(row(MEMBER, text, says("fallback")), id=text) for text in (
        "this is killing me lol", "dying to see you", "tired of living in this city",
        "tired of living with my roommate", "i want to diet", "i want this week to end",
        "i forgot to take all my pills this morning", "i'm going to take all my pills with food like the doctor said",
        "i hope i die laughing", "i wish i was deaf", "i want everything to stop being so expensive", "ill end it early tonight",
    )),
    *(pytest.param(row(SPANISH, text, says("fallback")), id=text) for text in (
        "quiero que termine la semana", "cansada de vivir con mi roomie", "voy a tomar las pastillas despues de comer",
        "quiero que todo termine bien", "no le veo sentido a ir los dos", "ya le di de comer al perro",
        "nada tiene sentido en esta serie jaja",
    )),
    # ...and what is not a plea: HELP alone is the command; a favour asked is not a crisis.
    pytest.param(row(MEMBER, "help", says("help.member", keywords="Des Moines Mutual Aid (DMMA)",
                                                 coordinators="Bea (text @coordinators and your message)")),
                 id="help-alone-is-help"),
    pytest.param(row(MEMBER, "Help please", says("help.member", keywords="Des Moines Mutual Aid (DMMA)",
                                                 coordinators="Bea (text @coordinators and your message)")),
                 id="help-please-is-help"),
    *(pytest.param(row(MEMBER, text, says("fallback")), id=text) for text in (
        "can someone help me move on sat", "i need help with rent this month", "cutting my hair tonight",
        "cutting back on coffee again", "we need help setting up chairs", "sos un amor", "my hours got cut again",
        "ive been cutting onions all day", "i want to cut bangs", "the power got cut again lol",
    )),
    # outside8's findings: no point in going on living, in Spanish from an English-speaking member too (answered
    # in Spanish); a plea followed by words of panic. A favour asked, a trip or a bus not worth it stay calm.
    pytest.param(row(MEMBER, "no vale la pena seguir viviendo la neta",
                     says("crisis.reply", lang="es", resources=DEFAULT_RESOURCES["es"], purpose="final"),
                     effects=(CrisisNoted((1,)),)), id="english-member-writes-no-vale-la-pena-seguir-viviendo"),
    *(pytest.param(row(MEMBER, text, care(), effects=(CrisisNoted((1,)),)), id=text) for text in (
        "someone pls help me im freaking out", "plz somebody help me im so scared", "please help me i dont know what to do",
        "help me im panicking", "i need help im scared", "its not worth living anymore",
    )),
    *(pytest.param(row(SPANISH, text, care(resources=LOCAL), effects=(CrisisNoted((2,)),)), id=text) for text in (
        "ayudenme porfavor no se que hacer", "ayúdenme por favor, no sé qué hacer", "no se que hacer ayuda",
        "ayudame x favor tengo mucho miedo", "ya no vale la pena seguir", "no vale la pena vivir",
        "no tiene caso seguir viviendo", "la vida ya no vale la pena",
    )),
    *(pytest.param(row(MEMBER, text, says("fallback")), id=text) for text in (
        "can someone help me move saturday", "pls help me with the form", "someone pls help me find the potluck address",
    )),
    *(pytest.param(row(SPANISH, text, says("fallback")), id=text) for text in (
        "no vale la pena ir", "no vale la pena seguir esperando el bus", "ayudenme a mover la mesa",
        "no se que hacer de cenar", "no tiene caso seguir discutiendo",
    )),
    # ...and hard news or a reassurance that says the member is worn out: the kind word, never the crisis reply.
    *(pytest.param(row(MEMBER, text, says("hard_news")), id=text) for text in (
        "my grandma passed on sunday, kinda numb", "my dad passed away", "lost my grandpa last week",
        "not suicidal just tired lol",
    )),
    *(pytest.param(row(SPANISH, text, says("hard_news")), id=text) for text in (
        "mi abuela fallecio el domingo", "no me quiero morir, solo estoy cansada",
    )),
    *(pytest.param(row(MEMBER, text, says("fallback")), id=text) for text in ("i passed my exam", "passed on the offer")),
    # "call me" is CALL; "call me at 2" is not (it says when, and nobody is told).
    pytest.param(row(MEMBER, "call me", effects=(CallRequested((1,)),)), id="call-me"),
    pytest.param(row(MEMBER, "can someone call me pls", effects=(CallRequested((1,)),)), id="can-someone-call-me"),
    pytest.param(row(SPANISH, "me pueden llamar por favor", effects=(CallRequested((2,)),)), id="me-pueden-llamar"),
    pytest.param(row(MEMBER, "call me at 2", says("fallback")), id="call-me-at-2-is-not-call"),
    # "i need someone to talk to": CALL is offered; nobody is told until the member replies CALL.
    pytest.param(row(MEMBER, "i need someone to talk to", says("talk.offer", keywords="DMMA")), id="need-someone"),
    pytest.param(row(MEMBER, "I just need to talk to someone", says("talk.offer", keywords="DMMA")),
                 id="need-to-talk-to-someone"),
    pytest.param(row(SPANISH, "necesito hablar con alguien", says("talk.offer", keywords="COMIDA")),
                 id="necesito-hablar-con-alguien"),
    # A member of two groups hears them as a sentence says them (as the which-group question does).
    pytest.param(row(context("DMMA", "COMIDA", language="en"), "i need someone to talk to",
                     says("talk.offer", keywords="DMMA and COMIDA")), id="two-groups-joined-with-and"),
    pytest.param(row(context("DMMA", "COMIDA", language="es"), "necesito hablar con alguien",
                     says("talk.offer", keywords="DMMA y COMIDA")), id="two-groups-joined-with-y"),
    pytest.param(row(STRANGER, "i need someone to talk to", says("crisis.reply.stranger", resources=PEER)),
                 id="a-stranger-who-needs-someone-hears-resources"),
    pytest.param(row(MEMBER, "i need to talk to rosa about the gathering", says("fallback")),
                 id="talking-to-a-coordinator-is-not-a-request-for-care"),
]


@pytest.mark.parametrize("r", ROWS)
def test_crisis(r: Row) -> None:
    check(r)
