"""Where the project's data files live, resolved from the package so that every entry point agrees."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
SCHEMAS_DIR = PROJECT_DIR / "schemas"
RULES_DIR = PROJECT_DIR / "rules"
SAMPLE_DIR = PROJECT_DIR / "sample_data"


def industry_codes_path() -> Path:
    """The GB/T 4754-2017 code list. It is part of the shared specification, read where it stands rather than copied:
    env ASSESS_INDUSTRY_CODES, else ../shared/spec/gbt4754-2017.csv beside the project."""
    configured = os.environ.get("ASSESS_INDUSTRY_CODES")
    if configured:
        return Path(configured)
    return PROJECT_DIR.parent / "shared" / "spec" / "gbt4754-2017.csv"
