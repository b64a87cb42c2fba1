"""Every row ends accepted, rejected or skipped, whatever the sheet looks like: a property test over whole files.

Sheets are drawn as a title, a header and then any sequence of filings, filings with an error, blank rows, rows of
spaces and total rows, in any order, written as real .csv and .xlsx files and ingested into a real store.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from assess.contract import load_contract
from assess.ingest import Options, ingest_files
from assess.store import Store
from tests.conftest import HEADER, Rows, firm_row, write_xlsx

KINDS = ("filing", "error", "blank", "spaces", "total")
SKIPPED = {"blank", "spaces", "total"}
CONTRACT = load_contract()


def _row(kind: str, serial: int) -> list[object]:
    rows: dict[str, list[object]] = {
        "filing": firm_row(serial),
        "error": firm_row(serial, 所属地市="杭州"),
        "blank": [None] * len(HEADER),
        "spaces": ["  ", "\u3000"],
        "total": ["合 计", None, None, None, None, 10000],
    }
    return rows[kind]


def _write(path: Path, rows: Rows) -> Path:
    if path.suffix == ".xlsx":
        return write_xlsx(path, {"表1": rows})
    path.write_text("\n".join(",".join("" if v is None else str(v) for v in row) for row in rows), encoding="utf-8")
    return path


@settings(max_examples=30, deadline=None)
@given(
    kinds=st.lists(st.sampled_from(KINDS), max_size=10),
    titles=st.integers(min_value=0, max_value=2),
    suffix=st.sampled_from([".csv", ".xlsx"]),
)
def test_every_row_is_accepted_rejected_or_skipped(kinds: list[str], titles: int, suffix: str) -> None:
    rows: Rows = [["2024年企业填报表（合成数据）"]] * titles
    rows.append(HEADER)
    rows += [_row(kind, serial) for serial, kind in enumerate(kinds, start=1)]
    # Rows after the last one with content are not rows of the table.
    last = max((i for i, kind in enumerate(kinds) if kind not in ("blank", "spaces")), default=-1)
    counted = kinds[: last + 1]
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "db" / "assess.duckdb", CONTRACT) as store:
        [result] = ingest_files(store, [_write(Path(tmp) / f"f{suffix}", rows)], Options())
        assert result.error is None
        assert result.rows_read == len(counted)
        assert result.accepted == counted.count("filing") == store.filings().height
        assert result.rejected == counted.count("error")
        assert result.skipped == sum(kind in SKIPPED for kind in counted)
