"""Shared fixtures: one temporary data dir and one indexed corpus per test session.

The provisioned embedding model is cached in the repository's ``data/models`` (built by
``make setup``; built here on first use otherwise) and shared by every test data dir. So is
the corpus index every session starts from (``data/test-index``, see :func:`corpus_index`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from importlib import metadata
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


#: What the corpus index is made from: a change to any of these builds it again.
INDEX_SOURCES = ("corpus", "core", "ingest", "index")
INDEX_PACKAGES = ("qdrant-edge-py", "haystack-ai", "onnxruntime", "tokenizers", "numpy")
INDEX_CACHE = REPO_ROOT / "data" / "test-index"


def index_key() -> str:
    """A digest of the corpus, the code that ingests it, the model's provenance, the engine's
    package versions and the ``POLICYQA_`` settings in the environment (paths aside)."""
    digest = hashlib.sha256()
    for top in INDEX_SOURCES:
        for path in sorted((REPO_ROOT / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0" + path.read_bytes())
    for provenance in sorted(SHARED_MODELS.glob("*/policyqa_provenance.json")):
        digest.update(provenance.read_bytes())
    for package in INDEX_PACKAGES:
        digest.update(f"{package}=={metadata.version(package)}".encode())
    for name in sorted(os.environ):
        if name.startswith("POLICYQA_") and name not in ("POLICYQA_DATA_DIR", "POLICYQA_MODELS_DIR"):
            digest.update(f"{name}={os.environ[name]}".encode())
    return digest.hexdigest()[:16]


def corpus_index(data_dir: Path) -> None:
    """Fill ``data_dir`` with the corpus index: built once by a real ingest, then copied.

    Each test group is a pytest process of its own (see the Makefile), and each ingested the
    same corpus with the same code into its own data dir: about 45 s a group, most of the
    suite's start-up. The index is now ingested into ``data/test-index/<key>`` by the first
    session that needs it and copied into the others' data dirs (a few MB), which then find
    the index up to date. The key (:func:`index_key`) covers everything the index is made
    from; older keys are removed. Tests that are about ingesting still ingest on their own.
    """
    from index.indexing import Indexer
    from tests.isolated import isolated_settings, own_store  # it imports this module

    cached = INDEX_CACHE / index_key()
    if not cached.is_dir():
        INDEX_CACHE.mkdir(parents=True, exist_ok=True)
        build = Path(tempfile.mkdtemp(prefix="build-", dir=INDEX_CACHE))
        settings = isolated_settings(build)
        with own_store(settings):
            Indexer(settings).sync_corpus()
        for stale in INDEX_CACHE.iterdir():  # older keys, and builds a killed run left behind
            if stale != build and (
                not stale.name.startswith("build-") or time.time() - stale.stat().st_mtime > 3600
            ):
                shutil.rmtree(stale, ignore_errors=True)
        try:
            build.rename(cached)
        except OSError:  # another process finished first: use its copy
            shutil.rmtree(build, ignore_errors=True)
    shutil.copytree(cached / "edge", data_dir / "edge", dirs_exist_ok=True)


@pytest.fixture(scope="session")
def settings(session_env: Path) -> Settings:
    corpus_index(session_env)  # session_env removed QDRANT_URL: the session's index is embedded
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
