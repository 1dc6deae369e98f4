"""Safe to run (issue 18): every start-up failure is one line and its own exit code, the settings are
found where an operator puts them, and a key that is not the database's is refused before anything is
written. Each command runs as a real process, as systemd or an operator runs it; serve's many refusals run
in this process too, and as a process for one refusal of each exit code (a process costs seconds of imports)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import text

from carebot.domain import startup
from carebot.store import crypto
from carebot.store.db import Database, start_up, upgrade
from tests.helpers import GOOD, LOG_WATCH, carebot_units, free_port

ROOT = Path(__file__).parent.parent
ROSTER = "phone,name\n+15155550101,Ana\n+15155550102,Ben\n+15155550103,Cara\n"


def carebot(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``carebot ARGS`` as a process, with only the settings given (none from the caller's environment)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CAREBOT_", "TWILIO_", "SIGNAL_"))}
    clean[crypto.ENV] = os.environ[crypto.ENV]
    clean["CAREBOT_SYSTEM_ENV_FILE"] = str(cwd / "system.env")  # not the machine's own /etc/carebot
    done = subprocess.run([sys.executable, "-m", "carebot", *args], cwd=cwd, env={**clean, **(env or {})},
                          capture_output=True, text=True, timeout=120)
    LOG_WATCH.output("carebot " + " ".join(args[:2]), done.stdout + done.stderr)
    return done


def one_line(done: subprocess.CompletedProcess) -> str:
    """The refusal: exactly one line on stderr, no traceback."""
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.fixture
def migrated_file(tmp_path: Path, migrated_sqlite) -> str:
    return migrated_sqlite(tmp_path / "carebot.sqlite")


def test_the_exit_codes_are_distinct_and_systemd_does_not_restart_on_them() -> None:
    assert len(set(startup.EXIT_CODES)) == len(startup.EXIT_CODES) and not {0, 1} & set(startup.EXIT_CODES)
    for unit in carebot_units():
        listed = re.search(r"^RestartPreventExitStatus=(.+)$", unit.read_text(), re.M)
        assert listed and set(map(int, listed.group(1).split())) == set(startup.EXIT_CODES), unit
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Configuration"):readme.index("## Keeping little")]
    for code in startup.EXIT_CODES:
        assert re.search(rf"^\| `?{code}`? \|", section, re.M), f"exit code {code} is not in the README's table"


BAD_STARTS = [
    ({"CAREBOT_DATABASE_URL": "not a url"}, startup.DATABASE_URL, "CAREBOT_DATABASE_URL"),
    ({"CAREBOT_DATABASE_URL": "mysql://carebot@127.0.0.1/carebot"}, startup.DATABASE_URL, "cannot be used"),
    ({"CAREBOT_DATABASE_URL": "sqlite:///{tmp}/nowhere/carebot.sqlite"}, startup.DATABASE_MISSING,
     "/nowhere of CAREBOT_DATABASE_URL is not there"),
    ({"CAREBOT_DATABASE_URL": "sqlite:///{tmp}/carebot.sqlite"}, startup.DATABASE_MISSING,
     "there is no database at"),
    ({"CAREBOT_DATABASE_URL": "postgresql://carebot:secret-pw@127.0.0.1:{port}/carebot"},
     startup.DATABASE_UNREACHABLE, "no database server answers"),
    ({"CAREBOT_RETENTION_DAYS": "0"}, startup.SETTINGS, "CAREBOT_RETENTION_DAYS: must be at least 1 day"),
    ({"CAREBOT_DEFAULT_TIMEZONE": "America/Chicgo"}, startup.SETTINGS, "'America/Chicgo' is not a timezone"),
    ({"CAREBOT_LOG_LEVEL": "loud"}, startup.SETTINGS, "CAREBOT_LOG_LEVEL: must be"),
    ({"CAREBOT_PUBLIC_URL": ""}, startup.SETTINGS, "CAREBOT_PUBLIC_URL"),
    ({"CAREBOT_PUBLIC_URL": "http://care.example.org"}, startup.SETTINGS, "CAREBOT_PUBLIC_URL: must be https"),
    ({"CAREBOT_PUBLIC_URL": "https://care.example.org/twilio/sms"}, startup.SETTINGS, "without a path"),
    ({"SIGNAL_SERVICE": "8.8.8.8:8080", "SIGNAL_NUMBER": "+15155550199"}, startup.SETTINGS,
     "SIGNAL_SERVICE: 8.8.8.8 is a public address"),
    # Twilio's settings come together: each missing one named in the one line, the malformed ones too.
    ({"TWILIO_AUTH_TOKEN": " ", "TWILIO_FROM": None}, startup.SETTINGS,
     "TWILIO_AUTH_TOKEN: is empty; set TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID"),
    ({"TWILIO_ACCOUNT_SID": "AC12", "TWILIO_MESSAGING_SERVICE_SID": "MG12"}, startup.SETTINGS,
     "TWILIO_ACCOUNT_SID: must be AC followed by 32 hex digits; TWILIO_MESSAGING_SERVICE_SID: must be MG"),
    ({"TWILIO_API_BASE_URL": "http://api.example.org"}, startup.SETTINGS, "TWILIO_API_BASE_URL: must be https"),
    ({"SIGNAL_SERVICE": "http://127.0.0.1:8080"}, startup.SETTINGS,
     "(no http://), not 'http://127.0.0.1:8080'; set both SIGNAL_SERVICE and SIGNAL_NUMBER"),
    ({"CAREBOT_SECRET_KEY": ""}, startup.KEY_MISSING, "CAREBOT_SECRET_KEY is not set"),
    ({"CAREBOT_ENV_FILE": "{tmp}/missing.env"}, startup.SETTINGS, "missing.env (--env-file or CAREBOT_ENV_FILE)"),
]
# A real process for one refusal of each exit code (a process that starts serve costs some seconds of CPU,
# most of it imports): what the interpreter adds (a warning, a log line, a traceback on the way out) shows
# there. Every refusal, these included, is also checked in-process below, where it costs milliseconds.
IN_A_PROCESS = {0: "a database URL that is none", 3: "no database there", 4: "no server answers",
                5: "a setting", 16: "no key"}


def _bad_start_env(tmp_path: Path, migrated_file: str, settings: dict) -> dict[str, str]:
    env = {**GOOD, "CAREBOT_DATABASE_URL": migrated_file}
    for name, value in settings.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value.format(tmp=tmp_path / "elsewhere", port=free_port())
    (tmp_path / "elsewhere").mkdir()
    return env


def _refusal(line: str, says: str) -> None:
    assert says in line, line
    assert "secret-pw" not in line  # a database URL is shown without its password


@pytest.mark.parametrize("settings, code, says", [BAD_STARTS[index] for index in IN_A_PROCESS],
                         ids=list(IN_A_PROCESS.values()))
def test_serve_refuses_a_bad_start_with_one_line_and_its_exit_code(tmp_path, migrated_file, settings, code,
                                                                   says) -> None:
    done = carebot("serve", "--port", str(free_port()), cwd=tmp_path, env=_bad_start_env(tmp_path, migrated_file,
                                                                                          settings))
    assert done.returncode == code, done.stderr
    _refusal(one_line(done), says)


@pytest.mark.parametrize("settings, code, says", BAD_STARTS)
def test_serve_refuses_each_bad_start_with_one_line_and_its_exit_code(tmp_path, migrated_file, monkeypatch, settings,
                                                                       code, says) -> None:
    """Each refusal in this process: carebot's own command line (its group says every Refusal), the settings only
    those given, as the real process above has them; serve must refuse before it would listen."""
    from click.testing import CliRunner

    from carebot.cli import main
    from carebot.runtime import serve

    env = {crypto.ENV: os.environ[crypto.ENV], **_bad_start_env(tmp_path, migrated_file, settings),
           "CAREBOT_SYSTEM_ENV_FILE": str(tmp_path / "system.env")}  # as carebot() gives its process
    for name in [n for n in os.environ if n.startswith(("CAREBOT_", "TWILIO_", "SIGNAL_"))]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if not env[crypto.ENV]:
        monkeypatch.setattr(crypto, "_active", None)  # nor the key this process read at its start
    monkeypatch.chdir(tmp_path)

    def listens(*args, **kwargs):
        raise AssertionError("serve went past its start-up checks: it would listen now")

    monkeypatch.setattr(serve, "build_app", listens)
    result = CliRunner().invoke(main, ["serve", "--port", str(free_port())])
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and result.stdout == "", result.output
    _refusal(lines[0], says)


def test_serve_on_a_port_already_taken_is_one_line_and_starts_nothing(tmp_path, migrated_file) -> None:
    # Uvicorn binds only after the app has started (the ticker ran a beat, the sender woke), then its
    # shutdown logged a cancelled beat's traceback: the port is tried first.
    import socket

    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        done = carebot("serve", "--port", str(port), cwd=tmp_path, env={**GOOD, "CAREBOT_DATABASE_URL": migrated_file})
    assert done.returncode == 1, done.stderr
    line = one_line(done)
    assert f"carebot serve: 127.0.0.1:{port} is in use (another carebot, or another program)" in line, line
    assert "--port" in line and done.stdout == ""


def test_a_settings_file_that_is_not_utf8_text_is_one_line(tmp_path, migrated_file) -> None:
    # Edited on a machine set to Latin-1: "América" in the timezone's comment made every command a traceback.
    (tmp_path / "latin.env").write_bytes(f"# zona: Am\xe9rica/Chicago\nCAREBOT_DATABASE_URL={migrated_file}\n"
                                         .encode("latin-1"))
    done = carebot("--env-file", "latin.env", "status", cwd=tmp_path)
    assert done.returncode == startup.SETTINGS, done.stderr
    line = one_line(done)
    assert "the settings file latin.env is not UTF-8 text (line 1): save it as UTF-8" in line, line


@pytest.mark.parametrize("bad", [
    "CAREBOT_DATABASE_URL sqlite:///x.db",  # the = left out
    'CAREBOT_DEFAULT_TIMEZONE="America/Chicago',  # a quote never closed
])
def test_a_settings_line_that_is_not_a_setting_is_one_line_naming_the_file_and_line(tmp_path, migrated_file,
                                                                                     bad) -> None:
    # Left from the last session: python-dotenv's warning, then a refusal about something else.
    (tmp_path / "carebot.env").write_text(f"# carebot\nCAREBOT_DATABASE_URL={migrated_file}\n{bad}\n"
                                          "CAREBOT_RETENTION_DAYS=30\n")
    for command in (["status"], ["serve"]):
        done = carebot("--env-file", "carebot.env", *command, cwd=tmp_path)
        assert done.returncode == startup.SETTINGS, done.stderr
        line = one_line(done)
        assert "carebot.env, line 3" in line and "NAME=value" in line, line
        assert "python-dotenv" not in done.stderr


def test_a_setting_whose_name_is_mistyped_is_named_with_the_one_meant(tmp_path, migrated_file) -> None:
    # Left from the last session: TWILIO_AUTH_TOKNE was ignored without a word, then the token refused as missing.
    token = GOOD["TWILIO_AUTH_TOKEN"]
    (tmp_path / "carebot.env").write_text(f"CAREBOT_DATABASE_URL={migrated_file}\nTWILIO_AUTH_TOKNE={token}\n"
                                          "CAREBOT_RETENTION_DAYZ=30\nMY_OWN_NOTE=kept\n")
    rest = {name: value for name, value in GOOD.items() if name != "TWILIO_AUTH_TOKEN"}
    done = carebot("--env-file", "carebot.env", "serve", cwd=tmp_path, env=rest)
    assert done.returncode == startup.SETTINGS, done.stderr
    # An optional setting's typo has a line of its own at start (test_a_mistyped_optional_setting_is_named_...).
    typo, line = done.stderr.strip().splitlines()
    assert "CAREBOT_RETENTION_DAYZ in carebot.env is no setting, and is ignored: CAREBOT_RETENTION_DAYS" in typo
    assert "TWILIO_AUTH_TOKEN: missing" in line, line
    assert "TWILIO_AUTH_TOKNE in carebot.env is no setting: TWILIO_AUTH_TOKEN, perhaps?" in line, line
    assert token not in line and "MY_OWN_NOTE" not in line  # a secret is never echoed; a name far from any is not guessed at
    # Spelled right, it serves as far as the next check: the typo was the only problem.
    (tmp_path / "carebot.env").write_text(f"CAREBOT_DATABASE_URL={migrated_file}\nTWILIO_AUTH_TOKEN={token}\n")
    again = carebot("--env-file", "carebot.env", "serve", "--port", "not-a-port", cwd=tmp_path, env=rest)
    assert "TWILIO_AUTH_TOKEN" not in again.stderr, again.stderr


def test_serve_where_nothing_is_set_up_points_to_carebot_init(tmp_path) -> None:
    # Outside report, finding 24: a first `carebot serve` in a new folder was told to make a key,
    # then a database, one refusal at a time; `carebot init` makes all of it.
    done = carebot("serve", "--port", str(free_port()), cwd=tmp_path, env={crypto.ENV: ""})
    assert done.returncode == startup.KEY_MISSING, done.stderr
    line = one_line(done)
    assert "CAREBOT_SECRET_KEY is not set and there is no settings file here: `carebot init`" in line, line


def test_serve_refuses_an_old_schema_with_one_line(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    upgrade(url, "0008")
    done = carebot("serve", cwd=tmp_path, env={**GOOD, "CAREBOT_DATABASE_URL": url})
    assert done.returncode == startup.SCHEMA
    assert "run `carebot db upgrade` first" in one_line(done)


@contextlib.contextmanager
def password_role(backend, role: str, password: str):
    """A role that must give its password, on the suite's private server (which trusts every other)."""
    hba = backend.private.dir / "data" / "pg_hba.conf"
    kept = hba.read_text()
    with backend._admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'"))
        hba.write_text(f"host all {role} 127.0.0.1/32 scram-sha-256\n" + kept)  # the first match decides
        conn.execute(text("SELECT pg_reload_conf()"))
    try:
        yield
    finally:
        with backend._admin.connect() as conn:
            hba.write_text(kept)
            conn.execute(text("SELECT pg_reload_conf()"))
            conn.execute(text(f"DROP ROLE {role}"))


