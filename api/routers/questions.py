"""``POST /ask`` and ``GET /search``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from api.bounded import run_bounded
from api.deps import READS, AppSettings, Metrics, Service, paths_context
from api.errors import BODY_ERRORS, ERRORS, Responses
from api.schemas import (
    MAX_FILTER_VALUES,
    AskRequest,
    AskResponse,
    ErrorResponse,
    FilterValues,
    KindValues,
    Question,
    SearchResponse,
)
from index.types import Mode, SearchFilters
from qa.service import PolicyQAService

router = APIRouter(tags=["questions"], dependencies=READS)

ASK_EXAMPLES = {
    "question": {
        "summary": "Une question en français",
        "value": {"question": "Qu’est-ce que le Forum européen sur la migration ?"},
    },
    "fonds": {
        "summary": "Les fonds européens, cinq passages, recherche hybride",
        "value": {
            "question": "Quels fonds européens soutiennent l’intégration des migrants ?",
            "top_k": 5,
            "mode": "hybrid",
        },
    },
    "filtre": {
        "summary": "Limitée à un document",
        "value": {
            "question": "Quel est le rôle du réseau européen d’intégration ?",
            "filters": {"documents": ["reseaux-cooperation-ue-integration-migrants"]},
        },
    },
    "autre-langue": {
        "summary": "Une question dans une autre langue de l’UE",
        "value": {"question": "When was the Urban Agenda partnership on the inclusion of migrants launched?"},
    },
    "hors-corpus": {
        "summary": "Une question à laquelle les documents ne répondent pas",
        "value": {"question": "Quelle part de l’électricité française provient du nucléaire ?"},
    },
}


class SearchParams(BaseModel):
    """Query string of GET /search."""

    q: Question = Field(
        description="What to look for, in any EU language.", examples=["Fonds «Asile et migration»"]
    )
    mode: Mode | None = Field(default=None, description="bm25, dense or hybrid (default: hybrid).")
    top_k: int = Field(default=10, ge=1, le=50)
    document: FilterValues | None = Field(
        default=None, description=f"Only these documents (repeatable, at most {MAX_FILTER_VALUES})."
    )
    fund: FilterValues | None = Field(
        default=None,
        description=f"Only passages mentioning these funds (id or name; at most {MAX_FILTER_VALUES}).",
    )
    kind: KindValues | None = Field(default=None, description="passage or footnote.")


#: What a question may also answer: a body that is not JSON, a time budget run out.
QUESTION_ERRORS: Responses = {
    503: {
        "model": ErrorResponse,
        "description": "The model or the index is still loading, or the request ran out of its time budget.",
    },
}


def require_json(request: Request) -> None:
    """POST /ask takes JSON only: a form or a text body is a 415, not a confusing 422."""
    content_type = request.headers.get("content-type")
    if content_type is None:
        return  # FastAPI reads a body without a type as JSON
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        raise HTTPException(
            415,
            f"POST /ask takes a JSON body, not {media or 'an untyped body'}: send "
            'Content-Type: application/json and a body like {"question": "..."}.',
        )


def known_filters(filters: SearchFilters | None, svc: PolicyQAService) -> SearchFilters | None:
    """Document ids the index does not know are dropped, so no work is spent on them; when none
    is known, one stays, so that the filter still matches nothing (an empty list means "all")."""
    if filters is None or not filters.doc_ids:
        return filters
    known = svc.known_documents(filters.doc_ids)
    filters.doc_ids = known or filters.doc_ids[:1]
    return filters


@router.post(
    "/ask",
    response_model=AskResponse,
    dependencies=[Depends(require_json)],
    responses={
        **BODY_ERRORS,
        **QUESTION_ERRORS,
        415: {"model": ErrorResponse, "description": "The body is not JSON."},
    },
)
async def ask(
    request: Request,
    body: Annotated[AskRequest, Body(openapi_examples=ASK_EXAMPLES)],
    svc: Service,
    metrics: Metrics,
    settings: AppSettings,
) -> AskResponse:
    """Answer a question from the documents, with [n] markers pointing into `passages`."""

    def work() -> AskResponse:
        query = body.to_query()
        query.filters = known_filters(query.filters, svc)
        answer = svc.ask(query)
        return AskResponse.model_validate(answer, context=paths_context(settings))

    response = await run_bounded(request, settings.request_time_budget_s, work)
    metrics.answers.labels(str(response.answerable).lower()).inc()
    return response


@router.get("/search", response_model=SearchResponse, responses={**ERRORS, **QUESTION_ERRORS})
async def search(
    request: Request, params: Annotated[SearchParams, Query()], svc: Service, settings: AppSettings
) -> SearchResponse:
    """Ranked passages and footnotes for a query, optionally filtered."""

    def work() -> SearchResponse:
        filters = known_filters(
            SearchFilters(doc_ids=params.document, funds=params.fund, kinds=params.kind), svc
        )
        result = svc.search(params.q, mode=params.mode, top_k=params.top_k, filters=filters)
        return SearchResponse.model_validate(result, context=paths_context(settings))

    return await run_bounded(request, settings.request_time_budget_s, work)
