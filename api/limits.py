"""Request body limits, checked on the stream: an oversized upload is refused before it is read.

The ``Content-Length`` header is checked first; a body sent without one (chunked) is counted
as it arrives. Exceeding the limit raises an ``HTTPException(413)`` from ``receive``, which
FastAPI re-raises untouched from its body parsing, so the app's own exception handler writes
the JSON error, like every other error.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimit:
    """``limit_for(scope)`` gives the byte limit of a request (None: no limit)."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[Scope], int | None]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limit_for(scope) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        too_large = declared is not None and declared.isdigit() and int(declared) > limit
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            if too_large:
                raise HTTPException(413, "Content Too Large")
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, "Content Too Large")
            return message

        await self.app(scope, limited_receive, send)
