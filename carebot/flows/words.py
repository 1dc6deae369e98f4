"""What members type, cleaned and recognized: the vocabulary in English and Spanish.

Case, surrounding spaces, punctuation and accents do not matter for commands;
the free text a member writes (their "how") keeps its own characters.

STOP, and when a text is one. Everywhere, a text is STOP when it opens with a strong STOP word
("stop", "unsubscribe", "parar", "stop texting me about this"), is a written-out request to stop
("take me off this list", "no more texts", "dejen de escribirme", "ya no me escriban"), or is a
softer STOP word alone ("end", "quit", "para", "cancel"): ``stop_word`` / ``is_stop``. One place
reads it more narrowly: while a care-map question waits for the member's own words, a text is
STOP only when the whole of it asks to stop (``is_whole_stop``): a STOP word alone, or several
("stop stop"), or a request to stop and nothing more ("stop texting me", "no more texts",
"dejen de escribirme"), with courtesies and "please"/"anymore" around it. A sentence that goes
on to say something else ("stop asking me if im ok", "parar y respirar") is the map's answer.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import confusables
from anyascii import anyascii

MAX_TEXT = 1000  # longer texts are read up to here; nothing a member needs is longer

# Invisible characters that change nothing a member meant: bidi marks, zero-width
# joiners, variation selectors and the keycap that turns "1" into an emoji.
_INVISIBLE = dict.fromkeys(
    [0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E,
     0x2066, 0x2067, 0x2068, 0x2069, 0x061C, 0xFEFF, 0xFE0E, 0xFE0F, 0x20E3]
)
_SPACES = re.compile(r"\s+")
_EDGE_PUNCT = re.compile(r"^[^\w@]+|[^\w]+$")


def clean(text: str) -> str:
    """The member's text with control and invisible characters removed, spaces folded."""
    text = text[: MAX_TEXT * 2].translate(_INVISIBLE)
    text = unicodedata.normalize("NFKC", text)
    text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    return _SPACES.sub(" ", text).strip()[:MAX_TEXT]


# Phones' typographic quotes and dashes, read as the plain ones people mean.
_TYPOGRAPHIC = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
})


