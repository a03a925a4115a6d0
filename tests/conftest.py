"""Shared fixtures: one temporary data dir and one indexed corpus per test session.

The provisioned embedding model is cached in the repository's ``data/models`` (built by
``make setup``; built here on first use otherwise) and shared by every test data dir.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import REPO_ROOT, Settings, get_settings

# background priming of the answer cache only competes with the tests for the 2 CPU cores
os.environ.setdefault("POLICYQA_PRIME_ANSWER_CACHE", "false")

SHARED_MODELS = Path(os.environ.get("POLICYQA_MODELS_DIR", REPO_ROOT / "data" / "models"))
#: The in-repo gold split that is reported on (evaluation/gold/README.md): a clone without
#: ../shared tests the same.
GOLD_DEV = REPO_ROOT / "evaluation" / "gold" / "validation.jsonl"
CORPUS = REPO_ROOT / "corpus"


#: Fixtures that load the embedding model or an indexed corpus: their tests are "model" tests,
#: left out of ``make test-fast``.
MODEL_FIXTURES = {
    "settings", "indexed", "retriever", "service", "client", "api_settings", "indexed_service",
    "server", "base_url", "st_model", "model_dir", "dev_result",
}  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if MODEL_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.model)


def reset_caches() -> None:
    """Forget settings and close embedded Qdrant clients (they lock their folder)."""
    from index.stores import close_stores

    close_stores()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def session_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    data_dir = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("POLICYQA_DATA_DIR", str(data_dir))
        mp.setenv("POLICYQA_MODELS_DIR", str(SHARED_MODELS))
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.delenv("QDRANT_URL", raising=False)
        reset_caches()
        yield data_dir
    reset_caches()


@pytest.fixture(scope="session")
def settings(session_env: Path) -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
def indexed(settings: Settings):
    """The corpus ingested once into the session's embedded Qdrant; yields the Indexer."""
    from index.indexing import Indexer

    indexer = Indexer(settings)
    indexer.sync_corpus()
    return indexer


@pytest.fixture(scope="session")
def retriever(indexed):
    from index.retrieval import Retriever

    return Retriever(indexed.settings)
