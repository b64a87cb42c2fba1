"""Regenerate the committed sample files in sample_data/ (all synthetic):
`.venv/bin/python scripts/build_sample_data.py`.

Deterministic: the seeds below fix every value, so running it again rewrites the same data.
"""

from __future__ import annotations

from pathlib import Path

from assess.synthetic.messy import write_messy_workbook
from assess.synthetic.panel import generate_panel
from assess.synthetic.writers import write_panel

HERE = Path(__file__).resolve().parent.parent / "sample_data"

PANEL_SEED = 20240601
PANEL_ENTERPRISES = 1500
PANEL_YEARS = (2020, 2024)
MESSY_SEED = 7


def main() -> None:
    first, last = PANEL_YEARS
    panel = generate_panel(PANEL_ENTERPRISES, first, last, PANEL_SEED)
    write_panel(panel, HERE / f"panel_{first}-{last}.xlsx")
    write_messy_workbook(HERE / "messy.xlsx", seed=MESSY_SEED)


if __name__ == "__main__":
    main()
