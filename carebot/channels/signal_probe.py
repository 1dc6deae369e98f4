"""The round-trip probe (optional, SIGNAL_PROBE_NUMBER): a second account on the service texts the
bot every ``probe_every`` seconds, and the time until it comes back says whether Signal delivers.

:class:`SignalProbe` is a part of :class:`carebot.channels.signal.SignalChannel`, which sets the
attributes it declares and drops a probe's text before it could be read as a member's.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid as uuidlib
from typing import TYPE_CHECKING

import aiohttp

from carebot.domain import metrics

log = logging.getLogger("carebot.channels.signal")

# How often by default, and the words it says.
PROBE_EVERY = 15 * 60.0
PROBE_PREFIX = "carebot-probe"


class SignalProbe:
    """Sending the probe, recognizing it when it comes back, and saying whether it is late."""

    # Set by SignalChannel.__init__.
    number: str
    connected: bool
    send_timeout: float
    probe_from: str | None
    probe_every: float
    probe_round_trip: float | None
    _probes: dict[str, float]
    _http: aiohttp.ClientSession | None

    if TYPE_CHECKING:
        def _url(self, path: str) -> str: ...  # SignalSending's

    @property
    def probe_status(self) -> str | None:
        """None without a probe; "waiting" before the first comes back; "late" when the last sent
        is overdue (Signal may be silent); else "ok"."""
        if not self.probe_from:
            return None
        if self._probes and min(self._probes.values()) + self.probe_every <= asyncio.get_running_loop().time():
            return "late"
        return "waiting" if self.probe_round_trip is None else "ok"

    async def _probe_forever(self) -> None:
        while True:
            await asyncio.sleep(self.probe_every)
            status = self.probe_status
            if status == "late":
                metrics.SIGNAL_PROBES.labels("late").inc()
                log.warning("the Signal probe has not come back: Signal may be silent")
            metrics.SIGNAL_PROBE_LATE.set(1 if status == "late" else 0)
            if self.connected:
                try:
                    await self._send_probe()
                except (aiohttp.ClientError, OSError, TimeoutError) as error:
                    log.warning("Signal probe not sent (%s)", type(error).__name__)

    async def _send_probe(self) -> None:
        assert self._http is not None
        nonce = uuidlib.uuid4().hex
        sent_at = asyncio.get_running_loop().time()
        payload = json.dumps({"number": self.probe_from, "recipients": [self.number],
                              "message": f"{PROBE_PREFIX} {nonce}"})
        self._probes[nonce] = sent_at  # before the send: it may come back before the answer does
        try:
            async with asyncio.timeout(self.send_timeout):
                async with self._http.post(self._url("/v2/send"), data=payload,
                                           headers={"Content-Type": "application/json"}) as response:
                    refused = response.status not in (200, 201)
        except BaseException:
            self._probes.pop(nonce, None)
            raise
        if refused:
            self._probes.pop(nonce, None)
            log.warning("Signal probe refused (HTTP %s): is SIGNAL_PROBE_NUMBER linked?", response.status)
            return
        metrics.SIGNAL_PROBES.labels("sent").inc()

    def _probe_back(self, envelope: dict) -> bool:
        """Whether ``envelope`` is from the probe account or is a probe (its number may be hidden:
        then the nonce, which nobody else can know, tells); records the round trip."""
        data = envelope.get("dataMessage")
        text = str(data.get("message") or "") if isinstance(data, dict) else ""
        prefix, _, nonce = text.partition(" ")
        sent_at = self._probes.pop(nonce, None) if prefix == PROBE_PREFIX else None
        if sent_at is None:
            # The probe account used by hand, or an older probe: dropped all the same.
            return envelope.get("sourceNumber") == self.probe_from
        self._probes = {n: t for n, t in self._probes.items() if t > sent_at}  # older ones are moot now
        self.probe_round_trip = asyncio.get_running_loop().time() - sent_at
        metrics.SIGNAL_PROBE_ROUND_TRIP.set(self.probe_round_trip)
        metrics.SIGNAL_PROBE_LATE.set(0)
        metrics.SIGNAL_PROBES.labels("answered").inc()
        return True
