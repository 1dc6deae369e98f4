"""What of a member's "how" is kept: only how and when to be reached, never the story around it.

A "how" is shown to whoever is asked to support the member (the offer, the check-in reminder) and
in STATUS, so it must say how to reach them ("text me", "call after 6", "por mensaje", "evenings")
and nothing else: a story, a feeling or a reason ("been really low since the miscarriage", "my ex is
stalking me again", "ando muy mal por el divorcio") is never kept nor shown to anyone.

Read clause by clause (a clause ends at a full stop, comma, "!", "?", ";" or a dash between spaces):
what is kept is each run of words of reaching someone (``_REACH``, ``_ALSO``, numbers and times) that
names a way or a time to be reached (``_REACH``); any other word ends a run, and a reason ("since",
"porque") ends what its clause may give. So no word of a story can ride in a "how". When in doubt, it
is dropped: a missing "how" costs a question; a story passed on costs a member's trust. Thanks and
fillers alone ("thx", "porfa", "lol", 🙏) are no "how" either.
"""

from __future__ import annotations

import re
import unicodedata

from carebot.flows.words import PLEASE, THANK_YOU, fold

# Ways and times to be reached: a clause that keeps none of these says no "how".
_REACH = frozenset((
    # ways, English
    "text texts txt txts texting textme call calls calling ring phone phones voicemail vm voice note notes "
    "audio audios message messages msg msgs messaging dm dms whatsapp whats wa signal telegram email "
    "emails mail facetime video videocall zoom visit visits hang hangout meet knock door ping messenger "
    "instagram ig insta discord sms "
    # ways, Spanish
    "llamame llamenme llamen llame llamar llamada llamadas llamado marcame marquenme marquen marcar "
    "escribeme escribanme escriban escriba escribir mandame mandenme manden mande mensaje mensajes "
    "mensajito mensajitos msj msjs mjs texto textos whatsaap wasap guasap correo visita visitas visitenme "
    "visitar videollamada "
    # times, English
    "morning mornings evening evenings afternoon afternoons night nights tonight today tomorrow tmrw tmr "
    "weekend weekends weekday weekdays weeknight weeknights noon midday lunch anytime whenever daytime "
    "monday mondays tuesday tuesdays wednesday wednesdays thursday thursdays friday fridays saturday "
    "saturdays sunday sundays mon tue tues wed thu thurs fri sat sun "
    # times, Spanish
    "manana mananas tarde tardes noche noches mediodia finde findes lunes martes miercoles jueves viernes "
    "sabado sabados domingo domingos hoy cualquier"
).split())
# Words that may stand in a "how" with the words above ("pls call dont text", "text is better than
# calling", "leave a voicemail if i dont pick up", "mejor por signal despues de las 5"), none of which
# says how on its own.
_ALSO = frozenset((
    "me i my u you ur your can could pls please plz porfa porfis xfa only just first then is are r be "
    "i'd id rather instead "  # "i'd rather you call", "call me instead" (outside9)
    "best better easiest easier preferred prefer preferably ok okay fine good works work for to at in on by via "
    "x or and y o no not dont don't do never than the a an if pick up answer leave out after before around "
    "between till until til from b4 bfr aft time times hours hr any anyone every each also too it that "
    "partner partner's partners mom's cell number landline home office break free feel reach back "
    "mejor solo solamente nomas por de del la las el los en al que q sin con mi numero cel celular casa "
    "despues dsp antes entre hasta trabajo prefiero preferible preferiblemente hora horas cada todo "
    "toda todos todas dia dias semana fin fines tambien siempre nunca"
).split())
# Words a kept piece does not end on: "call me im" is "call me", "text only, if" is "text only".
_DANGLING = frozenset((
    "i im i'm my u you your and or but y o pero if the a an to at in on of by is are r be for than from "
    "not no dont don't do mi el la los las de del que q en con por x sin al it that also tambien feel"
).split())
# Thanks, laughter and fillers that are never a "how" on their own ("1 thx", "1 porfa", "4 lol").
_FILLER_ONLY = PLEASE | THANK_YOU | frozenset((
    "u lol lmao haha hahaha jaja jajaja jeje ok okay k kk xo xoxo love besos abrazos bendiciones yay nice cool"
).split())

_CLAUSE_END = re.compile(r"\s[-–—]+\s|[.,;:!?¿¡](?=\s|$)")
# A number is a time (or a phone number) after these: "after 6", "a las 6", "al 515-555-0177"; "or 4" is none.
_AT_TIME = frozenset("after before around at between and b4 bfr aft till until til from by despues dsp antes entre "
                     "las al desde hasta a".split())