def test_postgresql_refusals_a_wrong_password_and_a_database_that_is_not_there(tmp_path, backend) -> None:
    if backend.name != "postgresql" or backend.private is None:
        pytest.skip("PostgreSQL's own refusals, on the suite's private server")
    server = backend.server_url
    cases = [(server.set(username="carebot_pw", password="wrong-pw"), startup.DATABASE_LOGIN,
              "refused the login (connection failed"),
             (server.set(database="no_such_carebot"), startup.DATABASE_MISSING, "no database 'no_such_carebot'")]
    with password_role(backend, "carebot_pw", "right-pw"):
        for url, code, says in cases:
            env = {"CAREBOT_DATABASE_URL": url.render_as_string(hide_password=False)}
            done = carebot("group", "list", cwd=tmp_path, env=env)
            assert done.returncode == code, done.stderr
            line = one_line(done)
            assert says in line and "wrong-pw" not in line, line
            if code == startup.DATABASE_LOGIN:
                assert "password authentication failed" in line
                checked = carebot("check", cwd=tmp_path, env=env)  # carebot check says the same
                assert checked.returncode == 1 and "✗ database: the database at" in checked.stdout


# --- the settings file, wherever the operator put it ---------------------------------------------

def test_settings_are_found_in_the_named_file_then_dot_env_then_the_system_file(tmp_path, migrated_file) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    system = elsewhere / "system.env"  # what carebot() names as the system-wide file
    system.write_text(f"CAREBOT_DATABASE_URL={migrated_file}\n")
    done = carebot("-v", "group", "list", cwd=elsewhere)
    assert done.returncode == 0 and "No groups yet" in done.stdout, done.stderr
    assert f"settings from {system}" in done.stderr

    (elsewhere / ".env").write_text("CAREBOT_RETENTION_DAYS=0\n")  # ./.env comes before the system file
    done = carebot("-v", "group", "list", cwd=elsewhere)
    assert done.returncode == startup.SETTINGS and f"({Path('.env')}; see .env.example)" in done.stderr

    named = tmp_path / "carebot.env"  # and a file named on purpose before both
    named.write_text(f"CAREBOT_DATABASE_URL={migrated_file}\n")
    for how in (["--env-file", str(named)], []):
        env = {} if how else {"CAREBOT_ENV_FILE": str(named)}
        done = carebot("-v", *how, "group", "list", cwd=elsewhere, env=env)
        assert done.returncode == 0 and f"settings from {named}" in done.stderr, done.stderr


