"""A stored run as the figures a manager reads: the 一清零 and 一提升 counts by province, city, chain and direction,
the rubric verdicts and the plan's headline targets. `assess stats`, the workbook and the report read the same."""

from __future__ import annotations

from assess.run import runs, stats
from assess.store import Store


def year_figures(store: Store, run: runs.Run) -> dict:
    figures = stats.targets(runs.counts(store, run), run.year, store.contract, run.manifest)
    return {**figures, "rubrics": runs.rubric_counts(store, run), "headline": runs.figures(store, run)}
