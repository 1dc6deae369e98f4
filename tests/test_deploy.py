"""deploy/ stays true to the code: compose.yaml, the systemd unit and the Caddyfile.

Docker is not needed to check what matters: the YAML parses, every command is one the
carebot CLI accepts, every setting is one carebot reads, and nothing that must stay inside
(PostgreSQL, signal-cli-rest-api, /healthz, /metrics) is published.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import click
import pytest
import yaml

from carebot.cli import main
from carebot.domain.config import LogSettings, ServeSettings
from tests.helpers import app_for, carebot_units

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
    # Signal is a profile, and its settings are the operator's (.env): carebot starts SMS-only without
    # a Signal number, instead of refusing in a loop (#20).
    assert "SIGNAL_SERVICE" not in env and compose["services"]["signal"]["profiles"] == ["signal"]
    # The address the guides give names the signal service on its container port, as carebot's validator wants.
    [address] = re.findall(r"SIGNAL_SERVICE=(signal:\d+)", (DEPLOY / "signal.md").read_text())
    assert ServeSettings._signal_service(address) == address
    assert address.endswith(":8080")  # the port signal-cli-rest-api listens on in its container
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


def test_the_proxy_forwards_only_the_webhooks_and_keeps_health_and_metrics_inside(db):
    caddy = (DEPLOY / "Caddyfile").read_text()
    code = "\n".join(line.split("#")[0] for line in caddy.splitlines())
    # Every webhook carebot serves, and nothing else: calls ask /twilio/voice (a deployer found it
    # missing, so calls got the proxy's 404).
    [forwarded] = re.findall(r"@twilio path ([^\n]+)", code)
    served = {route.path for route in app_for(db).routes if route.path.startswith("/twilio/")}
    assert set(forwarded.split()) == served == {"/twilio/sms", "/twilio/status", "/twilio/voice"}
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
    unknown = set(names) - KNOWN - {"POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD", "CAREBOT_NEW_SECRET_KEY",
                                         "CAREBOT_RETENTION_DAYS"}
    assert not unknown, unknown


# --- issue 20: units that work as written, backups, the build context, the guide's promises ----

UNITS = ["carebot.service", "carebot-web@.service", "carebot-worker@.service", "carebot-backup.service"]


def _unit(name: str) -> str:
    return (DEPLOY / name).read_text()


def _setting(unit: str, key: str) -> list[str]:
    return re.findall(rf"^{key}=(.*)$", unit, re.M)


def test_every_carebot_unit_keeps_its_state_the_service_users_alone():
    """/opt/carebot owned by root made the database unwritable, and no UMask left it world-readable (#20)."""
    assert sorted(unit.name for unit in carebot_units()) == sorted(UNITS)
    for name in UNITS:
        unit = _unit(name)
        assert _setting(unit, "User") == ["carebot"] and _setting(unit, "Group") == ["carebot"], name
        assert _setting(unit, "StateDirectory") == ["carebot"] and _setting(unit, "StateDirectoryMode") == ["0700"]
        assert _setting(unit, "WorkingDirectory") == ["/var/lib/carebot"], name
        assert _setting(unit, "UMask") == ["0077"], name
        assert not _setting(unit, "ReadWritePaths") and "/opt/carebot/.env" not in unit, name
        assert _setting(unit, "ProtectSystem") == ["strict"], name


def test_several_web_and_worker_processes_each_listen_on_their_instance_port():
    ports = {}
    for role in ("web", "worker"):
        unit = _unit(f"carebot-{role}@.service")
        [exec_start] = _setting(unit, "ExecStart")
        assert "--port %i" in exec_start and f"--role {role}" in exec_start and "--host 127.0.0.1" in exec_start
        parses(shlex.split(exec_start.replace("%i", "8001"))[1:])
        assert _setting(unit, "RestartPreventExitStatus") == _setting(_unit("carebot.service"), "RestartPreventExitStatus")
        assert _setting(unit, "WantedBy") == ["carebot.target"] and _setting(unit, "PartOf") == ["carebot.target"]
        ports[role] = re.findall(rf"carebot-{role}@(\d+)", (DEPLOY / "README.md").read_text())
    # The guide's instances are real ports, apart from each other and from the single process's 8000.
    every = [int(port) for found in ports.values() for port in found]
    assert ports["web"] and ports["worker"] and all(1024 < port < 65536 and port != 8000 for port in every)
    assert not set(ports["web"]) & set(ports["worker"])
    caddy_hint = re.search(r"reverse_proxy ((?:127\.0\.0\.1:\d+ ?)+)", (DEPLOY / "README.md").read_text())
    assert caddy_hint and {p.split(":")[1] for p in caddy_hint.group(1).split()} == set(ports["web"])


def test_the_single_process_upgrades_the_schema_before_it_serves():
    unit = _unit("carebot.service")
    [pre] = _setting(unit, "ExecStartPre")
    assert shlex.split(pre)[1:] == ["db", "upgrade"]
    parses(["db", "upgrade"])


def test_the_backup_timer_runs_carebot_backup_nightly():
    service, timer = _unit("carebot-backup.service"), _unit("carebot-backup.timer")
    [exec_start] = _setting(service, "ExecStart")
    args = shlex.split(exec_start)
    assert args[1] == "backup" and "/var/lib/carebot/backups" in args
    parses(args[1:])
    assert _setting(service, "Type") == ["oneshot"]
    assert _setting(timer, "OnCalendar") and _setting(timer, "Persistent") == ["true"]
    assert _setting(timer, "WantedBy") == ["timers.target"]


def _verify_all(tmp_path: Path, *, break_one: bool = False) -> subprocess.CompletedProcess:
    """``systemd-analyze verify`` on every unit of deploy/ (templates as instances), carebot's path pointed here."""
    import os
    import sys

    here = tmp_path / ("broken" if break_one else "units")
    here.mkdir()
    carebot = Path(sys.executable).with_name("carebot")
    for unit in [*DEPLOY.glob("*.service"), *DEPLOY.glob("*.timer"), *DEPLOY.glob("*.target")]:
        text = unit.read_text().replace("/opt/carebot/venv/bin/carebot", str(carebot))
        if break_one and unit.name == "carebot-web@.service":
            text = text.replace("UMask=0077", "UMask=forbidden")
        (here / unit.name).write_text(text)
    names = ["carebot.service", "carebot-web@8001.service", "carebot-worker@8101.service", "carebot-backup.service",
             "carebot-backup.timer", "carebot.target"]
    env = {**os.environ, "SYSTEMD_UNIT_PATH": f"{here}:", "SYSTEMD_LOG_LEVEL": "warning"}
    return subprocess.run(["systemd-analyze", "verify", *names], capture_output=True, text=True, env=env,
                          cwd=here, timeout=60)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is missing (apt-get install systemd)")
def test_every_unit_verifies(tmp_path):
    result = _verify_all(tmp_path)
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr
    broken = _verify_all(tmp_path, break_one=True)  # the check can fail
    assert "carebot-web@.service" in broken.stderr and "Failed to parse mode value" in broken.stderr, broken.stderr


def test_the_build_context_carries_no_settings_key_or_database():
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    for needed in (".env", ".venv/", ".git/", "*.sqlite", "*.sqlite-*", "backups/"):
        assert needed in ignored, needed
    # What the image copies is not ignored.
    for source in re.findall(r"^COPY (.+) \S+$", (DEPLOY / "Dockerfile").read_text(), re.M):
        for name in source.split():
            assert name not in ignored and f"{name}/" not in ignored, name


def test_the_guide_states_what_to_install_and_the_compose_choice():
    readme = (DEPLOY / "README.md").read_text()
    assert re.search(r"Python 3\.11 or later", readme)
    assert "apt-get install -y python3 python3-venv sqlite3" in readme
    assert "docker-compose-plugin" in readme and "docker-compose-v2" in readme and "Compose v2" in readme
    assert "docker compose --env-file .env -f deploy/compose.yaml" in readme
    assert "docker compose -f deploy/compose.yaml" not in readme  # compose would not read ../.env for POSTGRES_PASSWORD
    assert "roster import - --group" in readme and "carebot init" in readme and "carebot twilio connect" in readme
    signal = (DEPLOY / "signal.md").read_text()
    # Linking under compose: the port published on the host's loopback for that step only.
    assert "--publish 127.0.0.1:8080:8080 --entrypoint /entrypoint.sh signal" in signal
    assert "--profile signal up -d" in signal


# --- item 5: monitoring, for those who want it ---------------------------------------------

MONITORING = DEPLOY / "monitoring"


def _exported() -> set[str]:
    """Every series name carebot's /metrics can show (counters as _total, infos as _info)."""
    from carebot.domain import metrics

    suffix = {"counter": "_total", "info": "_info"}
    names = {family.name + suffix.get(family.type, "") for family in metrics.REGISTRY.collect()}
    return names | {metrics.SIGNAL_UP._name}  # registered only while Signal is on


def test_the_monitoring_profile_keeps_everything_inside(compose):
    services = compose["services"]
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["monitoring"], name
        assert "egress" not in services[name]["networks"], name
    assert "ports" not in services["prometheus"] and services["prometheus"]["networks"] == ["internal"]
    assert all(port.startswith("127.0.0.1:") for port in services["grafana"]["ports"])
    assert "monitoring" not in services["carebot"].get("profiles", []), "carebot runs in every profile"
    for volume in services["prometheus"]["volumes"] + services["grafana"]["volumes"]:
        source = volume.split(":")[0]
        if source.startswith("./"):
            assert (DEPLOY / source).exists(), source
    prometheus = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    [job] = prometheus["scrape_configs"]
    serve = services["carebot"]["command"]
    assert job["static_configs"][0]["targets"] == [f"carebot:{serve[serve.index('--port') + 1]}"]
    assert job["metrics_path"] == "/metrics"


def test_the_dashboard_shows_what_the_issue_asks_from_metrics_carebot_exports():
    dashboard = json.loads((MONITORING / "grafana" / "dashboards" / "carebot.json").read_text())
    [source] = yaml.safe_load((MONITORING / "grafana" / "provisioning" / "datasources" / "prometheus.yaml")
                              .read_text())["datasources"]
    provider = yaml.safe_load((MONITORING / "grafana" / "provisioning" / "dashboards" / "carebot.yaml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    exported = _exported()
    used = set()
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == source["uid"]
            names = set(re.findall(r"\b((?:carebot|process)_[a-z_]+)\b", target["expr"]))
            assert names and names <= exported, (panel["title"], names - exported)
            used |= names
    # Texts in and out, failures by class, held texts, backlog, waiting requests, Signal's state.
    for needed in ("carebot_messages_in_total", "carebot_messages_out_total", "carebot_send_errors_total",
                   "carebot_held_by_budget_total", "carebot_outbox_backlog", "carebot_requests_waiting",
                   "carebot_signal_connected"):
        assert needed in used, needed
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])


def test_every_package_ships_in_a_plain_install():
    # The Dockerfile and the deploy guide run `pip install .`, which ships only the packages
    # pyproject.toml lists: a folder of carebot/ left out there is missing on every server.
    import tomllib

    root = Path(__file__).parent.parent
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {".".join(path.parent.relative_to(root).parts) for path in (root / "carebot").rglob("__init__.py")}
    assert folders <= listed, f"packages missing from pyproject.toml: {sorted(folders - listed)}"


def test_every_carebot_command_the_docs_name_is_one_carebot_has():
    # The walk of the docs found `carebot forget` in deploy/signal.md, a command carebot does not have.
    pages = [ROOT / "README.md", ROOT / ".env.example", *sorted((ROOT / "docs").glob("*.md")),
             *sorted(DEPLOY.glob("*.md")), *sorted(DEPLOY.glob("*.service"))]
    # A command line: code that starts with carebot, or carebot run from a venv or in a container.
    named = re.compile(r"(?:^|(?<=/bin/)|(?<=exec carebot )|(?<=-T carebot ))carebot((?: -v| --env-file \S+)*)"
                       r" ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?")
    missing, seen = [], set()
    for page in pages:
        text = page.read_text()
        fenced = re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S)
        code = [span.strip() for span in re.findall(r"`([^`\n]+)`", text)] + [
            line.strip() for block in fenced for line in block.splitlines()]
        if page.suffix == ".service":
            code += [line.split("=", 1)[1] for line in text.splitlines() if line.startswith("ExecStart")]
        for line in code:
            for _, first, second in named.findall(line):
                seen.add(first)
                command = main.commands.get(first)
                if command is None:
                    missing.append(f"{page.name}: carebot {first}")
                elif isinstance(command, click.Group) and second and second not in command.commands:
                    missing.append(f"{page.name}: carebot {first} {second}")
    assert not missing, missing
    assert {"init", "serve", "db", "group", "roster", "twilio", "backup", "key", "check"} <= seen, seen  # not blind
