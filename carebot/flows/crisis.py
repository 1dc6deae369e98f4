"""Crisis care without police: warm words, the group's own resources, and CALL.

Crisis words (English, Spanish, and common shorthand) get at once, whatever the
member was in the middle of, a short warm reply with the group's non-police
resources and an offer to have someone from the group reach out. Only when the
member replies CALL is anyone told. Only a category flag is kept, never the text.
"""

from __future__ import annotations

import functools
import re
from datetime import timedelta

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from carebot.domain.i18n import names_list, render
from carebot.flows.base import CallRequested, Context, CrisisNoted, Reply, Transition, render_for
from carebot.flows.join import removed_keywords
from carebot.flows.words import CALL, Text, is_one_of, plain

# The lexicon: phrases as people text them, matched over the plain form of the text
# (lower case, accents folded, apostrophes dropped so "don't", "don’t" and "dont" are one,
# punctuation as spaces). Kept plain so a group can read and extend them. Each side's hits
# also tell a stranger's language.
_HELP = r"(?:help|halp|hlp|hlep|hepl|helpp+)"  # "help" as thumbs type it in a hurry
# A plea is the whole text, or a plea followed by words of panic (outside8: "someone pls help me im freaking
# out", "ayudenme porfavor no se que hacer"): the member asks to be helped now. A favour asked goes on with
# what the help is for ("pls help me with the form", "ayudenme a mover la mesa") and is no plea.
_PANIC_EN = (r"((im|i am|i m|am|were|we are|we re) )?(so |really |very )?(freaking out|freakin out|panicking|panicing|scared|terrified|"
             r"afraid|shaking|losing it|losing my mind|going crazy|spiraling|spiralling|not ok|not okay|not safe|"
             r"in danger|hurt)|(i )?(dont|do not|dunno|cant|can not|cannot) (know what to do|think straight|calm down|"
             r"breathe|stop (shaking|crying|panicking))|idk what to do")
_PANIC_ES = (r"(ya )?no se (que hacer|que hago|que mas hacer|que me pasa)|tengo (mucho |tanto )?miedo|"
             r"estoy (muy |bien |super )?(asustad[oae]|aterrad[oae]|en panico|temblando|mal)|me estoy volviendo loc[oae]|"
             r"no puedo (respirar|calmarme|parar de llorar|mas)|me siento (muy )?mal")
_PLEA_END_EN = rf"( $| ({_PANIC_EN})\b)"
_PLEA_END_ES = rf"( $| ({_PANIC_ES})\b)"
# Going on living, in Spanish, after "no vale la pena", "no tiene sentido", "no tiene caso" (outside8: "no vale la
# pena seguir viviendo"): "seguir" alone or with "asi" is going on; "seguir esperando el bus" is not.
_GO_ON_ES = (r"(vivir|seguir (viviendo|vivo|viva|vive|aqui|en este mundo|existiendo)\b|seguir( ya| mas| asi)* $|"
             r"estar viv[oae]|existir)")
