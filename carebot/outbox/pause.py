"""A pause a provider asked for (Signal's rate limit or captcha), kept across restarts: one row per channel."""

from __future__ import annotations

from datetime import datetime

from carebot.store.db import Database
from carebot.store.models import ProviderPause


def load_pause(db: Database, channel: str) -> tuple[datetime, int, bool] | None:
    """A pause ``channel``'s provider asked for (until, pauses in a row, coordinators told), if recorded."""
    with db.transaction() as session:
        pause = session.get(ProviderPause, channel)
        return None if pause is None else (pause.until, pause.pauses, pause.told)


def save_pause(db: Database, channel: str, state: tuple[datetime, int, bool] | None) -> None:
    """Record ``channel``'s pause, or clear it (None) once a text goes through again."""
    with db.transaction() as session:
        pause = session.get(ProviderPause, channel)
        if state is None:
            if pause is not None:
                session.delete(pause)
            return
        if pause is None:
            pause = ProviderPause(channel=channel)
            session.add(pause)
        pause.until, pause.pauses, pause.told = state
