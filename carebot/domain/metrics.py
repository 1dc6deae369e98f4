"""Prometheus metrics for ``/metrics``: counts and gauges, never a number or a text.

Every label value comes from a short closed list (channels, outbox statuses,
provider states) or passes ``error_code``, which turns anything that could be
a phone number or free text into ``other``. Counters are per process, as
Prometheus expects; the backlog gauges are read from the database at scrape
time (carebot.outbox.backlog, carebot.dispatch.inbound_backlog), so every process reports the same shared
outbox and inbound queue.
Nothing here touches the database: every layer may count.
"""

from __future__ import annotations

import functools
import platform
import re
import threading

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE  # noqa: F401 (for the web app)
from prometheus_client import CollectorRegistry, Counter, Gauge, Info, PlatformCollector, ProcessCollector, generate_latest

from carebot import __version__

REGISTRY = CollectorRegistry()
# The process's memory, CPU, open files and start time (process_*), and Python's version (python_info).
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
BUILD = Info("carebot_build", "The carebot version this process runs, and its Python.", registry=REGISTRY)
BUILD.info({"version": __version__, "python": platform.python_version()})

MESSAGES_IN = Counter("carebot_messages_in", "Texts received from members, by channel and outcome "
                      "(stored, or a duplicate of one already stored).",
                      ["channel", "status"], registry=REGISTRY)
MESSAGES_OUT = Counter("carebot_messages_out", "Outbox texts by channel and what became of them: "
                       "sent (the provider took it), retry, failed, cancelled, or a provider's delivery report.",
                       ["channel", "status"], registry=REGISTRY)
MESSAGES_REFUSED = Counter("carebot_messages_refused", "Signed texts refused before the store, by channel and "
                           "reason: prefixed (whatsapp: and other channels carebot does not serve yet), "
                           "not_a_number (letters, a short code).", ["channel", "reason"], registry=REGISTRY)
WEBHOOKS_REFUSED = Counter("carebot_webhooks_refused", "Webhook requests refused, forged or malformed, by reason: "
                           "no_signature, content_type, too_large, too_many_fields, bad_signature.", ["reason"],
                           registry=REGISTRY)
CONNECTIONS_DROPPED = Counter("carebot_connections_dropped", "Connections closed because a request did not "
                              "arrive whole in time (a slow or stalled client).", registry=REGISTRY)
SEND_ERRORS = Counter("carebot_send_errors", "Sends a provider refused or never answered, by channel and error code.",
                      ["channel", "code"], registry=REGISTRY)
OUTBOX_BACKLOG = Gauge("carebot_outbox_backlog", "Outbox texts waiting: due now (pending), in flight (sending), "
                       "or held for later (scheduled, e.g. the morning).", ["state"], registry=REGISTRY)
OUTBOX_OLDEST_DUE = Gauge("carebot_outbox_oldest_due_seconds", "How long the oldest due text has waited.",
                          registry=REGISTRY)
INBOUND_WAITING = Gauge("carebot_inbound_waiting", "Members' texts stored and waiting for the inbound worker "
                        "(those failing and to be tried again among them).", registry=REGISTRY)
INBOUND_OLDEST_WAITING = Gauge("carebot_inbound_oldest_waiting_seconds", "How long the oldest text waiting for the "
                               "inbound worker has waited: it grows while the worker is stalled or a text keeps "
                               "failing.", registry=REGISTRY)
INBOUND_GIVEN_UP = Gauge("carebot_inbound_given_up_24h", "Texts received in the last 24 hours that were given up "
                         "after 5 failed tries at handling them (logged as 'given up').", registry=REGISTRY)
REQUESTS_WAITING = Gauge("carebot_requests_waiting", "Requests for care (options 1 and 4) that no pairing answers yet, "
                         "in every group.", registry=REGISTRY)
REQUESTS_OLDEST_WAIT = Gauge("carebot_requests_oldest_wait_seconds", "How long the oldest unanswered request for care "
                             "has waited.", registry=REGISTRY)
HELD_BY_BUDGET = Counter("carebot_held_by_budget", "Texts carebot started that were held for the group's next "
                         "day because the group had used its daily budget (carebot.outbox.budget).", registry=REGISTRY)
