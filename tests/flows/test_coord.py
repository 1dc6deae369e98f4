"""Coordinators by text, and what every member may see, as a table: PAIRS, PAIR, UNPAIR, ROSTER, ADD,
REMOVE, COORD, UNCOORD, ANNOUNCE, GATHER, PULSE, LOG, MORE and the questions they wait on."""

from __future__ import annotations

from datetime import timedelta

import pytest

from carebot.flows.base import (
    ActionConfirmed,
    ApprovalGiven,
    InviteRequested,
    ListShown,
    PairRequested,
    RsvpGiven,
    UnpairRequested,
    Waiting,
)
from tests.flows.kit import NOW, MemoryLookups, Person, Row, check, context, has, row, says

COORD = context("DMMA", coordinator_of=("DMMA",))
MEMBER = context("DMMA")
STRANGER = context()
JOINING = context(waiting=Waiting("join", "consent", {"group_id": 1}, NOW + timedelta(days=7)))
TWO = context("DMMA", "COMIDA", coordinator_of=("DMMA",), language="en")
REMOVE_SAM = {"action": "remove", "group_id": 1, "target_id": 2}


def waiting(flow: str, step: str, data: dict):
    return context("DMMA", coordinator_of=("DMMA",), waiting=Waiting(flow, step, data, NOW + timedelta(hours=1)))