_EN = [
    r"suicid(e|es|al|ally|ality)?\b", r"kill(ing)? ?my ?self", r"kill me now", r"end(ing)? (my life|it all|things|my own life)",
    r"(want|wanna|going|gonna|ready|wish|wishing|plan|planning|about) (to )?(die|be dead|disappear forever)\b",  # not "diet"
    r"wan?na die\b", r"feel(s|ing)? like dying\b(?! (my|her|his|your|the|our) )",  # not "dying my hair" (dyeing)
    r"wish i (was|were) dead", r"wish i wasnt (alive|here|born)", r"better off (dead|without me)",
    r"(dont|do not|dnt|no longer) (want|wanna|wish) (to )?(live|be alive|be here|exist|wake up|go on)",
    r"(dont|do not) want to be here anymore", r"no (reason|point) (to|in) (live|living|going on|being alive)",
    r"(cant|can not|cannot) (go on|keep going|do this anymore|take (it|this) anymore|live like this)",
    r"self ?harm\w*", r"(hurt|hurting|harm|harming|cut|cutting|burn|burning) my ?self", r"overdos\w*",
    r"\bod(ing|d)?\b on", r"took (all )?(my|the) pills", r"\bkms\b", r"\bunaliv\w*", r"\bsh again\b",
    r"(in|having) a crisis", r"(having|had) a panic attack", r"panic attack",
    r"(not|dont feel|dont) safe (right now|rn|tonight|with myself|at home)", r"\bim not safe\b", r"\bi am not safe\b",
    r"(end|take) my (own )?life", r"life (isnt|is not|aint) worth living", r"not worth (living|being alive|staying alive|existing)\b", r"(say|saying) goodbye (to everyone|forever)",
    r"(nobody|no one|noone) would (care|miss me|notice) if i (died|was gone|disappeared)",
    r"(give|giving) up on (life|everything)", r"(want|wanna) it (all )?to (end|stop)( forever)?",
    r"(thinking|thoughts) (about|of) (dying|death|ending it)", r"jump (off|from) (a|the) (bridge|roof|building)",
    r"(hang|hanging) my ?self", r"\bdone with (life|living)\b", r"cant breathe.*(panic|scared|help)",
    r"(breaking|broke) down.*(cant|help)", r"(i am|im) (falling apart|not ok(ay)?)( at all)?\b.*(help|scared|safe)",
    # no point, no future, tired of living
    r"(dont|cant|do not) see (the|any) point( anymore| in (living|anything|going on)|$)", r"whats the point (of|in) (living|going on|life)",
    r"no reason (for me )?to (stay alive|live|keep going|be here)", r"(dont|cant) see (a|any) future",
    r"life (isnt|is not|aint) worth it", r"tired of (being alive|living|life|existing)", r"sick of (being alive|living)",
    r"(wont|will not) be (around|here) (much )?(longer|tomorrow)", r"(my|this is my) last (text|message)",
    r"sorry for everything.*(goodbye|bye)", r"goodbye (letter|note)s?", r"(only|the one) way out",
    r"(pain|it all|everything) to (stop|end) forever", r"(disappear|vanish) so (nobody|no one|noone)",
    r"(nobody|no one|noone) would (even )?(notice|care|miss me)", r"everyone would be better (off )?without me",
    r"(hope|wish) i (dont|do not|never) wake up", r"(sleep|go to sleep) and never wake up",
    r"(dark|intrusive|suicidal) thoughts", r"scared of (myself|what i might do)", r"(do|doing) something to myself",
    r"(dont|cant) trust myself", r"(cant|shouldnt) be alone tonight",
    # means: pills, weapons, heights, driving
    r"(took|taken|swallowed|ate) (too many|a bunch of|all|the whole|a whole|the rest of) (my |the |of my )?(pills|meds|medication|bottle)",
    r"swallowed the (whole )?bottle", r"(pills|razor|blade|knife|gun|rope) (in my hand|next to me|ready)",
    r"saving up (my )?(pills|meds)", r"(bought|got|have) a (gun|rope)", r"(standing|sitting) on the (bridge|roof|ledge|edge)",
    r"(jump|jumping|throw myself) (off|from) (a|the|this) (bridge|roof|building|ledge|balcony|parking garage|garage|cliff|window|tower|overpass)",
    r"(jump|jumping|step|stepping|throw myself) in front of (a|the) (train|bus|car|truck)", r"drive (my car )?into a (tree|wall|truck)", r"(relapsed|relapse) on (cutting|self harm|sh)",
    r"\bend it (this|tonight|today|tomorrow|soon|all)", r"(going|gonna|decided) to end it\b",
    # "i have a plan to end it", "i want to end it" (the whole text, or closed by "now", "tonight"...):
    # not "i want to end it early today lol", and "end it with my boyfriend" is guarded below.
    r"(have|got|made|making|with) a plan to (end it|end things|do it|die|kill myself|end my life)",
    r"(want|wanna|need|ready) to end it( all)?( now| tonight| today| already| for good| forever)? $",
    # violence and danger from someone else
    r"\b(he|she|they|my \w+) (hit|hits|beat|beats|choked|chokes|strangled|hurt|hurts|threatened|threatens) me\b",
    r"(said|says|threatened) (hed|shed|theyd|he would|she would|to) kill me", r"threatened me with",
    r"(scared|afraid) to go home", r"locked myself in", r"(broke|breaking|kicking) (the|my) door( down| in)?",
    r"(someone|somebody|a man|a guy|he|she) is following me", r"(outside|at) my door and (wont|will not) leave",
    r"(dont|do not) feel safe", r"\bim not safe", r"i think im dying", r"(cant|can not) breathe.*(dying|die|help)",
    r"\bim in (a )?crisis", r"\bin crisis\b",
    # misspelt: "sucidal", "suiside", "suicdal" (the leetspeak "su1c1dal" is read through _deleet)
    r"su+i*[cs]+i*d+(e|es|al|ial|le|el)\b", r"sewer ?slide", r"kil+ ?my ?sel+f", r"\bkys myself\b",
    # "cutting again", "i cut again", "been cutting": not "my hours got cut again", "been cutting onions"
    r"(cutting|cuttin) again", r"(i|ive|i have|i just) cut again", r"(started|start|back to|keep|been) cutting $",
    r"urges? to (cut|self harm|hurt myself)", r"(want|wanna|need) to cut( myself)? $",
    # a plea: "i need help now", "someone please help me", "help me": never a menu. Only the whole
    # text: "can someone help me move on sat" and "i need help with rent" are not pleas, and
    # "help" alone (or "help please") is the HELP command.
    rf"(please |pls |plz )?(i )?(really |desperately |urgently )?need (some )?{_HELP}"
    rf"( please| pls| plz| now| asap| right now| rn| urgently| immediately| bad(ly)?| fast| someone| anyone)*{_PLEA_END_EN}",
    r"(please |pls |plz |can |could |will |would )?(some ?one|some ?body|anyone|any ?body|some1) (please |pls |plz )?"
    rf"{_HELP}( me+| us)?( please| pls| plz| now| asap| right now| rn)*{_PLEA_END_EN}",
    rf"(please |pls |plz )+{_HELP}( me+| us)?( please| pls| plz| now| asap| right now| rn| someone| anyone)*{_PLEA_END_EN}",
    rf"{_HELP} (me+|us)( please| pls| plz| now| asap| right now| rn| someone| anyone)*{_PLEA_END_EN}",
    rf"{_HELP}( please| pls| plz)*( now| asap| right now| rn| someone| anyone)( please| pls| plz| now| asap)*{_PLEA_END_EN}",
    r"(?<!. )(sos|mayday|emergency|help help|help me help me)( please| pls)* $",  # the whole text
    # outside5's: "i want to disappear" (the whole text or closed by "forever", "tonight"...; not "disappear
    # into my bed all weekend"), "i want to stop existing", "what is the point of living"
    r"(want|wanna|need) to disappear( forever| for good| now| tonight| already| from (this|the) world)? $",
    r"(want|wanna|wish i could) (to )?(stop existing|not exist|cease to exist|leave this world)",
    r"(whats|what is|wats) the point (of|in) (living|going on|life|being alive|existing)",
    # outside7's: a plan ("i'm going to take all my pills", "tonight i'll end it"), no point or meaning in
    # living ("i dont see a point in living", "life has no meaning"), a wish to be dead ("i wish i could
    # just die"), for everything to end ("i want everything to stop"; not "i want this week to end").
    r"(going to|gonna|about to|will|ill|i ll|want to|wanna|plan to|planning to|thinking (about|of)) (take|taking|swallow|swallowing|down|od on|overdose on) "
    r"(all|every one of|the rest of|the whole bottle of|a whole bottle of|a bottle of|every|a bunch of)( of)? (my |the |of my )?"
    r"(pills?|meds|medication|medicine|sleeping pills|bottle)\b",
    r"(tonight|today|tomorrow|this weekend|soon) (ill|i ll|i will|im going to|im gonna|i am going to|i m going to) end (it|things|my life|it all)\b"
    r"(?! (early|with|at|by|after|before|when|there|here|for the))",
    r"(ill|i ll|i will|im going to|im gonna|i am going to) end (it|it all|things|my life)( tonight| today| tomorrow| soon| for good| now)* $",
    r"(dont|cant|do not|can not|cannot|no longer|never) (see|find) (a|the|any|no) (point|reason|meaning|purpose) (in|to|of|for) "
    r"(living|live|life|being alive|go(ing)? on|keep(ing)? going|existing|be(ing)? here|stay(ing)? alive)\b",
    r"(see|find|there is|theres|there s|have) no (point|reason|meaning|purpose) (for me )?(in|to|of|for) "
    r"(living|life|being alive|going on|existing|keep(ing)? (going|living))\b",
    r"(wish i could|want to|wanna|i just want to) (go to )?sleep forever( now)? $",
    r"(my )?life (has|had|holds) no (point|meaning|purpose|sense)", r"(my )?(life|living|existing|being alive) (is|feels|seems) (so )?(pointless|meaningless|worthless|purposeless)\b",
    r"(wish|hope) i (could|would|d|will|might|can) (just )?(die|be dead|stop existing|not wake up|never wake up|disappear forever)\b"
    r"(?! (my|her|his|your|the|our|it) )",  # not "wish i could die my hair blue" (dye)
    r"wish i (was|were|had) never (been )?born", r"(wish|hope) i die\b",
    r"(want|wanna|need|wish|i just want) (for )?(everything|it all|all of it|all of this|the pain|this pain|my life) to (end|stop|be over)\b"
    r"(?! (being|raining|for|so|at|by|early|soon|before|after|on|in|when|and start))",
    r"(want|wanna|need|wish) (for )?it (all )?to be over( already| now| forever| for good| please| pls)* $",
    r"(tonight|today) (is|s) the (night|day) i (end|do) (it|things|my life)\b", r"(exhausted|weary|worn out) (of|from|with) (living|being alive|life|existing)\b",
    r"(done|finished) (living|being alive|existing)\b", r"(cant|can not|cannot) (live|go on) with (this|it)( anymore| any more)? $",
]
_ES = [
    # "suicida", "suicidio", "suicidarme": Spanish; "suicide", "suicidal" read as English (above), so an
    # English member's "quiero suicidarme" is answered in Spanish.
    r"suicid(?!(e|es|al|ally|ality)?\b)\w*", r"matarme", r"me (voy a|quiero) matar", r"quitarme la vida", r"acabar con (mi vida|todo)",
    r"(me )?quiero morir(me)?", r"quisiera (morir(me)?|estar muert[oae]|desaparecer)", r"ganas de morir(me)?",
    r"no quiero (vivir|seguir( viviendo)?|estar aqui|despertar|existir)", r"(ya )?no (quiero|puedo) seguir",
    r"hacerme dano", r"lastimarme", r"cortarme", r"me (corte|estoy cortando)", r"autolesi\w*", r"sobredosis",
    r"(ya )?no (puedo|aguanto) mas", r"no aguanto (esto|la vida)", r"estoy en crisis",
    # "ya no aguanto", "no aguanto" (I can't take it anymore), the whole text or its end; not "ya no
    # aguanto este calor jaja"
    r"(?<!. )(ya )?no (lo )?aguanto( ya)? $", r"ya no (lo )?aguanto( ya)? $", r"crisis de (ansiedad|panico)",
    r"ataque de (panico|ansiedad)", r"no estoy a salvo", r"no me siento (a salvo|segur[oae])",
    r"mejor (estaria|estar) muert[oae]", rf"no vale la pena( ya)? {_GO_ON_ES}", r"terminar con (mi vida|todo)",
    r"(tome|tomar(me)?) todas (las|mis) pastillas",  # not "tomar las pastillas despues de comer"
    r"despedirme de (todos|todes)", rf"no tiene sentido {_GO_ON_ES}",
    r"nadie me extranaria", r"desaparecer para siempre", r"quiero desaparecer",
    r"(me )?(kiero|qiero|quiero) morir", r"no (kiero|qiero) (vivir|seguir)", r"(no le veo|no tiene|que|q) sentido (a nada|tiene (seguir|vivir))",
    r"no le veo (ningun )?sentido( a (nada|la vida|mi vida|vivir|seguir|existir)\b|( ya)? $)",
    r"no veo (ningun )?futuro", r"mejor me muero", r"(unica|la unica) salida es (morir|matarme)",
    r"\bmorirme\b", r"no valgo nada", r"(estarian|estaria) mejor sin mi", r"(ojala|quisiera|quiero) (dormirme y )?no despertar",
    r"no quiero estar viv[oae]", r"cansad[oae] de (vivir|la vida|estar viv[oae])", r"(sigo|seguir) viviendo si",
    r"(mi )?ultimo mensaje", r"cartas? de despedida", r"perdon por todo.*adios", r"adios a (todos|todas|todes) para siempre",
    r"(tome|me tome|trague|me trague) (un monton de|muchas|todas las|demasiadas|el frasco)", r"\bme trague\b",
    r"tome demasiad[oa]s?", r"(tengo|con) (las|unas) pastillas (aqui|en la mano)", r"me volvi a cortar",
    r"me hice dano", r"me (quiero|voy a) hacer (dano|algo)", r"hacerme (algo|dano)", r"me haga dano",
    r"(quiero|voy a) (tirarme|aventarme|lanzarme)", r"(estoy )?(en|sobre) el puente y", r"(con|tiene|trae) (un|una) (cuchillo|pistola|navaja|arma)\b(?! para)",
    r"(compre|tengo|consegui) (un|una) (pistola|arma|cuerda)",
    r"no se si voy a aguantar", r"no confio en mi", r"no puedo quedarme sol[oae]", r"tengo (una )?crisis",
    r"me (pega|pegan|golpea|golpean|esta golpeando|esta pegando|quiere pegar|amenaza|amenazo)",
    r"(esta|estan) borrach[oa]", r"tengo miedo de (volver|regresar|ir) a (la |mi )?casa", r"me encerre",
    r"me esta siguiendo", r"no me deja salir", r"no puedo respirar",
    r"quitar(me)? la vida", r"me (kiero|qiero|voy a|vy a) matar", r"suisid\w*", r"sui?c?idar(me)?\b",
    r"(cortandome|cortarme|me corte|me estoy cortando) (otra vez|de nuevo|otra ves)", r"volvi a cortarme",
    r"me (quiero|voy a|vuelvo a|volvi a|kiero|qiero) cortar\b",
    r"ganas de (cortarme|lastimarme|hacerme dano)",
    # a plea: "necesito ayuda ya", "ayudame por favor", "auxilio" (only the whole text; "ayuda" alone is AYUDA)
    rf"necesito (una )?ayuda( ya| ahora| urgente| ahorita| por favor| porfavor| porfa| porfis| x favor| xfa| pronto| rapido| de alguien)*{_PLEA_END_ES}",
    r"(por favor |porfavor |porfa |x favor |xfa |alguien )*(ayudame|ayudenme|ayudeme|ayudarme|me ayudan|me ayuda|me puede ayudar|me pueden ayudar)"
    rf"( por favor| porfavor| porfa| porfis| x favor| xfa| ya| ahora| urgente| alguien| rapido|)*{_PLEA_END_ES}",
    rf"ayuda( por favor| porfa| xfa)*( ya| ahora| urgente| ahorita| rapido| alguien)( por favor| porfa| xfa| ya)*{_PLEA_END_ES}",
    rf"(alguien|alguno) (por favor |porfa )?(ayuda|ayudeme|ayudame)( por favor| porfa| ya)*{_PLEA_END_ES}",
    r"(ya )?no se (que hacer|que hago)( ya)?( por favor| porfa| porfavor)* (ayuda|ayudame|ayudenme|auxilio)"
    r"( por favor| porfavor| porfa| xfa| ya| alguien)* $",
    r"(auxilio|socorro)\b",
    # outside5's: "me quiero ir de este mundo", "quiero dejar de existir" (not "dejar de fumar")
    r"(quiero|quisiera|me quiero|me quisiera|voy a) ir(me)? de este mundo", r"irme de este mundo",
    r"dejar de existir", r"(quiero|quisiera) dejar de vivir( ya)? $",
    # outside7's: a plan ("voy a tomarme todas las pastillas"), tired of living ("ya me canse de vivir"),
    # no meaning in life ("no le encuentro sentido a la vida"), a wish to be dead ("ojala me muriera"),
    # for it all to end ("quiero que todo termine"; not "quiero que termine la semana").
    r"(voy a|me voy a|vy a|pienso|quiero|ahorita|hoy|esta noche) (me )?(tomar(me)?|tomo|tragar(me)?|trago) (todas (las|mis)|toda la caja de|"
    r"el frasco de|un monton de|todo el frasco de|el resto de (las|mis)) (pastillas|pildoras|medicinas|medicamentos|pastis)",
    r"(voy a|me voy a|quiero|pienso) (saltar|brincar|tirarme|aventarme|lanzarme) (del|de un|de una|desde el|desde la|desde un|al|a las vias del) "
    r"(puente|edificio|techo|azotea|balcon|ventana|tren|metro|piso)",
    r"(me )?(canse|harte|aburri|fastidie) de (vivir|la vida|estar viv[oae]|existir)", r"hart[oae] de (vivir|la vida|estar viv[oae]|existir)",
    r"(sin|no tengo|ya no tengo|no me quedan|ya no me quedan|perdi las) ganas de (vivir|seguir|existir)",
    r"no (le )?(encuentro|hallo|veo) (ningun |el )?sentido (a|en) (la vida|mi vida|vivir|seguir|existir|nada)\b",
    r"(la|mi) vida (ya )?no (tiene|le veo|le encuentro) (sentido|caso|proposito|razon)", r"(la|mi) vida (ya )?(es|esta) vaci[ao] y sin sentido",
    r"(vivir|seguir|seguir viviendo|existir) (ya )?no tiene (sentido|caso)", rf"no tiene caso {_GO_ON_ES}", r"(la|mi) vida (ya )?no vale la pena\b",
    r"(no|ya no) (encuentro|tengo|veo|hay) (ninguna )?(razon|razones|motivo|motivos) para (vivir|seguir)",
    r"(ojala|quisiera|desearia|quiero) (que )?me (muriera|muera|muriese)\b", r"(ojala|quisiera|desearia) (morir(me)?|estar muert[oae])\b",
    r"(ojala|quisiera) (estuviera|estuviese) muert[oae]", r"(ojala no|quisiera no|desearia no) (hubiera|haber|hubiese) nacido",
    r"ojala (ya )?no (despertar|despierte|despertara|amanecer|amanezca)\b",
    r"(quiero|quisiera|ojala|necesito) (que )?(ya )?(todo|todo esto|el dolor|mi vida) (se )?(termine|acabe|terminara|acabara|termine ya|acabe ya)\b"
    r"(?! (bien|pronto|rapido|a tiempo|temprano|antes|para|en|el|la|de))",
    r"(quiero|quisiera|ojala) (que )?(ya )?(se )?(termine|acabe|terminara|acabara) (todo|todo esto|el dolor|mi vida)( ya| de una vez| para siempre)? $",
    r"(quiero|quisiera|ojala) (que )?esto (se )?(termine|acabe|terminara|acabara)( ya| de una vez| para siempre)? $",
    r"(voy a|me voy a) (tomar(me)?|tragar(me)?) (todo el frasco|el frasco entero|toda la caja)( de \w+)? $",
    r"(hoy|esta noche|manana|ya) (acabo|termino) con (todo|mi vida)\b",
    r"me (voy a|quiero) (tirar|aventar|lanzar|echar) (del|de un|de una|desde el|desde la|desde un|al|a las vias|por la ventana)\b",
    r"ganas de (nada )?ni (de )?vivir\b", r"(ojala|quisiera) (amanecer|despertar|aparecer) muert[oae]", r"ya nada tiene sentido\b", r"(?<!. )nada tiene sentido( ya)? $",
    r"(para|pa) que (seguir viviendo|vivir|seguir vivo|seguir viva|seguir vive)\b",
]
# Words people put between the crisis words without changing them ("whats even the point of living",
# "i just really want to die", "la neta ya no quiero vivir"): the lexicon is read with them and
# without them, so one more "even" never hides a crisis. None of them is a negation or an object.
_FILLERS = re.compile(
    r"(?<= )(even|really|rly|just|literally|honestly|truly|actually|kinda|kind of|sort of|so|very|ever|fucking|"
    r"fkn|fking|freaking|seriously|srsly|totally|tbh|lowkey|genuinely|la neta|neta|de verdad|la verdad|"
    r"realmente|en serio|enserio|literalmente|simplemente|como que|pues) ")
