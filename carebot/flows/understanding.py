"""What carebot reads in one text, as plain data: no database, no member, no group.

``read(text, lang=, tz=, now=)`` gives a :class:`Reading`: the intent, the go-around
options, when the answer ends, the member's own "how", the language the text is in,
and whether it speaks of crisis. ``carebot parse`` prints it; the router uses its
pieces (courtesy, reactions, typo-tolerant commands, the stranger's language);
``python -m carebot.bench understanding`` scores it against the labelled corpus.

Every reader works on the same normalised form (``words.plain`` / ``words.read``);
the member's own words are kept as written in ``how``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rapidfuzz import process
from rapidfuzz.distance import OSA

from carebot.flows import crisis, goaround
from carebot.flows.base import AnswerSpec, Context
from carebot.flows.channel import CHANNEL
from carebot.flows.durations import says_ongoing
from carebot.flows.how_to_reach import only_how
from carebot.flows.words import (
    CADENCE_DAYS,
    CALL,
    COORD_WORDS,
    DONE,
    EVERY,
    FILLER,
    FORGET,
    GATHER,
    HELP,
    HOURS,
    HOW,
    JOIN,
    LANG,
    LANGUAGE_NAMES,
    LATER,
    LOG,
    MORE,
    MYDATA,
    NAME,
    NO,
    NOT_WITH,
    PULSE,
    ROUND,
    SPANISH_WORDS,
    START,
    STATUS,
    STOP_ALONE,
    STOP_STRONG,
    THANKS,
    YES,
    Text,
    as_keyword,
    asks_to_forget,
    is_never_mind,
    is_not_now,
    is_one_of,
    opens_no,
    opens_yes,
    plain,
    says_later,
    says_no_thanks,
    says_yes,
    stop_word,
    without_phone_talk,
)
from carebot.flows.words import read as read_words

INTENTS = ("goaround", "yes", "no", "later", "stop", "start", "help", "status", "join", "how", "lang",
           "courtesy", "reaction", "crisis", "command", "unknown")


@dataclass(frozen=True)
class Reading:
    intent: str
    command: str | None = None
    options: list[int] = field(default_factory=list)
    until: str | None = None  # the last day the answer holds (YYYY-MM-DD), "ongoing", or None
    how: str | None = None
    lang: str | None = None
    crisis: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


# --- reactions: a phone's "Liked “…”" is not a text to answer ------------------------

_REACTION = re.compile(
    r"^(liked|loved|laughed at|emphasi[sz]ed|questioned|disliked|reacted .{1,12}? to|"
    r"removed an? .{1,24}? from|le gusto|le encanto|le dio risa|se rio de|enfatizo|destaco|"
    r"cuestiono|no le gusto|reacciono con .{1,12}? a|reacciono .{1,12}? a|ha reaccionado con .{1,12}? a) "
    r"([\"']|(an?|una?) (image|photo|picture|video|attachment|sticker|gif|imagen|foto|video|adjunto)$)"
)


def is_reaction(text: str) -> bool:
    """True for the texts phones send when someone reacts to a message (iMessage, Android)."""
    return bool(_REACTION.match(plain(text)))


# --- courtesy and acknowledgements --------------------------------------------------

COURTESY = frozenset((
    "thanks thank thx thnx thanx ty tysm tyvm tks gracias grax graciass muchisimas merci "
    "got it sounds good great cool perfect perfecto perfecta genial entendido entendida listo lista "
    "bye adios chao chau "
    "np nice awesome amazing bien appreciate appreciated appreciation bendiciones blessings bless love "
    "lol haha hahaha jaja jajaja jeje xoxo welcome nada igualmente noted anotado recibido received "
    "wonderful excelente lovely sweet ok okay okey kk k vale gotcha understood cheers okie dokie okis "
    "problem ntp grcs bn bendiga bendigan lindos lindo linda lindas tqm bss besos abrazos amables amable "
    "lifesaver"
).split())
_COURTESY_FILLER = frozenset((
    "so much very a lot you u all guys yall everyone again muchas mil de for the it that this y and "
    "many too also to que te les todos todas todes tambien super really 4 ur your good day have "
    "nice great gud gm gn god dios igual man ti x no"
).split())
_ONLY_YES = frozenset({"dale"})
_LATER_MARKS = frozenset("later luego despues dsp tardecito rato".split())
_LATER_FILLER = frozenset("can could u you ask me remind pls please preguntame ahorita no mas + tarde "
                          "al talk maybe tal vez quizas in a bit text again escribeme".split())
_THANKS = THANKS | frozenset("lifesaver appreciate".split())  # and the thanks of "thx, lifesaver!!"
_NOT_ONLY_THANKS = frozenset("but pero need necesito can could puedes podrias podria how when where".split())
_HELP_PHRASES = (("what", "is", "this", "number"), ("whats", "this", "number"), ("who", "is", "this"),
                 ("q", "es", "este", "numero"), ("que", "es", "este", "numero"), ("quien", "es"),
                 ("what", "is", "this"), ("que", "es", "esto"))
_STATUS_FILLER = frozenset("whats what is my mi mis cual es check".split())
_START_FILLER = frozenset("again de nuevo otra vez back".split())
_LATER_PHRASES = frozenset({
    ("later",), ("not", "now"), ("not", "right", "now"), ("not", "yet"), ("maybe", "later"), ("ask", "me", "later"),
    ("luego",), ("despues",), ("mas", "tarde"), ("ahora", "no"), ("todavia", "no"), ("aun", "no"),
    ("not", "today"), ("hoy", "no"), ("tal", "vez", "luego"), ("quizas", "despues"), ("later", "pls"),
})
_GREETING_AFTER_HOW = frozenset("are r ru estas esta estan andas va vas te les".split())


def _letters(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", plain(text).replace("'", ""))


# Emoji that say thanks or "got it" on their own (skin tones and variation selectors aside).
COURTESY_EMOJI = frozenset("👍👌🙏❤♥💕💖💗💓💜💙💚💛🧡🤍🖤🤎😊🙂😀😃😄😁🥰😍😘☺🤗🙌👏💪✌✅🫶🌷🌹💐")


def _only_symbols(raw: str) -> bool:
    """Only emoji that say thanks or "got it" (👍, ❤️, 🙏), with spaces or "!" around them."""
    marks = [ch for ch in raw if unicodedata.category(ch)[0] not in "ZM" and ch not in "!.\ufe0f\u200d"
             and not 0x1F3FB <= ord(ch) <= 0x1F3FF]
    return bool(marks) and all(ch in COURTESY_EMOJI for ch in marks)


def is_courtesy(raw: str) -> bool:
    """Thanks, an acknowledgement, a greeting or an emoji: a short warm answer, no menu."""
    if _only_symbols(raw):
        return True
    words = _letters(raw)
    if not words or len(words) > 14 or says_not_well(raw):  # "nada bien", "no muy bien": not an OK
        return False
    if any(w in _THANKS for w in words) and "?" not in raw and not any(w in _NOT_ONLY_THANKS for w in words):
        return True  # "thanks for checking in", "thx, lifesaver!!"
    if len(words) > 8:
        return False
    return all(w in COURTESY or w in _COURTESY_FILLER or w in FILLER for w in words) and any(
        w in COURTESY for w in words)


def is_acknowledgement(raw: str) -> bool:
    """A bare "got it" in words ("k", "cool", "kk"), no thanks in it: to a question that waits for
    YES or NO it answers nothing, so the member is asked for YES or NO, never left with it open."""
    words = _letters(raw)
    return bool(words) and is_courtesy(raw) and not any(w in _THANKS for w in words)


# Hard news told in passing ("my cat died last week, sad but ok", "rough week", "estoy triste"): not a
# command and not a crisis, so a kind word and the way to ask for care, not "didn't understand".
_HARD_NEWS = re.compile(
    r"\b(died|passed away|lost my|funeral|sad|sadness|rough (day|week|month|time)|hard (day|week|month|time)|"
    r"grieving|grief|heartbroken|broke up|breakup|lonely|miss (her|him|them) so|murio|fallecio|falleciste|"
    r"triste|tristeza|perdi a|perdi mi|duelo|me siento sol[oae]|semana (dificil|dura|pesada)|"
    r"dia (dificil|duro|pesado)|"
    # outside8: a death told as "passed" ("my grandma passed on sunday"; not "passed my exam", "passed out",
    # "passed on the offer"), and being worn out ("not suicidal just tired lol", "solo estoy cansada")
    r"(grandma|grandpa|granny|gran|nana|grandmother|grandfather|abuela|abuelo|abuelita|abuelito|mom|mum|mother|dad|"
    r"father|papa|mama|brother|sister|aunt|auntie|uncle|tia|tio|cousin|friend|bestie|partner|husband|wife|son|"
    r"daughter|baby|bf|gf|boyfriend|girlfriend|roommate|neighbor|neighbour|dog|cat|pup|puppy|kitty|pet|she|he)"
    r"( just| has| had| finally| recently| sadly)? passed( away)?\b"
    r"(?! (out|up|by|over|me|us|you|him|them|my|his|her|their|the|a|an|it|that|"
    r"this (?!morning|afternoon|evening|week|weekend|month|year|past)|on (the|it|that|this|my|his|her|their|a|an)\b))|"
    r"(just|so|really|very|super|soo+|dead|bone|always) tired|tired af|exhausted|burn(ed|t) out|worn out|drained|"
    r"agotad[oae]|(solo|nomas|muy|tan|bien|super|re)( estoy| ando| me siento)? cansad[oae]|se nos fue)\b")


# A sad face sent alone (outside5: 😢): the same kind word and how to ask for care, never "didn't
# understand", and not the crisis reply (one emoji is a hard moment, not a crisis said in words).
SAD_EMOJI = frozenset("😢😭😞😔☹🙁😿💔😥😓😩😫🥺😪😟😕🫤🥲")


# Not well, said plainly (outside9): "im not ok", "i feel so alone", "i'm really struggling", "everything is too much
# right now", "no estoy bien", "nada bien", "me siento muy sola". A hard time of the member's own: not a command and not
# a crisis (crisis words are read first, and win), so the hard-news word. Read with the text's punctuation: a negated
# "ok" or "bien" (_NOT_OK) opens its clause ("its not ok to text late" is about something else), and "no, estoy bien"
# (its comma: "no, I'm fine") is no "no estoy bien".
_CLAUSE = r"(?:^|[.,;:!?-] )"
_LEADS_EN = (r"(?:(?:no|nah|hi|hey|hello|honestly|tbh|ngl|lol|so|um|uh|well|yeah|yea|ya|ok|okay|i mean|to be honest|just|still|"
             r"really|and|but|sorry|sry|today|tonight|lately|rn) )*")
_LEADS_ES = (r"(?:(?:hola|pues|la verdad|la vdd|neta|la neta|honestamente|sinceramente|hoy|ahorita|ultimamente|bueno|ya|"
             r"yo|y|pero|perdon|oye|mira) )*")
_SO = (r"(?: (?:really|just|so|very|super|still|honestly|kinda|kind of|pretty|a bit|a little|incredibly|truly|completely|"
       r"totally|extremely|all))*")
_MUY = r"(?: (?:muy|tan|super|re|bien|demasiado|bastante|algo|un poco|medio|mega|hiper|como|todavia))*"
_NOT_OK = re.compile("|".join((
    # "im not ok", "not doing well tbh", "honestly im not doing great": not "not ok with that", "not ok to text late"
    _CLAUSE + _LEADS_EN + r"(?:(?:i ?m|i am|am|ive been|i ve been|been|i been|i feel|feel|feeling|im feeling|i m feeling|"
    r"things are|everything is|everythings|its been|it s been|doing)" + _SO + r" )?"
    r"not (?:really |doing |feeling |so |too |that |very |super |at all )*(?:ok|okay|okey|oki|alright|all right|fine|good|"
    r"great|well|myself|in a good (?:place|way|spot|headspace))\b(?! (?:with|to|for|about|if|that|when|enough|by)\b)",
    # "no estoy bien", "no me siento bien", "nada bien", "no muy bien": not "no estoy bien segura" (not quite sure)
    _CLAUSE + _LEADS_ES + r"(?:no (?:estoy|me siento|ando|me encuentro|me va|me esta yendo|la estoy pasando|la paso|"
    r"la llevo|lo llevo|lo estoy llevando|estamos|he estado|me he sentido)(?: (?:muy|tan|nada|para nada|super|del todo|"
    r"nadita))? (?:bien|ok|okay|oki)|no (?:muy|tan|nada|mucho) bien|(?:nada|para nada|nadita) bien)\b"
    r"(?! (?:segur[oae]|enterad[oae]|informad[oae]|despiert[oae]|ubicad[oae])\b)",
)))
# The words of a hard time, unless negated just before ("not feeling hopeless", "no me siento sola", "no estoy
# deprimida"; see ``_negated``).
_HARD_TIME = re.compile("|".join((
    # "i feel so alone", "i'm really struggling", "been so overwhelmed": not "struggling to find the link", "overwhelmed
    # with gratitude"
    r"\b(?:i ?m|i am|am|feel|feeling|felt|been|getting|so|really)" + _SO + r" (?:alone|lonely|isolated|hopeless|helpless|"
    r"depressed|overwhelmed|struggling|miserable|numb|broken|a mess|a wreck|at my limit|at the end of my rope)\b"
    r"(?! (?:to|at|in|on|for|about|by|with (?:the|this|that|these|those|it|an?|gratitude|joy|love|thanks))\b)",
    _CLAUSE + r"(?:(?:really|so|just|been) )*(?:struggling|overwhelmed|hopeless)(?: (?:a lot|so much|rn|lately|today|"
    r"this week|ngl|tbh|honestly))*(?: [.,;:!?-])*$",
    # "feeling really down today", "i feel empty": only after "feel" ("im down" is "count me in", "low" on gas)
    r"\b(?:feel|feeling|felt)" + _SO + r" (?:down|low|lost|empty|awful|terrible|horrible|like (?:crap|shit|garbage|trash))\b"
    r"(?! (?:to|about|for|that|abt|on|at|in)\b)",
    # "everything is too much right now", "its all too much rn", "it's a lot lately": not "a lot of info", "too much to ask"
    r"\b(?:everything|it all|its all|it s all|its|it s|it is|this is all|things are|all of (?:this|it)|all this|life|"
    r"life is)(?: is| s| are| feels| has been| been| seems| is getting| getting)?(?: (?:just|all|so|really|way|kinda|"
    r"lowkey|honestly))* (?:too much|a lot|overwhelming|too hard)\b(?! (?:of|to|for|info|information|texts?|messages?|"
    r"fun|better|lol|haha)\b)",
    r"\bgoing through (?:a lot|it|so much|some stuff|some shit|a hard time|a rough patch|hell)\b(?! (?:of|to|with)\b)",
    r"\b(?:having|had|been having) (?:a|such a|the) (?:tough|bad|terrible|awful|really bad|really hard) "
    r"(?:time|day|week|night|month|year)\b",
    r"\b(?:cant|can t|cannot|can not) (?:cope|handle (?:it|this|everything|any of this|life))\b",
    # "me siento muy sola", "ando bien bajoneada", "estoy muy agobiada": not "me siento mal por no contestar",
    # "estoy sola en casa" (only "muy/tan sola" with "estoy")
    r"\b(?:me siento|me sentia|me he sentido|me encuentro)" + _MUY + r" (?:sol[oae]|mal|fatal|deprimid[oae]|agobiad[oae]|"
    r"abrumad[oae]|desesperad[oae]|sin esperanza|vaci[oae]|perdid[oae]|bajonead[oae]|hundid[oae]|rot[oae]|"
    r"destrozad[oae]|de la patada)\b(?! (?:por|de que|que|x|en (?:casa|la casa|el trabajo)|con (?:el|la|los|las|eso|esto))\b)",
    r"\b(?:estoy|ando|sigo)" + _MUY + r" (?:mal|fatal|deprimid[oae]|agobiad[oae]|abrumad[oae]|desesperad[oae]|"
    r"sin esperanza|bajonead[oae]|aguitad[oae]|hundid[oae]|destrozad[oae]|hech[oa] (?:pedazos|polvo|mierda)|de bajon|"
    r"en el piso|en un mal momento)\b(?! (?:por|de que|que|x|con (?:el|la|los|las|eso|esto))\b)",
    r"\b(?:estoy|ando|sigo)(?: (?:muy|tan|super|re|bien|demasiado))+ sol[oae]\b",
    r"\bla estoy pasando(?: (?:muy|bien|super|re))* (?:mal|fatal|horrible|de la patada)\b",
    r"\bestoy pasando por (?:mucho|un mal momento|una mala racha|algo (?:dificil|duro|fuerte)|momentos dificiles)\b",
    r"\b(?:todo|esto|todo esto)(?: (?:ya|me))? (?:es|esta siendo|se siente) (?:demasiado|mucho para mi)\b"
    r"(?! (?:de|para (?:el|la|los|las)|trabajo)\b)",
    r"\btodo me (?:supera|rebasa|sobrepasa)\b",
    r"\b(?:ya )?no puedo con (?:todo|esto|tanto|mi vida)(?: (?:ya|mas))?(?: [.,;:!?-])*$",
)))


_NEGATORS = frozenset("not no dont didnt doesnt isnt arent wasnt aint ni tampoco without sin".split())
_SOFTENERS = frozenset("really even that so tan muy realmente".split())


def _negated(before: list[str]) -> bool:
    """The words just before a hard time's words negate them: "not", "no", "not really", "no tan"."""
    return bool(before) and (before[-1] in _NEGATORS or (
        len(before) > 1 and before[-2] in _NEGATORS and before[-1] in _SOFTENERS))


