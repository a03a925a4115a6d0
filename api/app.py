"""The HTTP API: questions, search, funds and document management over the indexed corpus.

Start-up loads the model and opens the store once, in the background, so that ``/health``
answers at once and ``/ready`` turns 200 when questions can be answered (after the first
ingest of ``corpus/`` on an empty index). Writes need an ``X-API-Key``; reads are open
unless ``POLICYQA_READ_REQUIRES_KEY`` is set. Every error is JSON with a message saying
what to do; user input never causes a 500.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Body, Depends, FastAPI, File, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from api.limits import BodySizeLimit
from api.metrics import ApiMetrics, MetricsMiddleware
from api.models import (
    AskRequest,
    AskResponse,
    DeleteResult,
    DocumentDetail,
    DocumentList,
    ErrorResponse,
    Filters,
    FundDetail,
    FundList,
    HealthResponse,
    Question,
    ReadyResponse,
    SearchResponse,
    UploadResult,
)
from api.service import NotFound, PolicyQAService, QuestionTooLong, get_service
from index.settings import Settings, get_settings
from index.types import Mode
from ingest.errors import IngestError

log = logging.getLogger("api")

STATIC_DIR = Path(__file__).resolve().parent / "static"
#: Room for the multipart envelope around an upload of the maximum size.
MULTIPART_SLACK = 64 * 1024
UPLOAD_CHUNK = 1024 * 1024
#: Any other request body (a question is at most 2,000 characters).
MAX_JSON_BODY = 1024 * 1024

DESCRIPTION = """\
Recherche et questions-réponses sur des textes de politique européenne rédigés en français,
interrogeables en français ou dans une autre langue de l’UE, avec citations exactes
(document, section, page, notes de bas de page et leurs liens).

* `POST /ask` : une réponse extractive (phrases des documents, marqueurs [n] renvoyant aux
  passages cités), ou `answerable: false` avec un message quand les documents ne répondent pas.
* `GET /search` : les passages classés (modes `bm25`, `dense`, `hybrid`).
* `GET /funds`, `GET /funds/{fund}` : les fonds européens cités et où ils le sont.
* `GET/POST/DELETE /documents` : les documents indexés ; l’ajout et la suppression demandent
  une clé (`X-API-Key`).