# Idioms and negations that share words with the lexicon but are not a crisis; they are
# taken out of the text before the lexicon is read, so anything else in it still counts.
_GUARDS = [
    r"(this|that|it|traffic|work|homework|class|the heat|these shoes|my back|the wait|suspense|you|u) (is|are|was|r)? ?killing me",
    r"(dying|muriendo) (to|de|por) \w+", r"(?<!want )(?<!wanna )(?<!going )(?<!ready )(?<!wish i could )to die for\b(?! real)", r"(killed|killing|kill) it", r"me muero de (risa|hambre|sueno|ganas|calor|frio|verguenza)",
    r"me mata(s|n)? (de risa|la curiosidad)", r"(suicide|suicidio) (squad|prevention|awareness|hotline training|prevencion)",
    r"prevencion del suicidio", r"(not|never|nunca|no) (suicidal|suicida)", r"(no|not) (in )?(a )?crisis",
    r"no estoy en crisis", r"panic attack (training|workshop|talk|info)", r"(my|the) (phone|battery|car) (is )?(dead|died|dying)",
    r"(dead|muerto|muerta) (tired|cansad[oa]) ", r"ataque de risa",
    # A battery, and hyperbole about a bad day: "my phone is about to die", "that meeting was suicide lol",
    # "i want to die of embarrassment", "social suicide".
    r"(my|the|ur|your) (phone|cell|battery|car|laptop|computer|charger|tablet|ipad|iphone|android) (is |s )?"
    r"(about to|going to|gonna|bout to|abt to|fixing to|finna|ready to) die",
    r"(that|this|the|todays|today s|tonights) (meeting|class|shift|game|workout|exam|test|hike|drive|commute|week|"
    r"day|party|show|movie|practice|trip|run|quiz|final|interview|presentation|call|zoom) (was|is|will be|would be) "
    r"(literally |basically |pure |total |social |career )?suicide",
    r"(social|career|political|financial|fashion) suicide",
    r"((want|wanna|going|gonna|about|could|might|will|gonna|i ll|ill) (to )?)?(die|dying|died|dead) (of|from) "
    r"(embarrassment|embarassment|shame|boredom|laughter|laughing|cringe|cuteness|envy|jealousy|the cringe)",
    r"(run|running|ran|do|did) suicides", r"suicides (drill|all practice)",
    r"(cant|can not|cannot) go on (the|a|an|this|that|our|my|your|friday|monday|tuesday|wednesday|thursday|saturday|sunday|tonight|today|tomorrow|trip|vacation|break|shift)\b",
    r"overdos\w* on (girl scout )?(cookies|candy|sugar|coffee|caffeine|chocolate|pizza|tacos|netflix|tv|memes)",
    r"(not|no longer|never) (having )?(any )?(thoughts of )?(hurting|harming|killing) myself",
    r"(not|no longer) (feeling )?suicidal( anymore)?",
    r"morir(me)? de (la )?(verguenza|risa|hambre|sueno|calor|frio|ganas|aburrimiento)",
    r"(me corte|me (quiero|voy a|vuelvo a|volvi a) cortar|cortarme) (el|la|los|las|mi) (pelo|cabello|fleco|flequillo|unas|barba)",
    # A relationship ending: "i want to end it with my boyfriend" (not "end it with these pills").
    r"end(ing)? (it|things) with (my (boyfriend|girlfriend|bf|gf|partner|husband|wife|ex|fiance|fiancee|date)|him|her|them)\b", r"me corte con (el|un|una) (papel|hoja)",
    r"no puedo mas de (la )?risa",
    # "no aguanto mas este trafico jaja", "ya no aguanto mas el calor": a nuisance, not a life
    r"no (aguanto|soporto) (mas )?(a )?(este|esta|ese|esa|el|la|los|las|estos|estas|mi|mis|tu|tus|al) "
    r"(trafico|calor|frio|lluvia|ruido|tarea|tareas|cola|fila|espera|clase|clases|examen|examenes|jefe|jefa|"
    r"vecino|vecina|vecinos|perro|gato|cantante|serie|novela|partido|equipo|musica|cancion|olor|zapatos|"
    r"sueno|hambre|gente|trabajo|tos|gripa|gripe|resfriado|dolor de cabeza)\b", r"no quiero morir(me)? sin", r"[a-z]+ de (la )?risa",
    # An offer, not a plea: "i can help someone", "happy to help anyone" ("help someone" alone still is one).
    r"(can|could|cant|will|would|ll|happy to|free to|glad to|able to|want to|wanna|like to|love to) help( out)? "
    r"(someone|somebody|anyone|anybody|people|others|folks)\b",
    # Reassurances: "im not going to hurt myself lol", "no me quiero morir, solo estoy cansada".
    # Only the reassuring words go; "...but i want to die" still reads as crisis.
    r"(not|never|wont|won t) (going to|gonna|gunna) (hurt|harm|kill|cut) myself",
    r"no (me )?quiero morir(me)? (solo|nomas|nada mas|solamente) (estoy|ando|me siento) (muy )?"
    r"(cansad[oae]|agotad[oae]|exhaust[oa])",
    # Where and with whom, not whether: "tired of living in this city", "tired of living with my roommate",
    # "harta de vivir en esta ciudad". Living in this world, in pain, with this or with myself stays a crisis.
    r"(living|live|vivir|viviendo) (in|with|at|here|there|next to|near|under|off|out of|paycheck to|downtown|abroad|"
    r"en|con|aqui|alla|cerca de|lejos de|junto a)\b(?! ?(this|the|a|este|el|un) (world|body|pain|mundo|cuerpo|dolor)\b)"
    r"(?! ?(pain|fear|misery|hell|agony|myself|me|dolor|miedo|esta vida|conmigo|mi misma|mi mismo|el infierno)\b)"
    r"(?! ?(it|this|esto)( anymore| any more| ya| mas)? $)"
    r"(?! ?(my|mi) (head|body|skin|mind|cabeza|cuerpo|mente)\b)",
    # Hopes for an old age, and hair dyed: "i hope i die laughing", "want to die my hair blue".
    r"(die|dying|died) (laughing|old|rich|trying)\b", r"(die|dying|died|dyed) ((my|her|his|your|their|our|the) )?"
    r"(hair|beard|shirt|jeans|clothes|eyebrows|bangs|roots|tips|eggs)\b",
    # Packing for a trip: "i'm going to take all my meds with me".
    r"(pills?|meds|medication|medicine|pastillas|medicinas) (with me|on the (trip|plane|road)|for the trip|conmigo|al viaje|de viaje|"
    r"with (food|a meal|meals|breakfast|lunch|dinner)|as prescribed|like the doctor said|con (la )?comida|como dijo (el|la) doctor[a]?)\b",
]


