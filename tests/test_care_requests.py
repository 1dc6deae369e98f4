"""The care-request state machine: written down in docs/, every text it promises exists in both languages."""

from __future__ import annotations

from pathlib import Path

from carebot.domain.i18n import catalog
from carebot.services.care_requests import TRANSITIONS, State

DOC = Path(__file__).resolve().parents[1] / "docs" / "care-requests.md"


def test_every_transition_is_in_the_docs_with_its_texts() -> None:
    doc = DOC.read_text(encoding="utf-8")
    for state in State:
        assert f"**{state.value}**" in doc
    for step in TRANSITIONS:
        row = f"| {step.source.value} | {step.target.value} | {step.event} |"
        assert row in doc, f"docs/care-requests.md lacks: {row}"
        for key in (step.requester, step.supporter, step.coordinators):
            if key is not None:
                assert f"`{key}`" in doc


def test_every_transition_text_exists_in_english_and_spanish() -> None:
    for step in TRANSITIONS:
        for key in (step.requester, step.supporter, step.coordinators):
            if key is not None:
                assert catalog("en").get(key), key
                assert catalog("es").get(key), key


def test_every_state_can_be_left_except_ended() -> None:
    # Nobody is stuck: each state but "ended" has a way on, and every state is reachable.
    sources = {step.source for step in TRANSITIONS}
    targets = {step.target for step in TRANSITIONS}
    assert sources == set(State) - {State.ENDED}
    assert targets | {State.REQUESTED} == set(State)