def says_not_well(raw: str) -> bool:
    """True for a short text in which the member says they are not well (see _NOT_OK and _HARD_TIME)."""
    said = " ".join(re.findall(r"[a-z0-9]+|[.,;:!?-]", plain(raw).replace("'", "")))
    if len(said.split()) > 40:
        return False
    return bool(_NOT_OK.search(said)) or any(
        not _negated(said[:match.start()].split()) for match in _HARD_TIME.finditer(said))


def tells_hard_news(raw: str) -> bool:
    """A short text that tells of a loss or a hard time, in words of its own (see _HARD_NEWS), that says the
    member is not well (``says_not_well``), or a sad face alone (see SAD_EMOJI)."""
    words = _letters(raw)
    if not words:
        marks = {ch for ch in raw if not ch.isspace() and ch not in "!.\ufe0f\u200d" and not 0x1F3FB <= ord(ch) <= 0x1F3FF}
        return bool(marks) and marks <= SAD_EMOJI
    return len(words) <= 30 and (bool(_HARD_NEWS.search(without_phone_talk(" ".join(words))))  # "phone died": no news
                                 or says_not_well(raw))


def yes_may_say_more(ctx: Context, text: Text) -> bool:
    """Whether a YES that opens a longer text counts as YES (``words.opens_yes``): not in a text with crisis
    words (the crisis reply comes first, and nothing is read into the rest), nor when the rest tells hard news
    ("yeah my cat died last week" to an offer is asked YES or NO again, never taken as taking it on)."""
    return not ctx.crisis and not tells_hard_news(text.raw)