def test_a_command_run_where_there_is_no_database_says_so_and_makes_none(tmp_path) -> None:
    for args in (["group", "list"], ["db", "upgrade"], ["roster", "import", "--group", "DMMA", "roster.csv"]):
        (tmp_path / "roster.csv").write_text(ROSTER)
        done = carebot(*args, cwd=tmp_path)
        assert done.returncode == startup.DATABASE_MISSING, done.stderr
        assert "no database at" in one_line(done)
        assert not (tmp_path / "carebot.sqlite").exists()
    made = carebot("db", "upgrade", "--url", f"sqlite:///{tmp_path / 'carebot.sqlite'}", cwd=tmp_path)
    assert made.returncode == 0 and (tmp_path / "carebot.sqlite").exists()


# --- the key ------------------------------------------------------------------------------------

def _dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


@pytest.mark.slow  # 45 s (1 Dec 2026 CI): begun first (conftest)
def test_a_restore_under_another_key_is_refused_and_nothing_is_written(tmp_path) -> None:
    """A real database, made with the right key and holding members, restored and started with a typo'd key."""
    made = tmp_path / "carebot.sqlite"
    url = f"sqlite:///{made}"
    (tmp_path / "roster.csv").write_text(ROSTER)
    right = {"CAREBOT_DATABASE_URL": url}
    for args in (["db", "upgrade"], ["group", "add", "DMMA", "--name", "Des Moines Mutual Aid"],
                 ["roster", "import", "roster.csv", "--group", "DMMA"]):
        done = carebot(*args, cwd=tmp_path, env=right)
        assert done.returncode == 0, done.stderr
    restored = tmp_path / "restored" / "carebot.sqlite"
    restored.parent.mkdir()
    shutil.copyfile(made, restored)
    before = _dump(restored)
    assert any("INSERT INTO \"members\"" in line for line in before) and any("key_fingerprint" in line for line in before)

    wrong = {"CAREBOT_DATABASE_URL": f"sqlite:///{restored}", crypto.ENV: crypto.new_secret(), **GOOD}
    port = free_port()
    for args in (["serve", "--port", str(port)], ["roster", "import", "roster.csv", "--group", "DMMA"],
                 ["group", "add", "MORE", "--name", "More"], ["db", "upgrade"], ["key", "rotate", "--new-key",
                                                                                crypto.new_secret()]):
        done = carebot(*args, cwd=tmp_path, env=wrong)
        assert done.returncode == startup.KEY_WRONG, (args, done.stderr)
        assert "CAREBOT_SECRET_KEY is not the key this database was encrypted with" in one_line(done)
    # serve never listened, so no webhook could be taken either.
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/twilio/sms", data=b"From=x", timeout=5)
    assert _dump(restored) == before
    # With the right key the restored copy works as the original did.
    done = carebot("group", "list", cwd=tmp_path, env={"CAREBOT_DATABASE_URL": f"sqlite:///{restored}"})
    assert done.returncode == 0 and "DMMA" in done.stdout


