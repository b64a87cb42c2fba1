"""How a long job says how far it is, to whoever shows it: a bar on a terminal, a page of the web app, or no one.

A job calls its `Progress` with the step it starts, the steps done and the steps in all; its last call has done ==
total. The library never prints: the command line turns the calls into a bar, a web page polls the last one.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, int], None]  # (the step now under way, in Chinese; steps done; steps in all)


def silent(step: str, done: int, total: int) -> None:
    """The progress of a job no one watches."""


class Steps:
    """Counts a job's steps: call it with each step as it starts, then `finish`."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self._progress = progress or silent
        self._total = total
        self._done = -1

    def __call__(self, step: str) -> None:
        self._done += 1
        self._progress(step, min(self._done, self._total), self._total)

    def finish(self, step: str = "完成") -> None:
        self._progress(step, self._total, self._total)


def within(progress: Progress | None, first: int, last: int, total: int = 100) -> Progress:
    """A sub-job's progress as the stretch from `first` to `last` (of `total`) of a larger job's."""
    outer = progress or silent

    def report(step: str, done: int, steps: int) -> None:
        outer(step, first + (last - first) * done // max(steps, 1), total)

    return report