def _phrases(phrases: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:\\b{p})" for p in phrases))


_CRISIS = {"en": _phrases(_EN), "es": _phrases(_ES)}
_GUARD = re.compile("|".join(f"(?:\\b{p})" for p in _GUARDS))
_NOT_WORD = re.compile(r"[^\w]+")


def _matchable(raw: str) -> str:
    text = plain(raw).replace("'", "")
    return " " + _NOT_WORD.sub(" ", text).strip() + " "


# Leetspeak, as people hide a word from filters (or from themselves): "su1c1dal", "k!ll mys3lf".
# Only inside a word that has letters, only where the symbol touches a letter: "1 5" and "2w" stay.
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s",
                       "!": "i", "|": "l", "8": "b"})
_LEET_CHAR = re.compile(r"(?<=[a-z])[013457@$!|8]+|[013457@$!|8]+(?=[a-z])")


def _deleet(raw: str) -> str:
    text = plain(raw)
    return _LEET_CHAR.sub(lambda m: m.group().translate(_LEET), text)


# --- typos in the crisis phrases' own words ------------------------------------------------
# "i wnat to die", "kill myslef", "want too die", "ya no quiero vivr", "bivir": a word that is not
# one of the lexicon's is read as the lexicon's word it is a slip of, and the text is read again
# with it. Only slips of the thumb count, never "one letter off" in general: "dye", "love", "lie"
# and "hill" are real words a letter away from "die", "live" and "kill", and the phrase around them
# must still be a whole crisis phrase.
def _lexicon_words(phrases: list[str]) -> set[str]:
    text = re.sub(r"\\[a-zA-Z]|\{[^}]*\}", " ", " ".join(phrases))
    text = re.sub(r"\[\^?([a-z]?)[^\]]*\]", r"\1", text)  # "muert[oae]" is "muerto"
    return set(re.findall(r"[a-z]{2,}", text))


