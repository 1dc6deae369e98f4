"""deploy/README.md's SQLite path (and its PostgreSQL web/worker units), replayed command by command
as far as this machine allows (#20).

There is no systemd as PID 1 here and no second user to switch to, so: the commands are taken from
the guide and the units themselves (``carebot init``, the unit's ExecStartPre and ExecStart, the
backup unit's ExecStart, the restore block), with /var/lib/carebot and /opt/carebot/venv pointed at
a temporary directory and this checkout, each run in the unit's WorkingDirectory under its UMask.
Twilio is the fake on 127.0.0.1. The replay ends at a carebot that answers a signed webhook, again
after a restore from the nightly backup.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from twilio.request_validator import RequestValidator

from tests.fakes.twilio_api import FakeTwilio
from tests.helpers import free_port, wait_for, wait_for_serve

DEPLOY = Path(__file__).parent.parent / "deploy"
PUBLIC = "https://care.example.org"
FROM = "+15155550100"


class Machine:
    """The guide's paths, here: the state directory, this venv's carebot, a clean environment."""

    def __init__(self, tmp_path: Path, twilio: FakeTwilio) -> None:
        self.state = tmp_path / "var-lib-carebot"
        self.bin = Path(sys.executable).parent
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("CAREBOT_", "TWILIO_", "SIGNAL_"))}
        self.env.update(CAREBOT_SYSTEM_ENV_FILE=str(tmp_path / "etc-carebot.env"),
                        TWILIO_API_BASE_URL=twilio.base_url)  # the one thing not from the guide: no real Twilio

    def line(self, command: str) -> list[str]:
        command = command.replace("/var/lib/carebot", str(self.state)).replace("/opt/carebot/venv/bin", str(self.bin))
        return shlex.split(command)

    def run(self, command: str, *, check: bool = True) -> subprocess.CompletedProcess:
        args = self.line(command)
        done = subprocess.run(args, capture_output=True, text=True, env=self.env, cwd=self.cwd(args), timeout=120,
                              preexec_fn=lambda: os.umask(0o077))
        assert not check or done.returncode == 0, (command, done.stdout, done.stderr)
        return done

    def cwd(self, args: list[str]) -> Path:
        return self.state if self.state.exists() else Path("/")

    def start(self, unit: str, port: int) -> subprocess.Popen:
        """The unit's ExecStartPre, then its ExecStart, as systemd would: its directory, its umask."""
        text = (DEPLOY / unit).read_text() if "/" not in unit else Path(unit).read_text()
        assert re.findall(r"^UMask=(.*)$", text, re.M) == ["0077"]
        assert re.findall(r"^WorkingDirectory=(.*)$", text, re.M) == ["/var/lib/carebot"]
        for pre in re.findall(r"^ExecStartPre=(.*)$", text, re.M):
            self.run(pre)
        [start] = re.findall(r"^ExecStart=(.*)$", text, re.M)
        args = self.line(start.replace("--port 8000", f"--port {port}"))
        server = subprocess.Popen(args, env=self.env, cwd=self.state, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, preexec_fn=lambda: os.umask(0o077))

        wait_for_serve(server, f"http://127.0.0.1:{port}")
        return server


