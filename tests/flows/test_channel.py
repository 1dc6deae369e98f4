"""CHANNEL SMS / CHANNEL SIGNAL as a table: only a channel carebot can reach the member on."""

from __future__ import annotations

import pytest

from carebot.flows.base import ChannelChanged
from tests.flows.kit import Row, check, context, row, says

BOTH = context("DMMA", reachable=frozenset({"sms", "signal"}))
SMS_ONLY = context("DMMA", reachable=frozenset({"sms"}))
SIGNAL_ONLY = context("DMMA", reachable=frozenset({"signal"}), channel="signal")

ROWS = [
    pytest.param(row(BOTH, "channel signal", says("channel.signal"), effects=(ChannelChanged("signal"),)),
                 id="channel-signal"),
    pytest.param(row(BOTH, "CHANNEL SMS", says("channel.sms"), effects=(ChannelChanged("sms"),)), id="channel-sms"),
    pytest.param(row(BOTH, "channel text", says("channel.sms"), effects=(ChannelChanged("sms"),)),
                 id="channel-text-means-sms"),
    pytest.param(row(context("COMIDA", reachable=frozenset({"sms", "signal"})), "canal Signal",
                     says("channel.signal"), effects=(ChannelChanged("signal"),)), id="canal-signal-in-spanish"),
    pytest.param(row(SMS_ONLY, "channel signal", says("channel.need_signal")), id="signal-not-reachable"),
    pytest.param(row(SIGNAL_ONLY, "channel sms", says("channel.need_sms")), id="sms-not-reachable"),
    pytest.param(row(BOTH, "channel whatsapp", says("channel.unknown")), id="unknown-channel"),
    pytest.param(row(BOTH, "channel", says("channel.unknown")), id="channel-alone"),
    pytest.param(row(BOTH, "channel signal please", says("channel.unknown")), id="channel-with-more-words"),
]


@pytest.mark.parametrize("r", ROWS)
def test_channel(r: Row) -> None:
    check(r)