# A member asking who writes to them: "who is this?", "quien es?" (not "what is this", which may be about anything).
_WHO_IS_THIS = frozenset({("who", "is", "this"), ("whos", "this"), ("who", "this"), ("who", "are", "you"),
                          ("quien", "es"), ("quien", "eres"), ("quien", "habla"), ("quien", "es", "este", "numero"),
                          ("what", "is", "this", "number"), ("whats", "this", "number"), ("que", "es", "este", "numero"),
                          ("q", "es", "este", "numero"),
                          # outside5: a Spanish member's "que es esto?" after the go-around's question
                          ("que", "es", "esto"), ("q", "es", "esto")})


# A question back about the go-around's options: "what does 4 mean?", "que significa el 3?", "whats the
# difference between 2 and 5?", "can i do 4 too?". An option named with a word that asks what it means,
# or in a question that opens with a question word. Answered with what 1-5 mean; nothing is recorded.
_MEANING = frozenset("mean means meaning difference diff differences significa significan significado "
                     "diferencia diferencias".split())
_ASKING = frozenset("what whats wat wut which can could may is does do que q cual cuales puedo se es como how".split())
_WHAT = frozenset("what whats wat que q cual".split())
_BEFORE_ASKING = frozenset("thanks thank you ty ok okay also and so hey hi oh um hola gracias y tambien oye bueno".split())
_OPTION_TOKENS = frozenset("1 2 3 4 5 one two three four five uno dos tres cuatro cinco".split())


