"""Other machines' automatic replies as a table: carebot answers none of them, so no two bots loop,
and a person who only sounds busy is still answered as a person."""

from __future__ import annotations

from datetime import timedelta

import pytest

from carebot.flows.autoreply import is_autoreply
from carebot.flows.base import CrisisNoted, PairingInfo, Relayed, Waiting
from carebot.flows.words import read
from tests.flows.kit import KEEP, NOW, Row, check, context, row, says

MEMBER = context("DMMA")
JOINING = context(waiting=Waiting("join", "consent", {"group_id": 1}, NOW + timedelta(days=7)))

ROWS = [
    pytest.param(row(MEMBER, "Auto-reply: I'm driving"), id="auto-reply"),
    pytest.param(row(MEMBER, "I'm Driving with Driving Focus turned on. I'll see your message when I get where "
                             "I'm going."), id="iphone-driving-focus"),
    pytest.param(row(MEMBER, "out of office until monday"), id="out-of-office"),
    pytest.param(row(MEMBER, "This is an automated message, do not reply"), id="automated-do-not-reply"),
    pytest.param(row(MEMBER, "Respuesta automática: estoy manejando"), id="respuesta-automatica"),
    pytest.param(row(MEMBER, "mensaje automatico: no responda"), id="mensaje-automatico-without-accents"),
    pytest.param(row(JOINING, "Auto-reply: I'm driving", wait=KEEP), id="a-waiting-question-stays-open"),
    pytest.param(row(MEMBER, "Auto-reply: i want to die",
                     says("crisis.reply", resources="Trans Lifeline 877-565-8860 (peer support)", purpose="final"),
                     effects=(CrisisNoted((1,)),)),
                 id="crisis-words-are-answered-whatever-wraps-them"),
    pytest.param(row(context("DMMA", waiting=Waiting("relay", "open", {"pairing_id": 7}, None),
                             pairings=(PairingInfo(7, 1, "DMMA", 1, "supporter", "Sam", "active", 7),)),
                     "Auto-reply: I'm driving", effects=(Relayed(7, "Auto-reply: I'm driving"),), wait=KEEP),
                 id="in-a-relay-it-is-passed-on-to-the-other-member"),
    # People, not machines: answered.
    pytest.param(row(MEMBER, "I'll get back to you", says("fallback")), id="ill-get-back-to-you"),
    pytest.param(row(MEMBER, "driving rn, text u later", says("fallback")), id="driving-right-now"),
]


@pytest.mark.parametrize("r", ROWS)
def test_autoreply(r: Row) -> None:
    check(r)


@pytest.mark.parametrize(("text", "machine"), [
    ("AUTOMATIC REPLY: away", True), ("autoresponder", True), ("sent automatically", True),
    ("noreply", True), ("no-reply", True), ("fuera de la oficina", True), ("enviado automáticamente", True),
    ("I'm away, back soon", False), ("auto shop says the car is ready", False), ("replying later", False),
    ("no, reply tomorrow", False),
])
def test_is_autoreply(text: str, machine: bool) -> None:
    assert is_autoreply(read(text)) is machine
