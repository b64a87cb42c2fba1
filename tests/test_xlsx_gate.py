"""The workbook check scans a worksheet's XML in pieces cut before a tag, so that no character is ever cut in two,
however long the text between two tags (a note of thousands of Chinese characters in one cell)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from assess.ingest import xlsx
from tests.conftest import HEADER, Ingester, Rows, firm_row, write_xlsx

_TAGS = st.sampled_from(['<row r="7">', "</row>", '<c r="B7" t="inlineStr">', "<is><t>", "</t></is></c>", "<c/>"])
_TEXT = st.text(alphabet=st.sampled_from("企业研发备注说明 ab1&;"), max_size=3000)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_TAGS, _TEXT), min_size=1, max_size=40))
@example([('<c r="B7" t="inlineStr">', "企" * 2000), ("</t></is></c>", "")])  # 6 KB of text between two tags
def test_the_scan_cuts_a_sheet_only_before_a_tag_and_loses_nothing(parts: list[tuple[str, str]]) -> None:
    written = "".join(tag + text for tag, text in parts)
    read = xlsx._as_text(bytearray(written.encode()))
    assert read is not None
    pieces, starts = read
    assert "".join(pieces.to_list()) == written
    assert starts[0] == 0 and all(piece.startswith("<") for piece in pieces.to_list())


def test_a_cell_holding_a_long_note_is_read_like_any_other(tmp_path: Path, ingest: Ingester) -> None:
    note = "该企业研发投入情况说明：" * 200  # some 2,400 characters, 7 KB of UTF-8 between two tags
    rows: Rows = [[*HEADER, "备注"], [*firm_row(1), note], *([*firm_row(serial), ""] for serial in range(2, 40))]
    result = ingest(write_xlsx(tmp_path / "长备注.xlsx", {"表1": rows}))
    assert result.error is None and result.accepted == 39
