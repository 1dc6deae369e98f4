"""What a log may say about an error: its kind and where it happened, never its text.

An error's text can quote what carebot must never log: SQLAlchemy's quotes a
statement's parameters (engines hide them, db.make_engine, but not every error
comes from an engine), a provider's error can quote a number. So the loops
that must survive any error log this instead of a traceback.
"""

from __future__ import annotations

import traceback


def where(error: BaseException) -> str:
    """``ErrorType at file:line``, the innermost frame of ``error``'s traceback."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return type(error).__name__
    return f"{type(error).__name__} at {frames[-1].filename}:{frames[-1].lineno}"
