"""A PostgreSQL server for the tests: the one named by CAREBOT_TEST_DATABASE_URL, or a private one.

Without CAREBOT_TEST_DATABASE_URL, a throwaway cluster is made with the
installed ``initdb`` in a temporary directory (in memory, /dev/shm, where the
machine has one) and started with ``pg_ctl`` on a free port of 127.0.0.1,
trusting local connections and skipping fsync (its data dies with the test run). As root, it runs as the ``postgres`` user
(initdb refuses root). Nothing is downloaded: no installed PostgreSQL, no
server.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

ENV_URL = "CAREBOT_TEST_DATABASE_URL"
ROLE = "carebot"


class Unavailable(RuntimeError):
    """No PostgreSQL server can be had; the message says why, in one line."""


def find_bindir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are: PATH, ``pg_config``, or Debian's versioned directories."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(os.path.realpath(initdb)).parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip()
        if found and (Path(found) / "initdb").exists():
            return Path(found)
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                      key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(versions[-1]).parent if versions else None


PORT_TRIES = 3  # ports tried for a private server, each free when picked


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_user() -> tuple[int, int] | None:
    """The (uid, gid) to run the server as when we are root, else None (ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return entry.pw_uid, entry.pw_gid
    raise Unavailable("running as root and there is no postgres or nobody user to run PostgreSQL as")


class PrivateServer:
    """A throwaway PostgreSQL cluster on 127.0.0.1, stopped and removed by ``stop``."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="carebot-pg-", dir=scratch_root()))
        self.url = f"postgresql+psycopg://{ROLE}@127.0.0.1:{self.port}/postgres"
        self._user = _as_user()

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        def demote() -> None:
            if self._user is not None:
                os.setgid(self._user[1])
                os.setuid(self._user[0])

        # A clean environment for the server: the caller's PG* variables are not its business.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        return subprocess.run(args, capture_output=True, text=True, preexec_fn=demote, env=env,
                              cwd=self.dir, timeout=120)

    def start(self) -> PrivateServer:
        stop_orphans(self.bindir)
        (self.dir / "owner").write_text(str(os.getpid()))
        if self._user is not None:
            os.chown(self.dir, *self._user)
        data = self.dir / "data"
        done = self._run(str(self.bindir / "initdb"), "-D", str(data), "-U", ROLE, "--auth=trust",
                         "-E", "UTF8", "--no-sync", "--no-instructions")
        if done.returncode:
            raise Unavailable(f"initdb failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}")
        # The port was free when picked, but another process (a parallel worker's server, a carebot
        # serve of another test) may bind it before PostgreSQL does: then another port, a few times.
        log_path = self.dir / "log"
        for tries_left in reversed(range(PORT_TRIES)):
            before = log_path.stat().st_size if log_path.exists() else 0
            options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
            done = self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-l", str(log_path),
                             "-o", options, "-w", "-t", "60", "start")
            if not done.returncode:
                return self
            log = log_path.read_bytes()[before:].decode(errors="replace") if log_path.exists() else ""  # this try's
            if tries_left and "could not bind" in log and not (data / "postmaster.pid").exists():
                self.port = free_port()
                self.url = f"postgresql+psycopg://{ROLE}@127.0.0.1:{self.port}/postgres"
                continue
            self.stop()
            raise Unavailable(f"pg_ctl start failed: {(log or done.stderr).strip().splitlines()[-1:]}")
        raise AssertionError("unreachable: the last try returns or raises")

    def stop(self) -> None:
        data = self.dir / "data"
        if (data / "postmaster.pid").exists():
            self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


def scratch_root() -> str | None:
    """Where the throwaway cluster lives: in memory (/dev/shm) when the machine has it, else the temp dir.

    Its data dies with the run, and on a disk each CREATE DATABASE of a test (a copy of the
    template, a checkpoint) took 150-350 ms even with fsync off; in memory 15-45 ms (1 Dec 2026).
    """
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else None


def stop_orphans(bindir: Path) -> None:
    """Stop private servers whose test run died without stopping them (killed, timed out)."""
    roots = {Path(tempfile.gettempdir()), *([Path(root)] if (root := scratch_root()) else [])}
    for owner in (owner for root in sorted(roots) for owner in root.glob("carebot-pg-*/owner")):
        try:
            os.kill(int(owner.read_text()), 0)
            continue  # its run is still going
        except ProcessLookupError:
            pass
        except (ValueError, OSError):
            continue
        orphan = PrivateServer.__new__(PrivateServer)
        orphan.bindir, orphan.dir, orphan._user = bindir, owner.parent, _as_user()
        orphan.stop()


def server() -> tuple[str, PrivateServer | None]:
    """A server URL (a role that may create databases) and the private server to stop, if one was started.

    Raises Unavailable when neither CAREBOT_TEST_DATABASE_URL nor an installed
    PostgreSQL gives one.
    """
    url = os.environ.get(ENV_URL, "").strip()
    if url:
        return url, None
    bindir = find_bindir()
    if bindir is None:
        raise Unavailable("PostgreSQL is not installed (no initdb/pg_ctl) and "
                          f"{ENV_URL} is not set")
    private = PrivateServer(bindir).start()
    return private.url, private