def asks_about_options(raw: str) -> bool:
    """True for a question about what the options 1-5 mean (see _MEANING), not an answer."""
    words = _letters(raw)
    if not words or len(words) > 14 or not any(w in _OPTION_TOKENS for w in words):
        return False
    while len(words) > 1 and words[0] in _BEFORE_ASKING:  # "thanks! also can i do 4 too?"
        words = words[1:]
    asking = "?" in raw or any(w in _ASKING for w in words)  # "i mean 2 kids" asks nothing
    return (asking and any(w in _MEANING for w in words)) or ("?" in raw and words[0] in _ASKING) or (
        words[0] in _WHAT and len(words) <= 4)  # "what is 3", "que es el 4"


def asks_what_this_is(raw: str) -> bool:
    """"who is this?", "quien es?", "what is this number": HELP's answer (what this number is)."""
    return tuple(_letters(raw)) in _WHO_IS_THIS


# "sorry wrong number", "perdon, numero equivocado": a kind word and how to get nothing more (STOP).
_WRONG_NUMBER = frozenset({("wrong", "number"), ("wrong", "num"), ("wrong", "person"), ("wrong", "chat"),
                           ("numero", "equivocado"), ("numero", "incorrecto"), ("equivocado",), ("equivocada",),
                           ("me", "equivoque"), ("me", "equivoque", "de", "numero"), ("texted", "the", "wrong", "number"),
                           ("sent", "that", "to", "the", "wrong", "number"), ("wrong", "number", "sent")})
