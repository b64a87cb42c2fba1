"""The errors the library raises for requests it cannot meet, each with a Chinese message for the user. They live in
this light module so that a face can catch them without importing DuckDB, pydantic or sqlglot (the command line's
error handler is loaded by every command, `assess --help` included); the modules that raise them re-export them."""


class StoreError(Exception):
    """A request the store cannot meet (unknown upload, already retracted, a database it cannot open)."""


class PackError(Exception):
    """A pack that cannot be used; the message names the file, the rule and the reason."""


class ResourceError(Exception):
    """A reference file of the product (or of a rule folder the user named) is missing or unreadable."""


class OutputError(Exception):
    """A file the user asked for (a workbook, a report) cannot be written: the folder, the disk or the file itself."""


class InputError(ValueError):
    """Input that cannot be used as given (an unknown city or rule, a file of the wrong kind). The command line exits
    with status 2 on it, as on a usage error."""
