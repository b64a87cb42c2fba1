"""The JSON objects the command line prints with --json and the web app's /api/ returns: one shape for both faces."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

    from assess.api import Flags


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def dumps(payload: object) -> str:
    return json.dumps(payload, ensure_ascii=False, default=_default)


def plain(payload: object) -> object:
    """The payload as JSON types only (dates as ISO text, decimals as numbers), for a face that encodes it itself."""
    return json.loads(dumps(payload))


def records(frame: pl.DataFrame) -> list[dict]:
    """Rows as dicts for JSON: decimals (money in 万元) become numbers."""
    import polars as pl

    decimals = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.Decimal)]
    return frame.with_columns(pl.col(decimals).cast(pl.Float64)).to_dicts()


def lists(found: dict[str, pl.DataFrame]) -> dict[str, list[dict]]:
    """`{"little_giant": [{"rank", "credit_code", "name", "city", "score", "status"}, ...], ...}`, `score` being
    the value the list is ranked by."""
    return {
        list_id: frame.select("rank", "credit_code", "name", "city", "status", score="value").to_dicts()
        for list_id, frame in found.items()
    }


def flags(found: Flags) -> list[dict]:
    return found.hits.select("credit_code", "name", "city", "rule_id", "verdict", "missing", "message").to_dicts()


def problems(frame: pl.DataFrame) -> list[dict]:
    """An upload's problems with the city and credit code of the filing on their row (`Store.problems(placed=True)`);
    the file is the upload's, the hint the catalogue's."""
    return records(frame.drop("file", "hint"))
