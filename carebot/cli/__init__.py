"""The ``carebot`` command: the group in ``root``, its commands in a module per family.

Importing the package registers every command on ``main`` (the console entry point).
"""

from __future__ import annotations

from carebot.cli import conversations, database, deployment, groups  # noqa: F401  (each adds its commands)
from carebot.cli.groups import BUDGET_HELP
from carebot.cli.root import main

__all__ = ["BUDGET_HELP", "main"]