def test_the_first_command_records_the_key_and_another_is_refused_after(migrated_url, restore_key) -> None:
    db = Database(migrated_url)
    try:
        start_up(migrated_url).dispose()  # records this key's fingerprint
        with db.engine.connect() as conn:
            stored = crypto.stored_fingerprint(conn)
        assert stored == crypto.require_key().fingerprint and os.environ[crypto.ENV] not in stored
        crypto.configure(crypto.new_secret())
        with pytest.raises(crypto.WrongKey, match="not the key this database was encrypted with"):
            start_up(migrated_url)
    finally:
        db.dispose()


@pytest.fixture
def restore_key():
    yield
    crypto.configure(os.environ[crypto.ENV])


# --- logging ------------------------------------------------------------------------------------

LOGS = """
import logging, sys
from carebot.runtime import logs
logs.configure(sys.argv[1], sys.argv[2])
logging.getLogger("carebot.runtime.serve").info("carebot info")
logging.getLogger("carebot.outbox").debug("carebot debug")
logging.getLogger("alembic.runtime").info("library info")
logging.getLogger("uvicorn.error").warning("library warning")
"""


@pytest.mark.parametrize("level, form, shown", [
    ("INFO", "text", ["carebot info", "library warning"]),
    ("DEBUG", "text", ["carebot info", "carebot debug", "library warning"]),
    ("WARNING", "json", ["library warning"]),
])
def test_carebot_logs_at_its_level_and_libraries_at_warning(level, form, shown) -> None:
    done = subprocess.run([sys.executable, "-c", LOGS, level, form], capture_output=True, text=True, timeout=60)
    lines = done.stderr.strip().splitlines()
    if form == "json":
        import json

        lines = [json.loads(line)["message"] for line in lines]
    assert [next(s for s in shown if line.endswith(s)) for line in lines] == shown, done.stderr