TICKS = Counter("carebot_scheduler_ticks", "Ticks run (due timeouts, lapses and rounds).", registry=REGISTRY)
SCHEDULER_LAG = Gauge("carebot_scheduler_lag_seconds", "At the last tick, how late the oldest due item was.",
                      registry=REGISTRY)
LEADER = Gauge("carebot_leader", "1 while this process holds the Signal connection and the ticker.",
               registry=REGISTRY)
SENDER_LEASE_LOST = Gauge("carebot_sender_lease_lost", "1 while this process's sender has lost its lease (its "
                          "database connection went) and sends nothing until it takes it again.", registry=REGISTRY)
# Registered only while this process holds a Signal channel (signal_connected): with Signal off, or on a
# standby worker, there is no such series at all, rather than a 0 that would read as "Signal is down".
SIGNAL_UP = Gauge("carebot_signal_connected", "1 while the Signal connection is up.", registry=None)
_signal_shown = False
_signal_lock = threading.Lock()
SIGNAL_RECEIVE_ERRORS = Counter("carebot_signal_receive_errors", "Receive errors the Signal service reported on "
                                "its websocket ({\"error\": …} frames), by kind.", ["kind"], registry=REGISTRY)

_CODE = re.compile(r"[a-z][a-z0-9-]{0,23}|\d{1,6}")


def error_code(code: str | None) -> str:
    """A provider's error code as a label: short codes and names as they are, anything else ``other``."""
    value = (code or "none").strip().lower()
    return value if _CODE.fullmatch(value) else "other"


def received(channel: str, stored: bool) -> None:
    _received(channel, stored).inc()


@functools.cache
def _received(channel: str, stored: bool):
    # Once per kind: a labelled child is looked up under a lock, and this runs for every webhook.
    return MESSAGES_IN.labels(channel, "stored" if stored else "duplicate")


def message_refused(channel: str, reason: str) -> None:
    MESSAGES_REFUSED.labels(channel, reason).inc()


def webhook_refused(reason: str) -> None:
    WEBHOOKS_REFUSED.labels(reason).inc()


def connection_dropped() -> None:
    CONNECTIONS_DROPPED.inc()


def out(channel: str, status: str) -> None:
    MESSAGES_OUT.labels(channel, status).inc()


def send_error(channel: str, code: str | None) -> None:
    SEND_ERRORS.labels(channel, error_code(code)).inc()


SIGNAL_PROBE_ROUND_TRIP = Gauge("carebot_signal_probe_round_trip_seconds", "The last round trip of carebot's "
                                "Signal probe (SIGNAL_PROBE_NUMBER to the bot).", registry=REGISTRY)
SIGNAL_PROBES = Counter("carebot_signal_probes", "Signal probes, by outcome: sent, answered, late "
                        "(not back before the next was due).", ["outcome"], registry=REGISTRY)
SIGNAL_PROBE_LATE = Gauge("carebot_signal_probe_late", "1 while the last Signal probe has not come back in time.",
                          registry=REGISTRY)


def signal_receive_error(kind: str) -> None:
    SIGNAL_RECEIVE_ERRORS.labels(error_code(kind)).inc()


def signal_connected(up: bool | None) -> None:
    """Signal's state for /metrics: 1 up, 0 down, None (no Signal channel in this process): absent."""
    global _signal_shown
    with _signal_lock:
        if up is not None:
            SIGNAL_UP.set(1 if up else 0)
        if (up is not None) != _signal_shown:
            (REGISTRY.register if up is not None else REGISTRY.unregister)(SIGNAL_UP)
            _signal_shown = up is not None


def inbound_queue(waiting: int, oldest_seconds: float, given_up_24h: int) -> None:
    INBOUND_WAITING.set(waiting)
    INBOUND_OLDEST_WAITING.set(max(0.0, oldest_seconds))
    INBOUND_GIVEN_UP.set(given_up_24h)


def requests_waiting(count: int, oldest_seconds: float) -> None:
    REQUESTS_WAITING.set(count)
    REQUESTS_OLDEST_WAIT.set(max(0.0, oldest_seconds))


def held_by_budget() -> None:
    HELD_BY_BUDGET.inc()


def ticked(lag_seconds: float) -> None:
    TICKS.inc()
    SCHEDULER_LAG.set(max(0.0, lag_seconds))


def render() -> bytes:
    """The exposition text."""
    return generate_latest(REGISTRY)