_WRONG_NUMBER_SOFT = frozenset("sorry sry srry oops oh my bad perdon perdona disculpa disculpe lo siento ups "
                               "ignore that pls please plz es un el este is this".split())


def says_wrong_number(raw: str) -> bool:
    """True for "sorry wrong number", "perdon numero equivocado", "lo siento, numero equivocado"."""
    return tuple(w for w in _letters(raw) if w not in _WRONG_NUMBER_SOFT) in _WRONG_NUMBER


# A longer text that thanks or tells something good ("the potluck was really nice and i appreciated
# everyone being there ... so thank you", "we had coffee on tuesday it was really nice"): a warm word,
# not the menu. Never a question; a short one is a courtesy (``is_courtesy``).
_THANKING = r"thanks?|thx|ty|gracias|appreciated?|grateful|agradecid[oae]|agradezco"
_THANKS_WORDS = re.compile(rf"\b({_THANKING})\b")
_GOOD_NEWS = re.compile(
    rf"\b({_THANKING}|nice|lovely|great|fun|"
    r"glad|helped|wonderful|amazing|beautiful|good time|loved|bonit[oa]|lind[oa]|genial|padre|chido|me gusto|"
    r"nos gusto|me encanto|nos encanto|ayudo mucho|fue muy bueno|la pasamos bien)\b")