_LEXICON_WORDS = frozenset(_lexicon_words(_EN) | _lexicon_words(_ES))
# Letters that sound alike in Spanish spelling ("bivir", "dezaparecer"), and keys side by side on a
# phone's keyboard ("myselg", "matatme").
_ALIKE = {frozenset(pair) for pair in ("bv", "sz")}
_VOWELS = frozenset("aeiouy")
_KEYS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS = {frozenset((row[i], row[i + 1])) for row in _KEYS for i in range(len(row) - 1)} | {
    frozenset((top[i], below[j])) for top, below in zip(_KEYS, _KEYS[1:], strict=False) for i in range(len(top))
    for j in (i - 1, i) if 0 <= j < len(below)}


def _slip(typed: str, word: str) -> bool:
    """``typed`` is ``word`` with one slip of the thumb: two letters swapped ("wnat"), a letter
    doubled or undoubled ("kil"), a letter dropped from a longer word ("vivr"), one that sounds alike
    ("bivir"), or, in a word of five letters or more, the key beside it ("myselg"). Never any letter for
    any other: "morirse" and "matarse" are words of their own, a letter from "morirme" and "matarme"."""
    if len(typed) == len(word):
        diff = [i for i, (a, b) in enumerate(zip(typed, word, strict=True)) if a != b]
        if len(diff) == 2 and diff[1] == diff[0] + 1:
            return typed[diff[0]] == word[diff[1]] and typed[diff[1]] == word[diff[0]] and len(word) >= 3
        if len(diff) == 1:
            pair = frozenset((typed[diff[0]], word[diff[0]]))
            return (len(word) >= 4 and pair in _ALIKE) or (len(word) >= 5 and pair in _NEIGHBOURS)
        return False
    longer, shorter = (typed, word) if len(typed) > len(word) else (word, typed)
    if len(longer) != len(shorter) + 1:
        return False
    at = next((i for i, (a, b) in enumerate(zip(shorter, longer, strict=False)) if a != b), len(shorter))
    if longer[:at] + longer[at + 1:] != shorter:
        return False
    doubled = (at > 0 and longer[at - 1] == longer[at]) or (at + 1 < len(longer) and longer[at + 1] == longer[at])
    # A short word's only vowel dropped ("wnt", "dnt", "kll"): what is left is no word of either language
    # (each needs a vowel), while a consonant dropped can leave one ("lie" from "live", "dad" from "dead").
    vowel_dropped = len(typed) < len(word) and not _VOWELS.intersection(typed)
    return doubled or len(word) >= 5 or vowel_dropped


