"""``POST /ask`` and ``GET /search``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field

from api.deps import READS, Metrics, Service
from api.errors import BODY_ERRORS, ERRORS
from api.schemas import AskRequest, AskResponse, Filters, Question, SearchResponse
from index.types import Mode

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
    document: list[str] | None = Field(default=None, description="Only these documents (repeatable).")
    fund: list[str] | None = Field(
        default=None, description="Only passages mentioning these funds (id or name)."
    )
    kind: list[Literal["passage", "footnote"]] | None = Field(
        default=None, description="passage or footnote."
    )


@router.post("/ask", response_model=AskResponse, responses=BODY_ERRORS)
def ask(
    body: Annotated[AskRequest, Body(openapi_examples=ASK_EXAMPLES)], svc: Service, metrics: Metrics
) -> AskResponse:
    """Answer a question from the documents, with [n] markers pointing into `passages`."""
    answer = svc.ask(body.to_query())
    metrics.answers.labels(str(answer.answerable).lower()).inc()
    return AskResponse.model_validate(answer)


@router.get("/search", response_model=SearchResponse, responses=ERRORS)
def search(params: Annotated[SearchParams, Query()], svc: Service) -> SearchResponse:
    """Ranked passages and footnotes for a query, optionally filtered."""
    filters = Filters(documents=params.document, funds=params.fund, kinds=params.kind).to_search_filters()
    result = svc.search(params.q, mode=params.mode, top_k=params.top_k, filters=filters)
    return SearchResponse.model_validate(result)
