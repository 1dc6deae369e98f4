"""The tree's layers, checked by reading the imports: dependencies point one way.

Each folder of carebot/ is a layer; a module may import its own layer and the ones below it,
never one above, and no two layers import each other. The pure layers (domain, flows) import no
SQLAlchemy, so a decision can be tested without a database. docs/architecture.md draws it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "carebot"

# Lowest first. Layers of one rank may not import each other (flows and channels are
# both just above the domain and know nothing of each other).
LAYERS = {
    "domain": 0,
    "flows": 1, "channels": 1,
    "store": 2,
    "outbox": 3,
    "services": 4,
    "dispatch": 5,
    "runtime": 6,
    "tools": 7, "bench": 7,
    "cli": 8,  # the one entry point
    "__main__": 9,
}
PURE = {"domain", "flows"}


def layer_of(module: str) -> str:
    """carebot.store.db -> store; carebot.cli -> cli."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "carebot":
                found += [(node.lineno, f"carebot.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


MODULES = sorted(p for p in ROOT.rglob("*.py"))


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def test_every_module_sits_in_a_layer():
    loose = [module_name(p) for p in MODULES
             if layer_of(module_name(p)) not in LAYERS and module_name(p) != "carebot"]
    assert not loose, f"modules outside every layer (put each in a folder of its layer): {loose}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT.parent)))
def test_imports_point_down(path: Path):
    name = module_name(path)
    own = layer_of(name)
    if own not in LAYERS:
        return
    wrong = []
    for line, imported in imports_of(path):
        if imported.split(".")[0] == "sqlalchemy" and own in PURE:
            wrong.append(f"line {line}: {imported} (the {own} layer is pure: no SQLAlchemy)")
        if not imported.startswith("carebot.") or imported == "carebot":
            continue
        theirs = layer_of(imported)
        if theirs == own or theirs not in LAYERS:
            continue
        if LAYERS[theirs] >= LAYERS[own]:
            wrong.append(f"line {line}: {imported} ({theirs} is not below {own})")
    assert not wrong, f"{name} imports against the layers:\n" + "\n".join(wrong)


FLOWS = sorted((ROOT / "flows").glob("*.py"))


@pytest.mark.parametrize("path", FLOWS, ids=lambda p: str(p.relative_to(ROOT.parent)))
def test_flows_never_see_a_session(path: Path):
    """A flow decides from its context and its read-only lookups: no session, no store, no engine."""
    names = {"session", "Session", "engine", "Database", "scalars", "execute"}
    wrong = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        found = (node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute)
                 else node.arg if isinstance(node, ast.arg) else None)
        if found in names:
            wrong.append(f"line {node.lineno}: {found}")
    for line, imported in imports_of(path):
        if imported.startswith("carebot.store"):
            wrong.append(f"line {line}: {imported}")
    assert not wrong, f"{path.name} reaches for the database:\n" + "\n".join(wrong)


def test_the_context_carries_data_and_lookups_not_closures():
    """What a flow may know is plain data; what it may fetch goes through flows.lookups.Lookups."""
    import dataclasses

    from carebot.flows.base import Context

    callables = [f.name for f in dataclasses.fields(Context) if "Callable" in str(f.type)]
    assert not callables, f"Context fields that are closures (use Context.lookups): {callables}"