# Words typed for the sound of another ("i want too die", "i want 2 die", "i wish i was ded"): read as
# that word too.
_SAID_ALIKE = {"too": "to", "2": "to", "ded": "dead"}


@functools.lru_cache(maxsize=4096)
def _mended(word: str) -> str:
    """The lexicon's word ``word`` is a slip of, or ``word`` itself."""
    if word in _SAID_ALIKE:
        return _SAID_ALIKE[word]
    if word in _LEXICON_WORDS or not word.isalpha() or len(word) < 2:
        return word
    near_words = process.extract(word, _LEXICON_WORDS, scorer=Levenshtein.distance, score_cutoff=2, limit=None)
    # The nearest first, and the same one whatever order the set iterates in.
    for near, _, _ in sorted(near_words, key=lambda hit: (hit[1], hit[0])):
        if _slip(word, near):
            return near
    return word


# A text sent before its last word was finished ("i want to di", "i dont want to liv"): the last word,
# one letter short of a lexicon word, is read as that word. Only the last: "di" inside a text is
# Spanish ("ya le di de comer"), and a finished word is never read as a longer one.
_CUT_SHORT: dict[str, frozenset[str]] = {}
for _word in sorted(_LEXICON_WORDS):
    if len(_word) >= 3 and _word[:-1] not in _LEXICON_WORDS:
        _CUT_SHORT[_word[:-1]] = _CUT_SHORT.get(_word[:-1], frozenset()) | {_word}


