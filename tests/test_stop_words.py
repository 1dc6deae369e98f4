"""STOP is honoured however it is written: lookalike letters, the FCC's 2024 revocation words,
Spanish; and no other word is ever turned into STOP, nor anything into YES, by a guess."""

from __future__ import annotations

import pytest

from carebot.flows.understanding import corrected_word
from carebot.flows.words import asks_how_to_leave, is_stop, is_whole_stop, read, stop_word
from tests.helpers import SETUP, run, snapshot, texts_to


@pytest.mark.parametrize("text", [
    "ЅТОР",             # Cyrillic capitals
    "ѕтор",             # Cyrillic small letters
    "SΤΟΡ",             # Greek capitals among Latin
    "ꜱᴛᴏᴘ",             # small capitals
    "ＳＴＯＰ",          # fullwidth
    "𝐒𝐓𝐎𝐏",             # mathematical bold
    "STOP\u200b",       # a zero-width space after it
    "ᴜɴꜱᴜʙꜱᴄʀɪʙᴇ",      # small capitals, a longer word
    "саnсеlаr",         # Spanish, Cyrillic a/c/e mixed in
])
def test_lookalike_letters_are_read_as_stop(text: str) -> None:
    assert is_stop(read(text).words)


# The words the FCC's 2024 rules name (stop, quit, end, revoke, opt out, cancel,
# unsubscribe) as people type them, and their Spanish equivalents.
@pytest.mark.parametrize("text", [
    "STOP", "stop.", "Stop please", "quit", "END", "revoke", "REVOKE", "opt out", "OPT OUT", "opt-out",
    "Opt-Out", "optout", "opt me out", "cancel", "unsubscribe", "stop all", "stop texting me",
    "parar", "PARA", "cancelar", "detener", "baja", "darme de baja", "Dame de baja por favor", "alto",
    "desuscribir", "revocar", "take me off this list", "no me manden mas mensajes",
])
def test_regulators_words_in_english_and_spanish_are_stop(text: str) -> None:
    assert is_stop(read(text).words)


@pytest.mark.parametrize("text", [
    "stpo", "sotp", "shop", "step", "stopwatch", "top", "st0p", "I can't stop crying", "end of story",
    "cancel my shift tomorrow", "para mi 1", "optimal", "spot", "post", "pots", "quilt", "quiet",
    "terminar",  # DONE in Spanish: ends a pairing, not everything
])
def test_other_words_never_become_stop(text: str) -> None:
    assert not is_stop(read(text).words)


@pytest.mark.parametrize("word", ["stpo", "sotp", "stip", "stopp", "quitt", "ned", "yse", "yess", "sii",
                                  "strat", "statr", "nop", "eys"])
def test_typos_are_never_guessed_into_stop_start_yes_or_no(word: str) -> None:
    assert corrected_word(word) is None


@pytest.mark.parametrize("word, meant", [("stauts", "status"), ("hepl", "help"), ("statsu", "status"),
                                         ("ayduda", "ayuda"), ("rostr", "roster"), ("paris", "pairs")])
def test_safe_command_words_forgive_one_typo(word: str, meant: str) -> None:
    assert corrected_word(word) == meant


def test_the_wording_recorded_is_the_stop_word_it_was_read_as() -> None:
    assert stop_word(read("ЅТОР").words) == "stop"
    assert stop_word(read("Opt-Out").words) == "optout"


@pytest.mark.parametrize("text", ["ЅТОР", "opt out", "Darme de baja", "REVOKE"])
def test_a_lookalike_or_regulators_stop_ends_everything_end_to_end(sim, text: str) -> None:
    run(sim, *SETUP, "+15155550101 > 1 2w", f"+15155550101 > {text}")
    assert snapshot(sim, "+15155550101")[0] is True  # opted out
    assert "unsubscribed" in texts_to(sim, "+15155550101")[-1] or "baja" in texts_to(sim, "+15155550101")[-1]
    before = len(texts_to(sim, "+15155550101"))
    # STATUS after STOP is answered once, saying they stopped (outside4: "what the bot holds for me"),
    # and nothing else comes in the fifteen days after: no round, no check-in.
    run(sim, "+15155550101 > status")
    assert len(texts_to(sim, "+15155550101")) == before + 1 and "START" in texts_to(sim, "+15155550101")[-1]
    run(sim, "wait 15d")
    assert len(texts_to(sim, "+15155550101")) == before + 1


