"""The private relay as a table: ``@Name message`` and a plain reply right after one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from carebot.flows.base import OptedOut, PairingInfo, Relayed, Waiting
from tests.flows.kit import KEEP, NOW, Row, check, context, has, row, says

SAM = PairingInfo(7, 1, "DMMA", 1, "supporter", "Sam", "active", 7)
ENDED = PairingInfo(7, 1, "DMMA", 1, "supporter", "Sam", "ended", 7)
SAMIRA = PairingInfo(8, 1, "DMMA", 4, "requester", "Samira", "active", 7)
PAIRED = context("DMMA", pairings=(SAM,))
WINDOW = Waiting("relay", "open", {"pairing_id": 7}, NOW + timedelta(minutes=30))
IN_WINDOW = context("DMMA", pairings=(SAM,), waiting=WINDOW)

JOSE = PairingInfo(9, 1, "DMMA", 5, "supporter", "José", "active", 7)
NECO = PairingInfo(10, 1, "DMMA", 6, "requester", "Ñeco", "active", 7)

ROWS = [
    # Names typed without their accents, as phones do (README: accents don't matter; coord6).
    pytest.param(row(context("DMMA", pairings=(JOSE,)), "@jose how are you", effects=(Relayed(9, "how are you"),)),
                 id="at-jose-for-jose"),
    pytest.param(row(context("DMMA", language="es", pairings=(NECO,)), "@neco como estas",
                     effects=(Relayed(10, "como estas"),)), id="at-neco-for-neco"),
    pytest.param(row(PAIRED, "@sam how was your day?", effects=(Relayed(7, "how was your day?"),)),
                 id="at-name-message"),
    pytest.param(row(PAIRED, "@Sam: you ok? 💛", effects=(Relayed(7, "you ok? 💛"),)), id="at-name-colon-emoji"),
    pytest.param(row(PAIRED, "@SA running late, 10 min", effects=(Relayed(7, "running late, 10 min"),)),
                 id="at-name-prefix"),
    pytest.param(row(context("DMMA", pairings=(SAM, SAMIRA)), "@sa hi", says("relay.unknown", name="sa")),
                 id="at-ambiguous-prefix"),
    pytest.param(row(context("DMMA", pairings=(SAM, SAMIRA)), "@samira hi", effects=(Relayed(8, "hi"),)),
                 id="at-the-longer-name"),
    pytest.param(row(PAIRED, "@sam", says("relay.empty", name="Sam")), id="at-name-without-message"),
    pytest.param(row(PAIRED, "@zed hi", says("relay.unknown", name="zed")), id="at-someone-not-paired"),
    pytest.param(row(context("DMMA", pairings=(ENDED,)), "@sam hi", says("relay.cannot", name="sam")),
                 id="at-a-pairing-ended-lately"),
    pytest.param(row(context("DMMA"), "@sam hi", says("relay.unknown", name="sam")), id="at-without-pairings"),
    pytest.param(row(PAIRED, "@", says("fallback")), id="at-alone"),
    # Right after a relayed message, a plain reply goes back without the @ (and the next one, till the window ends).
    pytest.param(row(IN_WINDOW, "ok see you at 5", effects=(Relayed(7, "ok see you at 5"),), wait=KEEP),
                 id="plain-reply-in-the-window"),
    pytest.param(row(IN_WINDOW, "jaja sí, mañana", effects=(Relayed(7, "jaja sí, mañana"),), wait=KEEP),
                 id="plain-reply-in-spanish"),
    pytest.param(row(IN_WINDOW, "Auto-reply: I'm driving", effects=(Relayed(7, "Auto-reply: I'm driving"),), wait=KEEP),
                 id="in-the-window-even-an-auto-reply-is-the-members-to-pass-on"),
    # A long voice-to-text reply is the member's to pass on, options mentioned in passing and all.
    *(pytest.param(row(IN_WINDOW, text, effects=(Relayed(7, text),), wait=KEEP), id=f"runon-in-the-window-{i}") for i, text in
      enumerate(("honestly I'm a one this week like I said so it means a lot that you wrote, maybe thursday",
                 "oh that would be nice and i would like someone to check on me for the next 2 weeks too honestly",
                 "call me in the evenings"))),
    pytest.param(row(IN_WINDOW, "status", has("DMMA: you check in with Sam."), wait=KEEP),
                 id="carebots-own-words-are-not-relayed"),
    pytest.param(row(IN_WINDOW, "stop", says("stop.done", purpose="final"), effects=(OptedOut("STOP"),)),
                 id="stop-in-the-window-is-stop"),
    pytest.param(row(context("DMMA", pairings=(ENDED,), waiting=WINDOW), "see you", says("fallback"), wait=KEEP),
                 id="no-relay-once-the-pairing-ended"),
]


@pytest.mark.parametrize("r", ROWS)
def test_relay(r: Row) -> None:
    check(r)
