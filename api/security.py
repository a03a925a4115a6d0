"""Who may call what, checked before a body is read; security headers on every response;
the API documentation (Swagger UI) served from a local package, never from a CDN.

* :class:`KeyGuard` answers 401/403 from the request line and headers alone: an anonymous
  25 MB upload is refused without one byte of its body being read. Writes (``POST /documents``,
  ``DELETE /documents/{id}``, ``GET /jobs/{id}``) always need a key; with
  ``POLICYQA_READ_REQUIRES_KEY=true`` every other route does too (``/metrics``, ``/ready``,
  ``/openapi.json``, ``/docs``...) except ``/health`` and the web page's own files, which have
  to load for the page to ask for a key.
* :class:`SecurityHeaders` adds a Content-Security-Policy (this origin only, no inline code),
  ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` and ``Referrer-Policy:
  no-referrer`` to every response, errors included.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import re
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import key_problem
from api.errors import error_response
from core.settings import Settings

Access = Literal["open", "read", "write"]

#: Only this origin; no inline script or style (the page and Swagger UI load theirs as files,
#: the one inline script of Swagger UI's page is allowed by its hash); images may be data:
#: URLs (the page's empty icon, Swagger UI's SVG icons in its CSS).
CSP = (
    "default-src 'self'; script-src 'self'{script_extra}; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
DOCS_ASSETS = "/docs-assets"


def content_security_policy(script_hashes: tuple[str, ...] = ()) -> str:
    return CSP.format(script_extra="".join(f" '{h}'" for h in script_hashes))


class SecurityHeaders:
    """Pure ASGI: adds the headers to every HTTP response (a route may set its own CSP)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.csp = content_security_policy()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = self.csp
                for name, value in HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def access_of(method: str, path: str, public_files: frozenset[str]) -> Access:
    """What a request needs: nothing (``/health``, the web page's files), a read key (when reads
    need one) or a write key."""
    path = "/" + path.strip("/") if path != "/" else path
    if path == "/health":
        return "open"
    if (method == "POST" and path == "/documents") or path.startswith("/jobs/") or path == "/jobs":
        return "write"
    if method in ("DELETE", "PUT", "PATCH") and path.startswith("/documents/"):
        return "write"
    if method in ("GET", "HEAD") and path in public_files:
        return "open"
    return "read"


class KeyGuard:
    """Pure ASGI: checks X-API-Key from the headers before the app (and its body parsing) runs.

    The routes' own key dependencies stay (they document the key in OpenAPI); past this guard
    they always pass.
    """

    def __init__(
        self, app: ASGIApp, settings: Settings, public_files: frozenset[str] = frozenset({"/"})
    ) -> None:
        self.app = app
        self.settings = settings
        self.public_files = public_files

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        access = access_of(scope.get("method", "GET"), scope.get("path", "/"), self.public_files)
        problem: HTTPException | None = None
        key = Headers(scope=scope).get("x-api-key")
        if access == "write":
            problem = key_problem(self.settings, key, "Changing the index")
        elif access == "read" and self.settings.read_requires_key:
            problem = key_problem(self.settings, key, "Reading")
        if problem is None:
            await self.app(scope, receive, send)
            return
        headers = dict(problem.headers) if problem.headers else None
        response = error_response(problem.status_code, str(problem.detail), headers=headers)
        await response(scope, receive, send)


def public_files(static_dir: Path) -> frozenset[str]:
    """The web page's files, served without a key: the page must load to ask for one."""
    if not static_dir.is_dir():
        return frozenset()
    return frozenset({"/"} | {f"/{p.name}" for p in static_dir.iterdir() if p.is_file()})


_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def _script_hashes(html: str) -> tuple[str, ...]:
    return tuple(
        "sha256-" + base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii")
        for body in _INLINE_SCRIPT.findall(html)
    )


def swagger_ui_dir() -> Path | None:
    """Swagger UI 5 as the fastapi-offline package ships it (swagger-ui-bundle's Swagger UI 4
    cannot read FastAPI's OpenAPI 3.1 schema). Only its files are used, not its app class."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - a dependency
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "static"
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


def install_docs(app: FastAPI, title: str) -> Callable[[], HTMLResponse]:
    """``/docs``: Swagger UI from the fastapi-offline package, served by this app (works
    offline); its inline start-up script is allowed by hash in this page's CSP only."""
    assets = swagger_ui_dir()
    if assets is not None:
        app.mount(DOCS_ASSETS, StaticFiles(directory=assets), name="docs-assets")

    def docs() -> HTMLResponse:
        if assets is None:
            return HTMLResponse(
                "Swagger UI is not installed: pip install fastapi-offline. The schema is at /openapi.json.",
                status_code=503,
            )
        page = get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{title} - API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            # no badge fetched from validator.swagger.io
            swagger_ui_parameters={"validatorUrl": None},
        )
        html = bytes(page.body).decode("utf-8")
        csp = content_security_policy(_script_hashes(html))
        return HTMLResponse(html, headers={"Content-Security-Policy": csp})

    app.add_api_route("/docs", docs, include_in_schema=False, methods=["GET"])
    return docs
