"""The relay to a group's coordinators as a table (coordreach8): ``@Ana message`` where Ana coordinates one of
the member's groups, ``@coordinators message`` (and its Spanish words) to all of them, and the plain replies
in the relay window, both ways. Only members write so; a pairing of the same name wins."""

from __future__ import annotations

from datetime import timedelta

import pytest

from carebot.flows import router
from carebot.flows.base import (
    CourtesyAnswered,
    CrisisNoted,
    MembershipInfo,
    OptedOut,
    PairingInfo,
    Relayed,
    RelayedFromCoordinator,
    RelayedToCoordinators,
    Waiting,
)
from carebot.flows.words import read
from tests.flows.kit import COMIDA, DMMA, KEEP, LONG, NOW, Row, check, context, row, says

IN_DMMA = context("DMMA")  # Bea coordinates DMMA (tests/flows/kit.py)
IN_COMIDA = context("COMIDA", language="es")  # Lupe coordinates COMIDA
IN_TWO = context("DMMA", "COMIDA", language="en")
IN_DMMA_AND_LONG = context("DMMA", "LONG")  # Bea coordinates both
WITH_ANA_AND_ANDREA = context("DMMA", memberships=(MembershipInfo(DMMA, "member", ("Ana", "Andrea")),), name="Sam")
WITH_NONE = context("DMMA", memberships=(MembershipInfo(DMMA, "member", ()),))
# A member paired with someone called Bea, in a group Bea (another person) coordinates.
PAIRED_WITH_BEA = context("DMMA", pairings=(PairingInfo(7, 1, "DMMA", 1, "supporter", "Bea", "active", 7),))
# Bea herself, DMMA's only coordinator.
BEA = context("DMMA", coordinator_of=("DMMA",), name="Bea")
WINDOW = NOW + timedelta(minutes=30)
# Bea (a coordinator) just got a member's words (member 5's); Ana just got Bea's (member 4's) reply.
COORDINATOR_WINDOW = context("DMMA", coordinator_of=("DMMA",), name="Bea",
                             waiting=Waiting("relay", "open", {"member_id": 5, "group_id": 1}, WINDOW))
MEMBER_WINDOW = context("DMMA", waiting=Waiting("relay", "open", {"coordinator_id": 4, "group_id": 1}, WINDOW))
LEFT_WINDOW = context("COMIDA", waiting=Waiting("relay", "open", {"coordinator_id": 4, "group_id": 1}, WINDOW))


def to(group_id: int, text: str, name: str | None = None, coordinator_id: int | None = None) -> tuple:
    return (RelayedToCoordinators(group_id, text, name, coordinator_id),)