def signed_text(port: int, token: str, sender: str, body: str) -> tuple[int, str]:
    form = {"MessageSid": "SM" + sender[-4:] * 8, "SmsSid": "SM" + sender[-4:] * 8, "AccountSid": "AC" + "0" * 32,
            "From": sender, "To": FROM, "Body": body, "NumMedia": "0"}
    signature = RequestValidator(token).compute_signature(f"{PUBLIC}/twilio/sms", form)
    request = urllib.request.Request(f"http://127.0.0.1:{port}/twilio/sms", method="POST",
                                     data=urllib.parse.urlencode(form).encode(),
                                     headers={"X-Twilio-Signature": signature,
                                              "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status, answer.read().decode()


def guide_block(after: str) -> list[str]:
    """The commands of the first ```sh block after ``after`` in deploy/README.md."""
    readme = (DEPLOY / "README.md").read_text()
    block = readme[readme.index(after):].split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip() and not line.startswith("#")]


@pytest.mark.skipif(sys.platform != "linux", reason="the guide is for Debian and Ubuntu")
def test_the_sqlite_path_as_written_reaches_a_carebot_answering_a_signed_webhook(tmp_path) -> None:
    with FakeTwilio() as twilio:
        twilio.add_number(FROM, sms_url="https://old.example.net/sms")
        machine = Machine(tmp_path, twilio)
        # Step 2: the state directory, then `carebot init` as the guide gives it (with --yes and answers).
        [make_dir, init] = [c for c in guide_block("## 2. carebot's settings") if "alias" not in c]
        assert make_dir.startswith("sudo install -d -o carebot -g carebot -m 0700 /var/lib/carebot")
        machine.state.mkdir(mode=0o700)
        assert init.startswith("sudo -u carebot /opt/carebot/venv/bin/carebot --env-file /var/lib/carebot/.env init")
        machine.run(init.removeprefix("sudo -u carebot ") + " --yes --group circle --group-name 'Eastside Care'"
                    f" --tz America/Chicago --coordinator +15155550123 --coordinator-name Ana --public-url {PUBLIC}"
                    f" --twilio-account-sid {twilio.account_sid} --twilio-auth-token {twilio.auth_token}"
                    f" --twilio-from {FROM} --connect")
        assert twilio.numbers[FROM]["sms_url"] == f"{PUBLIC}/twilio/sms"  # connected on the way
        assert machine.run("/opt/carebot/venv/bin/carebot --env-file /var/lib/carebot/.env check").returncode == 0
        # Step 3: the unit, as systemd runs it.
        port = free_port()
        server = machine.start("carebot.service", port)
        try:
            status, answer = signed_text(port, twilio.auth_token, "+15155550177", "join circle")
            assert status == 204 and answer == ""  # taken: Twilio sends no reply; carebot's goes through the outbox
            for made in ("carebot.sqlite", ".env"):
                assert stat.S_IMODE((machine.state / made).stat().st_mode) == 0o600, made
            # The nightly backup, as its unit runs it.
            [backup] = re.findall(r"^ExecStart=(.*)$", (DEPLOY / "carebot-backup.service").read_text(), re.M)
            machine.run(backup)
            [copy] = (machine.state / "backups").iterdir()
            assert stat.S_IMODE(copy.stat().st_mode) == 0o600
        finally:
            server.terminate()
            server.communicate(timeout=30)
        # The restore block, line by line: systemctl is this test's own start and stop.
        restore = guide_block("**SQLite restore**")
        assert restore[0] == "sudo systemctl stop carebot" and restore[-1] == "sudo systemctl start carebot"
        (machine.state / "carebot.sqlite").write_bytes(b"lost")
        for command in restore[1:-1]:
            command = re.sub(r"carebot-\S+\.sqlite", copy.name, command.removeprefix("sudo -u carebot ")
                             .removeprefix("sudo "))
            machine.run(command)
        server = machine.start("carebot.service", port)
        try:
            status, _ = signed_text(port, twilio.auth_token, "+15155550178", "HELP")
            assert status == 204
            overview = machine.run("/opt/carebot/venv/bin/carebot --env-file /var/lib/carebot/.env status").stdout
            assert "CIRCLE" in overview and "Eastside Care" in overview
        finally:
            server.terminate()
            server.communicate(timeout=30)


def test_the_postgresql_path_with_web_and_worker_units_answers_a_signed_webhook(tmp_path, backend) -> None:
    """The "Growing" section: carebot init on PostgreSQL, then carebot-web@PORT and carebot-worker@PORT."""
    from tests.databases import POSTGRESQL

    if backend.name != POSTGRESQL:
        pytest.skip("the PostgreSQL path")
    url = backend.url(migrated=False)
    try:
        with FakeTwilio() as twilio:
            twilio.add_number(FROM, sms_url=f"{PUBLIC}/twilio/sms")
            machine = Machine(tmp_path, twilio)
            machine.state.mkdir(mode=0o700)
            machine.run("/opt/carebot/venv/bin/carebot --env-file /var/lib/carebot/.env init --yes --group circle"
                        f" --group-name Circle --coordinator +15155550123 --database-url {url}"
                        f" --public-url {PUBLIC} --twilio-account-sid {twilio.account_sid}"
                        f" --twilio-auth-token {twilio.auth_token} --twilio-from {FROM}")
            readme = (DEPLOY / "README.md").read_text()
            [web_port, *_] = re.findall(r"carebot-web@(\d+)", readme)
            [worker_port, *_] = re.findall(r"carebot-worker@(\d+)", readme)
            ports = {"web": free_port(), "worker": free_port()}  # the guide's ports may be taken on this machine
            servers = []
            try:
                for role, guide_port in (("worker", worker_port), ("web", web_port)):
                    unit = (DEPLOY / f"carebot-{role}@.service").read_text()
                    instance = tmp_path / f"carebot-{role}@{guide_port}.service"
                    instance.write_text(unit.replace("%i", str(ports[role])))
                    servers.append(machine.start(str(instance), ports[role]))
                status, answer = signed_text(ports["web"], twilio.auth_token, "+15155550177", "join circle")
                assert status == 204
                # The worker handles what the web process stored: the consent question goes out through Twilio.
                wait_for(lambda: twilio.sent_to("+15155550177"), "the worker to answer the stored text")
            finally:
                for server in servers:
                    server.terminate()
                    server.communicate(timeout=30)
            [backup] = re.findall(r"^ExecStart=(.*)$", (DEPLOY / "carebot-backup.service").read_text(), re.M)
            machine.run(backup)
            [copy] = (machine.state / "backups").iterdir()
            assert copy.suffix == ".dump" and stat.S_IMODE(copy.stat().st_mode) == 0o600
    finally:
        backend.drop(url)