def test_key_rotate_finishes_a_half_rotated_database(migrated_url, restore_key) -> None:
    """Numbers already under the new key (a rotation cut short outside one transaction) are kept, the rest moved."""
    from sqlalchemy import column, table, update
    from sqlalchemy import select as select_

    from tests.fakes.world import ANA, make_db

    members = table("members", column("phone"), column("phone_hash"))  # the stored values as they are
    old, new = crypto.require_key(), crypto.Keyring(crypto.new_secret())
    db = make_db(migrated_url)
    try:
        with db.engine.begin() as conn:  # Ana's number moved already, the others not
            conn.execute(update(members).where(members.c.phone_hash == old.lookup_hash(ANA))
                         .values(phone=new.encrypt(ANA)))
        assert crypto.rotate(db, old, new) > 0
        with db.engine.connect() as conn:
            stored = conn.execute(select_(members.c.phone, members.c.phone_hash)).all()
            assert crypto.stored_fingerprint(conn) == new.fingerprint
        assert len(stored) == 3
        for phone, phone_hash in stored:
            assert new.lookup_hash(new.decrypt(phone)) == phone_hash
        with pytest.raises(crypto.AlreadyRotated):  # and a second run changes nothing
            crypto.rotate(db, old, new)
    finally:
        db.dispose()