ROWS = [
    # Views of the group: PAIRS and ROSTER for coordinators, PULSE, LOG and GATHER for everyone.
    pytest.param(row(COORD, "pairs", effects=(ListShown("pairs", 1),)), id="pairs"),
    pytest.param(row(COORD, "Parejas", effects=(ListShown("pairs", 1),)), id="parejas"),
    pytest.param(row(COORD, "roster", effects=(ListShown("roster", 1),)), id="roster"),
    pytest.param(row(TWO, "dmma roster", effects=(ListShown("roster", 1),)), id="roster-with-keyword"),
    pytest.param(row(TWO, "COMIDA pairs", says("coord.only")), id="pairs-in-a-group-not-coordinated"),
    pytest.param(row(MEMBER, "pairs", says("coord.only")), id="pairs-by-a-member"),
    pytest.param(row(MEMBER, "pulse", effects=(ListShown("pulse", 1),)), id="pulse-by-a-member"),
    pytest.param(row(MEMBER, "pulso", effects=(ListShown("pulse", 1),)), id="pulso"),
    pytest.param(row(MEMBER, "log", effects=(ListShown("log", 1),)), id="log"),
    pytest.param(row(MEMBER, "gather", effects=(ListShown("gather", 1),)), id="gather-to-see-it"),
    pytest.param(row(MEMBER, "gather yes", effects=(RsvpGiven(1, None, True),)), id="gather-yes"),
    pytest.param(row(MEMBER, "reunión no", effects=(RsvpGiven(1, None, False),)), id="reunion-no-with-accent"),
    pytest.param(row(STRANGER, "pulse", says("join.none")), id="pulse-by-a-stranger"),
    pytest.param(row(JOINING, "pulse", says("join.pending", group="Des Moines Mutual Aid"),
                     wait=("join", "consent")), id="pulse-while-joining-reminds"),
    # PAIR and UNPAIR: two people, found in the group by name or number.
    pytest.param(row(COORD, "pair sam samira", effects=(PairRequested(1, 2, 3),)), id="pair-by-names"),
    pytest.param(row(COORD, "PAIR Sam Bea", effects=(PairRequested(1, 2, 4),)), id="pair-in-capitals"),
    pytest.param(row(COORD, "pair 515-555-0102 bea", effects=(PairRequested(1, 2, 4),)), id="pair-by-number"),
    pytest.param(row(COORD, "pair 5155550105 sam", effects=(PairRequested(1, 5, 2),)),
                 id="pair-someone-without-a-name-by-number"),
    pytest.param(row(COORD, "pair sa bea", says("coord.ambiguous", name="sa", keyword="DMMA", names="Sam, Samira")),
                 id="pair-ambiguous-prefix"),
    pytest.param(row(COORD, "pair zed sam", says("coord.unknown", name="zed", keyword="DMMA")),
                 id="pair-unknown-name"),
    pytest.param(row(COORD, "pair lupe sam", says("coord.unknown", name="lupe", keyword="DMMA")),
                 id="pair-someone-of-another-group"),
    pytest.param(row(COORD, "pair sam", says("coord.usage.pair")), id="pair-one-name"),
    pytest.param(row(COORD, "pair sam Sam", says("coord.usage.pair")), id="pair-the-same-person-twice"),
    pytest.param(row(COORD, "emparejar sam bea", effects=(PairRequested(1, 2, 4),)), id="emparejar"),
    pytest.param(row(COORD, "unpair sam bea", effects=(UnpairRequested(1, 2, 4),)), id="unpair"),
    pytest.param(row(COORD, "unpair sam", says("coord.usage.unpair")), id="unpair-one-name"),
    # A number however people type it: in pieces, with brackets, dots, dashes; "with"/"and"/"y"/"con" between.
    pytest.param(row(COORD, "pair 515 555 0102 with 515-555-0104", effects=(PairRequested(1, 2, 4),)),
                 id="pair-number-in-pieces-with-another"),
    pytest.param(row(COORD, "pair (515) 555 0102 bea", effects=(PairRequested(1, 2, 4),)),
                 id="pair-number-with-brackets-in-pieces"),
    pytest.param(row(COORD, "pair 515.555.0102 and bea", effects=(PairRequested(1, 2, 4),)),
                 id="pair-number-with-dots-and-a-name"),
    pytest.param(row(COORD, "pair sam with bea", effects=(PairRequested(1, 2, 4),)), id="pair-names-with"),
    pytest.param(row(COORD, "pair sam y bea", effects=(PairRequested(1, 2, 4),)), id="pair-names-y"),
    pytest.param(row(COORD, "pair +1 515 555 0102 +1 (515) 555-0104", effects=(PairRequested(1, 2, 4),)),
                 id="pair-two-numbers-in-pieces-side-by-side"),
    pytest.param(row(COORD, "pair 515 555 0102 515 555 0104", effects=(PairRequested(1, 2, 4),)),
                 id="pair-two-bare-numbers-in-pieces"),
    pytest.param(row(COORD, "unpair 515 555 0102 & (515) 555-0104", effects=(UnpairRequested(1, 2, 4),)),
                 id="unpair-numbers-in-pieces"),
    pytest.param(row(COORD, "pair 515 555 0102", says("coord.usage.pair")), id="pair-one-number-in-pieces"),
    pytest.param(row(COORD, "pair 515 555 bea", says("coord.usage.pair")), id="pair-a-number-cut-short-gets-the-usage"),
    pytest.param(row(COORD, "pair 515 555 0199 bea", says("coord.unknown", name="515 555 0199", keyword="DMMA")),
                 id="pair-a-number-not-in-the-group"),
    pytest.param(row(COORD, "remove (515) 555 0102", says("coord.confirm.remove", name="Sam", keyword="DMMA"),
                     wait=("coord", "confirm")), id="remove-number-in-pieces"),
    pytest.param(row(MEMBER, "pair sam bea", says("coord.only")), id="pair-by-a-member"),
    # ADD invites a number; the name is what follows it.
    pytest.param(row(COORD, "add +1 515 555 0199 Rosa", effects=(InviteRequested(1, "+15155550199", "Rosa"),)),
                 id="add-number-in-pieces-and-name"),
    pytest.param(row(COORD, "add (515) 555-0199", effects=(InviteRequested(1, "(515)555-0199", None),)),
                 id="add-number-without-name"),
    pytest.param(row(COORD, "add rosa", says("coord.usage.add")), id="add-without-number"),
    # A name typed all in lowercase is kept as people write names; one typed with capitals, as typed.
    pytest.param(row(COORD, "add (515) 555-0207 zoe", effects=(InviteRequested(1, "(515)555-0207", "Zoe"),)),
                 id="add-lowercase-name-is-capitalized"),
    pytest.param(row(COORD, "add 515 555 0208 mary ann", effects=(InviteRequested(1, "5155550208", "Mary Ann"),)),
                 id="add-lowercase-two-names"),
    pytest.param(row(COORD, "add 515 555 0208 maria de la cruz",
                     effects=(InviteRequested(1, "5155550208", "Maria de la Cruz"),)), id="add-lowercase-with-de-la"),
    pytest.param(row(COORD, "add 515 555 0208 mary-jo o’brien",
                     effects=(InviteRequested(1, "5155550208", "Mary-Jo O’Brien"),)), id="add-lowercase-hyphen-apostrophe"),
    pytest.param(row(COORD, "add 515 555 0208 deShawn", effects=(InviteRequested(1, "5155550208", "deShawn"),)),
                 id="add-mixed-case-name-as-typed"),
    pytest.param(row(COORD, "add 515 555 0208 McKenzie", effects=(InviteRequested(1, "5155550208", "McKenzie"),)),
                 id="add-mccase-name-as-typed"),
    pytest.param(row(COORD, "add 515 555 0208 ZOE", effects=(InviteRequested(1, "5155550208", "ZOE"),)),
                 id="add-capitals-name-as-typed"),
    # REMOVE, COORD, UNCOORD and ANNOUNCE wait for the coordinator's own YES.
    pytest.param(row(COORD, "remove sam", says("coord.confirm.remove", name="Sam", keyword="DMMA"),
                     wait=("coord", "confirm")), id="remove-asks-first"),
    pytest.param(row(COORD, "quitar samira", says("coord.confirm.remove", name="Samira", keyword="DMMA"),
                     wait=("coord", "confirm")), id="quitar"),
    pytest.param(row(COORD, "remove", says("coord.usage.name", command="REMOVE")), id="remove-without-name"),
    pytest.param(row(COORD, "coord bea", says("coord.confirm.coord", name="Bea", keyword="DMMA"),
                     wait=("coord", "confirm")), id="coord"),
    pytest.param(row(COORD, "uncoord bea", says("coord.confirm.uncoord", name="Bea", keyword="DMMA"),
                     wait=("coord", "confirm")), id="uncoord"),
    pytest.param(row(COORD, "announce potluck sunday at 5 🍲",
                     says("coord.confirm.announce", keyword="DMMA", text="potluck sunday at 5 🍲"),
                     wait=("coord", "confirm")), id="announce-keeps-the-emoji"),
    pytest.param(row(COORD, "announce", says("coord.usage.announce")), id="announce-empty"),
    pytest.param(row(COORD, "gather dec 5 18:00 Library",
                     says("coord.confirm.gather", keyword="DMMA", when="Dec 5 18:00", place="Library"),
                     wait=("coord", "confirm")), id="gather-a-date"),
    pytest.param(row(COORD, "gather dec 5 6pm the park by the river",
                     says("coord.confirm.gather", keyword="DMMA", when="Dec 5 18:00", place="the park by the river"),
                     wait=("coord", "confirm")), id="gather-6pm"),
    pytest.param(row(COORD, "gather dec 5 library", says("coord.usage.gather")), id="gather-without-time"),
    pytest.param(row(COORD, "gather someday 6pm park", says("coord.usage.gather")), id="gather-without-date"),
    pytest.param(row(COORD, "gather today 8am park", says("gather.past")), id="gather-in-the-past"),
    # The questions they wait on.
    pytest.param(row(waiting("coord", "confirm", REMOVE_SAM), "yes", effects=(ActionConfirmed(REMOVE_SAM),)),
                 id="confirm-yes"),
    pytest.param(row(waiting("coord", "confirm", REMOVE_SAM), "no", says("coord.cancelled")), id="confirm-no"),
    pytest.param(row(waiting("coord", "confirm", REMOVE_SAM), "pulse", effects=(ListShown("pulse", 1),)),
                 id="confirm-dropped-when-the-coordinator-moves-on"),
    pytest.param(row(waiting("approval", "approve", {"pending_id": 3}), "yes", effects=(ApprovalGiven(3, True),)),
                 id="approve-yes"),
    pytest.param(row(waiting("approval", "approve", {"pending_id": 3}), "no", effects=(ApprovalGiven(3, False),)),
                 id="approve-no"),
    pytest.param(row(waiting("gather", "rsvp", {"group_id": 1, "gathering_id": 4}), "si",
                     effects=(RsvpGiven(1, 4, True),)), id="rsvp-si"),
    pytest.param(row(waiting("gather", "rsvp", {"group_id": 1, "gathering_id": 4}), "no",
                     effects=(RsvpGiven(1, 4, False),)), id="rsvp-no"),
    pytest.param(row(waiting("gather", "rsvp", {"group_id": 1, "gathering_id": 4}), "not this time sorry",
                     effects=(RsvpGiven(1, 4, False),)), id="rsvp-not-this-time"),
    pytest.param(row(waiting("approval", "approve", {"pending_id": 3}), "ahora no",
                     effects=(ApprovalGiven(3, False),)), id="approve-ahora-no"),
    pytest.param(row(waiting("pager", "more", {"pages": ["page two (MORE for more)", "page three"]}), "more",
                     has("page two (MORE for more)"), wait=("pager", "more")), id="more-shows-the-next-page"),
    pytest.param(row(waiting("pager", "more", {"pages": ["page three"]}), "más", has("page three")),
                 id="mas-shows-the-last-page"),
    pytest.param(row(COORD, "more", says("coord.more.none")), id="more-with-nothing-left"),
]