def plain(text: str) -> str:
    """The one form every reader matches against: cleaned (NFKC, invisible characters gone,
    spaces collapsed), plain quotes and dashes, lower case, accents folded. Never stored or
    echoed: the member's own words are kept as written."""
    decomposed = unicodedata.normalize("NFKD", clean(text).translate(_TYPOGRAPHIC).casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold(word: str) -> str:
    """A word as commands compare it: lower case, accents gone, edge punctuation gone."""
    decomposed = unicodedata.normalize("NFKD", word.translate(_TYPOGRAPHIC).casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _EDGE_PUNCT.sub("", plain)


_WORD = re.compile(r"[^\s,;&]+")


@dataclass(frozen=True)
class Text:
    """A member's text, cleaned, with its folded words and where each one starts."""

    raw: str
    words: list[str]
    starts: list[int]

    def rest(self, index: int) -> str:
        """The member's own text from word ``index`` on, as they wrote it."""
        return self.raw[self.starts[index]:].strip() if index < len(self.words) else ""


def read(text: str) -> Text:
    """Clean ``text`` and split it into folded words (commas and ``&`` count as spaces)."""
    raw = clean(text)
    words, starts = [], []
    for match in _WORD.finditer(raw):
        folded = fold(match.group())
        if folded:
            words.append(folded)
            starts.append(match.start())
    return Text(raw, words, starts)


def _words(*groups: str) -> frozenset[str]:
    return frozenset(w for g in groups for w in g.split())


# STOP and its usual synonyms, with every word the FCC's 2024 revocation rules name
# (stop, quit, end, revoke, opt out, cancel, unsubscribe) and their Spanish equivalents.
# The strong ones stop whatever follows them ("stop texting me"); the softer ones only
# when they are the whole text ("end" could begin a sentence about anything).
STOP_STRONG = _words(
    "stop stopall unsubscribe optout parar alto baja desuscribir desuscribirme desuscribeme "
    "revoke revocar detener"
)
STOP_ALONE = _words(
    "cancel end quit cancelar salir basta para unsub revoco anular cancela detente parad"
)
# Several words that mean one ("opt out", "opt-out", "darme de baja"): read as one word.
STOP_PHRASES = {
    ("opt", "out"): "optout", ("opt-out",): "optout", ("opt", "me", "out"): "optout",
    ("darme", "de", "baja"): "baja", ("dame", "de", "baja"): "baja", ("de", "baja"): "baja",
    ("dar", "de", "baja"): "baja", ("dadme", "de", "baja"): "baja", ("stop", "all"): "stopall",
    ("un", "subscribe"): "unsubscribe", ("no", "mas", "mensajes"): "parar",
    # outside5's: "cancelar todo", "cancel everything": the soft word, and "all of it".
    ("cancelar", "todo"): "cancelar", ("cancel", "everything"): "cancel", ("cancel", "all"): "cancel",
    ("cancela", "todo"): "cancelar", ("quit", "everything"): "quit", ("quit", "all"): "quit",
}
# "stop by anytime, im a 5", "stop in whenever", "stop over later": an invitation to visit, the one
# everyday phrase a strong STOP word opens that is not a request; only with more words after it
# ("stop by" alone, or "stop in", still stops: when in doubt, STOP wins).
_VISIT = _words("by in over")
# The one list of each: "please", thanks and apologies as members write them. Every reader that sets
# them aside builds on these (with its own extras, named for what they add), so a spelling known in one
# place is known in all.
PLEASE = _words("please pls plz porfa porfis xfa por favor")
THANKS = _words("thanks thank thx thnx ty tysm tyvm gracias grcs grax")
THANK_YOU = THANKS | _words("you")  # where "you" can only be the one of "thank you" ("no thank you")
APOLOGY = _words("sorry sry srry soz perdon perdona perdoname disculpa disculpe disculpen disculpas lo siento "
                 "oops ups ugh oh ah omg apologies")
FILLER = PLEASE | _words("now ya")
START = _words("start unstop resume subscribe comenzar iniciar empezar alta reanudar")
HELP = _words("help info ayuda informacion")
YES = _words("yes y yeah yep yup ok okay sure si claro dale vale")
NO = _words("no n nope nah")
STATUS = _words("status estado")
MYDATA = _words("mydata misdatos")
FORGET = _words("forget olvidar olvidame borrar borrame")
LANG = _words("lang language idioma lengua")
JOIN = _words("join unirme unir unirse entrar")
HOW = _words("how como")
NAME = _words("name nombre")
NONE = _words("0 none nothing nada ninguno ninguna")
LATER = _words("later luego despues")
DONE = _words("done terminar termine fin")
# "listo José": DONE only with the name of someone the member is paired with ("listo" alone is "ok").
DONE_NAMED = _words("listo lista liste")
NOT_WITH = _words("not evitar")
EVERY = _words("every cada")
# How often, in one word (after accents are folded): "weekly", "a diario". Not "biweekly", which
# means every two weeks to some and twice a week to others.
CADENCE_DAYS = {"daily": 1, "diario": 1, "diariamente": 1, "weekly": 7, "semanal": 7, "semanalmente": 7,
                "fortnightly": 14, "quincenal": 14, "quincenalmente": 14}
HOURS = _words("hours horas")
ROUND = _words("round ronda")
MORE = _words("more mas")
PRIVATE = _words("private privado privada")
# "1 for now", "3 por ahora": how long is left open, which is the answer's default; never a "how".
FOR_NOW = (("for", "now"), ("right", "now"), ("just", "now"), ("for", "the", "moment"), ("rn",), ("currently",),
           ("por", "ahora"), ("x", "ahora"), ("ahorita",), ("por", "el", "momento"), ("de", "momento"))
CALL = _words("call llamar llamada llamame")
SHARE = _words("share shared public compartir compartido publico")
PULSE = _words("pulse pulso")
LOG = _words("log registro")
GATHER = _words("gather reunion")
COORD_WORDS = {
    "pairs": "pairs", "parejas": "pairs", "pair": "pair", "emparejar": "pair",
    "unpair": "unpair", "separar": "unpair", "roster": "roster", "lista": "roster",
    "add": "add", "agregar": "add", "anadir": "add", "invitar": "add",
    "remove": "remove", "quitar": "remove", "announce": "announce", "anunciar": "announce",
    "coord": "coord", "coordinar": "coord", "uncoord": "uncoord", "descoordinar": "uncoord",
}

LANGUAGE_NAMES = {
    "en": "en", "english": "en", "ingles": "en",
    "es": "es", "spanish": "es", "espanol": "es", "castellano": "es",
}
# Command words that only a Spanish speaker would use: a newcomer who uses one
# is answered in Spanish from the first reply.
SPANISH_WORDS = _words(
    "parar alto baja desuscribir cancelar salir basta detener comenzar iniciar empezar "
    "alta reanudar ayuda informacion si claro dale vale estado olvidar olvidame borrar "
    "borrame idioma lengua unirme unir entrar como nombre nada ninguno ninguna hola luego "
    "despues terminar termine evitar cada horas ronda mas pulso registro reunion parejas "
    "emparejar separar lista agregar anadir invitar quitar anunciar coordinar descoordinar "
    "privado privada compartir compartido publico llamar llamada llamame"
)


_STOP_WORDS = STOP_STRONG | STOP_ALONE
# Whole requests to stop, written out ("take me off this list", "no me manden mas mensajes").
_STOP_SENTENCE = re.compile(
    r"^(please |pls |plz )?(take me off|remove me from) (this|the|your|ur) (list|texts?|group)\b|"
    r"^(ya )?no (me )?(quiero recibir|manden|mandes|envien|envies|escriban|escribas) mas mensajes\b|"
    r"^(ya )?no quiero recibir (mas )?mensajes\b|^cancelar (la )?suscripcion$|^(please )?stop (texting|messaging) me\b|"
    # "no more texts", "dont text me anymore", "quit texting me": the whole text, so "no more texts
    # after 9pm" is not one (it is about hours).
    r"^no more (texts?|txts?|messages?|msgs?|sms|texting|messaging)"
    r"( (from|to) (you|u|this number|carebot|me))?( pls| please| plz)?$|"
    r"^(i )?(dont|do not|don't) (want|need) (any )?(more )?(texts?|messages?|msgs?)"
    r"( from (you|u|this number|carebot))?( anymore)?$|"
    r"^(dont|do not|don't|never) (text|message|msg|txt|contact|write) (me|to me)( again| anymore| ever again| no more)?$|"
    r"^(quit|end) (texting|messaging|contacting|writing) me\b|"
    # "no quiero mas mensajes", "ya no me escriban", "dejen de escribirme", "no me escriban mas"
    r"^(ya )?no (quiero|deseo|necesito) (recibir )?(mas )?(mensajes|textos|sms)( mas)?$|"
    r"^(ya )?no (me )?(escriban|escribas|escriba|manden|mandes|mande|envien|envies|envie|contacten)"
    r"( mas)?( mensajes| textos| nada)?( mas| nunca mas)?$|"
    # "ya no quiero que me escriban", "no quiero que me manden mas mensajes"
    r"^(ya )?no (quiero|deseo) que me (escriban|escribas|manden|mandes|envien|envies|contacten)"
    r"( mas)?( mensajes| textos| nada)?( mas| nunca mas)?$|"
    # "quiero salirme", "me quiero salir de la lista", "quiero darme de baja": the whole text only, so
    # "quiero salir a caminar" is not one.
    r"^(ya )?(quiero|deseo|me quiero) ((salirme|darme de baja|desuscribirme)( de (aqui|esto|la lista|este grupo|"
    r"el grupo|los mensajes|la lista de mensajes))?|salir de (aqui|esto|la lista|este grupo|el grupo|los mensajes|"
    r"la lista de mensajes))$|"
    # "i want to unsubscribe", "i'd like to opt out": not "i want to stop smoking" (that is about smoking).
    r"^(i |i'd |id |i would )?(want|wanna|like|need) to (unsubscribe|optout|opt out)( from (this|the|these|your|ur) "
    r"(list|texts?|messages?))?$|"
    # "please take me off", "take me off the list": the whole text, not "take me off the schedule tuesday".
    r"^take me off( (this|the|your|ur) (list|texts?|group|messages?))?$|"
    r"^(deja|dejen|dejar|dejad|deje|dejes) de (escribirme|mandarme|enviarme|contactarme|escribir|mandar|enviar)"
    r"( mensajes| textos)?( mas)?$|^no mas (textos|sms)$|"
    # "quitenme de la lista", "sacame de la lista", "borrenme de la lista": the Spanish "take me off this list".
    r"^(quitenme|quitame|quiteme|sacame|sacenme|saqueme|borrenme|borreme|borrame|eliminenme|eliminame|bajenme|bajame)"
    r" de (la|esta|su|tu|sus|tus|el|este) (lista|grupo|mensajes)( de (mensajes|textos|sms|difusion))?$|"
    # outside4's: "can you stop texting me", "can u stop", "could you (please) stop" (fillers are gone by
    # now); not "can you stop by tomorrow".
    r"^(can|could|would|will) (you|u|ya) (just )?stop( (texting|messaging|writing|contacting) me)?$|"
    # "delete me from the list", "cancel my subscription": not "delete me from the photo lol".
    r"^(delete|erase) me (from|off) (this|the|your|ur) (list|texts?|group|messages?)$|"
    r"^cancel (my|the) (subscription|texts?|messages?)$|"
    # "i want out", "i want to leave the group", "leave group": the whole text, not "i want to leave early".
    r"^(i |i'd |id |i would )?(want|wanna|like|need) (to leave|out)( (of )?(this|the|your|ur) (group|list|texts?))?$|"
    r"^leave (this |the )?group$|"
    # "no mas" alone (por favor, ya: fillers); not "no mas de dos dias".
    r"^no mas$|"
    # "ya no quiero recibir nada", "no quiero estar en esta lista", "quiero salir del grupo".
    r"^(ya )?no (quiero|deseo) recibir (mas )?(mensajes|textos|nada)( mas)?$|"
    r"^(ya )?no (quiero|deseo) (estar|seguir) en (esta|la|su|tu|este|el) (lista|grupo)( de (mensajes|textos))?$|"
    r"^(ya )?(quiero|deseo|me quiero) salir (del grupo|de la lista)$|"
    # outside5's: "ya no quiero participar", "i dont want to be part of this anymore": the whole text.
    r"^(ya )?no (quiero|deseo) (participar|seguir participando|ser parte de (esto|este grupo|la lista))( mas)?$|"
    r"^(i )?(dont|do not|don't) want to (participate|take part|be part of (this|the group|this group))( anymore)?$"
)
# Courtesies around a request to stop that do not make it a sentence of its own: "stop please",
# "no more texts thank you", "dejen de escribirme gracias".
_STOP_TAIL = frozenset({"anymore", "thanks", "thank", "you", "thx", "ty", "gracias", "ok", "okay", "plz", "x", "favor",
                        "xfa", "porfis", "plis", "it", "already", "ya"})


@lru_cache(maxsize=4096)
def _as_stop_word(word: str) -> str | None:
    """The STOP word ``word`` is, lookalike letters read through Unicode's confusables
    (Cyrillic "ѕтор", Greek "ΣΤΟΠ"-style mixes, small capitals "ꜱᴛᴏᴘ"); None if none.

    Only letters that look alike are mapped: no edit distance, so no other word can
    become STOP. Plain ASCII words are compared as they are.
    """
    if word in _STOP_WORDS:
        return word
    if word.isascii() or len(word) > 16:
        return None
    candidates = set(confusables.normalize(word, prioritize_alpha=True)[:16])
    candidates.add(anyascii(word).casefold())
    for candidate in candidates:
        folded = fold(candidate)
        if folded in _STOP_WORDS:
            return folded
    return None


def stop_word(words: list[str]) -> str | None:
    """The STOP word a text opens with, when the text asks carebot to stop writing."""
    meaningful = [w for w in words if w not in FILLER]
    if not meaningful:
        return None
    mapped = [_as_stop_word(w) or w for w in meaningful]
    for phrase, meaning in STOP_PHRASES.items():
        if tuple(mapped[: len(phrase)]) == phrase:
            mapped = [meaning, *mapped[len(phrase):]]
            break
    if mapped[0] in STOP_STRONG and not (mapped[0] == "stop" and len(mapped) > 2 and mapped[1] in _VISIT):
        return mapped[0]
    if _is_stop_sentence(mapped):
        return "stop"
    if mapped[0] in STOP_ALONE and (len(mapped) == 1 or _is_stop_sentence(mapped[1:])):
        return mapped[0]  # "basta", and "basta, no me escriban mas": a soft word before a request to stop
    return None


def _is_stop_sentence(mapped: list[str]) -> bool:
    return bool(_STOP_SENTENCE.match(" ".join(mapped)) or _STOP_SENTENCE.match(" ".join(_without_tail(mapped))))


# Asking to leave without quite saying STOP: "remove me", "remove me from this", "leave me alone", a lone
# 🛑. Answered with how to leave (STOP does that, for everyone), never taken as STOP itself: "leave me
# alone" may be said of anything, and a stop sign of a day. README's "remove me from the list" is STOP.
_LEAVE_HOW = frozenset({("remove", "me"), ("remove", "myself"), ("remove", "me", "from", "this"),
                        ("remove", "me", "from", "here"), ("leave", "me", "alone"), ("just", "leave", "me", "alone"),
                        ("sacame", "de", "aqui"), ("sacame", "de", "esto"), ("dejame", "en", "paz"),
                        ("dejenme", "en", "paz")})


def asks_how_to_leave(text: Text) -> bool:
    """True for "remove me", "remove me from this", "leave me alone", "dejenme en paz", or 🛑 alone."""
    words = tuple(_without_tail([w for w in text.words if w not in FILLER]))
    marks = {ch for ch in text.raw if not ch.isspace() and ch not in "!.\ufe0f"}
    return words in _LEAVE_HOW or (not text.words and marks == {"🛑"})


def is_stop(words: list[str]) -> bool:
    """True when the text asks carebot to stop writing."""
    return stop_word(words) is not None


def _without_tail(words: list[str]) -> list[str]:
    """``words`` without the courtesies that may close a request to stop ("... thanks", "... anymore")."""
    end = len(words)
    while end > 0 and words[end - 1] in _STOP_TAIL:
        end -= 1
    return words[:end]


def is_whole_stop(words: list[str]) -> bool:
    """True when the whole text asks to stop, nothing else: "STOP", "stop!", "end", "para",
    "stop texting me", "no more texts", "dejen de escribirme". "stop asking me if im ok" is not.
    The module's docstring says where this narrower reading applies."""
    meaningful = _without_tail([w for w in words if w not in FILLER])
    if meaningful[:1] == ["just"]:  # "just stop"
        meaningful = meaningful[1:]
    if not meaningful:
        return False
    mapped = [_as_stop_word(w) or w for w in meaningful]
    if all(w in _STOP_WORDS for w in mapped):
        return True
    if tuple(mapped) in STOP_PHRASES:
        return True
    return bool(_STOP_SENTENCE.fullmatch(" ".join(mapped)))


def is_one_of(words: list[str], vocabulary: frozenset[str]) -> bool:
    """True when the whole text, fillers aside, is one word of ``vocabulary``."""
    meaningful = [w for w in words if w not in FILLER]
    return len(meaningful) == 1 and meaningful[0] in vocabulary


def looks_spanish(words: list[str]) -> bool:
    """True when the text uses a command word only Spanish uses."""
    return any(w in SPANISH_WORDS for w in words)

# The care map (MAP / MAPA): MAP NEW redoes it, MAP OFF deletes it; SKIP passes a question by.
MAP = _words("map mapa")
MAP_NEW = _words("new nuevo nueva redo rehacer")
MAP_OFF = _words("off delete borrar eliminar quitar")
SKIP = _words("skip saltar salto paso omitir")
# Only a Spanish speaker writes these: a newcomer who does is answered in Spanish.
SPANISH_WORDS = SPANISH_WORDS | _words("mapa nuevo saltar borra borren borrenme olvidenme elimina eliminen")

# A keyword with a courtesy (outside8): "pulse pls", "status thanks", "LANG ES por favor", "done, thank u so much",
# "pls pulse" are the keyword alone (README: punctuation does not matter, a courtesy is accepted). Only keywords that
# take none of the member's own words, alone or with their one fixed word: HOW, NAME, ANNOUNCE, JOIN, GATHER with a
# date, DONE or EVERY with a name keep every word (a "thanks" there is the member's). YES and NO have readers of
# their own, stricter than this ("ok thanks" is no YES to an offer).
COURTESY_AFTER = PLEASE | THANK_YOU | _words("u so much muchas lot a plis")  # "thanks a lot", "thank u so much"
_KEYWORD_ALONE = STATUS | PULSE | LOG | HELP | MYDATA | FORGET | START | GATHER | MAP | ROUND | LATER | MORE | SKIP | DONE
_KEYWORD_WITH = {**dict.fromkeys(LANG, frozenset(LANGUAGE_NAMES)), **dict.fromkeys(MAP, MAP_NEW | MAP_OFF),
                 **dict.fromkeys(GATHER, YES | NO)}  # "LANG ES", "MAP NEW", "GATHER YES"


def as_keyword(text: Text, groups: frozenset[str] = frozenset()) -> Text | None:
    """``text`` without the courtesies around the keyword it is ("pulse pls": "pulse"; ``groups``: the words of the
    member's groups, which may open it, "dmma pulse gracias"); None when there are none, or it is no such keyword."""
    words = text.words
    start, end = 0, len(words)
    while start < end and words[start] in PLEASE:
        start += 1
    while end > start and words[end - 1] in COURTESY_AFTER:
        end -= 1
    kept = words[start + 1:end] if end - start > 1 and words[start] in groups else words[start:end]
    if (start, end) == (0, len(words)) or not (
            len(kept) == 1 and kept[0] in _KEYWORD_ALONE or len(kept) == 2 and kept[1] in _KEYWORD_WITH.get(kept[0], ())):
        return None
    first, after = text.starts[start], text.starts[end] if end < len(words) else len(text.raw)
    return Text(text.raw[first:after].rstrip(" ,;:.!"), words[start:end], [at - first for at in text.starts[start:end]])

# "Not right now" to a question carebot asked: LATER where the question takes LATER ("did you
# connect?"), otherwise NO (an offer passes to someone else; nothing is kept waiting on a maybe).
# With no question waiting it is a courtesy. Read after fillers and a soft "sorry"/"gracias".
NOT_NOW = frozenset({
    ("not", "now"), ("not", "rn"), ("not", "right", "now"), ("not", "yet"), ("not", "today"), ("not", "atm"),
    ("not", "at", "the", "moment"), ("not", "this", "time"), ("maybe", "later"), ("maybe", "another", "time"),
    ("another", "time"), ("ask", "me", "later"), ("later", "maybe"), ("not", "rn", "maybe", "later"),
    ("ahora", "no"), ("ahorita", "no"), ("orita", "no"), ("ahora", "mismo", "no"), ("todavia", "no"), ("aun", "no"),
    ("hoy", "no"), ("ahorita", "no", "puedo"), ("ahora", "no", "puedo"), ("tal", "vez", "luego"),
    ("tal", "vez", "despues"), ("quizas", "luego"), ("quizas", "despues"), ("mas", "tarde"), ("otro", "dia"),
    ("en", "otro", "momento"), ("otra", "vez", "sera"),
})
_NOT_NOW_SOFT = APOLOGY | THANK_YOU | PLEASE | _words("nope nah tbh honestly lol tho though")


def is_not_now(words: list[str]) -> bool:
    """True for "not rn", "ahorita no", "maybe later": not now, to whatever was asked."""
    return tuple(w for w in words if w not in _NOT_NOW_SOFT) in NOT_NOW


# Not yet, and when (outside8): "not yet, this weekend", "not yet but soon", "todavia no, este finde", and a plan to
# reach out, "gonna call her tmrw", "voy a llamarla mañana", "la llamo el sabado". To "did you connect?" that is
# LATER: they mean to. "no not yet" stays the NO README names (it opens with "no"), and a time that may be past
# ("this weekend", "saturday" alone: when they talked?) says nothing alone; only one that is ahead does ("tomorrow").
_WHEN = _words(
    "soon later tomorrow tmrw tmr tmrow tomoro tomorow tomm 2moro 2morrow tonight tonite today weekend wknd week "
    "next this coming on at in by after before the a couple few days day hours bit while morning afternoon evening "
    "night work lunch class back again asap hopefully prob probably maybe but and or i think will then too "
    "monday tuesday wednesday thursday friday saturday sunday mon tue tues wed weds thu thur thurs fri sat sun "
    "pronto luego despues manana hoy noche tarde rato ratito finde fin de semana este esta el la los proximo proxima "
    "que viene al en unos unas dias pero ojala creo igual seguro trabajo salir del tal vez quizas "
    "lunes martes miercoles jueves viernes sabado domingo")
_AHEAD = _words("soon later tomorrow tmrw tmr tmrow tomoro tomorow tomm 2moro 2morrow tonight tonite next pronto "
                "luego despues manana proximo proxima")
_CLOCK = re.compile(r"^\d{1,2}(:\d\d)?(am|pm|h|hrs)?$")
_PERSON = "her|him|them|em|each other|u|you|ella|el"
# A plan to reach out, as the opening of the text: English "(i/we) gonna / will / going to / plan to (try to) <call,
# text ...> <them>", "calling her sat"; Spanish "voy a llamarla", "la voy a llamar", "la llamo (mañana)". {names} is
# the people the member is paired with ("gonna call sam tmrw"). A present tense ("la llamo", "calling her") says a
# plan only with a time after it (``_PLAN_NEEDS_WHEN``).
_PLAN = (
    r"^(but |pero )?((i|we) )?(will|ill|well|gonna|wanna|am gonna|im gonna|are gonna|were gonna|going to|am going to|im going to|"
    r"are going to|were going to|plan to|planning to|hope to|hoping to|meaning to|about to|should)( try to| try and)? "
    r"(call|text|txt|msg|message|see|meet|meet up with|visit|reach out to|talk to|check in with|check in on|check on|"
    r"catch up with|hit up|ping|write|email|facetime|hang out with|get coffee with|grab coffee with)"
    r"( ({person}|{names}))?(?= |$)|"
    r"^(pero )?(la |lo |le |les )?(voy|vamos) a (llamar|escribir|ver|visitar|hablar|marcar|contactar|buscar|mandar mensaje)"
    r"(la|lo|le|les)?( (a|con) ({person}|{names}))?(?= |$)|"
    # "not yet but we will", "todavia no pero lo haremos": the promise alone, after its "but"
    r"^(but|pero) ((i|we) (will|plan to|are going to|are gonna|gonna)|ill|(lo|la) (haremos|vamos a hacer|voy a hacer)|"
    r"ya (lo|la) (haremos|vamos a hacer|voy a hacer))(?= |$)")
_PLAN_NEEDS_WHEN = (
    r"^(but )?((im|were|i am|we are) )?(calling|texting|seeing|meeting|visiting|talking to|catching up with|hanging out with)"
    r"( ({person}|{names}))?(?= |$)|"
    r"^(pero )?((la|lo|le|les) (llamo|escribo|veo|visito|marco|busco|hablo|contacto)|nos vemos|nos juntamos)(?= |$)")


# Words of a "when" that name no time of their own: "not yet but", "la llamo y".
_CONNECTIVE = _words("but and or i think will then too hopefully prob probably maybe pero ojala creo igual seguro tal vez "
                     "quizas que a the al en de del el la los this on at in by")
_NOT_NOW_LEADS = tuple(sorted(NOT_NOW, key=len, reverse=True))  # the longest first: "not right now" before "not"


@lru_cache(maxsize=256)
def _plans(names: tuple[str, ...]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    fill = {"person": _PERSON, "names": "|".join(map(re.escape, names)) or "(?!)"}
    return re.compile(_PLAN.format(**fill)), re.compile(_PLAN_NEEDS_WHEN.format(**fill))


def says_later(words: list[str], names: tuple[str, ...] = ()) -> bool:
    """Not yet, and when or how it will be: "not yet, this weekend", "todavia no, este finde", "gonna call her tmrw",
    "la llamo mañana", "tomorrow" (``names``: the people the member is paired with, as ``fold`` reads them)."""
    meaningful = [w.replace("'", "") for at, w in enumerate(words) if w not in FILLER and (
        w not in _NOT_NOW_SOFT or w == "lo" and words[at + 1:at + 2] != ["siento"])]  # "la llamo", not "lo siento"
    lead = _opens_with(meaningful, _NOT_NOW_LEADS)
    rest = " ".join(meaningful[lead:])
    plan, plan_needs_when = _plans(names)
    found = plan.match(rest) or plan_needs_when.match(rest)
    when = rest[found.end():].split() if found else meaningful[lead:]
    if not all(w in _WHEN or _CLOCK.match(w) for w in when):
        return False
    names_a_time = any(w not in _CONNECTIVE for w in when)
    if found:
        return found.re is plan or names_a_time  # "gonna call her", "la llamo el sabado"
    if lead:
        return names_a_time  # "not yet, this weekend"
    # Alone, only a time ahead: "tomorrow", "mañana" (not "esta mañana": this morning).
    return any(w in _AHEAD and not (w == "manana" and when[at - 1:at] in (["esta"], ["la"])) for at, w in enumerate(when))


def says_no(words: list[str]) -> bool:
    """NO to a question that takes only YES or NO: "no", "nope", and "not rn" or "ahorita no" too."""
    return is_one_of(words, NO) or is_not_now(words)


# Words that are never part of a person's name, so "NOT <them>" is not the NOT command:
# "not suicidal just tired", "not sure", "not going to hurt myself". NOT takes a name only.
NOT_A_NAME = _words(
    "just only tired exhausted sleepy suicidal sad depressed ok okay fine good bad well great alright sure really "
    "very so that this it its me myself you u i im yet now rn today tonight anymore any more going gonna to hurt "
    "harm kill die dying dead feeling feel sick crazy kidding joking serious seriously exactly much at all lol "
    "haha lmao again here there home sorry true for in on a an the doing being worried scared safe danger "
    "cansado cansada cansade solo sola nada bien mal seguro segura todavia aun ahora hoy muy tan eso esto yo "
    "estoy triste morir lo que de en la el"
)


# Short, plain prose people put before a go-around answer: "im good, 2", "hi! 1 and 5", "hola, 5 x2",
# "ok so 2 this week". Only these, and only when nothing but the answer follows them (no free text):
# "call me at 2", "I have 2 questions" and "hi 2 kids at home" are not answers.
LEAD_FILLERS = tuple(sorted({
    ("hi",), ("hey",), ("hello",), ("hiya",), ("heyy",), ("hii",), ("yo",), ("hi", "there"), ("hey", "there"),
    ("hi", "all"), ("hey", "all"), ("hey", "yall"), ("good", "morning"), ("morning",), ("gm",),
    ("ok",), ("okay",), ("k",), ("ok", "so"), ("okay", "so"), ("so",), ("well",), ("um",), ("umm",), ("hmm",),
    ("im", "good"), ("i'm", "good"), ("im", "ok"), ("i'm", "ok"), ("im", "fine"), ("i'm", "fine"),
    ("thanks",), ("thank", "you"), ("ty",), ("sure",), ("alright",), ("oh",),
    ("hola",), ("holaa",), ("buenas",), ("buenos", "dias"), ("buen", "dia"), ("buenas", "tardes"),
    ("buenas", "noches"), ("hola", "a", "todos"), ("hola", "hola"), ("bueno",), ("pues",), ("oye",), ("este",),
    ("estoy", "bien"), ("bien",), ("gracias",), ("ok", "pues"), ("va",), ("mmm",),
    ("yeah",), ("yes",), ("yep",), ("yup",), ("si",), ("vale",), ("dale",), ("claro",), ("ya",), ("yea",),
    # outside5's corrections: "sorry i meant 5", "no wait 3", "cancel that, i meant 2", "perdon, quise decir 4"
    # (a new answer replaces the one before, so the correction is simply the answer)
    ("sorry", "i", "meant"), ("i", "meant"), ("oops", "i", "meant"), ("no", "wait"), ("wait",), ("oops",),
    ("sorry", "wait"), ("cancel", "that", "i", "meant"), ("scratch", "that"), ("actually",), ("no", "actually"),
    ("sorry", "actually"), ("sorry", "i", "mean"), ("i", "mean"), ("make", "that"), ("make", "it"),
    ("perdon", "quise", "decir"), ("quise", "decir"), ("no", "espera"), ("espera",), ("perdon",),
    ("mejor",), ("no", "mejor"), ("corrijo",), ("me", "equivoque"), ("perdon", "me", "equivoque"),
    # outside8's "ugh no wait i meant 3": a sigh before the correction ("argh", "ay no perdon quise decir 4")
    ("ugh",), ("ugh", "no"), ("argh",), ("ay",), ("ay", "no"), ("uy",), ("oh", "no"), ("wait", "no"), ("oops", "no"),
}, key=len, reverse=True))  # the longest first: "ok so" before "ok"
# Lead words that say "here is my answer" ("ok so 1 ...", "yeah 2", "um yeah so 1 ..."), unlike a greeting:
# after one, the answer may go on with how to be reached, when that is what follows ("text me after work").
ASSENT_LEADS = _words("ok okay k so ya yea yeah yes yep yup sure alright well um umm si vale dale claro bueno pues va")
HOW_STARTS = _words(
    "text texts txt texting call calls calling msg message messages whatsapp wa signal email dm check reach after "
    "before evenings mornings nights weekends anytime any mandame llamame escribeme textos mensajes mensaje "
    "llamada llamadas despues antes noches mananas tardes")
# Hedges that are not how to be reached: "1 i guess", "2 i think", "5 maybe", "1 supongo".
HEDGES = (("i", "guess"), ("i", "think"), ("i", "suppose"), ("maybe",), ("probably",), ("prob",), ("idk",),
          ("supongo",), ("creo",), ("creo", "que"), ("tal", "vez"), ("quizas",), ("quiza",))


# Answers to a YES/NO question as people write them. YES: "ok sure", "yes i can", "of course",
# "si gracias", "yes thanks", "claro que si", "count me in"; NO: "no thanks", "nah im good", "no
# puedo". Every word must belong to the answer, and one must carry it: "yes but not this week" is
# neither, nor is "thanks" or "ok" alone (a courtesy where nothing is asked; a waiting question
# takes a bare "ok" as YES, ``answers_yes``).
YES_CORE = YES - {"ok", "okay"} | _words(
    "yess yesss yas yea ye siii sii sip simon absolutely definitely certainly course totally supuesto "
    # outside7's: the Mexican "sale" and "orale" agree as "dale" and "vale" do
    "sale orale")
_YES_ALSO = _words(
    "ok okay of que q please pls por favor count me in cuenta conmigo i can puedo consent agree acepto de una "
    "thanks thank you thx ty gracias thing happy to glad do it ill i'll will "
    # "yes we talked", "yeah we did", "si hablamos": to "did you connect?"
    "we did talked spoke connected texted called chatted hablamos")
_YES_PHRASES = frozenset({("count", "me", "in"), ("im", "in"), ("i'm", "in"), ("cuenta", "conmigo"), ("de", "una"),
                          ("i", "can"), ("i", "will"), ("si", "puedo"), ("puedo",), ("yo", "puedo"), ("con", "gusto")})
_NO_FIRST = _words("no n nope nah nel nop")
_NO_ALSO = APOLOGY | THANK_YOU | _words("not cant can't cannot puedo i now this time im i'm "
                  "good estoy bien no "
                  # "no not yet", "no we havent", "nope we didnt": to "did you connect?"
                  "yet we didnt havent todavia aun")
# Emoji that answer on their own (skin tones, variation selectors and "!" aside).
YES_EMOJI = frozenset("👍👌✅✔🆗🙆💯")
NO_EMOJI = frozenset("👎❌🙅✖🚫")


# More ways to say YES, after an assent ("ok go ahead", "ya i can do that") and before when ("we talked
# yesterday", "we texted!"): "go ahead", "adelante", "i can do that", and, to "did you connect?", "we talked".
_YES_MORE = frozenset({("go", "ahead"), ("adelante",), ("go", "for", "it"), ("i", "can", "do", "that"),
                       ("i", "can", "do", "it"), ("i", "can", "help"), ("i", "can", "help", "out"),
                       ("puedo", "hacerlo"), ("lo", "hago"), ("si", "puedo", "hacerlo"),
                       # "puedo ayudar" to an offer is YES, as "i can help" is (coord6: both languages alike)
                       ("puedo", "ayudar"), ("yo", "puedo", "ayudar"), ("puedo", "apoyar"), ("yo", "puedo", "apoyar")}
                      | {(we, done) for we in ("we", "weve", "we've", "i")
                         for done in ("talked", "texted", "spoke", "connected", "called", "chatted", "met", "did")}
                      | {("we", "have", "talked"), ("hablamos",), ("nos", "hablamos"), ("nos", "vimos"),
                         ("nos", "escribimos"), ("ya", "hablamos")})
_ASSENT_FIRST = _words("ok okay k kk sure yes yeah yea yep si claro dale vale")
_WHEN_AFTER = _words("yesterday today earlier already last night this morning week weekend on monday tuesday "
                     "wednesday thursday friday saturday sunday ayer hoy esta manana semana el lunes martes miercoles "
                     "jueves viernes sabado domingo")


def _says_yes_more(meaningful: list[str]) -> bool:
    start, end = 0, len(meaningful)
    while start < end and meaningful[start] in _ASSENT_FIRST:
        start += 1
    while end > start and meaningful[end - 1] in _WHEN_AFTER:
        end -= 1
    return tuple(meaningful[start:end]) in _YES_MORE


def says_yes(words: list[str]) -> bool:
    """YES in the member's words: "yes", "ok sure", "yes i can", "of course", "si gracias"."""
    meaningful = [w for w in words if w not in FILLER]
    if _says_yes_more(meaningful):
        return True
    return tuple(meaningful) in _YES_PHRASES or bool(meaningful) and all(
        w in YES_CORE or w in _YES_ALSO for w in meaningful) and any(w in YES_CORE for w in meaningful)


def says_no_thanks(words: list[str]) -> bool:
    """NO in the member's words: "no", "no thanks", "nah im good", "no puedo", "nope sorry"."""
    meaningful = [w for w in words if w not in FILLER]
    return bool(meaningful) and meaningful[0] in _NO_FIRST and all(
        w in _NO_ALSO or w in _NO_FIRST for w in meaningful)


def emoji_answer(raw: str) -> str | None:
    """"yes" for a text that is only 👍 (👌, ✅), "no" for only 👎 (❌), else None."""
    marks = {ch for ch in raw if not ch.isspace() and ch not in "!.\ufe0f\u200d" and not 0x1F3FB <= ord(ch) <= 0x1F3FF}
    if marks and marks <= YES_EMOJI:
        return "yes"
    if marks and marks <= NO_EMOJI:
        return "no"
    return None


def answers_yes(text: Text, *, more: bool = True) -> bool:
    """YES to the question carebot asked: the YES words, "ok sure", "of course", "si gracias", 👍, and (``more``)
    a YES with an apology or a word more ("yes sorry just saw this", ``opens_yes``); never a question ("yes?").
    A text with crisis words is read without ``more``: the crisis reply comes first, and nothing is read into
    the rest of it (a YES to an offer from someone in crisis acts only when it is a YES and nothing more)."""
    return whole_yes(text) or (more and opens_yes(text))


# A YES that opens a longer reply: "yes and also i need someone to call me", "si y tambien ...". Only
# with a joining word after the assent: "yes but not this week" is neither YES nor NO.
_AND_ALSO = _words("and also y tambien plus too")


def yes_and_more(text: Text) -> list[str] | None:
    """The words after a YES that opens the text and is joined to more ("yes and also ..."), else None."""
    words = [w for w in text.words if w not in FILLER]
    start = 0
    while start < len(words) and (words[start] in YES_CORE or words[start] in _ASSENT_FIRST):
        start += 1
    end = start
    while end < len(words) and words[end] in _AND_ALSO:
        end += 1
    rest = words[end:]
    if not any(w in YES_CORE for w in words[:start]) or end == start or len(rest) < 2 or rest[0] in _NO_FIRST or (
            rest[0] in ("not", "but", "pero")):
        return None  # "ok and then what?": an "ok" alone is not the YES that gives a number
    return rest


def answers_no(text: Text, *, more: bool = True) -> bool:
    """NO to a question that takes only YES or NO: "no thanks", "nah im good", 👎, "not now", and (``more``) a
    NO with an apology or a word more ("no sorry cant this week", ``opens_no``); never a question ("no?")."""
    return not _asks(text) and (says_no(text.words) or says_no_thanks(text.words) or emoji_answer(text.raw) == "no"
                                or (more and opens_no(text)))


# Unsure ("idk", "not sure", "no se", "ni idea", "let me think"), with no question waiting: no rush, and how
# to answer when ready. Read after the soft words of "not now" and a few of its own ("la vdd", "yet").
UNSURE = frozenset({
    ("idk",), ("idek",), ("dunno",), ("i", "dunno"), ("i", "dont", "know"), ("dont", "know"), ("i", "do", "not", "know"),
    ("not", "sure"), ("im", "not", "sure"), ("i", "am", "not", "sure"), ("unsure",), ("im", "unsure"), ("no", "idea"),
    ("no", "clue"), ("maybe",), ("idk", "maybe"), ("maybe", "idk"), ("let", "me", "think"),
    ("let", "me", "think", "about", "it"), ("ill", "think", "about", "it"), ("i", "need", "to", "think"),
    ("no", "se"), ("no", "lo", "se"), ("nose",), ("ni", "idea"), ("no", "tengo", "idea"), ("no", "estoy", "seguro"),
    ("no", "estoy", "segura"), ("no", "estoy", "segure"), ("quizas",), ("quiza",), ("tal", "vez"), ("a", "lo", "mejor"),
    ("dejame", "pensarlo"), ("dejame", "pensar"), ("lo", "pienso"), ("lo", "voy", "a", "pensar"),
})
_UNSURE_SOFT = _NOT_NOW_SOFT | _words("yet still really rly hmm hmmm um umm uh eh mmm pues la vdd verdad todavia aun "
                                      "haha jaja jeje man")


def is_unsure(words: list[str]) -> bool:
    """True for "idk", "i dont know", "not sure", "no se", "ni idea" (fillers and soft words aside)."""
    return tuple(w.replace("'", "") for w in words if w not in _UNSURE_SOFT and w not in FILLER) in UNSURE


# "forget it", "olvidalo", "never mind": the everyday "never mind", never the FORGET keyword (which
# erases everything, and only after an explicit YES). Nothing changes; fillers and soft words aside.
NEVER_MIND = frozenset({
    ("forget", "it"), ("forget", "about", "it"), ("forget", "that"), ("never", "mind"), ("nevermind",), ("nvm",),
    ("nevermind", "then"), ("never", "mind", "then"), ("olvidalo",), ("olvidala",), ("olvidenlo",), ("olvidelo",),
    ("olvida", "eso"), ("olvidate",), ("no", "importa"), ("dejalo",), ("dejalo", "asi"), ("ya", "no", "importa"),
})
_NEVER_MIND_SOFT = _NOT_NOW_SOFT | _words("ok okay k oh actually jk mejor bueno pues lol haha jaja ah")


def is_never_mind(words: list[str]) -> bool:
    """True for "forget it", "never mind", "olvidalo", "no importa" (soft words around them aside)."""
    return tuple(w.replace("'", "") for w in words if w not in _NEVER_MIND_SOFT) in NEVER_MIND


# A dead phone (replies8): "sorry phone died", "my battery died", "se me murio el cel", "se me acabo la pila" are
# everyday phone talk, never hard news nor crisis. Set aside before hard news is read, so "yeah sorry phone died" to a
# question is its YES, and "my phone died and my dog died" still tells hard news. Matched in ``plain`` letters.
_PHONE_TALK = re.compile(
    r"\b((my|the|me|mi|el|la) )?(phone|cell|cellphone|cell phone|mobile|battery|cel|celu|celular|telefono|movil|"
    r"bateria|pila)( (just|totally|completely|literally))? (died|was dead|is dead|went dead|ran out|murio|se murio|"
    r"se apago|se descargo|se acabo)\b|"
    r"\bse me (murio|apago|descargo|acabo|termino) (el |la |mi )?(cel|celu|celular|telefono|movil|pila|bateria)\b|"
    r"\b(ran out of|no) (battery|charge)\b|\bme quede sin (pila|bateria|carga)\b")


def without_phone_talk(letters: str) -> str:
    """``letters`` (a text's words in ``plain`` form, joined by spaces) without what they say of a dead phone."""
    return _PHONE_TALK.sub(" ", letters)


# FORGET in a member's words (outside8): "forget me", "delete my data", "borra mis datos", "olvidenme", the whole
# text (courtesies aside). FORGET only asks: it erases after an explicit YES, so more wordings are safe. Not "forget
# it" (NEVER_MIND), "dont forget me" or "no me olvides" (no request), nor "delete me from the list" (STOP, read first).
_FORGET_ME = re.compile(
    r"^((can|could|would|will) (you|u) |(i )?(want|need) (you|u) to |(i )?(want|need|wanna|would like|d like|like) to |"
    r"(yo )?quiero (que )?|(puedes|pueden|podrias|podrian) )?"
    r"(forget me|delete me|erase me|"
    r"(delete|erase|remove|wipe|forget|clear) (all )?(of )?my (data|info|information|details|number|account|profile|"
    r"records?|answers)|(delete|erase|wipe|forget) everything( (about|on|of) me| you have (on|about) me)?|"
    r"borrame|borrenme|borreme|olvidame|olvidenme|olvideme|eliminame|eliminenme|elimineme|"
    r"(borra|borren|borre|borrar|elimina|eliminen|elimine|eliminar|olvida|olviden|olvide|olvidar) "
    r"(todos )?(mis datos|mi informacion|mi info|mi numero|mi cuenta|todo (sobre|de) mi))( you| u)?$")  # "thank you"


def asks_to_forget(words: list[str]) -> bool:
    """FORGET, or a request to be erased in words: "forget me", "delete my data", "borra mis datos" (see above)."""
    meaningful = [w for w in words if w not in FILLER and w not in THANKS]
    return is_one_of(meaningful, FORGET) or bool(_FORGET_ME.match(" ".join(meaningful)))


# FORGET's question takes only an explicit YES ("yes", "si", "YES!", "yes please"): an "ok", "sure"
# or 👍 is not enough to erase everything for good.
ERASE_YES = _words("yes si")


# "Same as before", "lo mismo", "igual que antes": the go-around answer the member holds, given again.
# Not "same" alone, nor "same here" (agreement).
SAME_AGAIN = frozenset({
    ("same", "as", "before"), ("same", "as", "last", "time"), ("same", "as", "last", "week"), ("same", "again"),
    ("the", "same", "as", "before"), ("same", "answer"), ("same", "as", "always"), ("no", "change"),
    ("no", "changes"), ("nothing", "changed"), ("lo", "mismo"), ("igual", "que", "antes"), ("lo", "mismo", "que", "antes"),
    ("lo", "mismo", "que", "la", "otra", "vez"), ("igual", "que", "la", "otra", "vez"), ("lo", "mismo", "de", "antes"),
    ("sin", "cambios"), ("igual", "que", "siempre"), ("lo", "de", "siempre"), ("la", "misma", "respuesta"),
})
_SAME_SOFT = _words("hi hey hola ok okay still todavia sigo please pls por favor thanks gracias so pues")


def says_same_again(words: list[str]) -> bool:
    """True for "same as before", "no change", "lo mismo", "igual que antes" (greetings and "please" aside)."""
    return tuple(w for w in words if w not in _SAME_SOFT) in SAME_AGAIN


# "how do i see my answers?", "¿cómo veo mis respuestas?": STATUS, asked as a question (outside5).
_SEE_ANSWERS = re.compile(
    r"\b(how (do|can|could) i (see|check|view|get) my (answers?|responses?|status)|"
    r"where (can|do) i (see|check|find) my (answers?|responses?)|what (did|were) (i|my) (answer|answers|answered)|"
    r"(como|donde) (veo|puedo ver|reviso|consulto|miro) mis respuestas|(cuales|que) (son|eran|fueron) mis respuestas|"
    r"que (respondi|conteste))\b")
# "prefiero español", "i prefer english", "mejor en español": the language asked for inside a longer text.
_PREFER_LANGUAGE = re.compile(
    r"\b(prefiero|i prefer|i'd prefer|id prefer|mejor en|en|in) (el |en |in )?(espanol|castellano|ingles|english|spanish)\b")


def asks_to_see_answers(words: list[str]) -> bool:
    """True for "how do i see my answers?", "como veo mis respuestas", "que respondi"."""
    return bool(_SEE_ANSWERS.search(" ".join(words)))


def prefers_language(words: list[str]) -> str | None:
    """The language a longer text asks for ("prefiero español", "i prefer english"), else None."""
    found = _PREFER_LANGUAGE.search(" ".join(words))
    return LANGUAGE_NAMES[found.group(3)] if found else None


# A few words of the member's own before the answer, closed by a full stop or a comma (outside6): "cant sleep.
# 1 pls, text is best", "rough week tbh. 4", "i could kill for a coffee, 5 this week". Only a short sentence
# with no number of its own, and only when options follow it at once; what may come after the options is
# checked by the go-around (``says_how``).
PREAMBLE_MOST = 12  # two short clauses: "i could just die of embarrassment, forgot the meeting. 2" (outside8)
_SENTENCE_END = re.compile(r"[.,!;:]$")
_OPTION_DIGITS = re.compile(r"^[1-5]{1,5}$")


def sentence_starts(text: Text, start: int = 0) -> list[int]:
    """The index of each word that opens a new sentence or clause after word ``start`` ("rough week. 4": [2])."""
    return [at for at in range(start + 1, len(text.words))
            if _SENTENCE_END.search(text.raw[text.starts[at - 1]:text.starts[at]].rstrip())]


# Words an answer may open with after a sentence of one's own: "cansada. un 3", "rough week. option 4",
# "semana pesada. uno porfa" (the go-around reads what follows them).
_OPENS_OPTION = frozenset("un una el la a an option opcion one two three four five uno dos tres cuatro cinco".split())


def after_preamble(text: Text, start: int = 0) -> int | None:
    """The index of the first option after a short sentence of the member's own, else None. A greeting may
    come before that sentence: "hola, semana pesada. 1 y 4", "hi, rough week. 4" (outside7)."""
    for at in sentence_starts(text, start):
        if at - start > PREAMBLE_MOST or any(ch.isdigit() for w in text.words[start:at] for ch in w):
            return None
        if _OPTION_DIGITS.match(text.words[at]) or text.words[at] in _OPENS_OPTION:
            return at
    return None


def says_same_again_last(text: Text, start: int = 0) -> bool:
    """"same as before" as the text's last sentence, after a few words of the member's own ("hey sorry been
    away. same as before"); never inside a sentence ("i dont want the same as before")."""
    opens = sentence_starts(text, start)
    return bool(opens) and opens[-1] - start <= PREAMBLE_MOST and says_same_again(text.words[opens[-1]:])


def says_how(how: str) -> bool:
    """True when ``how`` (what followed an answer) opens like how to be reached: "text is best", "pls, call me"."""
    words = [w for w in read(how).words if w not in FILLER]
    return bool(words) and (words[0] in HOW_STARTS or words[0] in _HOW_ALSO)


_HOW_ALSO = _words("mejor best prefer prefiero by via x only solo")  # "mejor por mensaje", "by text", "solo texto"


# outside7's: YES or NO as people write them to a question carebot asked, with an apology or a word more
# ("yes!! sorry for the delay", "yes sorry just saw this", "yes i can call her tonight", "si perdon apenas lo
# vi", "sale"; "no sorry cant this week", "sorry no", "no puedo, perdon", "cant make it sorry", "no puedo ir").
#
# A YES opens the text (after an apology, if any: "sorry yes") with a YES word or an assent of its own ("i
# can", "count me in", "ahi estare"); whatever follows may be the member's own words, but nothing in them may
# take the YES back or leave it open: no negation, "but", hedge, condition, correction or question ("yes but
# not this week", "yes? what is this", "yes i can maybe", "no yes", "idk yes maybe" stay unclear). A YES that
# hands over a number must be a YES: a question mark anywhere makes the text a question, never an answer.
#
# A NO opens with a NO word or an inability ("cant", "no puedo") and every other word belongs to saying no:
# apologies, thanks, time ("this week", "hoy"), being busy, what could not be done ("make it", "ir"). A NO
# with words of its own ("no point driving", "no pain no gain", "no se", "no problem", "cant wait!") is no NO.
_YES_OPENERS = tuple(sorted({
    ("i", "can"),
    ("count", "me", "in"), ("cuenta", "conmigo"), ("cuenten", "conmigo"), ("of", "course"), ("por", "supuesto"),
    ("claro", "que", "si"), ("claro", "q", "si"), ("de", "una"), ("con", "gusto"), ("happy", "to"), ("glad", "to"),
    ("sure", "thing"), ("puedo",), ("yo", "puedo"), ("si", "puedo"), ("yo", "lo", "hago"), ("ahi", "estare"),
    ("alli", "estare"), ("ahi", "nos", "vemos"), ("alla", "nos", "vemos"), ("ahi", "voy"), ("see", "you", "there"),
    ("see", "u", "there"), ("be", "there"), ("ill", "be", "there"), ("i'll", "be", "there"), ("im", "coming"),
    ("i'm", "coming"), ("i", "will", "be", "there"), ("si", "voy"), ("yo", "voy"), ("alli", "nos", "vemos"),
}, key=len, reverse=True))
# Words after a YES that take it back or leave it open: negations, "but", hedges, conditions, corrections,
# questions. (A Spanish question is known by its "?" / "¿": "que", "como", "cuando" are everyday words.)
# Those that leave an answer open (LEAVES_OPEN) may also follow a NO or an answer given in words.
LEAVES_OPEN = _words(
    "but pero aunque sino unless except however tho "
    "though although if si maybe idk dunno perhaps probably prob might guess think unsure possibly depends "
    "depende kinda sorta quizas quiza talvez tal creo supongo wait espera hold actually meant mean quise "
    "wrong equivocado equivocada equivoque jk kidding joking broma wish what whats who whos why where which how "
    "huh quien quienes cual cuales donde back")  # "i can get back to you": later, not YES
_NOT_CLEAR = LEAVES_OPEN | _words(
    "not no nope nah n cant can't cannot couldnt couldn't wont won't dont don't didnt didn't doesnt doesn't isnt "
    "isn't aint never neither nor nunca tampoco ni nadie nada")
# Every word a NO may carry besides its NO: apologies and thanks, time, being busy, what could not be done.
_NO_WORDS = _NO_FIRST | _NO_ALSO | _words(
    "cant can't cannot unable able wont won't be to am are not i im i'm me my it this that these the a an "
    "and y for of on at so just really super very too muy de la el lo los las esta este estos estas por para con "
    "time times week weekend weeks today tonight tomorrow tmrw now rn right atm moment days day one month "
    "monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thurs fri sat sun "
    "semana semanas fin hoy manana ahora ahorita momento vez dia dias noche mes lunes martes miercoles jueves "
    "viernes sabado domingo "
    "busy swamped slammed working work away traveling travelling sick out town ocupado ocupada ocupade "
    "trabajando trabajo fuera viaje enfermo enferma enferme "
    "make come go attend join help do commit take there ir asistir llegar venir ayudar apoyar hacerlo "
    "poder podre podria podemos voy va puedo vamos "
    "unfortunately honestly tbh lamentablemente desafortunadamente verdad neta asking preguntar preguntarme "
    "tho had chance got gotten")
_CANT = _words("cant can't cannot unable")


def only_a_reason(words: list[str], *, set_apart: bool) -> bool:
    """Whether ``words``, after an answer given in words, only give its reason (outside9): set apart by a comma or a
    full stop, any words that neither leave the answer open (LEAVES_OPEN: "but", "maybe", a question word) nor hold a
    number ("i can't this week, super busy", "no puedo esta semana, no tengo tiempo"); not set apart, only the words a
    NO carries ("cant this week super busy")."""
    return bool(words) and not any(w in LEAVES_OPEN or any(ch.isdigit() for ch in w) for w in words) and (
        set_apart or all(w in _NO_WORDS for w in words))


def _opens_with(words: list[str], phrases: tuple[tuple[str, ...], ...]) -> int:
    """How many of ``words`` the first phrase they open with takes (0 if none)."""
    return next((len(p) for p in phrases if tuple(words[:len(p)]) == p), 0)


def _asks(text: Text) -> bool:
    return "?" in text.raw or "¿" in text.raw


def opens_yes(text: Text) -> bool:
    """YES that opens a longer reply and is not taken back: "yes!! sorry for the delay", "yes sorry just saw
    this", "yes i can call her tonight", "si perdon apenas lo vi", "ahi estare". Not "yes but not this week",
    "yes? what is this", "no yes", "idk yes maybe" (see above)."""
    words = [w for w in text.words if w not in FILLER]
    start = 0
    while start < len(words) and words[start] in APOLOGY:
        start += 1
    at, carried = start, False
    while at < len(words):
        phrase = _opens_with(words[at:], _YES_OPENERS)
        if phrase:
            at, carried = at + phrase, True
        elif words[at] in YES_CORE or words[at] in _ASSENT_FIRST:
            at, carried = at + 1, carried or (words[at] in YES_CORE and words[at] != "y")  # "y": Spanish "and"
        else:
            break
    rest = words[at:]
    if rest and rest[-1] in _AND_ALSO:
        return False  # "yes and": the rest never came
    return carried and not _asks(text) and len(rest) <= MAX_MORE_WORDS and yes_and_more(text) is None and not any(
        w in _NOT_CLEAR or any(ch.isdigit() for ch in w) for w in rest)


MAX_MORE_WORDS = 25  # a YES with a long story after it is read whole by a person, not taken as YES


def opens_no(text: Text) -> bool:
    """NO with an apology or a word more: "no sorry cant this week", "sorry no", "no puedo, perdon", "cant
    make it sorry", "no puedo ir". Every word belongs to saying no (see above)."""
    words = [w for w in text.words if w not in FILLER]
    return (not _asks(text) and any(w in _NO_FIRST or w in _CANT for w in words)
            and all(w in _NO_WORDS for w in words) and not is_not_now(text.words))  # "ahorita no": not now


def whole_yes(text: Text) -> bool:
    """YES and nothing more (courtesies aside): "yes", "ok sure", "of course", "si gracias", 👍."""
    return not _asks(text) and (is_one_of(text.words, YES) or says_yes(text.words) or emoji_answer(text.raw) == "yes"
                                # "ya": "yeah" typed short (a filler elsewhere)
                                or (bool(text.words) and all(w == "ya" for w in text.words)))


def explicit_yes(text: Text, words: frozenset[str] = ERASE_YES) -> bool:
    """An explicit YES word, with at most an apology or thanks around it ("yes", "yes sorry", "si perdon"):
    what erasing everything takes (FORGET)."""
    meaningful = [w for w in text.words if w not in FILLER and w not in APOLOGY and w not in THANK_YOU]
    return not _asks(text) and len(meaningful) == 1 and meaningful[0] in words



def after_no(text: Text) -> Text | None:
    """What a NO said after its NO and apologies ("no sorry cant this week": "cant this week"); None when the
    text does not open with them, or goes on with another "not" ("no not today" is the NO "not today" is)."""
    words = text.words
    start = 0
    while start < len(words) and (words[start] in _NO_FIRST or words[start] in APOLOGY or words[start] in FILLER):
        start += 1
    if not start or start == len(words) or words[start] in ("not", "no"):
        return None
    return Text(text.raw, words[start:], text.starts[start:])
