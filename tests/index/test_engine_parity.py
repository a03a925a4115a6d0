"""Qdrant Edge against the engine it replaced, on the real corpus and model.

* Rankings: the corpus indexed in the Edge shard, copied with its vectors into qdrant-client's
  local mode (the embedded engine before Edge, and the client API of a Qdrant server), gives
  the same rankings in every mode, up to ties.
* Migration: an index folder left by the local mode is rebuilt from the corpus and the kept
  uploads, with nothing lost, and set aside.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from qdrant_client import QdrantClient

from core.settings import REPO_ROOT, Settings
from index.graph import run_in_order
from index.indexing import Indexer
from index.retrieval import Retriever, build_query_pipeline
from index.stores import EdgeDocumentStore, ServerDocumentStore, get_manifest
from index.types import MODES
from tests.conftest import CORPUS
from tests.isolated import isolated_settings, own_store

QUESTIONS = [
    json.loads(line)["question"]
    for line in (REPO_ROOT / "evaluation" / "gold" / "dev.jsonl")
    .read_text(encoding="utf-8")
    .splitlines()[:40]
]
TIE = 1e-4


def _ranking(pipe, retriever: Retriever, question: str, mode: str) -> list[tuple[str, float]]:
    inputs = retriever.pipeline_inputs(question, mode, 10, None, None)  # type: ignore[arg-type]
    docs = run_in_order(pipe, inputs)["footnotes"]["documents"]
    return [(d.id, float(d.score or 0.0)) for d in docs]


def _same_up_to_ties(a: list[tuple[str, float]], b: list[tuple[str, float]]) -> bool:
    """Same scores rank by rank, and the same ids once groups of tied scores are sorted."""
    if len(a) != len(b) or any(abs(x[1] - y[1]) > TIE for x, y in zip(a, b, strict=True)):
        return False

    def groups(r: list[tuple[str, float]]) -> list[set[str]]:
        out: list[set[str]] = []
        last = None
        for doc_id, score in r:
            if last is None or abs(score - last) > TIE:
                out.append(set())
            out[-1].add(doc_id)
            last = score
        return out

    # the last group may be cut at top_k differently on each engine: compare it by score only
    return groups(a)[:-1] == groups(b)[:-1]


@pytest.mark.model
def test_rankings_equal_the_local_mode_engine(
    retriever: Retriever, settings: Settings, tmp_path: Path
) -> None:
    # both engines fresh from the same points: a shard that has seen deletes counts them in its
    # IDF until its segments are rebuilt (as a Qdrant server does), the local mode does not
    documents = retriever.store.filter_documents(return_embedding=True)  # type: ignore[call-arg]
    edge = EdgeDocumentStore(tmp_path / "shard")
    edge.write_documents(documents)
    local = ServerDocumentStore("parity", location=":memory:")
    local.write_documents(documents)
    assert local.count_documents() == edge.count_documents() > 200
    differ = []
    for mode in MODES:
        on_edge = build_query_pipeline(mode, settings, edge)
        on_edge.warm_up()
        on_local = build_query_pipeline(mode, settings, local)
        on_local.warm_up()
        for question in QUESTIONS:
            a, b = _ranking(on_edge, retriever, question, mode), _ranking(on_local, retriever, question, mode)
            if not _same_up_to_ties(a, b):
                differ.append((mode, question, a[:3], b[:3]))
    local.close()
    edge.close()
    assert not differ, differ[:3]


@pytest.mark.model
def test_a_local_mode_index_is_rebuilt_from_corpus_and_uploads(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / "reseaux-cooperation-ue-integration-migrants.txt", corpus / "reseaux.txt")
    data = tmp_path / "data"
    # what the local mode left: its folder (meta.json, a collection) and a kept upload
    old = QdrantClient(path=str(data / "qdrant"))
    old.create_collection("policy_passages", vectors_config={})
    old.close()
    (data / "uploads").mkdir(parents=True)
    (data / "uploads" / "note-fonds.txt").write_text(
        "Note sur les fonds\n\nLe Fonds social européen plus finance l’intégration des migrants "
        "sur le marché du travail, avec le FEDER pour le logement.\n",
        encoding="utf-8",
    )
    settings = isolated_settings(data, corpus_dir=corpus)
    with own_store(settings):
        indexer = Indexer(settings)
        report = indexer.rebuild_legacy_index()
        assert report is not None
        assert sorted(r["doc_id"] for r in get_manifest(settings).all()) == ["note-fonds", "reseaux"]
        assert indexer.store.count_documents_by_filter(
            {"field": "meta.doc_id", "operator": "==", "value": "note-fonds"}
        )
        assert not (data / "qdrant").exists() and (data / "qdrant.local-mode-backup").is_dir()
        assert indexer.rebuild_legacy_index() is None  # once
