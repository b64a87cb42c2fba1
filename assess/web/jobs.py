"""One writer at a time: uploads and runs wait in one queue and a single worker thread does them in turn, each on a
connection of its own to the server's database. A job can be followed (its place while it waits, its step and share
while it runs) from any request, so a page reload finds it again."""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from threadpoolctl import threadpool_limits

from assess.access.accounts import PROVINCE, User
from assess.access.desk import Desk, Hidden, Refused
from assess.errors import InputError, OutputError, PackError, ResourceError, StoreError
from assess.progress import Progress
from assess.store import Store

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATE_TITLES = {QUEUED: "排队中", RUNNING: "进行中", DONE: "已完成", FAILED: "未完成"}
# Errors whose message is written for the user; anything else is logged and reported in general words.
_SAID = (InputError, StoreError, OutputError, PackError, ResourceError, Refused, Hidden)
_log = logging.getLogger("assess.web")

Work = Callable[[Desk, Progress], str]  # returns the address of what it made


@dataclass
class Job:
    id: str
    kind: str  # upload, run
    title: str
    user: User
    created_at: dt.datetime = field(default_factory=dt.datetime.now)
    state: str = QUEUED
    step: str = ""
    done: int = 0
    total: int = 1
    result: str | None = None  # the address of what the job made (an upload's 检查结果, a run's lists)
    error: str | None = None

    @property
    def share(self) -> float:
        return 1.0 if self.state == DONE else self.done / max(self.total, 1)


class JobQueue:
    def __init__(self, store: Store, rules: Path | None = None) -> None:
        self._store = store
        self._rules = rules
        self._waiting: queue.Queue[tuple[Job, Work] | None] = queue.Queue()
        self._jobs: dict[str, Job] = {}
        self._order: list[str] = []  # the ids of jobs not yet started, first first
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._work, name="assess-writer", daemon=True)
        self._thread.start()

    def submit(self, kind: str, title: str, user: User, work: Work) -> Job:
        job = Job(uuid.uuid4().hex, kind, title, user)
        with self._lock:
            self._jobs[job.id] = job
            self._order.append(job.id)
        self._waiting.put((job, work))
        return job

    def find(self, job_id: str, user: User) -> Job | None:
        """A job the user may follow: its own, or any for the province."""
        job = self._jobs.get(job_id)
        return job if job is not None and (job.user.name == user.name or user.role == PROVINCE) else None

    def place(self, job: Job) -> int:
        """Its place in the queue (1 = next), 0 once started."""
        with self._lock:
            return self._order.index(job.id) + 1 if job.id in self._order else 0

    def recent(self, user: User, kind: str | None = None) -> list[Job]:
        visible = [j for j in self._jobs.values() if self.find(j.id, user) is not None and kind in (None, j.kind)]
        return sorted(visible, key=lambda j: j.created_at, reverse=True)[:20]

    def busy(self) -> bool:
        return any(j.state in (QUEUED, RUNNING) for j in self._jobs.values())

    def stop(self) -> None:
        self._waiting.put(None)
        self._thread.join(timeout=60)

    def _work(self) -> None:
        while (item := self._waiting.get()) is not None:
            job, work = item
            with self._lock:
                self._order.remove(job.id)
            job.state = RUNNING

            def progress(step: str, done: int, total: int, job: Job = job) -> None:
                job.step, job.done, job.total = step, done, total

            store = Store.sharing(self._store)
            try:
                # One thread for the model's OpenMP work: the server's cores are shared with the requests, and
                # OpenMP threads waiting on busy cores stalled training for minutes (bench/web.py).
                with threadpool_limits(1):
                    job.result = work(Desk(store, job.user, self._rules), progress)
                job.state = DONE
            except _SAID as exc:
                job.error, job.state = str(exc), FAILED
            except Exception:
                _log.exception("job %s (%s) failed", job.id, job.kind)
                job.error, job.state = "处理时发生内部错误，已记录在服务日志中：请稍后重试或联系管理员。", FAILED
            finally:
                store.close()