ROWS = [
    # By a coordinator's name, as phones type it.
    pytest.param(row(IN_DMMA, "@bea can we talk tmrw?", effects=to(1, "can we talk tmrw?", "Bea")), id="at-a-coordinator"),
    pytest.param(row(IN_DMMA, "@BE: hi", effects=to(1, "hi", "Bea")), id="at-a-coordinators-name-begun"),
    pytest.param(row(IN_COMIDA, "@lupe hola, una pregunta", effects=to(2, "hola, una pregunta", "Lupe")),
                 id="at-a-coordinator-in-spanish"),
    # All of the group's coordinators, in either language, accents and case aside.
    *(pytest.param(row(ctx, f"{word} necesito hablar", effects=to(ctx.memberships[0].group.id, "necesito hablar")),
                   id=f"to-all-{word}") for ctx, word in (
        (IN_DMMA, "@coordinators"), (IN_DMMA, "@Coordinator"), (IN_DMMA, "@coord"), (IN_DMMA, "@COORDS"),
        (IN_COMIDA, "@coordinadoras"), (IN_COMIDA, "@Coordinadora"), (IN_COMIDA, "@coordinadores"),
        (IN_COMIDA, "@coordinador"), (IN_COMIDA, "@coordinación"), (IN_COMIDA, "@coordinacion:"))),
    pytest.param(row(IN_DMMA, "@coordinators", says("relay.empty", name="coordinators")), id="to-all-without-a-message"),
    pytest.param(row(IN_DMMA, "@bea", says("relay.empty", name="Bea")), id="at-a-coordinator-without-a-message"),
    # A member of two groups: a name of one group's coordinator is clear; "@coordinators" alone is asked about.
    pytest.param(row(IN_TWO, "@lupe hi", effects=to(2, "hi", "Lupe")), id="a-name-belongs-to-one-group"),
    pytest.param(row(IN_TWO, "@coordinators hi", says("relay.coordinators.which", keywords="DMMA or COMIDA",
                                                      example="DMMA")), id="which-groups-coordinators"),
    pytest.param(row(IN_TWO, "@coordinators comida hi", effects=to(2, "hi")), id="the-groups-word-settles-it"),
    pytest.param(row(IN_DMMA, "@coordinators comida tonight?", effects=to(1, "comida tonight?")),
                 id="a-groups-word-is-just-a-word-to-a-member-of-one-group"),
    pytest.param(row(IN_DMMA_AND_LONG, "@bea hi", says("relay.coordinators.which", keywords="DMMA or LONG",
                                                       example="DMMA")), id="one-coordinator-of-two-groups"),
    pytest.param(row(IN_DMMA_AND_LONG, "@bea long hi", effects=to(3, "hi", "Bea")), id="one-coordinator-the-group-said"),
    pytest.param(row(WITH_ANA_AND_ANDREA, "@an hi", says("relay.which", names="@Ana or @Andrea", example="Ana")),
                 id="two-coordinators-begin-so"),
    pytest.param(row(WITH_ANA_AND_ANDREA, "@andrea hi", effects=to(1, "hi", "Andrea")), id="the-whole-name"),
    # With nobody in the role, it still goes to the relay, which says so kindly (carebot.services.relay).
    pytest.param(row(WITH_NONE, "@coordinators hi", effects=to(1, "hi")), id="no-coordinators-yet"),
    pytest.param(row(BEA, "@coordinators hi", effects=to(1, "hi")), id="the-only-coordinator-writing-to-the-role"),
    # A pairing of the same name wins; "@coordinators" still reaches the coordinator.
    pytest.param(row(PAIRED_WITH_BEA, "@bea hi", effects=(Relayed(7, "hi"),)), id="a-pairing-wins-over-a-coordinator"),
    pytest.param(row(PAIRED_WITH_BEA, "@coordinators hi", effects=to(1, "hi")), id="the-coordinators-still-by-role"),
    # Not a member: not a way in (a stranger hears what carebot is).
    pytest.param(row(context(), "@coordinators hi", says("fallback.stranger")), id="a-stranger"),
    pytest.param(row(context(opted_out=True, memberships=IN_DMMA.memberships), "@coordinators hi"),
                 id="after-stop-nothing"),
    # Asked in plain words: how.
    *(pytest.param(row(ctx, text, says("relay.coordinators.how")), id=text) for ctx, text in (
        (IN_DMMA, "i want to talk to a coordinator"), (IN_DMMA, "how do i contact the coordinators?"),
        (IN_COMIDA, "quiero hablar con una coordinadora"), (IN_COMIDA, "como contacto a coordinacion"))),
    pytest.param(row(context("DMMA", coordinator_of=("DMMA",)), "announce text a coordinator if you cant come",
                     says("coord.confirm.announce", keyword="DMMA", text="text a coordinator if you cant come"),
                     wait=("coord", "confirm")), id="a-coordinators-announce-about-coordinators-is-a-command"),
    # The window, both ways: a coordinator's plain reply goes back to the member, the member's to that coordinator;
    # the window stays open for their next text.
    pytest.param(row(COORDINATOR_WINDOW, "sure, call at 5?", effects=(RelayedFromCoordinator(1, 5, "sure, call at 5?"),),
                     wait=KEEP),
                 id="a-coordinators-reply-in-the-window"),
    pytest.param(row(MEMBER_WINDOW, "thank you 💛", effects=to(1, "thank you 💛", coordinator_id=4), wait=KEEP),
                 id="a-members-reply-in-the-window"),
    pytest.param(row(MEMBER_WINDOW, "can you tell the coordinators i said hi",
                     effects=to(1, "can you tell the coordinators i said hi", coordinator_id=4), wait=KEEP),
                 id="in-the-window-words-about-coordinators-are-the-reply"),
    pytest.param(row(LEFT_WINDOW, "thank you", says("courtesy.reply"), effects=(CourtesyAnswered(),),
                     wait=KEEP),
                 id="no-window-once-they-left-the-group"),
    pytest.param(row(MEMBER_WINDOW, "stop", says("stop.done", purpose="final"), effects=(OptedOut("STOP"),)),
                 id="stop-in-the-window-is-stop"),
]


@pytest.mark.parametrize("r", ROWS)
def test_relay_to_coordinators(r: Row) -> None:
    check(r)


@pytest.mark.parametrize(("ctx", "text"), [(IN_DMMA, "@coordinators i cant do this anymore i want to die"),
                                           (IN_COMIDA, "@coordinadoras ya no quiero vivir")])
def test_crisis_words_get_the_crisis_reply_first_and_still_go(ctx, text) -> None:
    """As with a relay to a pairing partner: care first, at once, and the member's words go where they sent them."""
    result = router.respond(ctx, read(text))
    group_id = ctx.memberships[0].group.id
    assert result.replies[0].text == router.crisis.crisis_reply(ctx).replies[0].text
    assert RelayedToCoordinators(group_id, text.split(None, 1)[1]) in result.effects
    assert any(isinstance(e, CrisisNoted) for e in result.effects)


def test_kit_groups_are_as_the_rows_say() -> None:
    assert (DMMA.id, COMIDA.id, LONG.id) == (1, 2, 3)