def _mend(form: str) -> set[str]:
    """The text with its slips mended, once for each way its last word may have been cut short."""
    words = [_mended(word) for word in form.strip().split(" ")]
    last = words[-1] if words else ""
    return {" " + " ".join(words) + " "} | {
        " " + " ".join([*words[:-1], whole]) + " " for whole in _CUT_SHORT.get(last, ())}


# The router asks of one text up to four times (crisis first, an autoreply, the reply's language), and each
# read is some 400 µs of regular expressions over its mended forms: the last few texts' answers are kept
# (a frozenset, so no caller can change what the next one is given). In memory only, a handful, never
# written or logged, as web.py's senders are.
@functools.lru_cache(maxsize=16)
def crisis_languages(raw: str) -> frozenset[str]:
    """The languages whose crisis phrases the text uses (empty when it speaks of no crisis)."""
    found: set[str] = set()
    # Idioms go first ("suicide prevention"), then the slips in what is left are mended.
    guarded = {_GUARD.sub(" ", form) for form in (_matchable(raw), _matchable(_deleet(raw)))}
    for text in guarded.union(*(_mend(form) for form in guarded)):
        for variant in {text, _FILLERS.sub("", text)}:  # one read when the text has no filler to take out
            found |= {language for language, pattern in _CRISIS.items() if pattern.search(variant)}
    return frozenset(found)


# Used where a group has not listed its own: peer-run, and it does not send anyone to the caller.
DEFAULT_RESOURCES = {
    "en": "Trans Lifeline 877-565-8860 (peer support)",
    "es": "Trans Lifeline 877-565-8860 (apoyo entre pares)",
}


def in_crisis(text: Text) -> bool:
    """True when the member's words speak of crisis."""
    return bool(crisis_languages(text.raw))


def resources_for(ctx: Context) -> str:
    """The member's groups' own crisis resources, or the peer-run default."""
    listed = [m.group.crisis_resources.strip() for m in ctx.memberships if m.group.crisis_resources.strip()]
    return "; ".join(dict.fromkeys(listed)) or DEFAULT_RESOURCES.get(ctx.language, DEFAULT_RESOURCES["en"])


def crisis_reply(ctx: Context) -> Transition:
    """The warm reply to crisis words: resources and, to a member of a group, the CALL offer
    (a stranger is not promised a group they don't have)."""
    key = "crisis.reply" if ctx.memberships else "crisis.reply.stranger"
    text = render_for(ctx, key, resources=resources_for(ctx))
    group_ids = tuple(m.group.id for m in ctx.memberships)
    # "final": it goes whatever else holds the member's replies (a burst of texts past the flood
    # limit is just when someone may be in crisis), like a STOP's confirmation.
    return Transition(replies=(Reply(text, purpose="final"),), effects=(CrisisNoted(group_ids),))


AFTER_STOP_EVERY = timedelta(days=1)


def reply_after_stop(ctx: Context) -> Transition:
    """Crisis words from someone who sent STOP: a reply to their own text with resources only,
    at most once a day; nobody is contacted. Where the provider refuses it (Twilio 21610 after
    a carrier-level STOP) the sender gives it up and nothing else is tried."""
    if ctx.crisis_answered_at is not None and ctx.now - ctx.crisis_answered_at < AFTER_STOP_EVERY:
        return Transition()
    text = render("crisis.reply.stranger", ctx.language, resources=resources_for(ctx))
    group_ids = tuple(m.group.id for m in ctx.memberships)
    return Transition(replies=(Reply(text, purpose="final"),), effects=(CrisisNoted(group_ids),))


# "call me", "pls call me", "can someone call me", "llamenme", "me pueden llamar": CALL in words. Only
# the whole text: "call me at 2" or "call me evenings" says how to reach them, not "now".
_CALL_ME = re.compile(
    r"^((please|pls|plz|can|could|will|would|someone|somebody|anyone|some1|u|you|pls|now) )*"
    r"call me( back)?( please| pls| plz| now| asap| someone| anyone| when you can| today| soon)*$|"
    r"^((por favor|porfa|xfa|alguien|me|puede|pueden|podrian|podria|puedes|ahora|ya) )*"
    r"(llamame|llamenme|llameme|llamarme|llamar|me llaman|me llamas|me llame|me llamen)"
    r"( por favor| porfa| xfa| ahora| ya| alguien| pronto| hoy)*$"
)
# outside9: a call asked for as a thing: "i want a call", "quiero una llamada", "quiero que me llamen".
_A_CALL = re.compile(
    r"^(i )?(want|need|would like|d like|id like|i'd like|could use) a (phone )?call( please| pls| plz| now| asap| today)*$|"
    r"^(yo )?(quiero|necesito|ocupo|quisiera|me gustaria) (una llamada|que me (llamen|llames))"
    r"( por favor| porfa| xfa| ahora| ya| pronto| hoy)*$"
)
# outside9: "si llamame", "sí, llámame", "yes call me", "ok call me": an assent before CALL in words, as after the
# crisis reply or the offer of CALL ("Reply CALL and someone ... will reach out"). Only where no question waits
# for a YES: a question that waits takes the YES as its answer first (router), and one text never does both.
_ASSENT = re.compile(r"^(yes+|yeah|yea|yep|yup|ok|okay|k|sure|si+|claro|dale|vale)( (please|pls|plz|por favor|porfa|xfa))* ")


