"""Joining as a table: JOIN <KEYWORD> or the keyword alone, the consent question, YES or NO."""

from __future__ import annotations

from datetime import timedelta

import pytest

from carebot.flows.base import Joined, Waiting
from tests.flows.kit import KEEP, NOW, Row, check, context, row, says

DMMA_NAME = "Des Moines Mutual Aid"
ASK = says("join.ask", group=DMMA_NAME, freq="every Monday at 10:00")
ASKED = ("join", "consent")
STRANGER = context()
SPANISH_STRANGER = context(language="es")


def joining(**data) -> object:
    return context(waiting=Waiting("join", "consent", {"group_id": 1, **data}, NOW + timedelta(days=7)))


WORDING = "Get Des Moines Mutual Aid's care check-ins every Monday at 10:00? Reply YES to join. " \
          "Msg&data rates may apply. STOP to opt out."

ROWS = [
    pytest.param(row(STRANGER, "join dmma", ASK, wait=ASKED), id="join-keyword"),
    pytest.param(row(STRANGER, "JOIN DMMA", ASK, wait=ASKED), id="join-in-capitals"),
    pytest.param(row(STRANGER, "dmma", ASK, wait=ASKED), id="keyword-alone"),
    pytest.param(row(STRANGER, "Dmma!", ASK, wait=ASKED), id="keyword-with-punctuation"),
    pytest.param(row(STRANGER, "unirme dmma", ASK, wait=ASKED), id="unirme"),
    pytest.param(row(SPANISH_STRANGER, "unirme comida",
                     says("join.ask", group="Comida Para Todes", freq="cada jueves a las 18:00"), wait=ASKED),
                 id="unirme-in-spanish"),
    pytest.param(row(STRANGER, "join", says("join.which")), id="join-which"),
    pytest.param(row(STRANGER, "join xyz", says("join.unknown_group", keyword="XYZ")), id="join-unknown-group"),
    pytest.param(row(STRANGER, "join the circle please", says("join.unknown_group", keyword="THE CIRCLE PLEAS")),
                 id="join-unknown-cut-short"),
    pytest.param(row(context("DMMA"), "join dmma", says("join.already", group=DMMA_NAME)), id="join-already"),
    pytest.param(row(context(removed_from=frozenset({1})), "join dmma", says("join.removed", group=DMMA_NAME)),
                 id="join-after-removal-goes-through-coordinators"),
    # The consent question: only YES joins; the wording consented to is kept.
    pytest.param(row(joining(), "yes", says("join.welcome", group=DMMA_NAME, freq="every Monday at 10:00"),
                     effects=(Joined(1, WORDING),)), id="yes-joins"),
    pytest.param(row(joining(), "Sí", says("join.welcome", group=DMMA_NAME, freq="every Monday at 10:00"),
                     effects=(Joined(1, WORDING),)), id="si-joins"),
    pytest.param(row(joining(wording="Bea invites you to DMMA. YES to join."), "ok",
                     says("join.welcome", group=DMMA_NAME, freq="every Monday at 10:00"),
                     effects=(Joined(1, "Bea invites you to DMMA. YES to join."),)),
                 id="an-invitation-keeps-its-own-wording"),
    pytest.param(row(joining(), "no", says("join.declined", group=DMMA_NAME, keyword="DMMA")), id="no-declines"),
    pytest.param(row(joining(), "maybe later", says("join.declined", group=DMMA_NAME, keyword="DMMA")),
                 id="maybe-later-declines-for-now"),
    pytest.param(row(joining(), "what is this?", says("join.pending", group=DMMA_NAME), wait=KEEP),
                 id="anything-else-reminds-and-keeps-waiting"),
    pytest.param(row(joining(), "1 5", says("join.pending", group=DMMA_NAME), wait=KEEP),
                 id="an-answer-before-joining-reminds"),
    pytest.param(row(joining(), "help", says("help.none"), wait=KEEP), id="help-while-joining-keeps-the-question"),
    pytest.param(row(context(waiting=Waiting("join", "consent", {"group_id": 99}, None)), "yes"),
                 id="yes-to-a-group-gone-meanwhile"),
]


@pytest.mark.parametrize("r", ROWS)
def test_join(r: Row) -> None:
    check(r)


# outside5: a YES from a number carebot has never heard from asked nothing: it gets the stranger's answer,
# never a group's word. A YES from someone who has texted before may be late for a request that lapsed: how
# to ask again, and never the group's word either, even on a one-group deployment (members6: "hi" then
# "yes" was asked nothing; whoever did ask knows the word).
ONE_GROUP = {"DMMA": context().groups["DMMA"]}


@pytest.mark.parametrize("r", [
    pytest.param(row(context(is_new=True, groups=ONE_GROUP), "yes", says("fallback.stranger")), id="first-text-yes"),
    pytest.param(row(context(is_new=True, groups=ONE_GROUP), "si", says("fallback.stranger")), id="first-text-si"),
    pytest.param(row(context(groups=ONE_GROUP), "yes", says("join.lapsed.any")), id="late-yes-one-group"),
    pytest.param(row(context(groups=ONE_GROUP), "si", says("join.lapsed.any")), id="late-si-one-group"),
])
def test_a_yes_from_a_stranger(r: Row) -> None:
    check(r)