@pytest.mark.parametrize("r", ROWS)
def test_coord(r: Row) -> None:
    check(r)


# Names with accents as coordinators type them on a phone without accents (outside6): "jose" is José,
# "neco" is Ñeco, "zoe" is Zoë; two people who fold to one name are asked about, never guessed between;
# a name typed with its accents picks the one written so. In both languages.
ACCENTED = (Person(1, "Ana", "+15155550101", 1), Person(7, "José", "+15155550107", 1),
            Person(8, "Zoë", "+15155550108", 1), Person(9, "Ñeco", "+15155550109", 1),
            Person(10, "Maria", "+15155550110", 1), Person(11, "María", "+15155550111", 1))


def accented(language: str):
    return context("DMMA", coordinator_of=("DMMA",), language=language, lookups=MemoryLookups(1, (1,), ACCENTED))


ACCENTS = [
    pytest.param(row(accented("en"), "pair jose zoe", effects=(PairRequested(1, 7, 8),)), id="pair-jose-zoe"),
    pytest.param(row(accented("es"), "emparejar JOSE con zoe", effects=(PairRequested(1, 7, 8),)),
                 id="emparejar-jose-con-zoe"),
    pytest.param(row(accented("en"), "unpair jo zo", effects=(UnpairRequested(1, 7, 8),)), id="unpair-by-starts"),
    pytest.param(row(accented("en"), "remove neco", says("coord.confirm.remove", name="Ñeco", keyword="DMMA"),
                     wait=("coord", "confirm")), id="remove-neco"),
    pytest.param(row(accented("es"), "quitar ñeco", says("coord.confirm.remove", name="Ñeco", keyword="DMMA"),
                     wait=("coord", "confirm")), id="quitar-neco-with-its-accent"),
    pytest.param(row(accented("en"), "pair maria jose",
                     says("coord.ambiguous", name="maria", keyword="DMMA", names="Maria, María")),
                 id="maria-and-maria-are-asked-about"),
    pytest.param(row(accented("es"), "emparejar maria jose",
                     says("coord.ambiguous", name="maria", keyword="DMMA", names="Maria, María")),
                 id="maria-y-maria-se-preguntan"),
    pytest.param(row(accented("es"), "emparejar maría josé", effects=(PairRequested(1, 11, 7),)),
                 id="maria-typed-with-its-accent"),
]


