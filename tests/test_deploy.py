"""deploy/ stays true to the code: compose.yaml, the systemd unit and the Caddyfile.

Docker is not needed to check what matters: the YAML parses, every command is one the
carebot CLI accepts, every setting is one carebot reads, and nothing that must stay inside
(PostgreSQL, signal-cli-rest-api, /healthz, /metrics) is published.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from carebot.cli import main
from carebot.domain.config import LogSettings, ServeSettings
from tests.helpers import carebot_units

DEPLOY = Path(__file__).parent.parent / "deploy"
ROOT = DEPLOY.parent
# What carebot reads: its settings, plus the variables read outside them.
KNOWN = ({name.upper() for name in ServeSettings.model_fields} | {name.upper() for name in LogSettings.model_fields}
         | {"CAREBOT_ROLE", "CAREBOT_SECRET_KEY"})


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def parses(args: list[str]) -> None:
    """``args`` (after ``carebot``) is a command line the CLI accepts, checked without running it."""
    command = main
    context = None
    while args:
        name, args = args[0], args[1:]
        sub = command.get_command(context, name) if hasattr(command, "get_command") else None
        assert sub is not None, f"carebot has no command {name!r}"
        command = sub
        if not hasattr(command, "get_command"):
            command.make_context(name, list(args))  # raises on an unknown option or a bad value
            return


def test_compose_has_carebot_postgres_and_signal_with_nothing_inside_published(compose):
    services = compose["services"]
    assert {"carebot", "postgres", "signal", "migrate"} <= set(services)
    assert "ports" not in services["postgres"] and "ports" not in services["signal"]
    assert services["signal"]["environment"]["MODE"] == "json-rpc"
    assert compose["networks"]["internal"]["internal"] is True
    assert services["postgres"]["networks"] == ["internal"]
    assert "internal" in services["signal"]["networks"]
    for port in services["carebot"]["ports"]:
        assert port.startswith("127.0.0.1:"), "carebot is reached through the reverse proxy only"


def test_compose_commands_and_settings_are_carebots_own(compose):
    for name in ("carebot", "migrate"):
        service = compose["services"][name]
        assert service["command"][0] == "carebot"
        parses(service["command"][1:])
        for variable in service["environment"]:
            assert variable in KNOWN, f"{name} sets {variable}, which carebot does not read"
    serve = compose["services"]["carebot"]["command"]
    port = serve[serve.index("--port") + 1]
    assert compose["services"]["carebot"]["ports"] == [f"127.0.0.1:{port}:{port}"]
    env = compose["services"]["carebot"]["environment"]
    assert env["CAREBOT_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in env["CAREBOT_DATABASE_URL"]
    # SIGNAL_SERVICE names the signal service on its container port, as carebot's validator wants it.
    ServeSettings._signal_service(env["SIGNAL_SERVICE"])
    assert env["SIGNAL_SERVICE"].split(":")[0] == "signal"
    assert compose["services"]["carebot"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert (DEPLOY / compose["services"]["carebot"]["build"]["dockerfile"].removeprefix("deploy/")).exists()


def test_the_systemd_unit_runs_a_command_carebot_accepts():
    unit = (DEPLOY / "carebot.service").read_text()
    [exec_start] = re.findall(r"^ExecStart=(.+)$", unit, re.M)
    args = shlex.split(exec_start)
    assert args[0].endswith("/carebot")
    parses(args[1:])
    assert "--host 127.0.0.1" in exec_start  # the proxy on the same machine reaches it
    assert re.search(r"^User=carebot$", unit, re.M) and re.search(r"^RestartPreventExitStatus=2( \d+)*$", unit, re.M)


def test_the_proxy_forwards_only_the_webhooks_and_keeps_health_and_metrics_inside():
    caddy = (DEPLOY / "Caddyfile").read_text()
    code = "\n".join(line.split("#")[0] for line in caddy.splitlines())
    assert re.search(r"@twilio path /twilio/sms /twilio/status\s", code)
    assert re.search(r"path /healthz /metrics\s+remote_ip 127\.0\.0\.1/8 ::1 10\.0\.0\.0/8", code)
    assert re.search(r"handle \{\s+respond 404\s+\}", code)  # everything else
    # carebot's one proxy block, used for those two and no catch-all forward
    assert code.count("reverse_proxy 127.0.0.1:8000") == 1 and code.count("import carebot") == 2


def test_every_unit_gives_carebot_the_open_files_it_asks_for():
    """Slow clients each hold a file descriptor: systemd's default of 1,024 starved carebot (#15)."""
    from carebot.runtime.connections import OPEN_FILES

    for unit in carebot_units():
        assert re.findall(r"^LimitNOFILE=(\d+)$", unit.read_text(), re.M) == [str(OPEN_FILES)], unit.name


def test_the_proxy_cuts_slow_clients_off_and_limits_bodies():
    code = "\n".join(line.split("#")[0] for line in (DEPLOY / "Caddyfile").read_text().splitlines())
    for timeout in ("read_header", "read_body", "write", "idle"):
        assert re.search(rf"^\s*{timeout} \d+s$", code, re.M), timeout
    assert code.count("max_size") == 2 and "max_size 64KB" in code  # carebot's own MAX_BODY
    # Caddy's idle connections to carebot end before carebot would close them.
    from carebot.runtime.connections import KEEP_ALIVE_SECONDS

    [keepalive] = re.findall(r"keepalive (\d+)s", code)
    assert int(keepalive) < KEEP_ALIVE_SECONDS


@pytest.mark.skipif(shutil.which("caddy") is None, reason="caddy is not installed (apt-get install caddy)")
def test_caddy_accepts_the_caddyfile(tmp_path):
    result = subprocess.run(["caddy", "validate", "--config", str(DEPLOY / "Caddyfile"), "--adapter", "caddyfile"],
                            capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_deploy_readme_covers_the_path_and_links_the_channel_guides():
    readme = (DEPLOY / "README.md").read_text()
    for needed in ("10DLC", "fallback", "/twilio/sms", "STOP", "pg_dump", "pg_restore", ".backup",
                   "carebot db upgrade", "(twilio.md)", "(signal.md)", "--role worker"):
        assert needed in readme, needed
    for link in re.findall(r"\]\(([^)#:]+)\)", readme):
        assert (DEPLOY / link).exists(), link


def test_env_example_names_only_settings_carebot_reads():
    names = re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M)
    unknown = set(names) - KNOWN - {"POSTGRES_PASSWORD", "CAREBOT_NEW_SECRET_KEY", "CAREBOT_RETENTION_DAYS"}
    assert not unknown, unknown
