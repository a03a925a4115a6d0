"""Keys before bodies, keys on every read when asked, security headers, the documentation
served offline (issue "Nothing lost, nothing blocked", items 5 and 6). No model: the service
is never started, so a request that passes the key check gets "starting" (503), one that does
not gets 401/403.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import STATIC_DIR, create_app
from api.security import access_of, public_files
from core.settings import Settings
from qa.service import PolicyQAService
from qa.uploads import public_source_path, slug, upload_doc_id, upload_suffix
from tests.api.conftest import AUTH, KEY

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def make_app(tmp_path: Path, **settings: object):
    s = Settings(data_dir=tmp_path / "data", api_keys=[KEY], **settings)  # type: ignore[arg-type]
    return create_app(s, PolicyQAService(s))


@pytest.fixture()
def open_api(tmp_path: Path) -> TestClient:
    return TestClient(make_app(tmp_path))


@pytest.fixture()
def closed_api(tmp_path: Path) -> TestClient:
    return TestClient(make_app(tmp_path, read_requires_key=True))


# --------------------------------------------------------------------------- the key, first


async def _call(app, method: str, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[list[dict], int]:
    """One request straight through ASGI; counts how often the app asked for the body."""
    sent: list[dict] = []
    reads = 0

    async def receive() -> dict:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    return sent, reads


def test_an_anonymous_25_mb_upload_gets_401_without_its_body_being_read(tmp_path: Path):
    app = make_app(tmp_path)
    size = str(25 * 1024 * 1024).encode()
    headers = [(b"content-type", b"multipart/form-data; boundary=XyZ"), (b"content-length", size)]
    sent, reads = asyncio.run(_call(app, "POST", "/documents", headers))
    assert sent[0]["status"] == 401 and reads == 0
    # a wrong key too; and with reads closed, a question
    sent, reads = asyncio.run(_call(app, "POST", "/documents", [*headers, (b"x-api-key", b"wrong")]))
    assert sent[0]["status"] == 401 and reads == 0
    closed = make_app(tmp_path, read_requires_key=True)
    sent, reads = asyncio.run(_call(closed, "POST", "/ask", [(b"content-type", b"application/json")]))
    assert sent[0]["status"] == 401 and reads == 0


def test_with_no_key_configured_writes_are_403_before_the_body(tmp_path: Path):
    s = Settings(data_dir=tmp_path / "data", api_keys=[])
    app = create_app(s, PolicyQAService(s))
    sent, reads = asyncio.run(_call(app, "DELETE", "/documents/x", [(b"x-api-key", KEY.encode())]))
    assert sent[0]["status"] == 403 and reads == 0


def test_read_key_covers_every_route_but_health_and_the_page(closed_api: TestClient):
    assert closed_api.get("/health").status_code == 200
    for path in ("/", "/index.html", "/app.js", "/style.css"):
        assert closed_api.get(path).status_code == 200, path
    for method, path in [
        ("GET", "/ready"),
        ("GET", "/metrics"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/docs-assets/swagger-ui-bundle.js"),
        ("GET", "/documents"),
        ("GET", "/documents/x"),
        ("GET", "/funds"),
        ("GET", "/search?q=FEM"),
        ("POST", "/ask"),
        ("GET", "/nowhere"),
    ]:
        r = closed_api.request(method, path)
        assert r.status_code == 401, (method, path, r.status_code)
        assert "X-API-Key" in r.json()["error"] and r.headers["www-authenticate"] == "APIKey"
        assert closed_api.request(method, path, headers=AUTH).status_code != 401, (method, path)
    assert closed_api.get("/metrics", headers=AUTH).status_code == 200
    assert closed_api.get("/openapi.json", headers=AUTH).status_code == 200
    assert closed_api.get("/docs", headers=AUTH).status_code == 200
    assert closed_api.get("/ready", headers=AUTH).status_code == 503  # passed the key; still starting


def test_reads_stay_open_by_default_and_writes_need_a_key(open_api: TestClient):
    for path in ("/ready", "/metrics", "/openapi.json", "/docs", "/"):
        assert open_api.get(path).status_code in (200, 503), path
    assert open_api.get("/jobs/abc").status_code == 401  # a write's status: the write key
    assert open_api.delete("/documents/x").status_code == 401
    assert open_api.delete("/documents/x", headers=AUTH).status_code == 503  # past the key


def test_route_access_classes():
    files = public_files(STATIC_DIR)
    assert {"/", "/index.html", "/app.js", "/style.css"} <= files
    assert access_of("GET", "/health", files) == "open"
    assert access_of("GET", "/app.js", files) == "open"
    assert access_of("POST", "/app.js", files) == "read"
    assert access_of("POST", "/documents", files) == "write"
    assert access_of("POST", "/documents/", files) == "write"
    assert access_of("DELETE", "/documents/x", files) == "write"
    assert access_of("GET", "/jobs/x", files) == "write"
    assert access_of("GET", "/documents/x", files) == "read"
    assert access_of("POST", "/ask", files) == "read"


# --------------------------------------------------------------------------- headers


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/health", {}),
        ("GET", "/", {}),
        ("GET", "/app.js", {}),
        ("GET", "/docs", {}),
        ("GET", "/openapi.json", {}),
        ("GET", "/ready", {}),  # 503 while starting
        ("GET", "/nowhere", {}),  # 404
        ("DELETE", "/documents/x", {}),  # 401 from the key guard
        ("POST", "/ask", {"content-type": "text/plain"}),  # 415
    ],
)
def test_security_headers_on_every_response(open_api: TestClient, method: str, path: str, headers: dict):
    r = open_api.request(method, path, headers=headers)
    for name, value in SECURITY_HEADERS.items():
        assert r.headers[name] == value, (path, name)
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "script-src 'self'" in csp and "style-src 'self'" in csp


def test_the_web_page_keeps_working_under_the_policy():
    """No inline script, style or handler for the CSP to block; the page's code builds the DOM
    with text nodes and never sets a style attribute."""
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"
    for link in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert not link.startswith(("http:", "https:", "//")), f"not this origin: {link}"
    js = (STATIC_DIR / "app.js").read_text(encoding="utf-8")
    assert "innerHTML" not in js.replace("never innerHTML", "") and "eval(" not in js
    assert 'setAttribute("style"' not in js and "new Function" not in js


def test_the_web_page_can_send_a_key():
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    assert 'id="key-form"' in html and 'id="api-key"' in html and 'type="password"' in html
    assert re.search(r'<form id="key-form"[^>]*\bhidden\b', html), "shown only when the API answers 401"
    js = (STATIC_DIR / "app.js").read_text(encoding="utf-8")
    assert "sessionStorage" in js and 'headers["X-API-Key"]' in js
    assert "response.status === 401" in js and "showKeyForm" in js


def test_docs_are_served_offline_with_a_policy_for_their_one_inline_script(open_api: TestClient):
    r = open_api.get("/docs")
    assert r.status_code == 200
    html = r.text
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls and all(u.startswith("/docs-assets/") for u in urls), urls
    assert "http" not in html.replace("http-equiv", ""), "nothing from the internet"
    for url in urls:
        asset = open_api.get(url)
        assert asset.status_code == 200 and len(asset.content) > 100, url
    assert "swagger-ui-bundle.js" in " ".join(urls) and "swagger-ui.css" in " ".join(urls)
    inline = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(inline) == 1 and "validatorUrl" in inline[0]
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in r.headers["content-security-policy"]
    assert open_api.get("/redoc").status_code in (404, 405)  # ReDoc only comes from a CDN: off


# --------------------------------------------------------------------------- uploads: names and paths


def test_upload_ids_have_their_own_space():
    assert upload_doc_id("Note Lumeville.txt") == "upload-note-lumeville"
    assert upload_doc_id("note-lumeville.pdf") == upload_doc_id("NOTE_lumeville.md")  # collide: 409
    assert upload_doc_id("Égalité & intégration (2024).pdf") == "upload-egalite-integration-2024"
    cyrillic = upload_doc_id("отчёт.pdf")
    assert re.fullmatch(r"upload-[0-9a-f]{12}", cyrillic)
    assert slug("x" * 200) == "x" * 80


def test_a_pdf_sent_as_text_is_read_as_a_pdf():
    from tests.api.pdfs import text_pdf

    pdf = text_pdf(["Bonjour"])
    assert upload_suffix("note.txt", pdf) == ".pdf"
    assert upload_suffix("note.md", b"\xef\xbb\xbf" + pdf) == ".pdf"
    assert upload_suffix("note.txt", b"Bonjour, %PDF-1.4 est un format.") == ".txt"


def test_public_source_paths(tmp_path: Path):
    corpus, uploads = tmp_path / "corpus", tmp_path / "data" / "uploads"
    assert public_source_path(str(corpus / "pdf" / "a.pdf"), corpus, uploads) == "pdf/a.pdf"
    assert public_source_path(str(uploads / "upload-a.txt"), corpus, uploads) == "uploads/upload-a.txt"
    assert public_source_path("uploads/upload-a.txt", corpus, uploads) == "uploads/upload-a.txt"
    assert public_source_path("/srv/secret/b.txt", corpus, uploads) == "b.txt"
    assert public_source_path("/srv/beir/corpus.jsonl#d7", corpus, uploads) == "corpus.jsonl#d7"
    assert public_source_path("../../etc/passwd", corpus, uploads) == "passwd"
    assert public_source_path("", corpus, uploads) == ""
