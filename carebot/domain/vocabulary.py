"""carebot's own words, as constants every layer can share: the go-around's options, the channels.

They live here, below everything, so that a pure decision (flows, pairing) can name an option
or a channel without importing the database models or a provider's adapter.
"""

from __future__ import annotations

# The five go-around options, in the order the zine gives them (0 means "nothing for now").
REACH_OUT_TO_ME = 1
I_CAN_REACH_OUT = 2
UNAVAILABLE = 3
WANT_COMPANY = 4
CAN_KEEP_COMPANY = 5

# The channels carebot can write to a member on.
SMS = "sms"
SIGNAL = "signal"
# A phone call: what carebot says in a call is spoken there and then, never sent afterwards.
VOICE = "voice"
