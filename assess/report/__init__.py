"""The report: the year's progress toward the plan's 2027 targets, the lists and the data behind them, as one
self-contained HTML page a department head reads (content, charts, render)."""
