"""Background jobs: uploads are ingested one at a time by a worker thread, outside the request.

``POST /documents`` checks what is cheap (name, type, size, pages, the document id) and queues a
job; ``GET /jobs/{id}`` reports it: ``queued``, ``running``, ``done`` (with the result) or
``failed`` (with the error). At most one job per document id is queued or running (a second
one is a :class:`JobConflict`), and at most ``max_pending`` jobs wait at once
(:class:`QueueFull`), since each holds its file in memory. Jobs live in memory: a restart
forgets them, and the start-up reconciliation (``Indexer.reconcile``) removes whatever an
interrupted job had written but not acknowledged.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from core.errors import PolicyQAError

log = logging.getLogger(__name__)

JobStatus = Literal["queued", "running", "done", "failed"]


class JobConflict(PolicyQAError):
    """Another job for the same document is queued or running."""


class QueueFull(PolicyQAError):
    """Too many jobs are waiting; retry later."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Job:
    id: str
    kind: str
    key: str  # the document id: one active job per key
    filename: str = ""
    status: JobStatus = "queued"
    submitted_at: str = field(default_factory=_now)
    started_at: str | None = None
    finished_at: str | None = None
    result: Any = None
    error: BaseException | None = None  # what failed (its message is the user's, or a bug's)
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job is done or failed (tests, the synchronous path)."""
        return self.done.wait(timeout)


class JobQueue:
    """One worker thread runs the jobs in order; finished jobs are kept for ``keep_finished`` more."""

    def __init__(self, max_pending: int = 8, keep_finished: int = 1_000) -> None:
        self.max_pending = max_pending
        self.keep_finished = keep_finished
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._active: dict[str, Job] = {}  # key -> queued or running job
        self._queue: queue.Queue[tuple[Job, Callable[[], Any]]] = queue.Queue()
        self._worker: threading.Thread | None = None

    def active(self, key: str) -> Job | None:
        with self._lock:
            return self._active.get(key)

    def submit(self, kind: str, key: str, work: Callable[[], Any], filename: str = "") -> Job:
        with self._lock:
            running = self._active.get(key)
            if running is not None:
                raise JobConflict(
                    f"An upload of {key!r} is already {running.status} (job {running.id}): wait until "
                    f"GET /jobs/{running.id} says done or failed, then send it again."
                )
            if len(self._active) >= self.max_pending:
                raise QueueFull(
                    f"{len(self._active)} uploads are already waiting to be indexed (the limit is "
                    f"{self.max_pending}, POLICYQA_MAX_PENDING_UPLOADS): retry in a minute."
                )
            job = Job(id=uuid.uuid4().hex, kind=kind, key=key, filename=filename)
            self._jobs[job.id] = job
            self._active[key] = job
            self._queue.put((job, work))
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._run, name="policyqa-jobs", daemon=True)
                self._worker.start()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def _run(self) -> None:
        while True:
            job, work = self._queue.get()
            job.status, job.started_at = "running", _now()
            try:
                job.result = work()
                job.status = "done"
            except Exception as exc:  # reported by GET /jobs/{id}
                if not isinstance(exc, PolicyQAError):
                    log.exception("job %s (%s of %s) failed", job.id, job.kind, job.key)
                job.error, job.status = exc, "failed"
            finally:
                job.finished_at = _now()
                with self._lock:
                    if self._active.get(job.key) is job:
                        del self._active[job.key]
                    self._forget_old()
                job.done.set()
                self._queue.task_done()

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.status in ("done", "failed")]
        for old in finished[: max(0, len(finished) - self.keep_finished)]:
            del self._jobs[old.id]
