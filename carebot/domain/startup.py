"""What stops a carebot command before it starts: one line for the operator, and an exit code each.

Every refusal is a :class:`Refusal` with its own exit code, so the journal shows
one line saying what to do and systemd can tell a mistake that no restart will
fix (deploy/carebot.service lists these codes in RestartPreventExitStatus)
from a crash worth restarting. The README's configuration section has the table.
"""

from __future__ import annotations

# The exit codes, one a kind of refusal (1 stays Python's own: a crash, worth a restart).
SETTINGS = 2  # a setting is missing or malformed
DATABASE_URL = 3  # CAREBOT_DATABASE_URL cannot be read, or names a driver carebot lacks
DATABASE_UNREACHABLE = 4  # no database server answers at that address
DATABASE_LOGIN = 5  # the server refused the user or its password
DATABASE_MISSING = 6  # no database there (a SQLite file or its directory, a PostgreSQL database)
SCHEMA = 7  # the schema is not the one this carebot needs
KEY_MISSING = 8  # CAREBOT_SECRET_KEY is not set, or too short
KEY_WRONG = 9  # CAREBOT_SECRET_KEY is not the key this database was encrypted with
SIGNAL_ACCOUNT = 10  # the Signal service does not hold SIGNAL_NUMBER

EXIT_CODES = (SETTINGS, DATABASE_URL, DATABASE_UNREACHABLE, DATABASE_LOGIN, DATABASE_MISSING, SCHEMA,
              KEY_MISSING, KEY_WRONG, SIGNAL_ACCOUNT)


class Refusal(RuntimeError):
    """A reason not to start, in one line that says what to do; ``exit_code`` tells it apart."""

    exit_code = 1

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


def end_by_ctrl_c() -> None:
    """End this process by SIGINT itself, without a word: a shell sees 130 and stops its loop, systemd
    counts it a clean stop (not click's "Aborted!" and exit 1, nor a KeyboardInterrupt traceback)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.raise_signal(signal.SIGINT)
