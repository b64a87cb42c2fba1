"""Where the library's log records go when `assess` runs as a command.

The library logs only its own defects, with their tracebacks; the user has already been told what happened in
Chinese, and a traceback may quote a cell of a confidential filing. So the records go to the file named by the
environment variable ASSESS_LOG (for whoever maintains the installation), else nowhere: never to the terminal.
"""

from __future__ import annotations

import logging
import os
import sys

from assess.errors import describe_os_error

LOG_ENV = "ASSESS_LOG"


def route_logs() -> None:
    logger = logging.getLogger("assess")
    if logger.handlers:  # routed already (a test runs many commands in one process)
        return
    target = os.environ.get(LOG_ENV)
    handler: logging.Handler = logging.NullHandler()
    if target:
        try:
            handler = logging.FileHandler(target, encoding="utf-8")
        except OSError as exc:  # the command still runs; its failures just cannot be logged
            os.environ.pop(LOG_ENV)
            sys.stderr.write(f"注意：日志文件「{target}」无法打开（{describe_os_error(exc)}），本次不记录日志。\n")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False


def log_failure(exc: BaseException, command: str) -> str | None:
    """Log a failure of the program with its traceback; the log file's path, or None when no log is kept."""
    logging.getLogger("assess").error("%s failed", command, exc_info=exc)
    return os.environ.get(LOG_ENV) or None
