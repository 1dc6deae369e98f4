"""What of a member's "how" is kept: only how and when to be reached, never the story around it.

A "how" is shown to whoever is asked to support the member (the offer, the check-in reminder) and
in STATUS, so it must say how to reach them ("text me", "call after 6", "por mensaje", "evenings")
and nothing else: a story, a feeling or a reason ("been really low since the miscarriage", "my ex is
stalking me again", "ando muy mal por el divorcio") is never kept nor shown to anyone.

Read clause by clause (a clause ends at a full stop, comma, "!", "?", ";" or a dash between spaces):
a clause is kept from its start for as long as its words are words of reaching someone (``_REACH``,
``_ALSO``, numbers and times), and only when it names a way or a time to be reached (``_REACH``).
The first other word ends it. When in doubt, it is dropped: a missing "how" costs a question; a
story passed on costs a member's trust. Thanks and fillers alone ("thx", "porfa", "lol", 🙏) are no
"how" either.
"""

from __future__ import annotations

import re

from carebot.flows.words import fold

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
    "best better easiest easier preferred prefer preferably ok okay fine good works work for to at in on by via "
    "x or and y o no not dont don't do never than the a an if pick up answer leave out after before around "
    "between till until til from b4 bfr aft time times hours hr any anyone every each also too it that works "
    "partner partner's partners mom's cell number landline home office break free feel reach back "
    "mejor solo solamente nomas por de del la las el los en al a que q sin con mi numero cel celular casa "
    "despues dsp antes entre hasta desde trabajo prefiero preferible preferiblemente hora horas cada todo "
    "toda todos todas dia dias semana fin fines o tambien siempre nunca ok"
).split())
# Words a kept piece does not end on: "call me im" is "call me", "text only, if" is "text only".
_DANGLING = frozenset((
    "i im i'm my u you your and or but y o pero if the a an to at in on of by is are r be for than from "
    "not no dont don't do mi el la los las de del que q en con por x sin al a it that also tambien"
).split())
# Thanks, laughter and fillers that are never a "how" on their own ("1 thx", "1 porfa", "4 lol").
FILLER_ONLY = frozenset((
    "pls please plz porfa porfis xfa por favor thanks thank thx thnx ty tysm tyvm u you gracias grax lol lmao "
    "haha hahaha jaja jajaja jeje ok okay k kk xo xoxo love besos abrazos bendiciones yay nice cool"
).split())

_CLAUSE_END = re.compile(r"\s[-–—]+\s|[.,;:!?¿¡](?=\s|$)")
# A number is a time (or a phone number) after these: "after 6", "a las 6", "al 515-555-0177"; "or 4" is none.
_AT_TIME = frozenset("after before around at between and b4 bfr aft till until til from by despues dsp antes entre "
                     "las al desde hasta a".split())
_WEEKEND = re.compile(r"\bfin(es)? de semana\b")
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


def _kept(said: str, start: int, end: int) -> tuple[int, int] | None:
    """The part of one clause that says how to be reached, from its start, or None."""
    words = [(fold(m.group()), m.start() + start, m.end() + start) for m in _TOKEN.finditer(said[start:end])]
    taken: list[tuple[str, int, int]] = []
    for word, begins, ends in words:
        after_number = bool(taken) and bool(_HAS_DIGIT.search(taken[-1][0]))
        if word and word not in _REACH and word not in _ALSO and not _HAS_DIGIT.search(word) and not (
                after_number and word in _CLOCK):
            break  # "call me im ...", "text me, been ...": the story starts here
        taken.append((word, begins, ends))
    while taken and (not taken[-1][0] or taken[-1][0] in _DANGLING):
        taken.pop()  # "call me im ...": the piece ends on what it says, not on a word that leads on
    said_words = [word for word, _, _ in taken]
    if not any(word in _REACH or (_HAS_DIGIT.search(word) and at and said_words[at - 1] in _AT_TIME)
               for at, word in enumerate(said_words)) and not _WEEKEND.search(" ".join(said_words)):
        return None  # "pls", "thx", "my", "6" alone: nothing that says how to be reached
    return taken[0][1], taken[-1][2]


def only_how(said: str | None, most: int = 140) -> str | None:
    """Only the clauses of ``said`` that say how or when to be reached, as the member wrote them; None if
    there are none ("text me, been really low" -> "text me"; "thx" -> None; "my ex is stalking me again,
    text only" -> "text only")."""
    if not said or not said.strip():
        return None
    kept: list[tuple[int, int]] = []
    whole_before = False
    for start, end in _pieces(said):
        piece = _kept(said, start, end)
        if piece is None:
            whole_before = False
            continue
        if kept and whole_before:
            kept[-1] = (kept[-1][0], piece[1])  # "solo mensajes, sin llamadas": said as written
        else:
            kept.append(piece)
        whole_before = piece[1] == len(said[:end].rstrip())
    text = ", ".join(said[a:b].strip() for a, b in kept)
    return text[:most].strip() or None


def only_filler(said: str | None) -> bool:
    """True when ``said`` is only thanks, laughter, "pls" or emoji ("thx", "porfa", "lol 🙏"): no "how"."""
    words = [fold(w) for w in (said or "").split()]
    return all(not w or w in FILLER_ONLY for w in words)


def opens_how(said: str | None) -> bool:
    """True when ``said`` opens by saying how to be reached, a "pls" or "thx" aside ("pls, text is best",
    "porfa, llamenme despues de las 6"); "kids sick", "been a rough week" do not."""
    for start, end in _pieces(said or ""):
        if only_filler(said[start:end] if said else ""):
            continue
        return said is not None and _kept(said, start, end) is not None
    return False
