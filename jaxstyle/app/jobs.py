"""A first-in first-out job queue with one worker thread: one job runs at a time, the rest wait.

Each :class:`Job` is a function ``work(job)`` that reports through :meth:`Job.update`; a
waiter (a page's request) follows it with :meth:`Job.wait` and reads its place in the queue
with :meth:`JobQueue.position`. A job that raises ends ``failed`` with the message; the
worker goes on with the next one.
"""
from __future__ import annotations

import itertools
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

WAITING, RUNNING, DONE, FAILED = "waiting", "running", "done", "failed"


@dataclass(eq=False)
class Job:
    """One queued piece of work and what it has reported so far."""

    id: int
    work: Callable[["Job"], Any]
    state: str = WAITING
    phase: str = ""
    done: int = 0
    total: int = 0
    preview: Any = None
    result: Any = None
    error: str | None = None
    version: int = 0  # bumped on every change, so a waiter sees each one once
    _cond: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def update(self, **changes) -> None:
        """Set fields (``phase``, ``done``, ``total``, ``preview``...) and wake the waiters."""
        with self._cond:
            for k, v in changes.items():
                setattr(self, k, v)
            self.version += 1
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """Block until the job changed after version ``seen`` (or ``timeout`` s); the current version."""
        with self._cond:
            self._cond.wait_for(lambda: self.version != seen, timeout)
            return self.version

    @property
    def finished(self) -> bool:
        return self.state in (DONE, FAILED)


class JobQueue:
    """Runs submitted jobs one at a time, in order, on a daemon worker thread started on first use."""

    def __init__(self, describe_error: Callable[[BaseException], str] = str):
        self._describe = describe_error
        self._pending: deque[Job] = deque()
        self._lock = threading.Condition()
        self._ids = itertools.count(1)
        self._worker: threading.Thread | None = None
        self.running: Job | None = None

    def submit(self, work: Callable[[Job], Any]) -> Job:
        """Queue ``work``; its :class:`Job` (waiting until the jobs before it are done)."""
        job = Job(next(self._ids), work)
        with self._lock:
            self._pending.append(job)
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="jaxstyle-jobs", daemon=True)
                self._worker.start()
            self._lock.notify_all()
        return job

    def position(self, job: Job) -> int:
        """Jobs ahead of ``job`` (those waiting before it and the running one); 0 when it runs or has finished."""
        with self._lock:
            if job not in self._pending:
                return 0
            return list(self._pending).index(job) + (self.running is not None)

    def __len__(self) -> int:
        """Jobs waiting or running."""
        with self._lock:
            return len(self._pending) + (self.running is not None)

    def _run(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: bool(self._pending))
                job = self._pending.popleft()
                self.running = job
            job.update(state=RUNNING)
            try:
                result = job.work(job)
            except BaseException as e:  # noqa: BLE001 - a job's failure is its own; the worker goes on
                job.update(state=FAILED, error=self._describe(e))
            else:
                job.update(state=DONE, result=result)
            finally:
                with self._lock:
                    self.running = None
