"""Errors as JSON: every error has a message that says what to do, and user input never
causes a 500. The HTTP status of each QA-layer error is decided here, not where it is raised."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from api.schemas import ErrorResponse
from core.errors import InvalidQuestion, NotFound, PolicyQAError, UnsupportedFileType

log = logging.getLogger("api")

#: Any request body but an upload (a question is at most 2,000 characters).
MAX_JSON_BODY = 1024 * 1024

#: Status of each user-fixable error; the first class an error is an instance of wins.
STATUS: list[tuple[type[PolicyQAError], int]] = [
    (UnsupportedFileType, 415),
    (NotFound, 404),
    (InvalidQuestion, 422),
    (PolicyQAError, 422),  # other ingest errors: empty, corrupt, encrypted, scanned, encoding
]

#: OpenAPI ``responses`` of a route.
Responses = dict[int | str, dict[str, Any]]

ERRORS: Responses = {
    401: {"model": ErrorResponse, "description": "Missing or wrong X-API-Key."},
    403: {"model": ErrorResponse, "description": "No API key is configured, so writes are refused."},
    422: {"model": ErrorResponse, "description": "Invalid input (the message says which field and why)."},
    503: {"model": ErrorResponse, "description": "The model or the index is still loading."},
}
#: Routes with a request body: a body that cannot be parsed at all (not JSON, not UTF-8, a
#: broken multipart) is refused before validation.
BODY_ERRORS: Responses = {
    **ERRORS,
    400: {
        "model": ErrorResponse,
        "description": "The body could not be parsed (send JSON, or multipart for uploads).",
    },
}


def error_response(
    status: int,
    message: str,
    detail: str | list[Any] | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(error=message, detail=detail).model_dump(mode="json")
    return JSONResponse(body, status_code=status, headers=headers)


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB" if n >= 1024 * 1024 else f"{n} bytes"


def _field(loc: tuple | list) -> str:  # type: ignore[type-arg]
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
            for route in request.app.state.api_routes
            if route.path_regex.match(request.url.path)
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


async def user_error_handler(request: Request, exc: Exception) -> JSONResponse:
    status = next(code for cls, code in STATUS if isinstance(exc, cls))
    detail = None if isinstance(exc, NotFound | InvalidQuestion) else {"type": type(exc).__name__}
    return error_response(status, str(exc.args[0]) if exc.args else "Invalid request.", detail)


async def unexpected_handler(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        500, "Internal error: this is a bug in the service, not in your request. It has been logged."
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_handler)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, http_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(PolicyQAError, user_error_handler)
    app.add_exception_handler(Exception, unexpected_handler)
