"""``/health``, ``/ready``, ``/metrics``: what operators and orchestrators poll."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from api.deps import STARTUP_FAILED, AppSettings, Metrics
from api.schemas import HealthResponse, ReadyResponse
from qa.service import PolicyQAService

router = APIRouter(tags=["operations"])


@router.get("/health", response_model=HealthResponse)
def health() -> HealthResponse:
    """The process is up (it may still be loading: see /ready)."""
    return HealthResponse()


@router.get(
    "/ready",
    response_model=ReadyResponse,
    responses={503: {"model": ReadyResponse, "description": "Still loading, or start-up failed."}},
)
def ready(request: Request, settings: AppSettings) -> JSONResponse:
    """200 when the model and the store are loaded and questions can be answered; 503 before."""
    svc: PolicyQAService = request.app.state.service
    body = ReadyResponse(ready=False, model=settings.embedding_model)
    if svc.ready:
        body.ready = True
        body.documents = svc.document_count()
        body.answer_cache = svc.answer_cache
        return JSONResponse(body.model_dump(), status_code=200)
    body.detail = STARTUP_FAILED if svc.load_error else "loading the model and the index"
    return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "5"})


@router.get("/metrics", response_class=Response)
def prometheus_metrics(metrics: Metrics) -> Response:
    """Prometheus text format: requests by route and status, latencies, errors."""
    data, content_type = metrics.render()
    return Response(data, media_type=content_type)
