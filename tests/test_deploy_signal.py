"""The Signal service lives only while carebot listens, in every deploy path (deploy/signal.md).

compose.yaml is checked against the Compose Specification's own JSON schema
(tests/compose-spec.json, from compose-spec/compose-spec, Apache-2.0, commit
170098ba), since Docker is not on this machine; the units with
``systemd-analyze verify``; the service's entrypoint, signal-while-carebot.sh,
is run for real against a local /healthz with a stand-in for the image's
entrypoint.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tests.helpers import wait_for

DEPLOY = Path(__file__).parent.parent / "deploy"
ROOT = DEPLOY.parent


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_file_is_valid_by_the_compose_spec(compose):
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is a test dependency (pyproject.toml)")
    schema = json.loads((Path(__file__).parent / "compose-spec.json").read_text())
    jsonschema.Draft7Validator(schema).validate(compose)  # the spec names draft 7


def test_compose_starts_signal_after_carebot_and_stops_it_first(compose):
    services = compose["services"]
    signal_service, carebot = services["signal"], services["carebot"]
    # up: carebot healthy first; down: dependants stop first; restart carebot: the service follows.
    assert signal_service["depends_on"]["carebot"] == {"condition": "service_healthy", "restart": True}
    assert "signal" not in carebot["depends_on"], "carebot never waits for the service"
    # A crash or `restart carebot`: the entrypoint ends the service when carebot stops answering.
    assert signal_service["entrypoint"] == ["/bin/sh", "/carebot/signal-while-carebot.sh"]
    assert "./signal-while-carebot.sh:/carebot/signal-while-carebot.sh:ro" in signal_service["volumes"]
    assert signal_service["environment"]["CAREBOT_HEALTH"] == "http://carebot:8000/healthz"
    assert carebot["healthcheck"]["start_interval"] == "1s"
    # carebot keeps listening up to 15 s while the service stops: compose must give it longer.
    from carebot.channels.signal import LET_GO_GRACE

    assert int(carebot["stop_grace_period"].rstrip("s")) > LET_GO_GRACE


def _verify(units: list[Path], tmp_path: Path) -> subprocess.CompletedProcess:
    """``systemd-analyze verify`` on copies of ``units``, carebot's install path pointed at this carebot."""
    here = tmp_path / "units"
    here.mkdir(exist_ok=True)
    carebot = Path(sys.executable).with_name("carebot")
    paths = []
    for unit in units:
        text = unit.read_text().replace("/opt/carebot/venv/bin/carebot", str(carebot))
        (here / unit.name).write_text(text)
        paths.append(str(here / unit.name))
    env = {**os.environ, "SYSTEMD_UNIT_PATH": f"{here}:", "SYSTEMD_LOG_LEVEL": "warning"}
    return subprocess.run(["systemd-analyze", "verify", *paths], capture_output=True, text=True, env=env,
                          timeout=60)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is missing (apt-get install systemd)")
def test_the_units_verify_and_the_service_is_bound_to_carebot(tmp_path):
    unit = DEPLOY / "carebot-signal.service"
    result = _verify([DEPLOY / "carebot.service", unit], tmp_path)
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr
    lines = [line.strip() for line in unit.read_text().splitlines()]
    for wanted in ("BindsTo=carebot.service", "PartOf=carebot.service", "WantedBy=carebot.service"):
        assert wanted in lines
    assert next(line for line in lines if line.startswith("After=")).split("=")[1].split()[0] == "carebot.service"
    # The check can fail: a unit bound to a unit that does not exist does not verify.
    broken = tmp_path / "broken" / "carebot-signal.service"
    broken.parent.mkdir()
    broken.write_text(unit.read_text().replace("ExecStart=/usr/bin/env", "ExecStart=/nonexistent/env"))
    assert _verify([DEPLOY / "carebot.service", broken], tmp_path).returncode != 0


class Health:
    """carebot's /healthz, answering 200 while ``up``."""

    def __init__(self) -> None:
        self.up = False
        self.asked = 0
        health = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                health.asked += 1
                self.send_response(200 if health.up else 503)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/healthz"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is missing (the service's image has it)")
def test_the_entrypoint_starts_the_service_only_while_carebot_answers(tmp_path):
    health = Health()
    started = tmp_path / "started"
    # A stand-in for the image's /entrypoint.sh: notes that it started, then runs until stopped.
    stand_in = tmp_path / "entrypoint.sh"
    stand_in.write_text(f"#!/bin/sh\ntouch {started}\nexec sleep 600\n")
    stand_in.chmod(0o755)
    env = {**os.environ, "CAREBOT_HEALTH": health.url, "CAREBOT_HEALTH_EVERY": "0.05",
           "SIGNAL_ENTRYPOINT": str(stand_in)}
    wrapper = subprocess.Popen(["/bin/sh", str(DEPLOY / "signal-while-carebot.sh")], env=env,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        def refused_three_times() -> bool:  # carebot does not answer yet: the service must not start
            assert not started.exists() and wrapper.poll() is None
            return health.asked >= 3

        wait_for(refused_three_times, "the wrapper to ask carebot three times", 60)
        assert not started.exists()
        health.up = True
        wait_for(started.exists, "the service to start once carebot answers", 60)
        health.up = False  # carebot stops or dies
        assert wrapper.wait(60) == 1, "the wrapper ends, and the container with it"
        assert "carebot does not answer" in wrapper.stderr.read()
    finally:
        with contextlib.suppress(ProcessLookupError):  # the wrapper and the stand-in: its process group
            os.killpg(wrapper.pid, signal.SIGKILL)
        wrapper.wait(10)
        health.server.shutdown()