def tells_good_news(raw: str, *, thanks: bool = False) -> bool:
    """A story of at least six words that thanks (``thanks``) or tells something good, with no question."""
    words = _letters(raw)
    if not 6 <= len(words) <= 120 or "?" in raw:
        return False
    return bool((_THANKS_WORDS if thanks else _GOOD_NEWS).search(" ".join(words)))


# --- typo-tolerant command words ------------------------------------------------------

# Words that are safe to guess from a typo: each answers with information or asks to confirm.
_FUZZY = {
    "status": "status", "estado": "status", "help": "help", "ayuda": "help", "pairs": "pairs",
    "parejas": "pairs", "roster": "roster", "mydata": "mydata", "misdatos": "mydata", "pulse": "pulse",
    "pulso": "pulse", "forget": "forget", "olvidar": "forget", "language": "lang", "idioma": "lang",
}
# Never guessed into, nor from anything close to them: a typo must not stop, start or consent.
_NEVER_NEAR = STOP_STRONG | STOP_ALONE | START | YES | NO | frozenset({"optout", "opt"})


# Coordinator words safe to read from a typo: those that only ask for the coordinator's own YES before
# anything happens ("remvoe theo"), and UNPAIR ("unpiar marco lupe": it names both people, and PAIR
# undoes it). Only for a coordinator (``coord.command``): a member's typo is told, politely, that the
# command is for coordinators, and never becomes one.
_FUZZY_COORD = ("remove", "quitar", "announce", "anunciar", "uncoord", "descoordinar", "unpair", "separar",
                # outside7's "gathr mar 20 18:00 park", "piar dana marco": GATHER asks for the coordinator's YES;
                # PAIR still asks the supporter, and UNPAIR undoes it
                "gather", "reunion", "pair")


def corrected_word(word: str, vocabulary: Collection[str] = tuple(_FUZZY)) -> str | None:
    """The command word ``word`` is a typo of (``stauts`` -> ``status``), or None.

    One edit (a transposition counts as one) for words of 4-7 letters, two for longer
    ones; nothing that is, or is one edit from, STOP, START, YES or NO is ever guessed.
    """
    if len(word) < 4 or word in vocabulary or not word.isalpha():
        return None
    if any(OSA.distance(word, near) <= 1 for near in _NEVER_NEAR):
        return None
    cutoff = 1 if len(word) < 8 else 2
    found = process.extractOne(word, list(vocabulary), scorer=OSA.distance, score_cutoff=cutoff)
    return found[0] if found else None


# Real words one edit from a coordinator command: "remote work today", "unpaid rent", "quite", "separa".
_NOT_COORD_TYPOS = frozenset("remote remotely unpaid quite quito quitan quitas separa separe separo separan "
                             "anuncio anuncie "
                             # replies7: the everyday words a dictionary finds one edit (two, when long) from a
                             # coordinator command ("pain", "father", "guitar", "preparar", "removed", "unfair")
                             "fair hair lair paid pail pain bather father gathered gatherer gathers goatherd lather "
                             "rather reunions removed remover removers removes announced announcer announcers "
                             "announces annoyance denounce renounce unfair uncooked agenciar anuencia anuncia "
                             "anunciador denunciar enunciar renunciar aquietar cuitar guitar quietar quintar quitador "
                             "deparar preparar reparar separador separata separate separator".split())


def corrected_coord_word(word: str) -> str | None:
    """The coordinator command ``word`` is a typo of (``remvoe`` -> ``remove``), or None."""
    return None if word in _NOT_COORD_TYPOS else corrected_word(word, _FUZZY_COORD)


def corrected(text: Text) -> Text | None:
    """The text with its one command word's typo mended, when it is only that word."""
    if len(text.words) != 1 or is_never_mind(text.words):  # "olvidalo" is "never mind", not "olvidar"
        return None
    word = corrected_word(text.words[0])
    return Text(text.raw, [word], text.starts) if word else None


# --- the stranger's language -------------------------------------------------------------

_SPANISH_HINTS = SPANISH_WORDS | frozenset((
    "que de el la los las y por para con estoy quiero puedo gracias hola mi me te semana hasta lunes martes "
    "miercoles jueves viernes sabado domingo bien muy pero tengo esta este hoy manana mas nada uno dos tres "
    "cuatro cinco soy eres es son necesito ayudame favor porfa tambien cuando donde quien porque xq q pq "
    "vida morir nadie siento estar hablar llamar mensaje mensajes buenas buenos dias noches tardes semanas "
    "meses dia cada todo todos ya sola solo triste casa trabajo gente alguien ahorita orita ahora no"
).split())
_ENGLISH_HINTS = frozenset((
    "the i im to and you my is it can want please pls thanks thank hi hello week until till call text "
    "me am are be have need this that with for of in on not dont cant what when how who why just like "
    "feel feeling today tomorrow tmrw tonight someone anyone help stop yes no ok sorry u ur all good "
    "one two three four five days day weeks month evenings morning night about would could will"
).split())


