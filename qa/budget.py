"""A time budget for one request's retrieval and answer work, checked between stages.

The HTTP layer gives each ``/ask`` and ``/search`` a :class:`Budget` (``POLICYQA_REQUEST_TIME_BUDGET_S``)
and runs the work in a worker thread under it (:func:`running_under`). When the budget runs out,
or the client disconnects, the HTTP layer answers at once and cancels the budget; the worker stops
at its next :func:`check` with :class:`BudgetExceeded`, so no further stage starts.

What is interruptible: the wait for a worker thread (checked first thing), and the boundaries
between stages (before retrieval, after retrieval, before the LLM call). What is not: a stage
already running (one query embedding, one store search, the scoring of the candidate sentences,
one LLM call, which has its own timeout); each is bounded by the size of its input, which the
request limits bound (question length, top_k, filter lists).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from core.errors import PolicyQAError


class BudgetExceeded(PolicyQAError):
    """The request ran out of its time budget, or its client went away."""


class Budget:
    """A deadline on the monotonic clock, and a flag the HTTP layer sets to stop the work."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self._cancelled = threading.Event()
        self.reason = ""
        self.stopped_at: str | None = None  # the stage that saw the cancellation (tests, logs)

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def cancel(self, reason: str) -> None:
        if not self._cancelled.is_set():
            self.reason = reason
            self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def check(self, stage: str) -> None:
        """Raise :class:`BudgetExceeded` when the work must stop (before ``stage``)."""
        if not self._cancelled.is_set() and time.monotonic() >= self.deadline:
            self.cancel(f"the {self.seconds:g} s time budget ran out")
        if self._cancelled.is_set():
            self.stopped_at = stage
            raise BudgetExceeded(f"Stopped before {stage}: {self.reason}.")

    def wait_cancelled(self, timeout: float) -> bool:
        """Block until cancelled or ``timeout`` seconds (stand-ins in tests wait on it)."""
        return self._cancelled.wait(timeout)


_current: ContextVar[Budget | None] = ContextVar("policyqa_budget", default=None)


def current() -> Budget | None:
    return _current.get()


def check(stage: str) -> None:
    """Stop here if the current request's budget is spent or cancelled (no budget: never)."""
    budget = _current.get()
    if budget is not None:
        budget.check(stage)


@contextmanager
def running_under(budget: Budget | None) -> Iterator[None]:
    """Make ``budget`` the current one for the code in the block (a worker thread's)."""
    token = _current.set(budget)
    try:
        yield
    finally:
        _current.reset(token)
