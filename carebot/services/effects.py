"""The effect registry: each effect a flow can ask for has exactly one handler.

A handler is a function in the services module of its effect's family, registered where it
is written with ``@handles(TheEffect)``; it carries the effect out inside the dispatcher's
transaction and returns an :class:`Outcome`. The dispatcher applies a transition's effects
in a loop over :func:`apply`. ``carebot.services.handlers`` imports every module that
registers handlers, so a new family's module is added there in one line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from carebot.flows.base import Waiting
from carebot.store.facts import Facts
from carebot.store.models import Member


@dataclass(frozen=True)
class Act:
    """Who caused an effect, when, and on which channel, with the transaction it runs in."""

    session: Session
    member: Member
    now: datetime
    channel: str
    facts: Facts  # what the context was built from: the member's rows, read with their batch


@dataclass
class Outcome:
    """What an effect answers the member who caused it, and what it then waits for.

    ``forgotten``: the member asked to be erased; the dispatcher erases them once every
    effect of the transition is applied, and sends its replies without naming them.
    """

    texts: list[str] = field(default_factory=list)
    wait: Waiting | None = None
    forgotten: bool = False


E = TypeVar("E")
Handler = Callable[[Act, Any], Outcome]
_HANDLERS: dict[type, Handler] = {}


def handles(effect_type: type[E]) -> Callable[[Callable[[Act, E], Outcome]], Callable[[Act, E], Outcome]]:
    """Register the decorated function as the one handler of ``effect_type``."""

    def register(handler: Callable[[Act, E], Outcome]) -> Callable[[Act, E], Outcome]:
        if effect_type in _HANDLERS:
            raise TypeError(f"{effect_type.__name__} has a handler already: {_HANDLERS[effect_type].__qualname__}")
        _HANDLERS[effect_type] = handler
        return handler

    return register


def apply(act: Act, effect: object) -> Outcome:
    """Carry out one effect through its registered handler."""
    handler = _HANDLERS.get(type(effect))
    if handler is None:
        raise LookupError(f"no handler for {type(effect).__name__}: register one with @handles")
    return handler(act, effect)


def registered() -> Mapping[type, Handler]:
    """Every registered handler, by effect type (read only)."""
    return dict(_HANDLERS)
