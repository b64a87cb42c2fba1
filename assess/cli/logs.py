"""Where the library's log records go when `assess` runs as a command.

The library logs only its own defects, with their tracebacks; the user has already been told what happened in
Chinese, and a traceback may quote a cell of a confidential filing. So the records go to the file named by the
environment variable ASSESS_LOG (for whoever maintains the installation), else nowhere: never to the terminal.
"""

from __future__ import annotations

import logging
import os

LOG_ENV = "ASSESS_LOG"


def route_logs() -> None:
    logger = logging.getLogger("assess")
    if logger.handlers:  # routed already (a test runs many commands in one process)
        return
    target = os.environ.get(LOG_ENV)
    handler = logging.FileHandler(target, encoding="utf-8") if target else logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False


def log_failure(exc: BaseException, command: str) -> str | None:
    """Log a failure of the program with its traceback; the log file's path, or None when no log is kept."""
    logging.getLogger("assess").error("%s failed", command, exc_info=exc)
    return os.environ.get(LOG_ENV) or None
