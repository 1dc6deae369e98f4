"""Networks of groups by command (#22 part 2): add, list, remove, and a group joining, overflowing, leaving."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from carebot.cli import main
from carebot.store.db import Database
from carebot.store.models import Group, Network


@pytest.fixture
def env(database_url: str, monkeypatch) -> str:
    monkeypatch.setenv("CAREBOT_DATABASE_URL", database_url)
    return database_url


def carebot(*args: str):
    return CliRunner().invoke(main, list(args))


def groups_of(url: str) -> dict[str, tuple[str | None, int | None]]:
    db = Database(url)
    with db.transaction() as session:
        codes = {n.id: n.code for n in session.scalars(select(Network))}
        found = {g.keyword: (codes.get(g.network_id), g.overflow_after_hours) for g in session.scalars(select(Group))}
    db.dispose()
    return found


def test_a_network_is_made_joined_listed_left_and_removed(env: str) -> None:
    assert carebot("db", "upgrade").exit_code == 0
    for keyword, name in (("dmma", "Des Moines Mutual Aid"), ("icma", "Iowa City Mutual Aid")):
        assert carebot("group", "add", keyword, "--name", name).exit_code == 0
    assert carebot("network", "list").output.startswith("No networks yet")
    added = carebot("network", "add", "midwest", "--name", "Midwest mutual aid")
    assert added.exit_code == 0 and "Created the network MIDWEST" in added.output
    assert carebot("group", "edit", "dmma", "--network", "Midwest", "--overflow-after", "24h").exit_code == 0
    assert carebot("group", "edit", "ICMA", "--network", "MIDWEST").exit_code == 0
    assert groups_of(env) == {"DMMA": ("MIDWEST", 24), "ICMA": ("MIDWEST", None)}
    listed = carebot("network", "list").output
    assert "MIDWEST" in listed and "DMMA (overflow after 24h)" in listed and "ICMA (no overflow)" in listed
    assert "network MIDWEST, overflow after 24h" in carebot("group", "list").output
    # Days work too; off turns it off; none leaves the network.
    assert carebot("group", "edit", "DMMA", "--overflow-after", "2d").exit_code == 0
    assert groups_of(env)["DMMA"] == ("MIDWEST", 48)
    assert carebot("group", "edit", "DMMA", "--overflow-after", "off").exit_code == 0
    assert carebot("group", "edit", "ICMA", "--network", "none").exit_code == 0
    assert groups_of(env) == {"DMMA": ("MIDWEST", None), "ICMA": (None, None)}
    removed = carebot("network", "remove", "midwest")
    assert removed.exit_code == 0 and "DMMA left it" in removed.output and "go on until DONE" in removed.output
    assert groups_of(env) == {"DMMA": (None, None), "ICMA": (None, None)}
    assert carebot("network", "list").output.startswith("No networks yet")


@pytest.mark.parametrize(("args", "reason"), [
    (["network", "add", "MIDWEST", "--name", "Again"], "already a network with the code MIDWEST"),
    (["network", "add", "9LIVES", "--name", "X"], "2-16 letters or digits"),
    (["network", "add", "none", "--name", "X"], "means no network"),
    (["network", "add", "SOUTH", "--name", "x" * 61], "1-60 characters"),
    (["network", "remove", "SOUTH"], "no network with the code SOUTH"),
    (["group", "edit", "DMMA", "--network", "south"], "no network with the code SOUTH"),
    (["group", "edit", "DMMA", "--overflow-after", "tomorrow"], "e.g. 24h or 2d"),
    (["group", "edit", "DMMA", "--overflow-after", "0h"], "e.g. 24h or 2d"),
    (["group", "edit", "DMMA", "--overflow-after", "31d"], "at most 30d"),
])
def test_mistakes_get_one_clear_line_and_change_nothing(env: str, args: list[str], reason: str) -> None:
    assert carebot("db", "upgrade").exit_code == 0
    assert carebot("group", "add", "DMMA", "--name", "Des Moines Mutual Aid").exit_code == 0
    assert carebot("network", "add", "MIDWEST", "--name", "Midwest").exit_code == 0
    result = carebot(*args)
    assert result.exit_code == 1 and reason in result.output and "Traceback" not in result.output, result.output
    assert groups_of(env) == {"DMMA": (None, None)}


def test_joining_a_network_has_the_engine_look_at_the_group_at_once(env: str) -> None:
    assert carebot("db", "upgrade").exit_code == 0
    assert carebot("group", "add", "DMMA", "--name", "Des Moines Mutual Aid").exit_code == 0
    assert carebot("network", "add", "MIDWEST", "--name", "Midwest").exit_code == 0
    db = Database(env)
    with db.transaction() as session:
        session.scalars(select(Group)).one().pairing_due_at = None
    assert carebot("group", "edit", "DMMA", "--network", "MIDWEST", "--overflow-after", "24h").exit_code == 0
    with db.transaction() as session:
        assert session.scalars(select(Group)).one().pairing_due_at is not None  # waiting requests may overflow now
    db.dispose()


def test_overflow_without_a_network_says_nothing_overflows_yet(env: str) -> None:
    assert carebot("db", "upgrade").exit_code == 0
    assert carebot("group", "add", "DMMA", "--name", "Des Moines Mutual Aid").exit_code == 0
    result = carebot("group", "edit", "DMMA", "--overflow-after", "24h")
    assert result.exit_code == 0 and "in no network, so nothing overflows" in result.output
