"""Fixtures of the API tests: one service per session (the corpus ingested once into the
session's data dir), apps over it with other settings, and helpers for upload jobs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.main import create_app
from core.settings import Settings
from qa.service import PolicyQAService

KEY = "test-key-123"
AUTH = {"X-API-Key": KEY}
#: A job of a small file ends in seconds; this only bounds a broken worker.
JOB_TIMEOUT_S = 300.0


def wait_ready(client: Any, timeout: float = 900.0, headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get("/ready", headers=headers).status_code == 200:
            return
        time.sleep(0.5)
    raise AssertionError(f"service not ready: {client.get('/ready', headers=headers).json()}")


def wait_job(client: Any, status_url: str, headers: dict[str, str], timeout: float = JOB_TIMEOUT_S) -> dict:
    """Poll a job until it is done or failed (bounded); returns its last status."""
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(status_url, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        if body["status"] in ("done", "failed"):
            return body
        assert time.monotonic() < deadline, f"job still {body['status']} after {timeout} s: {body}"
        time.sleep(0.05)


def upload(
    client: Any,
    name: str,
    data: bytes,
    replace: bool | None = None,
    headers: dict[str, str] | None = None,
    content_type: str = "application/octet-stream",
) -> tuple[int, dict]:
    """POST /documents and, when accepted, wait for its job.

    Returns (200, the job's result) when the job is done, (the error's status, the error body)
    when the upload or its job failed."""
    headers = AUTH if headers is None else headers
    form = {"replace": "true" if replace else "false"} if replace is not None else None
    r = client.post("/documents", files={"file": (name, data, content_type)}, data=form, headers=headers)
    if r.status_code != 202:
        return r.status_code, r.json()
    accepted = r.json()
    assert accepted["status_url"] == f"/jobs/{accepted['job_id']}" == r.headers["location"]
    job = wait_job(client, accepted["status_url"], headers)
    assert job["doc_id"] == accepted["doc_id"]
    if job["status"] == "failed":
        return job["error"]["status"], job["error"]
    return 200, job["result"]


@pytest.fixture(scope="session")
def service(settings: Settings) -> PolicyQAService:
    return PolicyQAService(settings)


def app_client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        wait_ready(client)
        yield client


@pytest.fixture(scope="session")
def api_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"api_keys": [KEY]})


@pytest.fixture(scope="session")
def client(api_settings: Settings, service: PolicyQAService) -> Iterator[TestClient]:
    yield from app_client(create_app(api_settings, service))


@pytest.fixture()
def doc_ids(client: TestClient):
    def ids() -> set[str]:
        return {d["doc_id"] for d in client.get("/documents").json()["documents"]}

    return ids