def guess_language(raw: str, margin: int = 1) -> str | None:
    """``en`` or ``es`` when the text itself tells (its words, accents, the crisis lexicon's hits), by at
    least ``margin`` hints: one tells a newcomer's first text ("hola"); a member's language already in
    use changes only on clearer evidence than one word ("gracias", "ya we talked" are not)."""
    words = _letters(raw)
    spanish = sum(w in _SPANISH_HINTS for w in words)
    english = sum(w in _ENGLISH_HINTS for w in words)
    if re.search(r"[ñ¿¡áéíóú]", raw.casefold()):
        spanish += 2
    hits = crisis.crisis_languages(raw)
    spanish += 2 * ("es" in hits)
    english += 2 * ("en" in hits)
    if spanish - english >= margin:
        return "es"
    if english - spanish >= margin:
        return "en"
    return None


# A member's language changes for good on clear evidence (README): a sentence in Spanish ("hola, esta semana
# soy un 3 porque estoy muy cansada"). One "gracias", "hola" or "ya" is not, nor a Spanish command word alone
# from a member whose language is set ("estado" after LANG EN is answered in English; a newcomer's counts).
SENTENCE_EVIDENCE = 4


def writes_spanish(text: Text) -> bool:
    """True when ``text`` is a sentence in Spanish: at least SENTENCE_EVIDENCE more Spanish hints than English."""
    return guess_language(text.raw, margin=SENTENCE_EVIDENCE) == "es"


# --- the reading ---------------------------------------------------------------------------

_COMMANDS_WHOLE = {**{w: "MYDATA" for w in MYDATA}, **{w: "FORGET" for w in FORGET},
                   **{w: "MORE" for w in MORE}, **{w: "PULSE" for w in PULSE}, **{w: "LOG" for w in LOG},
                   **{w: "ROUND" for w in ROUND}, **{w: "CALL" for w in CALL}}
_COMMANDS_FIRST = {**{w: "NAME" for w in NAME}, **{w: "DONE" for w in DONE}, **{w: "EVERY" for w in EVERY},
                   **{w: "EVERY" for w in CADENCE_DAYS},
                   **{w: "HOURS" for w in HOURS}, **{w: "GATHER" for w in GATHER},
                   **{w: "CHANNEL" for w in CHANNEL},
                   **{w: name.upper() for w, name in COORD_WORDS.items()}}
_WHOLE_ONLY_COORD = frozenset({"pairs", "roster", "parejas", "lista"})


def _until(specs: list[AnswerSpec], tz: ZoneInfo, words: list[str]) -> str | None:
    ends = [s.until for s in specs if s.until is not None]
    if ends:
        return (min(ends).astimezone(tz) - timedelta(microseconds=1)).date().isoformat()
    if says_ongoing(words):
        return "ongoing"
    return None


def _answer_reading(specs: list[AnswerSpec], zone: ZoneInfo, words: list[str]) -> Reading:
    kept = goaround.kept_answers(specs)  # its "how" as it would be kept
    return Reading("goaround", options=sorted({s.option for s in kept}), until=_until(specs, zone, words),
                   how=next((s.how for s in kept if s.how), None))


def _context(now: datetime, language: str) -> Context:
    return Context(now=now, channel="sms", language=language, opted_out=False, name=None,
                   memberships=(), answers=(), groups={})


def _meaningful(words: list[str]) -> list[str]:
    return [w for w in words if w not in FILLER]


