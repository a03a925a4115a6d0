"""Dependencies of the routes: the settings, the API key checks, the ready service."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader
from starlette.exceptions import HTTPException

from api.metrics import ApiMetrics
from core.settings import Settings
from qa.service import PolicyQAService

#: What clients are told when start-up failed; the exception is in the server log only.
STARTUP_FAILED = "start-up failed, see the server log"

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="A key of POLICYQA_API_KEYS.")


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def paths_context(settings: Settings) -> dict[str, Path]:
    """Validation context of responses that hold source paths (made relative to these folders)."""
    return {"corpus_dir": Path(settings.corpus_dir), "uploads_dir": settings.uploads_dir}


def get_metrics(request: Request) -> ApiMetrics:
    metrics: ApiMetrics = request.app.state.metrics
    return metrics


def key_problem(settings: Settings, key: str | None, action: str) -> HTTPException | None:
    """Why ``key`` may not do ``action`` (403: no key configured, 401: missing or wrong), or None.

    Also called by :class:`api.security.KeyGuard` before a request's body is read."""
    if not settings.api_keys:
        return HTTPException(
            403,
            f"{action} is disabled because no API key is configured. Set POLICYQA_API_KEYS "
            "(a JSON list or comma-separated keys) and send one in the X-API-Key header.",
        )
    if not key or not any(secrets.compare_digest(key.encode(), k.encode()) for k in settings.api_keys):
        return HTTPException(
            401,
            "Missing or wrong API key: send a key of POLICYQA_API_KEYS in the X-API-Key header.",
            headers={"WWW-Authenticate": "APIKey"},
        )
    return None


def _check_key(settings: Settings, key: str | None, action: str) -> None:
    problem = key_problem(settings, key, action)
    if problem is not None:
        raise problem


def require_write_key(request: Request, key: Annotated[str | None, Depends(api_key_header)]) -> None:
    _check_key(get_app_settings(request), key, "Changing the index")


def require_read_key(request: Request, key: Annotated[str | None, Depends(api_key_header)]) -> None:
    settings = get_app_settings(request)
    if settings.read_requires_key:
        _check_key(settings, key, "Reading")


def ready_service(request: Request) -> PolicyQAService:
    service: PolicyQAService = request.app.state.service
    if not service.ready:
        if service.load_error:  # the exception itself is for the log, not for clients
            raise HTTPException(503, f"The service is unavailable: {STARTUP_FAILED}.")
        raise HTTPException(
            503,
            "The service is starting (loading the model and the index); retry in a few seconds.",
            headers={"Retry-After": "5"},
        )
    return service


Service = Annotated[PolicyQAService, Depends(ready_service)]
AppSettings = Annotated[Settings, Depends(get_app_settings)]
Metrics = Annotated[ApiMetrics, Depends(get_metrics)]
READS = [Depends(require_read_key)]
WRITES = [Depends(require_write_key)]
