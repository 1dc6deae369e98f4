"""Every module that handles effects, imported in this one place so that each one's
``@handles`` registrations are made before the dispatcher applies anything.

A new family of effects: write its handlers with ``@handles`` in its own services module,
and add that module to the import below (tests/test_effects.py checks every effect has one).
"""

from carebot.services import (  # noqa: F401  (imported for their registrations)
    account,
    answers,
    calls,
    caremap,
    checkins,
    coordination,
    crisis,
    gatherings,
    network,
    pairings,
    relay,
    rounds,
    views,
)
from carebot.services.effects import Act, Outcome, apply

__all__ = ["Act", "Outcome", "apply"]