@pytest.mark.parametrize("r", ACCENTS)
def test_names_with_accents(r: Row) -> None:
    check(r)


# Typos of command words (outside tester, third round): a coordinator's "unpiar" is UNPAIR; a member's
# typo of a coordinator word is told it is for coordinators and does nothing; other words stay words.
TYPOS = [
    pytest.param(row(COORD, "unpiar sam bea", effects=(UnpairRequested(1, 2, 4),)), id="a-coordinators-unpiar"),
    pytest.param(row(MEMBER, "remvoe sam", says("coord.only")), id="a-members-remvoe"),
    pytest.param(row(MEMBER, "unpiar sam bea", says("coord.only")), id="a-members-unpiar"),
    pytest.param(row(MEMBER, "remvoe me", says("leave.how")), id="a-members-remvoe-me"),
    pytest.param(row(MEMBER, "remote work today so text me", says("fallback")), id="remote-is-not-remove"),
]


@pytest.mark.parametrize("r", TYPOS)
def test_command_word_typos(r: Row) -> None:
    check(r)


@pytest.mark.parametrize("text", ["unpaid rent this month ugh", "remote work today so text me after 6"])
def test_real_words_near_a_coordinator_command_are_not_typos(text: str) -> None:
    check(row(COORD, text, says("fallback")))