# --- what a missing or old database is told, each fix followed as written ----------------------------

def test_a_settings_file_without_a_database_url_says_to_add_it_and_that_works(tmp_path) -> None:
    # `carebot init` refuses where a settings file is (it holds a key, perhaps Twilio's settings):
    # the line names the setting to add to that very file instead, and the command that then makes it.
    settings = tmp_path / ".env"
    settings.write_text("CAREBOT_DEFAULT_TIMEZONE=America/Chicago\n")
    made = f"sqlite:///{tmp_path / 'carebot.sqlite'}"
    for args in (["group", "list"], ["db", "upgrade"], ["db", "check"], ["key", "rotate", "--new-key",
                                                                          crypto.new_secret()]):
        done = carebot(*args, cwd=tmp_path)
        assert done.returncode == startup.DATABASE_MISSING, (args, done.stderr)
        line = one_line(done)
        assert f"add CAREBOT_DATABASE_URL={made} to {settings}" in line and "`carebot db upgrade`" in line, line
        assert "carebot init" not in line, line
    checked = carebot("check", cwd=tmp_path)
    assert f"✗ database: CAREBOT_DATABASE_URL is not set in {settings}" in checked.stdout, checked.stdout
    refused = carebot("init", "--yes", "--group", "DMMA", "--group-name", "D", "--coordinator", "+15155550100",
                      cwd=tmp_path)
    assert refused.returncode == startup.SETTINGS  # what the line does not send anyone to
    with settings.open("a") as file:
        file.write(f"CAREBOT_DATABASE_URL={made}\n")
    assert carebot("db", "upgrade", cwd=tmp_path).returncode == 0
    done = carebot("group", "list", cwd=tmp_path)
    assert done.returncode == 0 and "No groups yet" in done.stdout, done.stderr


def test_a_database_named_with_url_is_told_the_command_with_that_url(tmp_path) -> None:
    # `carebot db upgrade` alone works on CAREBOT_DATABASE_URL's database, not on the one --url named.
    other = f"sqlite:///{tmp_path / 'other.sqlite'}"
    env = {"CAREBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'carebot.sqlite'}"}
    for args in (["db", "check", "--url", other], ["db", "current", "--url", other]):
        done = carebot(*args, cwd=tmp_path, env=env)
        assert done.returncode == startup.DATABASE_MISSING, done.stderr
        line = one_line(done)
        assert f"make it with `carebot db upgrade --url {other}`, or fix --url" in line, line
    upgrade(other, "0008")
    for args in (["db", "check", "--url", other], ["db", "current", "--url", other]):
        done = carebot(*args, cwd=tmp_path, env=env)
        said = done.stderr + done.stdout
        assert f"`carebot db upgrade --url {other}`" in said, said
    assert carebot("db", "upgrade", "--url", other, cwd=tmp_path, env=env).returncode == 0
    done = carebot("db", "check", "--url", other, cwd=tmp_path, env=env)
    assert done.returncode == 0 and not (tmp_path / "carebot.sqlite").exists(), done.stderr


def test_a_database_url_in_the_settings_that_names_no_file_yet_is_made_by_db_upgrade(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'care.sqlite'}"
    for args in (["group", "list"], ["db", "check"], ["status"]):
        done = carebot(*args, cwd=tmp_path, env={"CAREBOT_DATABASE_URL": url})
        assert done.returncode == startup.DATABASE_MISSING, done.stderr
        assert "make it with `carebot db upgrade`, or fix CAREBOT_DATABASE_URL" in one_line(done)
    assert carebot("db", "upgrade", cwd=tmp_path, env={"CAREBOT_DATABASE_URL": url}).returncode == 0
    assert carebot("group", "list", cwd=tmp_path, env={"CAREBOT_DATABASE_URL": url}).returncode == 0


@pytest.mark.parametrize("url, why", [
    ("sqlte:///carebot.sqlite", "carebot knows no database called 'sqlte'"),
    ("mysql://carebot@127.0.0.1/carebot", "'mysql' needs a driver carebot does not use"),
    ("carebot.sqlite", "it is not a database URL"),
])
def test_a_database_url_carebot_cannot_use_is_said_in_the_operators_words(url, why) -> None:
    """A misspelled or foreign URL is one line that says what is wrong with it, not SQLAlchemy's words."""
    from carebot.store.db import DatabaseProblem, open_database

    with pytest.raises(DatabaseProblem) as refused:
        open_database(url)
    said = str(refused.value)
    assert why in said and "sqlite:///path/carebot.sqlite" in said, said
    assert "plugin" not in said and "sqlalchemy" not in said.lower(), said