# Everyday ways to ask for no more texts (outside tester, finding 6): each stops everything.
@pytest.mark.parametrize("text", [
    "no more texts", "No more texts please", "no more messages", "no more msgs thanks", "dont text me",
    "don’t text me anymore", "do not contact me", "quit texting me", "i dont want any more texts",
    "no quiero mas mensajes", "No quiero más mensajes", "ya no quiero mensajes", "dejen de escribirme",
    "Dejen de escribirme por favor", "deja de mandarme mensajes", "ya no me escriban", "no me escriban más",
    "ya no me manden mensajes", "no me envien mas", "no mas mensajes",
    # outside3's findings: whole requests to stop, in everyday words
    "ya no quiero que me escriban", "por favor ya no me manden nada", "quiero salirme", "please take me off",
    "i want to unsubscribe", "me quiero salir de la lista", "i'd like to opt out", "take me off the list",
    "no quiero que me manden mas mensajes", "quiero darme de baja",
    # outside4's findings
    "can you stop texting me", "delete me from the list", "cancel my subscription", "i want to leave the group",
    "can u stop", "i want out", "leave group", "no más", "no mas por favor", "ya no quiero recibir nada",
    "no quiero estar en esta lista", "could you please stop", "leave the group", "i want to leave",
    "quiero salir del grupo", "borrenme de la lista por favor",
])
def test_everyday_requests_for_no_more_texts_are_stop(text: str) -> None:
    assert is_stop(read(text).words)


@pytest.mark.parametrize("text", [
    "no more texts after 9pm", "no more texts about the gathering pls, i got it", "dont text me before 9",
    "no puedo esta semana", "dejen de preocuparse", "no me escriban antes de las 9",
    # near the outside3 phrases, about something else
    "i want to stop smoking", "quiero salir a caminar", "quiero salir", "take me off the schedule tuesday",
    "no me manden nada antes de las 9", "i want to unsubscribe from the newsletter at work",
    "no quiero que me escriban antes de las 9", "i want to end it",
    # near the outside4 phrases, about something else
    "can you stop by tomorrow", "can u stop at the store", "dont stop texting me", "i want out of this heat",
    "i want to leave early today", "leave group chat with sam?", "no mas de dos dias", "no mas tarde que las 5",
    "cancel my dentist appointment", "delete me from the photo lol", "no quiero estar sola hoy",
    "no quiero estar en la reunion", "i want to leave my job",
])
def test_wishes_about_texts_are_not_stop(text: str) -> None:
    assert not is_stop(read(text).words)


# While a care-map question waits for the member's own words, only a text that wholly asks to stop
# is STOP (words.is_whole_stop); a sentence that starts with a STOP word is the answer.
@pytest.mark.parametrize("text", [
    "STOP", "stop!", "Stop.", "stop please", "stop stop", "end", "para", "PARAR", "cancel", "unsubscribe",
    "stop texting me", "stop texting me pls", "no more texts", "dejen de escribirme", "opt out", "ЅТОР",
    "darme de baja", "quit", "alto", "stop it", "just stop", "STOP ALREADY",
])
def test_a_text_that_only_asks_to_stop_is_whole_stop(text: str) -> None:
    assert is_whole_stop(read(text).words)


@pytest.mark.parametrize("text", [
    "stop asking me if im ok", "stop asking if im ok", "end of the day calls help", "para mi el te ayuda",
    "parar y respirar", "alto volumen no", "stop telling me to calm down", "quit smoking talk",
    "cancel plans on me last minute", "stop texting me so much and just come over",
])
def test_a_sentence_that_starts_with_a_stop_word_is_not_whole_stop(text: str) -> None:
    assert not is_whole_stop(read(text).words)


# outside5's findings: a soft STOP word before a request to stop, "all of it", "no quiero participar".
@pytest.mark.parametrize("text", [
    "basta, no me escriban mas", "basta no me escriban más", "Basta. Dejen de escribirme", "para, no me escriban",
    "cancelar todo", "Cancelar todo por favor", "cancel everything", "quit all",
    "ya no quiero participar", "no quiero participar mas", "i dont want to participate anymore",
    "i don’t want to be part of this anymore", "stop by", "stop in",
])
def test_outside5_requests_to_stop_are_stop(text: str) -> None:
    assert is_stop(read(text).words)


@pytest.mark.parametrize("text", [
    "stop by anytime, im a 5", "stop by anytime", "stop in whenever you like", "stop over later if you want 4",
    "para mi esta semana un 5", "cancelar todo el viernes", "cancel everything on friday?", "basta de lluvia",
    "no quiero participar en la reunion", "i dont want to participate in the potluck",
])
def test_outside5_sentences_near_them_are_not_stop(text: str) -> None:
    assert not is_stop(read(text).words)


@pytest.mark.parametrize("text, expected", [
    ("remove me from this", True), ("remove me", True), ("leave me alone", True), ("Leave me alone please", True),
    ("dejenme en paz", True), ("🛑", True), ("🛑🛑", True), ("leave me alone with the dog tonight", False),
    ("remove me from this photo", False), ("🛑 4", False), ("👍", False),
])
def test_asking_to_leave_without_saying_stop_gets_how_to_leave(text: str, expected: bool) -> None:
    assert asks_how_to_leave(read(text)) is expected
    assert not is_stop(read(text).words)
