"""A command typed wrong (an option it does not have, an argument left out, a value it does not take) is one
line saying what was wrong and where the help is, exit 2, for every carebot command (click's own answer was
three lines: the usage, a pointer to --help, and the error)."""

from __future__ import annotations

import os
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from carebot.cli import main


def every_command(group: click.Group = main, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += every_command(command, (*path, name))
        else:
            found.append((*path, name))
    return found


def refused(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), prog_name="carebot")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "Usage:" not in result.output, result.output
    [line] = result.output.strip().splitlines()
    return line


@pytest.mark.parametrize("path", every_command(), ids=lambda path: " ".join(path) or "carebot")
def test_an_option_a_command_does_not_have_is_one_line_and_where_the_help_is(path) -> None:
    # db downgrade takes "-1" as its REVISION, so an unknown word there is a revision: after one, it is not.
    line = refused(*path, *(["0008"] if path == ("db", "downgrade") else []), "--no-such-thing")
    command = " ".join(("carebot", *path))
    assert line.startswith(f"{command}: ") and "--no-such-thing" in line, line
    assert f"`{command} --help`" in line, line


@pytest.mark.parametrize("args, says, helped", [
    (["serve", "--prot", "8000"], "--port", "carebot serve"),  # click's own suggestion is kept
    (["serve", "--role", "boss"], "boss", "carebot serve"),
    (["serve", "--port", "eighty"], "eighty", "carebot serve"),
    (["db", "downgrade"], "REVISION", "carebot db downgrade"),
    (["roster", "import", "nowhere.csv", "--group", "circle"], "nowhere.csv", "carebot roster import"),
    (["grup", "list"], "grup", "carebot"),
    (["db", "upgrad"], "upgrad", "carebot db"),
])
def test_each_kind_of_mistake_is_one_line(args, says, helped) -> None:
    line = refused(*args)
    assert says in line and f"`{helped} --help`" in line, line


def test_the_installed_command_says_it_on_stderr_with_exit_2(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAREBOT_", "TWILIO_", "SIGNAL_"))}
    done = subprocess.run([sys.executable, "-m", "carebot", "serve", "--prot", "8000"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == "", done
    assert done.stderr.strip().splitlines() == [done.stderr.strip()], done.stderr
    assert "`carebot serve --help`" in done.stderr


def test_help_itself_is_still_the_whole_help() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output and "--port" in result.output


def test_key_rotate_without_the_new_key_names_both_ways_to_give_it(monkeypatch) -> None:
    # Left from the last session: "Missing option '--new-key'" said nothing of CAREBOT_NEW_SECRET_KEY.
    monkeypatch.delenv("CAREBOT_NEW_SECRET_KEY", raising=False)
    line = refused("key", "rotate")
    assert "'--new-key'" in line and "CAREBOT_NEW_SECRET_KEY" in line, line


# --- Ctrl-C while Python still imports carebot (left from the last session) -------------------------

CTRL_C_ON_IMPORT = '''
import os, signal, sys

class CtrlC:
    """Sends this process a real SIGINT the moment {module} is first imported, as a Ctrl-C would."""

    def find_spec(self, name, path=None, target=None):
        if name == {module!r}:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, CtrlC())
'''


@pytest.mark.parametrize("module", ["click", "carebot.cli.groups"])  # its first import, its last
def test_ctrl_c_while_carebot_still_imports_ends_quietly_as_ctrl_c(tmp_path, module) -> None:
    # The installed command, as a volunteer types it: a Ctrl-C in its first second printed a
    # KeyboardInterrupt traceback from the import. It ends as serve's Ctrl-C does: by the signal (130 in a shell).
    import signal
    from pathlib import Path

    (tmp_path / "sitecustomize.py").write_text(CTRL_C_ON_IMPORT.format(module=module))
    command = Path(sys.executable).parent / "carebot"
    done = subprocess.run([str(command), "--help"], env={**os.environ, "PYTHONPATH": str(tmp_path)},
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == -signal.SIGINT, (done.returncode, done.stderr[-2000:])
    assert done.stderr.strip() == "" and done.stdout == "", done.stderr[-2000:]
