"""The `assess` command line: a thin shell over the library, one module per group of commands."""

from assess.cli import assessment, filings, lists, scoring  # noqa: F401 - importing registers the commands
from assess.cli.common import app

__all__ = ["app"]