"""

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

ERRORS = {
    401: {"model": ErrorResponse, "description": "Missing or wrong X-API-Key."},
    403: {"model": ErrorResponse, "description": "No API key is configured, so writes are refused."},
    422: {"model": ErrorResponse, "description": "Invalid input (the message says which field and why)."},
    503: {"model": ErrorResponse, "description": "The model or the index is still loading."},
}
#: Routes with a request body: a body that cannot be parsed at all (not JSON, not UTF-8, a
#: broken multipart) is refused before validation.
BODY_ERRORS = {
    **ERRORS,
    400: {
        "model": ErrorResponse,
        "description": "The body could not be parsed (send JSON, or multipart for uploads).",
    },
}


# --------------------------------------------------------------------------- errors


def error_response(
    status: int, message: str, detail: object = None, headers: dict | None = None
) -> JSONResponse:
    body = ErrorResponse(error=message, detail=detail).model_dump(mode="json")
    return JSONResponse(body, status_code=status, headers=headers)


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB" if n >= 1024 * 1024 else f"{n} bytes"


def _field(loc: tuple | list) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


async def validation_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    summary = "; ".join(f"{_field(e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in errors[:5])
    detail = [
        {"field": _field(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type", "")}
        for e in errors
    ]
    return error_response(422, f"Invalid request: {summary}", detail)


async def http_error_handler(request: Request, exc: HTTPException) -> JSONResponse:
    message = str(exc.detail)
    headers = getattr(exc, "headers", None)
    status = exc.status_code
    allowed = sorted(
        {
            m
            for route in request.app.routes
            if isinstance(route, APIRoute) and route.path_regex.match(request.url.path)
            for m in route.methods
        }
    )
    if status == 404 and allowed and request.method not in allowed:
        status = 405  # the static mount at / answered for an API path with another method
    if exc.status_code == 413:
        limit = request.app.state.settings.max_upload_bytes
        if request.url.path.rstrip("/") == "/documents":
            message = f"The upload is too large: the limit is {_size(limit)}. Split the document or compress the PDF."
        else:
            message = f"The request body is too large (limit {MAX_JSON_BODY // 1024} KB)."
    elif status == 404 and message == "Not Found":
        message = f"No such endpoint: {request.method} {request.url.path}. See /docs for the API."
    elif status == 405:
        message = f"{request.method} is not allowed on {request.url.path}. See /docs for the API."
        # Starlette names only the first matching route's methods (or the static mount's)
        if allowed:
            headers = {**(headers or {}), "Allow": ", ".join(allowed)}
    return error_response(status, message, headers=headers)


async def ingest_error_handler(request: Request, exc: IngestError) -> JSONResponse:
    return error_response(getattr(exc, "status_code", 422), str(exc), {"type": type(exc).__name__})


async def not_found_handler(request: Request, exc: NotFound) -> JSONResponse:
    return error_response(404, str(exc.args[0]) if exc.args else "Not found.")


async def too_long_handler(request: Request, exc: QuestionTooLong) -> JSONResponse:
    return error_response(422, str(exc))


async def unexpected_handler(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        500, "Internal error: this is a bug in the service, not in your request. It has been logged."
    )


# --------------------------------------------------------------------------- dependencies

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="A key of POLICYQA_API_KEYS.")


def _check_key(settings: Settings, key: str | None, action: str) -> None:
    if not settings.api_keys:
        raise HTTPException(
            403,
            f"{action} is disabled because no API key is configured. Set POLICYQA_API_KEYS "
            "(a JSON list or comma-separated keys) and send one in the X-API-Key header.",
        )
    if not key or not any(secrets.compare_digest(key.encode(), k.encode()) for k in settings.api_keys):
        raise HTTPException(
            401,
            "Missing or wrong API key: send a key of POLICYQA_API_KEYS in the X-API-Key header.",
            headers={"WWW-Authenticate": "APIKey"},
        )


def require_write_key(request: Request, key: Annotated[str | None, Depends(api_key_header)]) -> None:
    _check_key(request.app.state.settings, key, "Changing the index")


def require_read_key(request: Request, key: Annotated[str | None, Depends(api_key_header)]) -> None:
    settings: Settings = request.app.state.settings
    if settings.read_requires_key:
        _check_key(settings, key, "Reading")


def ready_service(request: Request) -> PolicyQAService:
    service: PolicyQAService = request.app.state.service
    if not service.ready:
        if service.load_error:
            raise HTTPException(
                503, f"The service failed to start: {service.load_error}. See the server log."
            )
        raise HTTPException(
            503,
            "The service is starting (loading the model and the index); retry in a few seconds.",
            headers={"Retry-After": "5"},
        )
    return service


Service = Annotated[PolicyQAService, Depends(ready_service)]


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


# --------------------------------------------------------------------------- app


def create_app(settings: Settings | None = None, service: PolicyQAService | None = None) -> FastAPI:
    """A new app; ``settings`` default to the environment's, ``service`` to the process one."""
    settings = settings or get_settings()
    metrics = ApiMetrics()

    svc = service or get_service()  # cheap: nothing is loaded before the lifespan starts

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # loading takes seconds to minutes (first ingest): do it aside so /health answers now
        loader = threading.Thread(target=svc.start, name="policyqa-start", daemon=True)
        loader.start()
        app.state.loader = loader
        yield
        loader.join(timeout=1.0)

    app = FastAPI(
        title="policy-qa",
        version="0.1.0",
        summary="Questions-réponses sur des textes de politique européenne, avec citations exactes.",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service = svc
    app.state.metrics = metrics

    def body_limit(scope: dict) -> int | None:
        if scope.get("method") == "POST" and scope.get("path", "").rstrip("/") == "/documents":
            return settings.max_upload_bytes + MULTIPART_SLACK
        return MAX_JSON_BODY

    app.add_middleware(BodySizeLimit, limit_for=body_limit)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_exception_handler(RequestValidationError, validation_handler)
    app.add_exception_handler(HTTPException, http_error_handler)
    app.add_exception_handler(IngestError, ingest_error_handler)
    app.add_exception_handler(NotFound, not_found_handler)
    app.add_exception_handler(QuestionTooLong, too_long_handler)
    app.add_exception_handler(Exception, unexpected_handler)

    reads = [Depends(require_read_key)]

    @app.get("/health", response_model=HealthResponse, tags=["operations"])
    def health() -> HealthResponse:
        """The process is up (it may still be loading: see /ready)."""
        return HealthResponse()

    @app.get(
        "/ready",
        response_model=ReadyResponse,
        tags=["operations"],
        responses={503: {"model": ReadyResponse, "description": "Still loading, or start-up failed."}},
    )
    def ready() -> JSONResponse:
        """200 when the model and the store are loaded and questions can be answered; 503 before."""
        body = ReadyResponse(ready=False, model=settings.embedding_model)
        if svc.ready:
            body.ready = True
            body.documents = svc.document_count()
            body.answer_cache = svc.answer_cache
            return JSONResponse(body.model_dump(), status_code=200)
        body.detail = svc.load_error or "loading the model and the index"
        return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "5"})

    @app.get("/metrics", tags=["operations"], response_class=Response)
    def prometheus_metrics() -> Response:
        """Prometheus text format: requests by route and status, latencies, errors."""
        data, content_type = metrics.render()
        return Response(data, media_type=content_type)

    @app.post(
        "/ask", response_model=AskResponse, tags=["questions"], dependencies=reads, responses=BODY_ERRORS
    )
    def ask(body: Annotated[AskRequest, Body(openapi_examples=ASK_EXAMPLES)], svc: Service) -> AskResponse:
        """Answer a question from the documents, with [n] markers pointing into `passages`."""
        response = svc.ask(body)
        metrics.answers.labels(str(response.answerable).lower()).inc()
        return response

    @app.get(
        "/search", response_model=SearchResponse, tags=["questions"], dependencies=reads, responses=ERRORS
    )
    def search(params: Annotated[SearchParams, Query()], svc: Service) -> SearchResponse:
        """Ranked passages and footnotes for a query, optionally filtered."""
        filters = Filters(documents=params.document, funds=params.fund, kinds=params.kind)
        return svc.search(params.q, mode=params.mode, top_k=params.top_k, filters=filters)

    @app.get("/funds", response_model=FundList, tags=["funds"], dependencies=reads, responses=ERRORS)
    def funds(svc: Service) -> FundList:
        """The EU funds the registry knows, each with how many passages and footnotes mention it."""
        return FundList(funds=svc.funds())

    @app.get(
        "/funds/{fund}",
        response_model=FundDetail,
        tags=["funds"],
        dependencies=reads,
        responses={**ERRORS, 404: {"model": ErrorResponse, "description": "No such fund."}},
    )
    def fund(fund: str, svc: Service) -> FundDetail:
        """A fund by id or any of its names (`FSE+`, `ESF+`, `fonds social européen plus`...)."""
        return svc.fund(fund)

    @app.get(
        "/documents", response_model=DocumentList, tags=["documents"], dependencies=reads, responses=ERRORS
    )
    def documents(svc: Service) -> DocumentList:
        """The indexed documents."""
        return DocumentList(documents=svc.documents())

    @app.get(
        "/documents/{doc_id}",
        response_model=DocumentDetail,
        tags=["documents"],
        dependencies=reads,
        responses={**ERRORS, 404: {"model": ErrorResponse, "description": "No such document."}},
    )
    def document(doc_id: str, svc: Service) -> DocumentDetail:
        """A document's record and all its passages (body first, then footnotes)."""
        return svc.document(doc_id)

    @app.post(
        "/documents",
        response_model=UploadResult,
        status_code=201,
        tags=["documents"],
        dependencies=[Depends(require_write_key)],
        responses={
            **BODY_ERRORS,
            413: {"model": ErrorResponse, "description": "The file is larger than the upload limit."},
            415: {"model": ErrorResponse, "description": "Not a .txt or .pdf file."},
            422: {"model": ErrorResponse, "description": "Empty, corrupt, encrypted or unreadable file."},
        },
    )
    async def upload(
        request: Request,
        file: Annotated[UploadFile, File(description="A .txt (UTF-8 or detectable encoding) or .pdf file.")],
    ) -> UploadResult:
        """Add or update a document; ingested before the response (status added/updated/unchanged)."""
        svc = ready_service(request)
        limit = settings.max_upload_bytes
        if file.size is not None and file.size > limit:
            raise HTTPException(413, "too large")
        data = bytearray()
        while chunk := await file.read(UPLOAD_CHUNK):  # the body was capped already; count anyway
            data += chunk
            if len(data) > limit:
                raise HTTPException(413, "too large")
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(svc.ingest_upload, file.filename, bytes(data))

    @app.delete(
        "/documents/{doc_id}",
        response_model=DeleteResult,
        tags=["documents"],
        dependencies=[Depends(require_write_key)],
        responses={**ERRORS, 404: {"model": ErrorResponse, "description": "No such document."}},
    )
    def delete_document(doc_id: str, svc: Service) -> DeleteResult:
        """Remove a document and all its passages from the index."""
        return svc.delete_document(doc_id)

    if STATIC_DIR.is_dir():
        app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="static")

    if not settings.read_requires_key:
        # reads are open: the key header stays documented but optional on them
        base_openapi = app.openapi

        def openapi() -> dict:
            schema = base_openapi()
            for path_item in schema.get("paths", {}).values():
                for method, operation in path_item.items():
                    is_read = method in ("get", "head") or operation.get("operationId", "").startswith("ask")
                    if is_read and operation.get("security") and {} not in operation["security"]:
                        operation["security"].append({})
            return schema

        app.openapi = openapi  # type: ignore[method-assign]
    return app


app = create_app()
