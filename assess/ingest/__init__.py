"""Filings in: read spreadsheets, map headers, parse, validate, store.

`ingest_files` is the entry point the command line (and later the web app) calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from assess.contract import load_contract
from assess.ingest.upload import Ingest, IngestResult
from assess.ingest.validate import Options
from assess.reference import load_reference
from assess.store import Store

__all__ = ["IngestResult", "Options", "ingest_files"]


def ingest_files(store: Store, paths: Iterable[Path], options: Options) -> list[IngestResult]:
    """Each file is its own upload and transaction: one unreadable file does not stop the others."""
    contract = load_contract()
    ingest = Ingest(store, contract, load_reference(contract), options)
    return [ingest.file(path) for path in paths]
