"""Filings in: read spreadsheets, map headers, parse, validate, store.

`ingest_files` is the entry point the command line (and later the web app) calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from assess.contract import load_contract
from assess.ingest.upload import STAGES, Ingest, IngestResult
from assess.ingest.validate import Options
from assess.progress import Progress, Steps
from assess.reference import load_reference
from assess.store import Store

__all__ = ["IngestResult", "Options", "ingest_files"]


def ingest_files(
    store: Store, paths: Sequence[Path], options: Options, progress: Progress | None = None
) -> list[IngestResult]:
    """Each file is its own upload and transaction: one unreadable file does not stop the others."""
    contract = load_contract()
    step = Steps(progress, STAGES * len(paths))
    ingest = Ingest(store, contract, load_reference(contract), options, step)
    results = [ingest.file(path) for path in paths]
    step.finish()
    return results
