"""An iterator whose next items are made in a thread of their own while the caller works on the current one.

The store pulls an upload's validated chunks while it writes them: with the next chunk validated beside the write,
polars and DuckDB (both of which release the GIL) keep the two cores busy instead of taking turns. The items come
in their order, at most `depth` of them wait, and an exception the iterator raises comes out of `next` as itself,
after the items made before it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import TypeVar

T = TypeVar("T")

_POLL_SECONDS = 0.1  # how often a producer waiting on a full queue looks whether the consumer has gone


class _End:
    """The iterator is exhausted, or raised `error`."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def ahead(items: Iterator[T], depth: int = 1) -> Generator[T, None, None]:
    """`items` as they come, made up to `depth` ahead in a background thread. Closing the result early (the
    consumer failed) stops the thread before the next item is made."""
    waiting: queue.Queue[T | _End] = queue.Queue(maxsize=depth)
    gone = threading.Event()

    def put(item: T | _End) -> bool:
        while not gone.is_set():
            try:
                waiting.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    if isinstance(items, Generator):  # its clean-up now, not when it is collected
                        items.close()
                    return
            put(_End())
        except BaseException as exc:  # handed to the consumer, which raises it
            put(_End(exc))

    thread = threading.Thread(target=produce, name="assess-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = waiting.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        gone.set()
        thread.join()