def _intent(text: Text, raw: str, language: str, zone: ZoneInfo, now: datetime) -> Reading:
    text = goaround.by_number(text, 0, now, zone, language)  # "i can help this week" is "2 this week"
    words = text.words
    meaningful = _meaningful(words)
    letters = _letters(raw)
    if not raw.strip():
        return Reading("unknown")
    if is_reaction(raw):
        return Reading("reaction")
    if stop_word(words):
        return Reading("stop")
    if meaningful and meaningful[0] in START and all(w in _START_FILLER for w in meaningful[1:]):
        return Reading("start")
    if is_one_of(words, HELP) or letters in (["help", "please"], ["ayuda", "por", "favor"]) or (
            tuple(letters) in _HELP_PHRASES):
        return Reading("help")
    if meaningful in (["0"], ["zero"], ["cero"]) or is_one_of(words, goaround.NONE):
        return Reading("goaround", options=[0])
    if goaround.undecided(text) is not None:
        return Reading("unknown")  # "1 or 4?", "2 or 5 idk": no rush, or what 1-5 mean; nothing kept
    if words and goaround.starts_answer(words):
        try:
            specs = goaround.parse(_context(now, language), text, 0, zone)
        except goaround.Unreadable as unreadable:
            # Clearly an answer, partly unreadable: the options read, nothing guessed as "how".
            read_options = unreadable.params.get("options", "")
            return Reading("goaround", options=[int(o) for o in read_options.split()])
        if specs is not None:
            return _answer_reading(specs, zone, words)
    try:
        after_sentence = goaround.parse_after_preamble(_context(now, language), text, 0, zone)  # "rough week. 4"
    except goaround.Unreadable:
        after_sentence = None
    if after_sentence:
        return _answer_reading(after_sentence, zone, words)
    if crisis.asks_call_after_yes(text.words):
        return Reading("command", command="CALL")  # "si llamame", "yes call me": CALL where nothing waits (outside9)
    if says_yes(letters) or letters in (["ya"], ["sure", "ya"]):  # "ya" is a filler in Spanish, "yes" in English
        return Reading("yes")
    if says_no_thanks(letters) and not says_not_well(raw):  # "no estoy bien" is no "no, I'm fine" (outside9)
        return Reading("no")
    if opens_yes(text):  # "yes i can call her tonight", "si perdon apenas lo vi" (replies7)
        return Reading("yes")
    if opens_no(text) and not says_not_well(raw):  # "no sorry cant this week", "cant make it sorry"
        return Reading("no")
    later_words = [w for w in re.findall(r"[a-z+]+", plain(raw))]
    if tuple(meaningful) in _LATER_PHRASES or is_one_of(words, LATER) or is_not_now(words) or says_later(words) or (
            later_words and len(later_words) <= 6 and all(w in _LATER_MARKS or w in _LATER_FILLER for w in later_words)
            and (any(w in _LATER_MARKS for w in later_words) or "tarde" in later_words)):
        return Reading("later")
    if is_one_of(words, STATUS) or (letters and any(w in STATUS for w in letters)
                                    and all(w in STATUS or w in _STATUS_FILLER for w in letters)):
        return Reading("status")
    if any(w in JOIN for w in meaningful[:6]) and len(meaningful) <= 8:
        return Reading("join")
    if words and words[0] in HOW and len(words) > 1 and not goaround.hedged_option(words):
        if words[1] in _GREETING_AFTER_HOW:
            return Reading("courtesy")  # "como estas", "how are you"
        return Reading("how", how=only_how(text.rest(1), goaround.MAX_HOW))
    if (words and words[0] in LANG) or (meaningful and all(
            w in LANGUAGE_NAMES or w in ("in", "en", "speak", "hablo", "habla", "please") for w in meaningful)
            and any(w in LANGUAGE_NAMES and len(w) > 2 for w in meaningful)):
        return Reading("lang")
    if crisis.asks_call(text.words):
        return Reading("command", command="CALL")  # CALL, and "call me" (carebot.flows.crisis)
    joined = "".join(letters)
    if asks_to_forget(words) or joined in ("mydata", "misdatos"):
        return Reading("command", command="FORGET" if joined not in ("mydata", "misdatos") else "MYDATA")
    if len(meaningful) == 1 and meaningful[0] in _COMMANDS_WHOLE:
        return Reading("command", command=_COMMANDS_WHOLE[meaningful[0]])
    if meaningful == ["not"]:
        return Reading("command", command="NOT")
    if words and words[0] in _COMMANDS_FIRST and (words[0] not in _WHOLE_ONLY_COORD or len(words) == 1) and (
            words[0] not in DONE or len(words) <= 2):
        if words[0] not in NAME or len(words) > 1:
            return Reading("command", command=_COMMANDS_FIRST[words[0]])
    if len(words) == 2 and words[0] in NOT_WITH and raw.split()[-1][:1].isupper():
        return Reading("command", command="NOT")
    if is_courtesy(raw):
        if letters and all(w in _ONLY_YES for w in letters):
            return Reading("yes")
        return Reading("courtesy")
    typo = corrected(text)
    if typo is not None:
        return _intent(typo, typo.words[0], language, zone, now)
    return Reading("unknown")


def read(text: str, *, lang: str | None, tz: str, now: datetime) -> Reading:
    """What carebot reads in ``text``, written at ``now`` by someone in timezone ``tz``."""
    zone = ZoneInfo(tz)
    if now.tzinfo is None:
        now = now.replace(tzinfo=zone)
    words = read_words(text)
    detected = guess_language(words.raw)
    language = lang or detected or "en"
    keyword = as_keyword(words) or words  # "pulse pls", "status thanks": the keyword (crisis is read in the whole)
    reading = _intent(keyword, keyword.raw, language, zone, now)
    # A reaction quotes a message that already exists: it is never a crisis of its own.
    in_crisis = reading.intent != "reaction" and crisis.in_crisis(words)
    intent = reading.intent
    if in_crisis and intent in ("unknown", "courtesy", "reaction", "help", "no", "later"):
        intent = "crisis"
    return Reading(intent, reading.command, reading.options, reading.until, reading.how,
                   detected or lang, in_crisis)
