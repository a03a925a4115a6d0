"""Errors as JSON: every error has a message that says what to do, and user input never
causes a 500. The HTTP status of each QA-layer error is decided here, not where it is raised."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from api.bounded import ClientGone
from api.schemas import ErrorResponse
from core.errors import InvalidQuestion, NotFound, PolicyQAError, UnsupportedFileType
from qa.budget import BudgetExceeded
from qa.jobs import JobConflict, QueueFull
from qa.uploads import DocumentExists, DocumentTooLarge

log = logging.getLogger("api")

#: Any request body but an upload (a question is at most 2,000 characters).
MAX_JSON_BODY = 1024 * 1024

#: Status of each user-fixable error; the first class an error is an instance of wins.
STATUS: list[tuple[type[PolicyQAError], int]] = [
    (UnsupportedFileType, 415),
    (DocumentTooLarge, 413),  # more pages or passages than an upload may have
    (NotFound, 404),
    (DocumentExists, 409),  # the upload's id is taken and replace=true was not sent
    (JobConflict, 409),  # an upload of the same document is queued or running
    (QueueFull, 429),
    (BudgetExceeded, 503),  # the request's time budget ran out
    (InvalidQuestion, 422),
    (PolicyQAError, 422),  # other ingest errors: empty, corrupt, encrypted, scanned, encoding, name
]
#: Errors worth retrying later, and after how many seconds.
RETRY_AFTER: dict[type[PolicyQAError], str] = {QueueFull: "30", BudgetExceeded: "5"}


def status_of(exc: BaseException) -> int:
    """The HTTP status of an error (500 for anything that is not the user's to fix)."""
    return next((code for cls, code in STATUS if isinstance(exc, cls)), 500)


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


def _described(error: dict[str, Any]) -> tuple[str, str]:
    """(field, message) of one validation error, in words a client can act on."""
    loc = error.get("loc", ())
    message = str(error.get("msg", "invalid"))
    if error.get("type") == "json_invalid":
        # FastAPI puts the character position where a field name goes: ("body", 1)
        position = next((p for p in loc if isinstance(p, int)), None)
        reason = (error.get("ctx") or {}).get("error") or "not valid JSON"
        at = f" at character {position}" if position is not None else ""
        return "body", f"the body is not valid JSON{at}: {reason}"
    return _field(loc), message.removeprefix("Value error, ")


async def validation_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [_described(e) for e in exc.errors()]
    summary = "; ".join(f"{field}: {message}" for field, message in errors[:5])
    detail = [
        {"field": field, "message": message, "type": e.get("type", "")}
        for (field, message), e in zip(errors, exc.errors(), strict=True)
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


def user_error(exc: BaseException) -> tuple[int, str, dict[str, str] | None]:
    """Status, message and detail of a user-fixable error (also a failed job's error)."""
    detail = None if isinstance(exc, NotFound | InvalidQuestion) else {"type": type(exc).__name__}
    return status_of(exc), str(exc.args[0]) if exc.args else "Invalid request.", detail


async def user_error_handler(request: Request, exc: Exception) -> JSONResponse:
    status, message, detail = user_error(exc)
    retry = next((after for cls, after in RETRY_AFTER.items() if isinstance(exc, cls)), None)
    return error_response(status, message, detail, headers={"Retry-After": retry} if retry else None)


async def unexpected_handler(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        500, "Internal error: this is a bug in the service, not in your request. It has been logged."
    )


async def client_gone_handler(request: Request, exc: Exception) -> Response:
    """The client disconnected: nobody reads this (499, nginx's "client closed request")."""
    return Response(status_code=499)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ClientGone, client_gone_handler)
    app.add_exception_handler(RequestValidationError, validation_handler)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, http_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(PolicyQAError, user_error_handler)
    app.add_exception_handler(Exception, unexpected_handler)
