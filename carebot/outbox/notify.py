"""Telling a group's coordinators: one text each, by day, in the outbox like any push."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from carebot.domain.i18n import render
from carebot.outbox.write import PUSH, push
from carebot.store.models import Group, Member
from carebot.store.queries import active_groups_of, coordinators_of, existing


def tell_coordinators(session: Session, group_id: int, now: datetime, text: Callable[[Member], str], *,
                      purpose: str = PUSH, told: set[int] | None = None) -> list[Member]:
    """``text(coordinator)`` to each coordinator of the group who takes texts, by day; returns them.

    ``told``: ids of coordinators already told (of another group), skipped, and
    those told here are added to it, so nobody hears the same thing twice.
    """
    coordinators = []
    for coordinator in coordinators_of(session, group_id):
        if told is not None:
            if coordinator.id in told:
                continue
            told.add(coordinator.id)
        coordinators.append(coordinator)
        push(session, coordinator, text(coordinator), now, group_id, purpose=purpose)
    return coordinators


def tell_coordinators_about(session: Session, member: Member, key: str, now: datetime) -> None:
    """Catalog message ``key`` (about ``member``, as {name}) to the coordinators of their groups, by day."""
    told: set[int] = set()
    for group_id in active_groups_of(session, member.id):
        def about(coordinator: Member, group_id: int = group_id) -> str:
            language = coordinator.language or existing(session, Group, group_id).language
            return render(key, language, name=member.name or render("notice.someone", language))

        tell_coordinators(session, group_id, now, about, told=told)
