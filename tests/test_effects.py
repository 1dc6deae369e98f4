"""The effect registry: every effect a flow can ask for has exactly one handler (#16)."""

from __future__ import annotations

import dataclasses
import inspect
from typing import get_args

import pytest

import carebot.services.handlers  # noqa: F401  (makes every registration)
from carebot.flows import base
from carebot.services.effects import Outcome, handles, registered


def test_every_effect_has_exactly_one_handler():
    effects = set(get_args(base.Effect))
    handled = set(registered())
    assert effects - handled == set(), "effects without a handler"
    assert handled - effects == set(), "handlers of types that are not in flows.base.Effect"


def test_every_effect_dataclass_in_flows_base_is_an_effect():
    # Everything a flow can ask for is a frozen dataclass in flows/base.py; the shapes a flow
    # reads or answers with (the context, a transition, a reply) are the only others there.
    not_effects = {"GroupInfo", "MembershipInfo", "AnswerInfo", "PairingInfo", "PersonInfo", "CareMapInfo", "StoppedRequest",
                   "Waiting", "Context", "Reply", "AnswerSpec", "Transition"}
    classes = {name: cls for name, cls in inspect.getmembers(base, inspect.isclass)
               if cls.__module__ == base.__name__ and dataclasses.is_dataclass(cls)}
    unlisted = {name for name, cls in classes.items() if name not in not_effects and cls not in get_args(base.Effect)}
    assert not unlisted, f"dataclasses in flows/base.py missing from the Effect union: {unlisted}"


def test_a_second_handler_for_one_effect_is_refused():
    with pytest.raises(TypeError, match="OfferAnswered has a handler already"):
        @handles(base.OfferAnswered)
        def again(act, effect) -> Outcome:
            return Outcome()


def test_every_handler_returns_the_one_outcome_type():
    for effect, handler in registered().items():
        assert inspect.signature(handler).return_annotation in (Outcome, "Outcome"), effect.__name__
