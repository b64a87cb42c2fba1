"""The `assess` command line: a thin shell over the library, one module per group of commands."""

# Importing registers the commands, in the order help lists them.
from assess.cli import filings, assessment, lists, scoring, rules, chains, users, web, upkeep  # noqa: F401  # isort: skip
from assess.cli.common import app

__all__ = ["app"]
