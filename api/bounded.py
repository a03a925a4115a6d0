"""Each question's work runs under a time budget, and stops when its client goes away.

:func:`run_bounded` runs the QA call in a worker thread under a :class:`qa.budget.Budget`
(``POLICYQA_REQUEST_TIME_BUDGET_S``) and waits for it, looking every
:data:`DISCONNECT_POLL_S` whether the client disconnected. When the budget runs out the client
gets a 503 at once; when the client disconnects nobody is answered. Either way the budget is
cancelled, so the worker stops before its next stage (see ``qa/budget.py`` for what is and is
not interruptible) and its thread is freed for other requests.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from qa import budget as budgets
from qa.budget import Budget, BudgetExceeded

log = logging.getLogger("api")

T = TypeVar("T")

#: How often a waiting request looks whether its client is still there.
DISCONNECT_POLL_S = 0.25


class ClientGone(Exception):
    """The client disconnected before the answer was ready (nothing is sent)."""


def _run(budget: Budget, fn: Callable[[], T]) -> T:
    with budgets.running_under(budget):
        budget.check("starting")  # the request may have waited for a worker thread all along
        return fn()


async def run_bounded(request: Request, seconds: float, fn: Callable[[], T]) -> T:
    """``fn()`` in a worker thread under a budget of ``seconds``; BudgetExceeded past it."""
    budget = Budget(seconds)
    work = asyncio.ensure_future(run_in_threadpool(_run, budget, fn))
    try:
        while True:
            done, _ = await asyncio.wait({work}, timeout=min(DISCONNECT_POLL_S, budget.remaining()))
            if done:
                return work.result()
            if budget.remaining() <= 0:
                budget.cancel(f"the {seconds:g} s time budget ran out")
                raise BudgetExceeded(
                    f"The request took longer than its {seconds:g} s time budget "
                    "(POLICYQA_REQUEST_TIME_BUDGET_S) and was stopped: the service is busy, retry "
                    "in a few seconds, or ask for fewer passages (top_k)."
                )
            if await request.is_disconnected():
                budget.cancel("the client disconnected")
                log.info("%s %s: client gone, work stopped", request.method, request.url.path)
                raise ClientGone()
    finally:
        if not work.done():
            budget.cancel(budget.reason or "the request ended")
            # the worker ends on its own at its next check; its outcome is nobody's any more
            work.add_done_callback(_discard)


def _discard(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log "exception was never retrieved"
