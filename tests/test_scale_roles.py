"""Roles: on SQLite only ``all`` runs, and carebot says so at start-up in one line."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from carebot.cli import main
from tests.helpers import GOOD


@pytest.mark.parametrize("role", ["web", "worker"])
def test_a_scale_out_role_on_sqlite_is_refused_with_the_reason(monkeypatch, tmp_path, role):
    monkeypatch.chdir(tmp_path)
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CAREBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'carebot.sqlite'}")
    result = CliRunner().invoke(main, ["serve", "--role", role])
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert f"--role {role} needs PostgreSQL" in line and "--role all" in line


def test_the_role_can_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CAREBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'carebot.sqlite'}")
    monkeypatch.setenv("CAREBOT_ROLE", "web")
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 2 and "--role web needs PostgreSQL" in result.output