# outside7's coordinator typos (item 12): "gathr", "piar", a trailing "pls"; a coordinator's typo is the command,
# never the coordinator's own go-around answer; the everyday words a dictionary puts one edit from a command stay
# words ("pain", "father", "guitar", "preparar").
COORD_TYPOS = [
    pytest.param(row(COORD, "gathr dec 5 18:00 Library",
                     says("coord.confirm.gather", keyword="DMMA", when="Dec 5 18:00", place="Library"),
                     wait=("coord", "confirm")), id="gathr"),
    pytest.param(row(COORD, "reunon dec 5 18:00 Biblioteca",
                     says("coord.confirm.gather", keyword="DMMA", when="Dec 5 18:00", place="Biblioteca"),
                     wait=("coord", "confirm")), id="reunon"),
    pytest.param(row(COORD, "piar sam bea", effects=(PairRequested(1, 2, 4),)), id="piar"),
    pytest.param(row(COORD, "pair sam, bea", effects=(PairRequested(1, 2, 4),)), id="pair-with-a-comma"),
    pytest.param(row(COORD, "pair sam bea porfa", effects=(PairRequested(1, 2, 4),)), id="pair-porfa"),
    pytest.param(row(COORD, "remove sam pls", says("coord.confirm.remove", name="Sam", keyword="DMMA"),
                     wait=("coord", "confirm")), id="remove-pls"),
    pytest.param(row(COORD, "quitar a sam por favor", says("coord.confirm.remove", name="Sam", keyword="DMMA"),
                     wait=("coord", "confirm")), id="quitar-a-sam-por-favor"),
    pytest.param(row(COORD, "emparejar a sam con bea", effects=(PairRequested(1, 2, 4),)), id="emparejar-a-sam-con-bea"),
    pytest.param(row(COORD, "remvoe sam, 3", says("coord.usage.name", command="REMOVE")),
                 id="a-coordinators-typo-is-never-their-answer"),
    pytest.param(row(MEMBER, "gathr dec 5 18:00 Library", says("coord.only")), id="a-members-gathr"),
    pytest.param(row(MEMBER, "piar sam bea", says("coord.only")), id="a-members-piar"),
]


@pytest.mark.parametrize("r", COORD_TYPOS)
def test_coordinator_typos_outside7(r: Row) -> None:
    check(r)


@pytest.mark.parametrize("text", ["pain in my back all week", "father visiting this weekend", "guitar lessons tonight",
                                  "preparar comida el sabado", "rather not say", "removed the old post"])
def test_dictionary_words_near_a_command_are_not_typos(text: str) -> None:
    check(row(COORD, text, says("fallback")))
    check(row(MEMBER, text, says("fallback")))
