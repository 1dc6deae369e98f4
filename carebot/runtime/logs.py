"""How carebot's commands log: carebot at CAREBOT_LOG_LEVEL, libraries at WARNING, text or JSON lines.

Nothing here decides what is logged: no module logs a number or a text
(tests/test_logs.py holds every record of the test suite to that).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, and the exception if any."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(level: str = "INFO", form: str = "text", *, verbose: bool = False) -> None:
    """Log to stderr: carebot's own loggers at ``level`` (DEBUG with ``-v``), everything else at WARNING.

    When logging is already set up (a test run, a program embedding carebot) it is left as it is.
    """
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if form == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("carebot").setLevel(logging.DEBUG if verbose else level)
