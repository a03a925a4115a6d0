"""The HTTP API's app factory: questions, search, funds and document management.

Served as a factory (``uvicorn api.main:create_app --factory``), so importing this module
loads nothing. Start-up loads the model and opens the store once, in the background, so that
``/health`` answers at once and ``/ready`` turns 200 when questions can be answered (after
the first ingest of ``corpus/`` on an empty index). Writes need an ``X-API-Key``; reads are
open unless ``POLICYQA_READ_REQUIRES_KEY`` is set (then every route but ``/health`` and the web
page's files needs one), checked before any body is read (``api/security.py``).

Middleware, outermost first: security headers, metrics, key guard, body size limit.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from api import errors
from api.errors import MAX_JSON_BODY
from api.limits import BodySizeLimit
from api.metrics import ApiMetrics, MetricsMiddleware
from api.routers import documents, feedback, funds, operations, questions
from api.routers.documents import MULTIPART_SLACK
from api.security import KeyGuard, SecurityHeaders, install_docs, public_files
from core.settings import Settings, get_settings
from qa.service import PolicyQAService, get_service

STATIC_DIR = Path(__file__).resolve().parent / "static"

DESCRIPTION = """\
Recherche et questions-réponses sur des textes de politique européenne rédigés en français,
interrogeables en français ou dans une autre langue de l’UE, avec citations exactes
(document, section, page, notes de bas de page et leurs liens).

* `POST /ask` : une réponse extractive (phrases des documents, marqueurs [n] renvoyant aux
  passages cités), ou `answerable: false` avec un message quand les documents ne répondent pas.
* `GET /search` : les passages classés (modes `bm25`, `dense`, `hybrid`).
* `GET /funds`, `GET /funds/{fund}` : les fonds européens cités et où ils le sont.
* `GET/POST/DELETE /documents` : les documents indexés ; l’ajout et la suppression demandent
  une clé (`X-API-Key`). Un ajout répond `202` avec une tâche à suivre (`GET /jobs/{id}`).
* `POST /feedback` : noter une réponse (👍 `up` / 👎 `down`, commentaire facultatif) ;
  `GET /feedback` (avec une clé) liste les avis, candidats au jeu de questions d’évaluation.
"""


def _reads_open_in_schema(app: FastAPI) -> None:
    """Reads are open: the key header stays documented but optional on them (not on /jobs, the
    status of uploads, nor on GET /feedback, users' ratings, which need a key)."""
    base_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        schema = base_openapi()
        for path, path_item in schema.get("paths", {}).items():
            for method, operation in path_item.items():
                is_read = (
                    (method in ("get", "head") and not path.startswith(("/jobs", "/feedback")))
                    or operation.get("operationId", "").startswith("ask")
                    or (method == "post" and path == "/feedback")  # rating an answer: as /ask
                )
                if is_read and operation.get("security") and {} not in operation["security"]:
                    operation["security"].append({})
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None, service: PolicyQAService | None = None) -> FastAPI:
    """A new app; ``settings`` default to the environment's, ``service`` to the process one."""
    settings = settings or get_settings()
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
        docs_url=None,  # Swagger UI from the fastapi-offline package below, not from a CDN
        redoc_url=None,  # ReDoc only comes from a CDN
    )
    metrics = ApiMetrics()
    app.state.settings = settings
    app.state.service = svc
    app.state.metrics = metrics

    def body_limit(scope: Scope) -> int | None:
        if scope.get("method") == "POST" and scope.get("path", "").rstrip("/") == "/documents":
            return settings.max_upload_bytes + MULTIPART_SLACK
        return MAX_JSON_BODY

    # added innermost first
    app.add_middleware(BodySizeLimit, limit_for=body_limit)
    app.add_middleware(KeyGuard, settings=settings, public_files=public_files(STATIC_DIR))
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(SecurityHeaders)
    errors.install(app)
    routers = (operations.router, questions.router, funds.router, documents.router, feedback.router)
    for router in routers:
        app.include_router(router)
    # the routes' methods, for 405 answers (included routers are not flattened into app.routes)
    app.state.api_routes = [r for router in routers for r in router.routes if isinstance(r, APIRoute)]
    install_docs(app, "policy-qa")
    if STATIC_DIR.is_dir():
        app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="static")
    if not settings.read_requires_key:
        _reads_open_in_schema(app)
    return app