_WEEKEND = re.compile(r"\bfin(es)? de semana\b")
_LEADING = frozenset("and or but y o pero is are r that it to".split())
# A reason opens here: nothing after it in its clause is kept ("text me since i'm low", "desde el lunes").
_REASON = frozenset("since because cuz bc cause coz desde porque pq xq".split())
_WORDS_BETWEEN = re.compile(r"\w")
_CLOCK = frozenset("am pm hs hrs".split())  # "after 6 pm": only after a number
_TOKEN = re.compile(r"\S+")
_HAS_DIGIT = re.compile(r"\d")


def _pieces(said: str) -> list[tuple[int, int]]:
    """(start, end) of each clause in ``said``."""
    spans, at = [], 0
    for end in _CLAUSE_END.finditer(said):
        spans.append((at, end.start()))
        at = end.end()
    spans.append((at, len(said)))
    return spans


def _is_how_word(word: str, before: str | None) -> bool:
    return bool(word in _REACH or word in _ALSO or _HAS_DIGIT.search(word) or (
        before is not None and _HAS_DIGIT.search(before) and word in _CLOCK))


def _says_how(words: list[str]) -> bool:
    """True when ``words`` name a way or a time to be reached, not only "pls", "my" or a bare "6"."""
    return any(word in _REACH or (_HAS_DIGIT.search(word) and at and words[at - 1] in _AT_TIME)
               for at, word in enumerate(words)) or bool(_WEEKEND.search(" ".join(words)))


def _runs(said: str, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) of each run of words in one clause that says how to be reached ("sad week text me pls":
    "text me pls"). Only words of reaching someone are in a run, so no story can ride in one."""
    tokens = [(fold(m.group()), m.group(), m.start() + start, m.end() + start)
              for m in _TOKEN.finditer(said[start:end])]
    runs: list[list[tuple[str, str, int, int]]] = [[]]
    for token in tokens:
        word, written = token[0], token[1]
        if word in _REASON:
            break
        before = runs[-1][-1][0] if runs[-1] else None
        if _is_how_word(word, before) or (not word and any(unicodedata.category(ch) == "So" for ch in written)):
            runs[-1].append(token)  # an emoji ("text after 6pm 🌙") stays as written
        elif word or runs[-1]:
            runs.append([])  # "call me im ...", "been really low ...": the story is not kept
    kept = []
    for run in runs:
        while run and run[0][0] in _LEADING:
            run.pop(0)  # "... and text me": the run opens on what it says
        while run and ((not run[-1][0] and not any(unicodedata.category(ch) == "So" for ch in run[-1][1]))
                       or run[-1][0] in _DANGLING):
            run.pop()  # "call me at", "text only, if": the run ends on what it says, not on a word that leads on
        if run and _says_how([t[0] for t in run if t[0]]):
            kept.append((run[0][2], run[-1][3]))
    return kept


def only_how(said: str | None, most: int = 140) -> str | None:
    """Only what in ``said`` says how or when to be reached, as the member wrote it; None if nothing does
    ("text me, been really low" -> "text me"; "thx" -> None; "my ex is stalking me again, text only" ->
    "text only"; "solo mensajes, sin llamadas" stays whole)."""
    if not said or not said.strip():
        return None
    kept: list[tuple[int, int]] = []
    for start, end in _pieces(said):
        for piece in _runs(said, start, end):
            if kept and not _WORDS_BETWEEN.search(said[kept[-1][1]:piece[0]]):
                kept[-1] = (kept[-1][0], piece[1])  # only a comma between: said as written
            else:
                kept.append(piece)
    text = ", ".join(said[a:b].strip() for a, b in kept)
    return text[:most].strip() or None


def shown_how(kept: str | None) -> str | None:
    """A kept "how" as it may be shown to anyone: cut again, as a row kept before this rule (outside7) may
    still hold a story. The one place a "how" coming out is cut (``goaround.summarize``, ``people.how_of``);
    going in, it is cut once (``goaround.kept_answers``, HOW)."""
    return only_how(kept)


def only_filler(said: str | None) -> bool:
    """True when ``said`` is only thanks, laughter, "pls" or emoji ("thx", "porfa", "lol 🙏"): no "how"."""
    words = [fold(w) for w in (said or "").split()]
    return all(not w or w in _FILLER_ONLY for w in words)


def opens_how(said: str | None) -> bool:
    """True when ``said`` opens by saying how to be reached, a "pls" or "thx" aside ("pls, text is best",
    "porfa, llamenme despues de las 6"); "kids sick", "been a rough week" do not."""
    for start, end in _pieces(said or ""):
        if said is None or only_filler(said[start:end]):
            continue
        runs = _runs(said, start, end)
        return bool(runs) and not said[start:runs[0][0]].strip()
    return False
