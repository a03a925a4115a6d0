"""A stand-in for a remote OpenAI-compatible LLM endpoint (which cannot run here), on 127.0.0.1.

It answers every ``POST .../chat/completions`` with a fixed chat completion whose text cites
one passage that exists ([1]) and one that does not ([9]), and records the requests it got,
so tests can check both the prompt sent and the citation check applied to the reply.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPLY = "Le Forum européen sur la migration est une plateforme de dialogue [1]. Il se réunit chaque mois [9]."


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.server.requests.append({"path": self.path, "json": json.loads(body or b"{}")})
        if not self.path.endswith("/chat/completions"):
            self.send_error(404)
            return
        payload = {
            "id": "chatcmpl-standin",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.server.requests[-1]["json"].get("model", "standin"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": self.server.reply},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
        }
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass


class _Server(ThreadingHTTPServer):
    requests: list[dict]
    reply: str


@contextmanager
def llm_standin(reply: str = REPLY) -> Iterator[_Server]:
    """Serve on a free 127.0.0.1 port; ``server.url`` is the base URL to configure (``.../v1``)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.requests = []
    server.reply = reply
    server.url = f"http://127.0.0.1:{server.server_address[1]}/v1"  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
