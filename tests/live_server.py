"""The real service in a uvicorn subprocess, for tests that talk to it over HTTP (or a browser).

Each server gets its own data dir (embedded Qdrant locks its folder) and a corpus made of the
chosen files of ``corpus/``; the provisioned model in ``data/models`` is shared.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import CORPUS, SHARED_MODELS, corpus_index

REPO = Path(__file__).resolve().parent.parent
#: Long enough for a first ingest of the whole corpus on a busy 2-core machine.
READY_TIMEOUT_S = 600


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _log_tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else "(no log)"


@contextmanager
def live_server(
    workdir: Path,
    corpus_files: Sequence[str] | None,
    env: dict[str, str] | None = None,
    ready_headers: dict[str, str] | None = None,
) -> Iterator[str]:
    """Run the API on a free 127.0.0.1 port until it is ready; yields its base URL.

    ``corpus_files`` are names under ``corpus/`` (``sources.json`` is copied too, for titles);
    None: the whole ``corpus/``, read where it is, with the session's prebuilt index
    (:func:`tests.conftest.corpus_index`) so the server starts without ingesting.
    ``ready_headers`` go with the readiness polls (an X-API-Key when reads need one).
    """
    if corpus_files is None:
        corpus = CORPUS
        corpus_index(workdir / "data")
    else:
        corpus = workdir / "corpus"
        corpus.mkdir(parents=True, exist_ok=True)
        for name in [*corpus_files, "sources.json"]:
            (corpus / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(CORPUS / name, corpus / name)
    port = free_port()
    full_env = {
        **os.environ,
        "POLICYQA_DATA_DIR": str(workdir / "data"),
        "POLICYQA_MODELS_DIR": str(SHARED_MODELS),
        "POLICYQA_CORPUS_DIR": str(corpus),
        "POLICYQA_PRIME_ANSWER_CACHE": "false",
        "HF_HUB_OFFLINE": "1",
        **(env or {}),
    }
    full_env.pop("QDRANT_URL", None)
    log_path = workdir / "server.log"
    base = f"http://127.0.0.1:{port}"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "api.main:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=REPO,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + READY_TIMEOUT_S
            while True:
                if proc.poll() is not None:
                    raise AssertionError(f"the server exited before being ready:\n{_log_tail(log_path)}")
                try:
                    if httpx.get(f"{base}/ready", headers=ready_headers, timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"the server was not ready after {READY_TIMEOUT_S} s:\n{_log_tail(log_path)}"
                    )
                time.sleep(0.5)
            yield base
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