@pytest.mark.parametrize("url", ["sqlite//carebot.sqlite", "sqlite:/carebot.sqlite"])
def test_a_sqlite_url_with_its_slashes_or_colon_mistyped_is_one_line_not_a_traceback(tmp_path, url) -> None:
    """A deployer's typo ("sqlite//", "sqlite:/") crashed `db upgrade`, `serve` and `check` in SQLAlchemy."""
    for args in (["db", "upgrade"], ["group", "list"]):
        done = carebot(*args, cwd=tmp_path, env={"CAREBOT_DATABASE_URL": url})
        assert done.returncode == startup.DATABASE_URL, done.stderr
        assert one_line(done) == (f"carebot: CAREBOT_DATABASE_URL {url} cannot be used (it is not a database URL); "
                                  "write sqlite:///path/carebot.sqlite or "
                                  "postgresql+psycopg://user:password@host:5432/carebot"), done.stderr
    assert not list(tmp_path.glob("*.sqlite*"))


def test_a_password_with_an_at_sign_is_never_shown_in_part_and_the_line_says_how_to_write_it() -> None:
    """``carebot:cb@pw@host``: the URL's first "@" ended the password, and "pw@host" was shown as the host."""
    from carebot.store.db import DatabaseProblem, open_database, shown

    url = "postgresql+psycopg://carebot:cb@pw@127.0.0.1:1/carebot"
    assert shown(url) == "postgresql+psycopg://carebot:***@127.0.0.1:1/carebot"
    with pytest.raises(DatabaseProblem) as refused:
        open_database(url)
    said = str(refused.value)
    assert "pw" not in said.replace("password", "") and refused.value.exit_code == startup.DATABASE_URL, said
    assert "its password holds an '@', which a URL must write as %40" in said, said
    assert shown("postgresql+psycopg//carebot:pw@host/x") == "(an unreadable URL)"  # a login may be in it


@pytest.mark.parametrize("url", ["sqlite:///", "sqlite://", "sqlite:///:memory:"])
def test_a_sqlite_url_with_no_file_is_refused_not_run_in_memory(url) -> None:
    """The path left out is SQLite's in-memory database: `db upgrade` said "up to date" and lost it at once."""
    from carebot.store.db import DatabaseProblem, open_database

    with pytest.raises(DatabaseProblem) as refused:
        open_database(url, create=True)
    assert refused.value.exit_code == startup.DATABASE_URL
    assert str(refused.value) == (f"carebot: CAREBOT_DATABASE_URL {url} names no file (an in-memory database loses "
                                  "everything when carebot stops): write sqlite:///path/carebot.sqlite")


def test_a_wrong_setting_from_the_environment_is_not_blamed_on_the_settings_file(tmp_path, migrated_file) -> None:
    """The environment wins over the file, so the line says where the wrong value really is."""
    (tmp_path / ".env").write_text(f"CAREBOT_DATABASE_URL={migrated_file}\n")
    done = carebot("group", "list", cwd=tmp_path, env={"CAREBOT_RETENTION_DAYS": "0"})
    line = one_line(done)
    assert done.returncode == startup.SETTINGS and "CAREBOT_RETENTION_DAYS" in line
    assert "(set in the environment; see .env.example)" in line and ".env;" not in line, line
    (tmp_path / ".env").write_text(f"CAREBOT_DATABASE_URL={migrated_file}\nCAREBOT_DEFAULT_TIMEZONE=Central\n")
    line = one_line(carebot("group", "list", cwd=tmp_path, env={"CAREBOT_RETENTION_DAYS": "0"}))
    assert f"({Path('.env')}, and CAREBOT_RETENTION_DAYS set in the environment; see .env.example)" in line, line


