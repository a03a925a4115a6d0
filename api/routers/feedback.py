"""``POST /feedback`` (a 👍/👎 on an answer) and ``GET /feedback`` (the ratings, key only).

Rating an answer follows the rule of ``POST /ask``: open unless reads need a key. Listing the
ratings always needs a key of ``POLICYQA_API_KEYS``: they hold what users typed. The ratings
are kept in SQLite (``Settings.feedback_path``, ``qa/feedback.py``) and exported as gold-set
candidates by ``policy-qa feedback export``. Neither route waits for the model or the index.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from api.deps import READS, AppSettings, api_key_header, get_app_settings, key_problem
from api.errors import BODY_ERRORS, ERRORS, Responses
from api.schemas import ErrorResponse, FeedbackCreated, FeedbackIn, FeedbackList, FeedbackOut
from qa.feedback import FeedbackStore, FeedbackStoreError, NewFeedback

log = logging.getLogger(__name__)

router = APIRouter(tags=["feedback"])

#: Most ratings one GET returns; the largest offset (SQLite integers are 64-bit).
MAX_LIST_LIMIT = 500
MAX_OFFSET = 2**62

STORE_ERRORS: Responses = {
    503: {
        "model": ErrorResponse,
        "description": "The feedback database cannot be used (the message says why).",
    },
}
_store_lock = threading.Lock()


class FeedbackPage(BaseModel):
    """Query string of GET /feedback; other parameters are refused (422)."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=50, ge=1, le=MAX_LIST_LIMIT, description="Ratings per page.")
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET, description="Ratings skipped (newest first).")


def require_feedback_key(request: Request, key: Annotated[str | None, Depends(api_key_header)]) -> None:
    """The ratings hold what users typed: listing them needs a key, whatever reads need."""
    problem = key_problem(get_app_settings(request), key, "Reading the feedback")
    if problem is not None:
        raise problem


def feedback_store(request: Request, settings: AppSettings) -> FeedbackStore:
    """The app's store, made on first use (nothing is opened before a rating comes)."""
    state = request.app.state
    with _store_lock:
        store: FeedbackStore | None = getattr(state, "feedback_store", None)
        if store is None:
            store = FeedbackStore(settings.feedback_path)
            state.feedback_store = store
    return store


Store = Annotated[FeedbackStore, Depends(feedback_store)]


def _unavailable(what: str) -> HTTPException:
    """The store's error names a file of the server: it goes to the log (``qa/feedback.py``
    logs it), the client gets what happened and what to do."""
    return HTTPException(
        503, f"{what}: the feedback database is unavailable (the server log says why). Retry later."
    )


@router.post(
    "/feedback",
    status_code=201,
    response_model=FeedbackCreated,
    dependencies=READS,
    responses={**BODY_ERRORS, **STORE_ERRORS},
)
async def add_feedback(body: FeedbackIn, store: Store) -> FeedbackCreated:
    """Rate an answer 👍 (`up`) or 👎 (`down`), with an optional comment; the ratings become
    candidate questions of the evaluation's gold set (`policy-qa feedback export`)."""
    feedback = NewFeedback(
        question=body.question,
        rating=body.rating,
        answerable=body.answerable,
        language=body.language,
        answer=body.answer,
        comment=body.comment,
        passage_ids=body.passage_ids,
        markers=body.markers,
        doc_ids=body.doc_ids,
        settings=body.settings.model_dump(mode="json", exclude_none=True),
    )
    try:
        record = await run_in_threadpool(store.add, feedback)
    except FeedbackStoreError as exc:
        # the client is told it failed; the rating is in the log for an operator to recover
        log.error("feedback not saved: %s", json.dumps(body.model_dump(mode="json"), ensure_ascii=False))
        raise _unavailable("The rating was not saved") from exc
    return FeedbackCreated(id=record.id, created_at=record.created_at)


@router.get(
    "/feedback",
    response_model=FeedbackList,
    dependencies=[Depends(require_feedback_key)],
    responses={**ERRORS, **STORE_ERRORS},
)
async def list_feedback(store: Store, page: Annotated[FeedbackPage, Query()]) -> FeedbackList:
    """The ratings, newest first (needs an `X-API-Key`)."""

    def read() -> FeedbackList:
        records = store.list(limit=page.limit, offset=page.offset)
        return FeedbackList(feedback=[FeedbackOut.model_validate(r) for r in records], total=store.count())

    try:
        return await run_in_threadpool(read)
    except FeedbackStoreError as exc:
        raise _unavailable("The ratings could not be read") from exc
