"""The API fuzzed from its own OpenAPI schema (schemathesis): no input makes it answer 500.

Every operation gets generated requests, valid and invalid (schemathesis' positive and
negative modes), sent in-process to the real app over a real index: the corpus index
copied into a data dir of this module's own, since the fuzzer uploads and deletes documents.
Writes carry a valid X-API-Key so they are really exercised. ``call_and_validate`` runs
schemathesis' default checks as well: no server error, documented status codes and
content types, responses matching their schema, invalid input refused, valid input
accepted (except uploads, whose content OpenAPI cannot describe).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from api.main import create_app
from core.settings import Settings
from qa.service import PolicyQAService
from tests.conftest import CORPUS, corpus_index
from tests.isolated import isolated_settings, own_store

pytestmark = pytest.mark.slow

KEY = "fuzz-key-1234"
#: Examples per operation: enough to reach the validation edges of every field, small
#: enough that the whole run (questions embed and answer) takes a couple of minutes.
EXAMPLES = 15


# schemathesis needs the schema when this module is imported (its lazy ``from_fixture`` mode
# breaks on pytest 9). ``from_asgi`` would fetch it through the app and so start its
# lifespan, i.e. the service, at import: read it from the app object instead, and let the
# fixture below fill the corpus and start the service before the first request.
FUZZ_ROOT = Path(tempfile.gettempdir()) / f"policyqa-fuzz-{os.getpid()}"
FUZZ_SETTINGS = isolated_settings(
    FUZZ_ROOT / "data",
    corpus_dir=CORPUS,  # read only: uploads and deletes touch the data dir alone
    api_keys=[KEY],
    # a background optimisation of answers: spare the CPU (the field may not exist)
    **({"prime_answer_cache": False} if "prime_answer_cache" in Settings.model_fields else {}),
)
SERVICE = PolicyQAService(FUZZ_SETTINGS)
APP = create_app(FUZZ_SETTINGS, SERVICE)
schema = schemathesis.openapi.from_dict(APP.openapi())
schema.app, schema.location = APP, "/openapi.json"  # what from_asgi sets: requests go to APP in-process


@pytest.fixture(scope="module", autouse=True)
def indexed_service() -> Iterator[PolicyQAService]:
    """The corpus index copied into this module's own data dir, and the service ready."""
    shutil.rmtree(FUZZ_ROOT, ignore_errors=True)
    corpus_index(FUZZ_SETTINGS.data_dir)
    try:
        with own_store(FUZZ_SETTINGS):
            SERVICE.start()  # loads the model and finds the corpus indexed
            assert SERVICE.ready, SERVICE.load_error
            yield SERVICE
    finally:
        shutil.rmtree(FUZZ_ROOT, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema_and_never_fails(case: schemathesis.Case):
    excluded: list = []
    if (case.method, case.path) == ("POST", "/documents"):
        # a schema-valid upload can still be an unsupported (415) or unreadable (422) file:
        # the file name and content are beyond what OpenAPI can describe
        excluded.append(positive_data_acceptance)
    if case.query and any(value == [] for value in case.query.values()):
        # an empty list is sent as no parameter at all: the "invalid" query schemathesis meant
        # never reaches the server, which rightly answers the valid request it got
        excluded.append(negative_data_rejection)
    response = case.call_and_validate(headers={"X-API-Key": KEY}, excluded_checks=excluded)
    assert response.status_code < 500, response.text[:500]


def test_the_corpus_is_still_served_after_fuzzing():
    """Random uploads and deletes hit random ids: the corpus documents stay."""
    from fastapi.testclient import TestClient

    ids = {d["doc_id"] for d in TestClient(APP).get("/documents").json()["documents"]}
    assert {p.stem for p in CORPUS.glob("*.txt")} <= ids
