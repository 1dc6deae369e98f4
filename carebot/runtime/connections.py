"""Slow clients: how long a connection may take to send its request, and how many carebot holds.

uvicorn closes a keep-alive connection that stays idle, but not one that sends
its request a byte at a time, nor one that connects and says nothing: 1,100
of those held every file descriptor carebot had and left ``/healthz`` and the
webhooks unanswered for 30 s (#15). Each request now has to arrive whole (its
headers and its body) within ``REQUEST_SECONDS``; the process asks for enough
open files to hold that many slow clients and more, and answers 503 at once
past ``CONCURRENCY`` connections instead of running out of files.
"""

from __future__ import annotations

import asyncio
import logging
import resource

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from carebot.domain import metrics

log = logging.getLogger(__name__)

REQUEST_SECONDS = 10.0  # to send one whole request; Twilio's small forms take milliseconds
# Idle time a kept-alive connection stays open. Longer than the proxy's own idle
# time for its connections to carebot (deploy/Caddyfile: 30 s), so the proxy never
# sends a request down a connection carebot is closing at that moment.
KEEP_ALIVE_SECONDS = 35
OPEN_FILES = 65536  # what serve asks for (deploy's units: LimitNOFILE=65536)
CONCURRENCY = 4096  # connections and requests at once; past it, 503 at once
RESERVED_FILES = 256  # for the database, the providers' clients and the logs
MAX_HEADERS = 16 * 1024  # bytes of request line and headers; Twilio sends about one kilobyte


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request to arrive whole.

    The deadline runs from the connection (or from the previous answer, after
    the keep-alive time) until the request's last byte; a client still sending
    then is cut off. A request being answered has no deadline here: the
    database may be slow, and that is not the client's doing.
    """

    request_seconds = REQUEST_SECONDS

    # asyncio calls a stream protocol with a Transport, never a bare BaseTransport; uvicorn's own
    # H11Protocol narrows the argument the same way, with the same ignore.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline: asyncio.TimerHandle | None = None
        self._arm(self.request_seconds)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE and self.conn.their_state is not h11.SEND_BODY:
            self._disarm()  # the request is in whole (or the connection is ending)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state in (h11.IDLE, h11.SEND_BODY):
            self._arm(self.timeout_keep_alive + self.request_seconds)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            metrics.connection_dropped()
            self.transport.close()


def raise_open_files(wanted: int = OPEN_FILES) -> int:
    """Raise this process's soft limit of open files toward ``wanted``, as far as the hard limit allows.

    systemd starts services with a soft limit of 1,024 and a far higher hard
    one, expecting a program that needs more to ask (asyncio uses epoll, which
    has no use for a low limit). Returns the soft limit now.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return wanted if soft == resource.RLIM_INFINITY else soft


def uvicorn_limits(open_files: int) -> dict:
    """uvicorn's options for serving the internet (through the proxy or not) with ``open_files`` file descriptors."""
    concurrency = min(CONCURRENCY, open_files - RESERVED_FILES)
    if concurrency < CONCURRENCY:
        log.warning("carebot serve may hold only %d open files: slow clients could fill them. "
                    "Raise the limit to %d (LimitNOFILE= in the systemd unit, ulimit -n)", open_files, OPEN_FILES)
    return {
        "http": GuardedH11Protocol,
        "limit_concurrency": max(64, concurrency),
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "h11_max_incomplete_event_size": MAX_HEADERS,
    }