def test_a_mistyped_optional_setting_is_named_once_with_the_one_meant_and_never_its_value(tmp_path,
                                                                                          migrated_file) -> None:
    # Left from the last session: CAREBOT_LOG_LEVLE (or a setting carebot does not have) was ignored without a word.
    (tmp_path / "carebot.env").write_text(f"CAREBOT_DATABASE_URL={migrated_file}\nCAREBOT_LOG_LEVLE=DEBUG\n"
                                          "carebot_quiet_hours_strat=21:30\nMY_OWN_NOTE=kept-aside\n")
    env = {"CAREBOT_RETENTION_DAYZ": "31", "TWILIO_API_KEY": "SKfromthetwiliocli", "CAREBOT_TEST_DATABASE_URL": "x"}
    done = carebot("--env-file", "carebot.env", "status", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    said = done.stderr.strip().splitlines()
    assert said == [
        "carebot: CAREBOT_LOG_LEVLE in carebot.env is no setting, and is ignored: CAREBOT_LOG_LEVEL, perhaps?",
        "carebot: carebot_quiet_hours_strat in carebot.env is no setting, and is ignored (.env.example lists them)",
        "carebot: CAREBOT_RETENTION_DAYZ set in the environment is no setting, and is ignored: "
        "CAREBOT_RETENTION_DAYS, perhaps?",
    ], done.stderr
    for value in ("DEBUG", "21:30", "31", "kept-aside", "SKfromthetwiliocli"):
        assert value not in done.stderr
    # serve says it too, once, before what stops it (here a port another program holds).
    import socket

    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        served = carebot("--env-file", "carebot.env", "serve", "--port", str(port), cwd=tmp_path,
                         env={**GOOD, "CAREBOT_DATABASE_URL": migrated_file, "TWILIO_FORM": "+15155550100"})
    lines = served.stderr.strip().splitlines()
    assert "Traceback" not in served.stderr and served.returncode == 1, served.stderr
    assert sum("CAREBOT_LOG_LEVLE" in line for line in lines) == 1, served.stderr
    assert "carebot: TWILIO_FORM set in the environment is no setting, and is ignored: TWILIO_FROM, perhaps?" in lines
    assert f"127.0.0.1:{port} is in use" in lines[-1] and len(lines) == 4, served.stderr


@pytest.mark.parametrize("command, typed", [(["demo", "--db", "demo.sqlite"], None),
                                            (["chat", "--db", "chat.sqlite"], "+15155550199 > JOIN DEMO\nquit\n")])
def test_demo_and_chat_run_with_a_malformed_dot_env_and_say_its_line_once(tmp_path, command, typed) -> None:
    # Left from the last session: a line of ./.env python-dotenv cannot read stopped demo and chat, which need
    # no settings. They run; the one line names the file and the line, and says it is left aside.
    (tmp_path / ".env").write_text("CAREBOT_DATABASE_URL=sqlite:///carebot.sqlite\nCAREBOT_LOG_LEVEL INFO\n")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CAREBOT_", "TWILIO_", "SIGNAL_"))}
    done = subprocess.run([sys.executable, "-m", "carebot", *command], cwd=tmp_path, input=typed,
                          env={**clean, "CAREBOT_SYSTEM_ENV_FILE": str(tmp_path / "system.env")},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Welcome to Riverside Care Circle" in done.stdout or "Get Riverside Care Circle's" in done.stdout
    line = one_line(done)
    assert line.startswith("carebot: the settings file .env, line 2, is not a setting") and "NAME=value" in line, line
    assert line.endswith(f"({command[0]} needs no settings: it runs without them)"), line
    # A command that reads the settings is still stopped by it.
    status = subprocess.run([sys.executable, "-m", "carebot", "status"], cwd=tmp_path, capture_output=True, text=True,
                            env={**clean, "CAREBOT_SYSTEM_ENV_FILE": str(tmp_path / "system.env")}, timeout=120)
    assert status.returncode == startup.SETTINGS and ".env, line 2" in one_line(status), status.stderr


def test_demo_runs_with_an_env_file_option_it_cannot_read_and_says_so_once(tmp_path) -> None:
    """`carebot --env-file unread.env demo` stopped with click's words (exit 2): demo needs no settings.
    (A folder stands for a file this user cannot read: the tests may run as root, who reads any file.)"""
    (tmp_path / "unread.env").mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CAREBOT_", "TWILIO_", "SIGNAL_"))}
    done = subprocess.run([sys.executable, "-m", "carebot", "--env-file", "unread.env", "demo", "--db", "d.sqlite"],
                          cwd=tmp_path, env=clean, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert one_line(done) == ("carebot: the settings file unread.env (--env-file or CAREBOT_ENV_FILE) is not there or "
                              "not readable (demo needs no settings: it runs without them)")
    status = subprocess.run([sys.executable, "-m", "carebot", "--env-file", "unread.env", "status"], cwd=tmp_path,
                            env=clean, capture_output=True, text=True, timeout=120)
    assert status.returncode == startup.SETTINGS and "unread.env" in one_line(status), status.stderr
