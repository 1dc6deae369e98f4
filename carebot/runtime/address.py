"""Whether ``carebot serve`` may listen where it is told: asked before anything starts."""

from __future__ import annotations

import errno
import socket

from carebot.domain.startup import Refusal


def refuse_an_address_it_cannot_have(host: str, port: int) -> None:
    """Uvicorn binds only once the app has started (the ticker, the sender), and its failure then is a
    log line and a cancelled beat's traceback: the address is tried before the app starts, and refused in
    one line (exit 1, so systemd tries again, as it should while an old carebot lets go of the port)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn's: TIME_WAIT is no refusal
            probe.bind((host, port))
    except socket.gaierror:
        raise Refusal(f"carebot serve: --host {host} is not an address here: use 127.0.0.1 (behind a proxy) "
                      "or 0.0.0.0", 1) from None
    except OSError as error:
        said = {errno.EADDRINUSE: "is in use (another carebot, or another program): stop it, or choose another "
                                  "--port",
                errno.EACCES: "needs root (a port below 1024): choose a --port above 1024, behind a proxy",
                errno.EADDRNOTAVAIL: "is not an address of this machine: use 127.0.0.1 (behind a proxy) or 0.0.0.0",
                }.get(error.errno or 0, f"cannot be listened on ({error.strerror}): choose another --port or --host")
        raise Refusal(f"carebot serve: {host}:{port} {said}", 1) from None