def _without_assent(said: str) -> str:
    return _ASSENT.sub("", said, count=1)


# "i need someone to talk to", "necesito hablar con alguien": a request for care in words. The
# answer offers CALL (the README's "someone from your group reaches out"), and nobody is told
# until the member replies CALL.
_TALK = re.compile(
    r"^((i|im|i'm|just|really|so|please|pls|hi|hey) )*(need|want|wanna|would like|could use|looking for) "
    r"(someone|somebody|anyone|some1|a person|a friend|someone from the group) (to talk to|to talk with|to talk|to listen"
    r"|to be with me|to check on me)( please| pls| now| right now| rn| today| tonight)*$|"
    r"^((i|just|really|please|pls) )*need to talk( to someone| to somebody| with someone)?( please| pls| now| rn| today)*$|"
    r"^(can|could|is there) (someone|somebody|anyone) (talk to me|call me|text me|check on me|be with me)"
    r"( please| pls| now| rn| today| tonight)*$|"
    r"^((hola|yo|solo|de verdad|por favor) )*(necesito|quiero|ocupo|me gustaria) (hablar con alguien|alguien con quien hablar"
    r"|alguien que me escuche|hablar con alguno|que alguien me (llame|escuche|hable))( por favor| porfa| ya| hoy| ahora)*$|"
    r"^(alguien|hay alguien que) (puede|pueda|podria) (hablar conmigo|escucharme|llamarme)( por favor| porfa| ya| hoy| ahora)*$"
)


# outside9: a preference for calls ("i'd rather you call", "call me instead", "prefiero que me llamen", "mejor
# llamame en vez de escribir") is how the member likes to be reached, not CALL now: nobody is told. Right after an
# answer it completes that answer (goaround.amend); else carebot says how to do each (``prefers_calls_reply``).
_PREFERS_CALLS = re.compile(
    r"^((i|id|i'd|i would) )?(much )?rather (you|u|someone|somebody|people|ppl|they) (call|called|phoned|phone)( me)?"
    r"( instead)?( please| pls| plz)*$|"
    r"^((please|pls|plz|just|can you|could you|can u|could u) )*call me instead( of (texting|text|a text|messaging|texts))?"
    r"( please| pls| plz)*$|"
    r"^(i )?prefer (a call|calls|phone calls|a phone call|to be called|being called|calling)( instead)?( please| pls| plz)*$|"
    r"^(yo )?(prefiero|preferiria) (que me (llamen|llames|marquen|marques)|una llamada|llamadas|llamada)"
    r"( en vez de (escribir|escribirme|mensajes|textos)| mejor)?( por favor| porfa| xfa)*$|"
    r"^mejor (llamame|llamenme|marcame|marquenme|que me llamen|por llamada|llamada)( en vez de (escribir|escribirme|mensajes|"
    r"textos))?( por favor| porfa| xfa)*$"
)


def prefers_calls(words: list[str]) -> bool:
    """"i'd rather you call", "call me instead", "prefiero que me llamen": how to be reached, not CALL."""
    return bool(_PREFERS_CALLS.match(" ".join(words)))


def prefers_calls_reply(ctx: Context, text: Text) -> Transition | None:
    """A preference for calls with no answer to complete: how to ask for a call now (CALL), and for calls when
    asking for care (1 call). A stranger hears what carebot is, as for any other text."""
    if not ctx.memberships or not prefers_calls(text.words):
        return None
    return Transition(replies=(Reply(render_for(ctx, "call.prefers")),))


def _asks_call_plainly(words: list[str]) -> bool:
    """CALL, or "call me", "can someone call me pls", "llamenme", "me pueden llamar": CALL even in a relay window."""
    return is_one_of(words, CALL) or bool(_CALL_ME.match(" ".join(words)))


def asks_call(words: list[str]) -> bool:
    """CALL, or CALL in words: "call me", "can someone call me pls", "llamenme", "me pueden llamar", "quiero una
    llamada", and after an assent: "si llamame", "yes call me"."""
    said = _without_assent(" ".join(words))
    return _asks_call_plainly(words) or bool(_CALL_ME.match(said) or _A_CALL.match(said))


def asks_call_after_yes(words: list[str]) -> bool:
    """"si llamame", "yes pls call me": an assent, then CALL in words (to a question that waits, its YES first)."""
    return _ASSENT.match(" ".join(words)) is not None and asks_call(words)


def call(ctx: Context, text: Text) -> Transition | None:
    """CALL (or "call me", "llamenme"): the member asks for someone from their group to reach out now.

    While a plain reply goes to the person who just wrote (a relay window), only CALL and "call me" as ever are
    CALL: "si llamame" or "quiero una llamada" there answer that person ("want me to call you?")."""
    in_reply = ctx.waiting is not None and ctx.waiting.flow == "relay"
    if not (_asks_call_plainly(text.words) if in_reply else asks_call(text.words)):
        return None
    if not ctx.memberships:
        # Someone the coordinators removed is not told to JOIN (it cannot work for them).
        removed = ", ".join(removed_keywords(ctx))
        key = "crisis.call.removed" if removed else "crisis.call.no_group"
        return Transition(replies=(Reply(render(key, ctx.language, resources=resources_for(ctx),
                                                keywords=removed)),))
    return Transition(effects=(CallRequested(tuple(m.group.id for m in ctx.memberships)),))


def talk(ctx: Context, text: Text) -> Transition | None:
    """"i need someone to talk to": offer CALL; a stranger hears the resources (no group to call)."""
    if not _TALK.match(" ".join(text.words)):
        return None
    if not ctx.memberships:
        return Transition(replies=(Reply(render("crisis.reply.stranger", ctx.language,
                                                resources=resources_for(ctx))),))
    keywords = names_list(list(dict.fromkeys(m.group.keyword for m in ctx.memberships)), ctx.language)  # "RCMA and EAST"
    return Transition(replies=(Reply(render_for(ctx, "talk.offer", keywords=keywords)),))
