"""The progress bar of a long command: on stderr, only when stderr is a terminal and the output is not --json."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from assess.cli import render
from assess.progress import Progress


@contextmanager
def progress_bar(as_json: bool) -> Iterator[Progress | None]:
    """A `Progress` drawing a bar that disappears when the job ends; None (no bar) for --json or when stderr is not
    a terminal (a pipe, a log file, a test)."""
    if as_json or not render.err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=render.err, transient=True) as bar:
        task = bar.add_task("开始……", total=None)

        def report(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=total)

        yield report
