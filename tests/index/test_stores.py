"""The passage stores (index/stores/): the Qdrant Edge shard against qdrant-haystack, and the
same document-store tests on both engines (Edge, and the server store on qdrant-client's local mode).

Random vectors, no model: fast. The key test is that dense and sparse rankings of the Edge
shard are those of qdrant-haystack's ``QdrantDocumentStore`` on the same documents, so that a
switch between the Edge shard and a Qdrant server changes nothing but the engine.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from haystack import Document
from haystack.dataclasses import SparseEmbedding
from haystack.document_stores.errors import DocumentStoreError
from haystack.document_stores.types import DuplicatePolicy
from haystack.errors import FilterError
from haystack_integrations.document_stores.qdrant import QdrantDocumentStore
from haystack_integrations.document_stores.qdrant.converters import (
    DENSE_VECTORS_NAME,
    SPARSE_VECTORS_NAME,
    convert_id,
)

from index.stores.edge import (
    DEFAULT_PAYLOAD_FIELDS,
    DenseQuery,
    EdgeDocumentStore,
    EdgeStoreClosedError,
    SparseQuery,
    convert_filters,
)
from index.stores.server import ServerDocumentStore

REPO_ROOT = Path(__file__).resolve().parents[2]
DIM = 384
VOCAB = 2_000
TOL = 1e-4


# ---- data -----------------------------------------------------------------------------------


def _sparse(rng: np.random.Generator, nnz: int) -> SparseEmbedding:
    """Zipf-distributed term ids (frequent terms shared by many documents) with random weights."""
    terms = np.unique(np.minimum(rng.zipf(1.3, nnz), VOCAB) - 1)
    return SparseEmbedding(indices=terms.tolist(), values=rng.uniform(0.1, 3.0, len(terms)).tolist())


def _dense(rng: np.random.Generator, dim: int = DIM) -> list[float]:
    return rng.standard_normal(dim).astype(np.float32).tolist()


def make_documents(n: int, seed: int = 0, dim: int = DIM) -> list[Document]:
    rng = np.random.default_rng(seed)
    docs = []
    for i in range(n):
        meta: dict[str, Any] = {
            "doc_id": f"d{i % 7}",
            "kind": "footnote" if i % 5 == 0 else "passage",
            "order": i,
            "ratio": round(float(rng.uniform(0, 1)), 3),
            "date": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}",
        }
        if i % 4:  # some documents have no language, some no funds: '!=' and 'not in' must keep them
            meta["language"] = ("fr", "en", "de")[i % 3]
        if i % 3:
            meta["funds"] = [f"f{(i + k) % 6}" for k in range(i % 3)]
        docs.append(
            Document(
                content=f"passage {i}",
                meta=meta,
                embedding=_dense(rng, dim),
                sparse_embedding=_sparse(rng, 40),
            )
        )
    return docs


def qdrant_haystack_store(docs: list[Document], dim: int = DIM) -> QdrantDocumentStore:
    store = QdrantDocumentStore(
        location=":memory:",
        embedding_dim=dim,
        use_sparse_embeddings=True,
        sparse_idf=True,
        similarity="cosine",
        return_embedding=False,
        progress_bar=False,
    )
    store.write_documents(docs, policy=DuplicatePolicy.OVERWRITE)
    return store


@pytest.fixture(scope="module")
def corpus() -> list[Document]:
    return make_documents(300)


@pytest.fixture(scope="module")
def reference(corpus: list[Document]) -> QdrantDocumentStore:
    return qdrant_haystack_store(corpus)


@pytest.fixture(scope="module")
def edge_store(tmp_path_factory: pytest.TempPathFactory, corpus: list[Document]):
    store = EdgeDocumentStore(tmp_path_factory.mktemp("edge") / "shard")
    store.write_documents(corpus)
    yield store
    store.close()


@pytest.fixture(params=["edge", "server"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    """Both engines behind one interface: the tests using this fixture run on each. No Qdrant
    server runs here, so the server store is tested on qdrant-client's local mode, which speaks
    the same client API."""
    if request.param == "edge":
        s: Any = EdgeDocumentStore(tmp_path / "shard", embedding_dim=8)
    else:
        s = ServerDocumentStore("passages", embedding_dim=8, location=":memory:")
    yield s
    s.close()


def small_docs(n: int, seed: int = 1) -> list[Document]:
    return make_documents(n, seed=seed, dim=8)


def ids_of(docs: list[Document]) -> list[str]:
    return [d.id for d in docs]


def assert_same_ranking(expected: list[tuple[str, float]], actual: list[tuple[str, float]]) -> None:
    """Same ids in the same order up to ties (scores within TOL), scores within TOL."""
    assert len(actual) == len(expected)
    for (_, want), (_, got) in zip(expected, actual, strict=True):
        assert got == pytest.approx(want, abs=TOL)
    i = 0
    while i < len(expected):
        j = i + 1
        while j < len(expected) and abs(expected[j][1] - expected[i][1]) <= TOL:
            j += 1
        if j < len(expected) or j - i == 1:  # a tie cut by top_k may keep different members
            assert {d for d, _ in expected[i:j]} == {d for d, _ in actual[i:j]}
        i = j


def pairs(docs: list[Document]) -> list[tuple[str, float]]:
    return [(d.id, float(d.score)) for d in docs]


# ---- rankings: the same as qdrant-haystack ------------------------------------------------


QUERY_FILTERS = [
    None,
    {"field": "meta.kind", "operator": "==", "value": "passage"},
    {"field": "meta.funds", "operator": "in", "value": ["f1", "f4"]},
]


@pytest.mark.parametrize("filters", QUERY_FILTERS)
def test_dense_rankings_equal_qdrant_haystack(edge_store, reference, filters) -> None:
    rng = np.random.default_rng(42)
    for _ in range(15):
        query = _dense(rng)
        expected = pairs(reference._query_by_embedding(query, filters=filters, top_k=20))
        assert len(expected) == 20
        assert_same_ranking(expected, pairs(edge_store.query_dense(query, filters=filters, top_k=20)))
        assert_same_ranking(expected, edge_store.search_ids([DenseQuery(query, 20, filters)])[0])


@pytest.mark.parametrize("filters", QUERY_FILTERS)
def test_sparse_rankings_equal_qdrant_haystack(edge_store, reference, filters) -> None:
    rng = np.random.default_rng(43)
    for _ in range(15):
        query = _sparse(rng, 8)
        expected = pairs(reference._query_by_sparse(query, filters=filters, top_k=20))
        assert expected
        assert_same_ranking(expected, pairs(edge_store.query_sparse(query, filters=filters, top_k=20)))
        assert_same_ranking(expected, edge_store.search_ids([SparseQuery(query, 20, filters)])[0])


def test_search_ids_batches_rankings_without_payload(edge_store, reference, corpus) -> None:
    rng = np.random.default_rng(44)
    dense, sparse = _dense(rng), _sparse(rng, 8)
    both = edge_store.search_ids([DenseQuery(dense, 30), SparseQuery(sparse, 30), DenseQuery(dense, 5)])
    assert len(both) == 3
    assert_same_ranking(pairs(reference._query_by_embedding(dense, top_k=30)), both[0])
    assert_same_ranking(pairs(reference._query_by_sparse(sparse, top_k=30)), both[1])
    assert both[2] == both[0][:5]
    assert edge_store.search_ids([]) == []
    # the final top-k are then read with their payloads, in the order asked
    top = [doc_id for doc_id, _ in both[0][:10]]
    documents = edge_store.retrieve(top)
    assert ids_of(documents) == top
    by_id = {d.id: d for d in corpus}
    assert [(d.content, d.meta) for d in documents] == [(by_id[i].content, by_id[i].meta) for i in top]
    assert all(d.embedding is None for d in documents)


def test_search_ids_maps_point_ids_after_reopen(tmp_path: Path) -> None:
    docs = small_docs(30)
    with EdgeDocumentStore(tmp_path / "s", embedding_dim=8) as store:
        store.write_documents(docs)
        before = store.search_ids([DenseQuery(docs[0].embedding, 10)])
    with EdgeDocumentStore(tmp_path / "s", embedding_dim=8) as store:  # an empty id cache
        assert store.search_ids([DenseQuery(docs[0].embedding, 10)]) == before
        assert before[0][0][0] == docs[0].id


def test_optimize_keeps_rankings(tmp_path: Path) -> None:
    docs = make_documents(300, seed=5, dim=16)
    with EdgeDocumentStore(tmp_path / "s", embedding_dim=16) as store:
        store.write_documents(docs)
        queries = [DenseQuery(d.embedding, 10) for d in docs[:5]] + [
            SparseQuery(d.sparse_embedding, 10) for d in docs[:5]
        ]
        before = store.search_ids(queries)
        assert isinstance(store.optimize(), bool)
        after = store.search_ids(queries)
        for b, a in zip(before, after, strict=True):
            assert_same_ranking(b, a)


# ---- the point schema: the same as qdrant-haystack ------------------------------------------


def test_points_are_qdrant_haystack_points(tmp_path: Path) -> None:
    docs = small_docs(12)
    docs.append(Document(content="no vectors at all", meta={"doc_id": "bare"}))
    docs.append(Document(content="dense only", meta={"doc_id": "dense"}, embedding=[0.5] * 8))
    reference = qdrant_haystack_store(docs, dim=8)
    reference._initialize_client()
    client = reference._client
    assert client is not None
    with EdgeDocumentStore(tmp_path / "s", embedding_dim=8) as store:
        store.write_documents(docs)
        point_ids = [convert_id(d.id) for d in docs]
        theirs = {
            uuid.UUID(str(p.id)): p
            for p in client.retrieve(reference.index, point_ids, with_payload=True, with_vectors=True)
        }
        ours = {r.id: r for r in store.shard.retrieve(point_ids, True, True)}
        assert set(ours) == set(theirs) == {uuid.UUID(p) for p in point_ids}
        for point_id, record in ours.items():
            other = theirs[point_id]
            assert record.payload == other.payload
            assert set(record.payload) == {"id", "content", "blob", "meta", "score"}
            ours_vec, their_vec = record.vector or {}, other.vector or {}
            assert set(ours_vec) == set(their_vec)
            if DENSE_VECTORS_NAME in ours_vec:
                assert np.allclose(ours_vec[DENSE_VECTORS_NAME], their_vec[DENSE_VECTORS_NAME], atol=1e-6)
            if SPARSE_VECTORS_NAME in ours_vec:
                assert list(ours_vec[SPARSE_VECTORS_NAME].indices) == their_vec[SPARSE_VECTORS_NAME].indices
                assert np.allclose(
                    ours_vec[SPARSE_VECTORS_NAME].values, their_vec[SPARSE_VECTORS_NAME].values
                )


# ---- filters: the same documents as qdrant-haystack ---------------------------------------


FILTERS: list[dict[str, Any] | list[dict[str, Any]]] = [
    {"field": "meta.doc_id", "operator": "==", "value": "d3"},
    {"field": "meta.doc_id", "operator": "!=", "value": "d3"},
    {"field": "meta.language", "operator": "!=", "value": "fr"},  # documents without a language match
    {"field": "meta.doc_id", "operator": "in", "value": ["d1", "d2"]},
    {"field": "meta.doc_id", "operator": "not in", "value": ["d1", "d2"]},
    {"field": "meta.language", "operator": "not in", "value": ["fr", "en"]},
    {"field": "meta.funds", "operator": "==", "value": "f2"},  # a list field: one of its values
    {"field": "meta.funds", "operator": "!=", "value": "f2"},
    {"field": "meta.funds", "operator": "in", "value": ["f1", "f5"]},
    {"field": "meta.funds", "operator": "not in", "value": ["f1", "f5"]},
    {"field": "meta.doc_id", "operator": "in", "value": []},  # qdrant-haystack: no restriction
    {"field": "meta.doc_id", "operator": "not in", "value": []},
    {"field": "meta.order", "operator": "==", "value": 17},
    {"field": "meta.order", "operator": "in", "value": [3, 4, 5, 99]},
    {"field": "meta.order", "operator": ">", "value": 50},
    {"field": "meta.order", "operator": ">=", "value": 50},
    {"field": "meta.order", "operator": "<", "value": 10},
    {"field": "meta.order", "operator": "<=", "value": 10},
    {"field": "meta.ratio", "operator": ">", "value": 0.25},
    {"field": "meta.ratio", "operator": "<=", "value": 0.5},
    {"field": "meta.date", "operator": ">=", "value": "2024-06-01"},
    {"field": "meta.date", "operator": "<", "value": "2024-03-15T12:00:00"},
    {"field": "content", "operator": "==", "value": "passage 7"},
    {"field": "id", "operator": "in", "value": []},
    {
        "operator": "AND",
        "conditions": [
            {"field": "meta.kind", "operator": "==", "value": "passage"},
            {"field": "meta.funds", "operator": "in", "value": ["f0"]},
        ],
    },
    {
        "operator": "OR",
        "conditions": [
            {"field": "meta.doc_id", "operator": "==", "value": "d0"},
            {"field": "meta.order", "operator": "<", "value": 5},
        ],
    },
    {"operator": "NOT", "conditions": [{"field": "meta.kind", "operator": "==", "value": "footnote"}]},
    {  # qdrant-haystack's NOT: none of the conditions holds
        "operator": "NOT",
        "conditions": [
            {"field": "meta.doc_id", "operator": "==", "value": "d0"},
            {"field": "meta.language", "operator": "==", "value": "en"},
        ],
    },
    {
        "operator": "AND",
        "conditions": [
            {"field": "meta.date", "operator": "<", "value": "2024-09-01"},
            {
                "operator": "OR",
                "conditions": [
                    {"field": "meta.funds", "operator": "in", "value": ["f3"]},
                    {
                        "operator": "NOT",
                        "conditions": [{"field": "meta.language", "operator": "in", "value": ["fr"]}],
                    },
                ],
            },
        ],
    },
    [  # a list of conditions is their AND
        {"field": "meta.kind", "operator": "==", "value": "passage"},
        {"field": "meta.order", "operator": ">=", "value": 100},
    ],
]


@pytest.mark.parametrize("filters", FILTERS, ids=[str(i) for i in range(len(FILTERS))])
def test_filters_select_what_qdrant_haystack_selects(edge_store, reference, corpus, filters) -> None:
    # qdrant-haystack's filter_documents takes a list of conditions as their AND only once converted
    as_dict = {"operator": "AND", "conditions": filters} if isinstance(filters, list) else filters
    expected = sorted(ids_of(reference.filter_documents(as_dict)))
    assert expected  # every filter here selects something
    got = edge_store.filter_documents(filters)
    assert sorted(ids_of(got)) == expected
    assert edge_store.count_documents_by_filter(filters) == len(expected)


def test_filter_documents_reads_documents_without_embeddings(edge_store, corpus) -> None:
    got = {d.id: d for d in edge_store.filter_documents()}
    assert (
        len(got) == len(corpus) == edge_store.count_documents() == edge_store.count_documents_by_filter(None)
    )
    for doc in corpus:
        found = got[doc.id]
        assert (found.content, found.meta, found.embedding, found.sparse_embedding) == (
            doc.content,
            doc.meta,
            None,
            None,
        )
        assert found.score is None
    with_vectors = edge_store.filter_documents(
        {"field": "content", "operator": "==", "value": "passage 3"}, return_embedding=True
    )
    assert np.allclose(
        with_vectors[0].embedding,
        np.asarray(corpus[3].embedding) / np.linalg.norm(corpus[3].embedding),
        atol=1e-6,
    )
    assert with_vectors[0].sparse_embedding.indices == corpus[3].sparse_embedding.indices


@pytest.mark.parametrize(
    "filters",
    [
        {"field": "meta.doc_id", "value": "d1"},  # no operator
        {"field": "meta.doc_id", "operator": "~", "value": "d1"},
        {"operator": "==", "value": "d1"},  # no field
        {"field": "meta.doc_id", "operator": "=="},  # no value
        {"field": "meta.doc_id", "operator": "==", "value": None},
        {"field": "meta.flag", "operator": "==", "value": True},  # booleans reach Edge as integers
        {"field": "meta.flag", "operator": "in", "value": [True]},
        {"field": "meta.ratio", "operator": "==", "value": 0.5},
        {"field": "meta.doc_id", "operator": "==", "value": ["d1"]},
        {"field": "meta.doc_id", "operator": "in", "value": "d1"},
        {"field": "meta.doc_id", "operator": "not in", "value": "d1"},
        {"field": "meta.doc_id", "operator": ">", "value": "not a date"},
        {"field": "meta.order", "operator": "<", "value": [1]},
        {"operator": "AND", "conditions": []},
        {"operator": "OR"},
        ["not a condition"],
        "meta.doc_id == d1",
    ],
)
def test_unsupported_filters_raise_value_error(filters) -> None:
    with pytest.raises(ValueError) as raised:
        convert_filters(filters)
    assert isinstance(raised.value, FilterError)
    assert str(raised.value)


def test_empty_filters_restrict_nothing(store) -> None:
    store.write_documents(small_docs(5))
    assert convert_filters(None) is None and convert_filters({}) is None and convert_filters([]) is None
    assert len(store.filter_documents({})) == store.count_documents_by_filter({}) == 5


# ---- documents: read, write, delete -------------------------------------------------------


def test_get_documents_by_id_in_order_asked(store) -> None:
    docs = small_docs(10)
    assert store.write_documents(docs) == 10
    asked = [docs[7].id, "missing", docs[2].id, docs[7].id]
    found = store.get_documents_by_id(asked)
    assert ids_of(found) == [docs[7].id, docs[2].id]
    assert found[0].meta == docs[7].meta and found[0].embedding is None
    assert store.get_documents_by_id([]) == []
    full = store.get_documents_by_id([docs[1].id], return_embedding=True)[0]
    assert len(full.embedding) == 8 and full.sparse_embedding.indices == docs[1].sparse_embedding.indices


def test_write_documents_overwrites(store) -> None:
    docs = small_docs(600)  # three batches
    assert store.write_documents(docs) == 600
    assert store.count_documents() == 600
    changed = Document(id=docs[0].id, content="new text", meta={"doc_id": "dz"}, embedding=[1.0] * 8)
    assert store.write_documents([changed], policy=DuplicatePolicy.NONE) == 1
    assert store.count_documents() == 600
    (found,) = store.get_documents_by_id([docs[0].id], return_embedding=True)
    assert (found.content, found.meta, found.sparse_embedding) == ("new text", {"doc_id": "dz"}, None)
    assert store.write_documents([]) == 0


@pytest.mark.parametrize("policy", [DuplicatePolicy.SKIP, DuplicatePolicy.FAIL])
def test_write_documents_refuses_other_policies(store, policy) -> None:
    with pytest.raises(ValueError, match="OVERWRITE"):
        store.write_documents(small_docs(1), policy=policy)
    assert store.count_documents() == 0


def test_write_documents_checks_inputs(store) -> None:
    with pytest.raises(ValueError, match="Documents"):
        store.write_documents(["not a document"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="dimensions"):
        store.write_documents([Document(content="x", embedding=[0.1] * 5)])
    with pytest.raises(ValueError, match="dimensions"):
        store.search_ids([DenseQuery([0.1] * 5)])
    with pytest.raises(TypeError):
        store.search_ids(["not a query"])  # type: ignore[list-item]
    assert store.count_documents() == 0


def test_delete_documents_and_delete_by_filter(store) -> None:
    docs = small_docs(70)
    store.write_documents(docs)
    store.delete_documents([docs[0].id, docs[1].id, "unknown"])
    store.delete_documents([])
    assert store.count_documents() == 68
    assert store.get_documents_by_id([docs[0].id, docs[1].id]) == []
    d3 = {"field": "meta.doc_id", "operator": "==", "value": "d3"}
    expected = store.count_documents_by_filter(d3)
    assert expected > 0
    assert store.delete_by_filter(d3) == expected
    assert store.count_documents_by_filter(d3) == 0
    assert store.count_documents() == 68 - expected
    assert store.delete_by_filter(d3) == 0
    assert store.delete_by_filter({}) == 0  # no filter deletes nothing
    assert store.count_documents() == 68 - expected
    # deleted documents leave the rankings
    remaining = store.search_ids([DenseQuery(docs[0].embedding, 100)])[0]
    assert docs[0].id not in {i for i, _ in remaining} and len(remaining) == 68 - expected


# ---- folder, lifecycle, serialisation -----------------------------------------------------


def test_reopen_from_folder_keeps_documents_and_indexes(tmp_path: Path) -> None:
    docs = small_docs(40)
    path = tmp_path / "shard"
    with EdgeDocumentStore(path, embedding_dim=8) as store:
        store.write_documents(docs)
        store.delete_documents([docs[0].id])
        # dense: sparse scores move on reopen after a delete, because Edge's IDF counts deleted
        # points until their segment is reloaded or optimised
        ranking = store.search_ids([DenseQuery(docs[5].embedding, 10)])
    with EdgeDocumentStore(str(path), embedding_dim=8) as store:
        assert store.count_documents() == 39
        assert set(store.shard.info().payload_schema) == set(DEFAULT_PAYLOAD_FIELDS)
        assert store.search_ids([DenseQuery(docs[5].embedding, 10)]) == ranking
        assert sorted(ids_of(store.filter_documents())) == sorted(ids_of(docs[1:]))


def test_open_refuses_a_second_store_or_another_dimension(tmp_path: Path) -> None:
    path = tmp_path / "shard"
    with EdgeDocumentStore(path, embedding_dim=8) as store:
        store.write_documents(small_docs(3))
        with pytest.raises(DocumentStoreError):
            EdgeDocumentStore(path, embedding_dim=8)  # Edge locks the folder's WAL
    with pytest.raises(DocumentStoreError, match="size"):
        EdgeDocumentStore(path, embedding_dim=16)
    with EdgeDocumentStore(path, embedding_dim=8, payload_fields_to_index=["meta.order"]) as store:
        assert "meta.order" in store.shard.info().payload_schema
        assert store.count_documents() == 3


def _with_sentences(docs: list[Document], seed: int = 3) -> list[Document]:
    """The documents with 1 to 3 sentence vectors each (``meta[SENTENCE_META]``)."""
    from index.stores.base import SENTENCE_META

    rng = np.random.default_rng(seed)
    for i, doc in enumerate(docs):
        dim = len(doc.embedding or [])
        doc.meta[SENTENCE_META] = [_dense(rng, dim) for _ in range(1 + i % 3)]
    return docs


def _answers(store: EdgeDocumentStore, docs: list[Document]) -> list[list[tuple[str, float]]]:
    """Dense, sparse and sentence re-score rankings (the three shapes the retrievers send)."""
    from index.stores.base import SentenceQuery

    candidates = ids_of(docs[:50])
    queries = [DenseQuery(d.embedding, 10) for d in docs[:4]] + [
        SparseQuery(d.sparse_embedding, 10) for d in docs[:4]
    ]
    sentence_queries = [SentenceQuery(d.meta["sentence_embeddings"][0], candidates) for d in docs[4:8]]
    return store.search_ids([*queries, *sentence_queries])


def test_a_shard_written_with_the_previous_layout_opens_and_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A shard created before #14 (the sentence vectors in RAM with an HNSW graph of their own)
    opens with the current store, answers exactly as before, says once that optimize() would
    rewrite it, and after optimize() has the new layout and still the same answers."""
    import qdrant_edge

    from index.stores import edge as edge_module

    path = tmp_path / "shard"
    docs = _with_sentences(small_docs(300, seed=4))
    previous = edge_module._edge_config(8, previous=True)
    # the store as it was: its config, with a 1 KB indexing threshold so that optimize() builds
    # the graphs (of the sentence vectors too) on these few points, as it does at scale
    monkeypatch.setattr(
        EdgeDocumentStore,
        "_config",
        lambda self: qdrant_edge.EdgeConfig(
            vectors=previous.vectors,
            sparse_vectors=previous.sparse_vectors,
            optimizers=qdrant_edge.EdgeOptimizersConfig(indexing_threshold=1),
        ),
    )
    with EdgeDocumentStore(path, embedding_dim=8) as old:
        old.write_documents(docs)
        assert old.optimize()
        before = _answers(old, docs)
    monkeypatch.undo()
    graphs = list(path.glob("segments/*/vector_index-text-sentences/*"))
    assert graphs, "the previous layout builds a graph for the sentence vectors"

    caplog.set_level("WARNING", logger="index.stores.edge")
    caplog.clear()
    edge_module._WARNED_LAYOUT.discard(path.resolve())
    with EdgeDocumentStore(path, embedding_dim=8) as store:
        assert store.count_documents() == 300
        assert store.previous_layout_segments() >= 1
        assert _answers(store, docs) == before
    with EdgeDocumentStore(path, embedding_dim=8) as store:  # told once per process
        assert _answers(store, docs) == before
    told = [r for r in caplog.records if "layout before #14" in r.getMessage()]
    assert len(told) == 1 and str(path) in told[0].getMessage()

    with EdgeDocumentStore(path, embedding_dim=8) as store:
        assert store.optimize()  # rewrites the segments with the new layout
        assert _answers(store, docs) == before
    with EdgeDocumentStore(path, embedding_dim=8) as store:  # the old segments went at close
        assert store.previous_layout_segments() == 0
        assert _answers(store, docs) == before
        store.write_documents(docs[:5])  # and it takes writes
        assert store.count_documents() == 300
    layouts = [
        json.loads(f.read_text())["config"]["vector_data"]["text-sentences"]
        for f in path.glob("segments/*/segment.json")
    ]
    assert all(v["storage_type"] in ("Mmap", "ChunkedMmap") for v in layouts), layouts
    assert all(v["index"]["type"] == "plain" or v["index"]["options"]["m"] == 0 for v in layouts), layouts


def test_new_shards_keep_sentence_vectors_on_disk_without_a_graph(tmp_path: Path) -> None:
    docs = _with_sentences(small_docs(200, seed=6))
    with EdgeDocumentStore(tmp_path / "shard", embedding_dim=8) as store:
        store.write_documents(docs)
        assert store.previous_layout_segments() == 0
        before = _answers(store, docs)
    config = json.loads((tmp_path / "shard" / "edge_config.json").read_text())
    sentences = config["vectors"]["text-sentences"]
    assert sentences["hnsw_config"]["m"] == 0 and sentences["memory"] == "cold"
    assert "memory" not in config["vectors"][DENSE_VECTORS_NAME]  # dense: in RAM (Cached)
    with EdgeDocumentStore(tmp_path / "shard", embedding_dim=8) as store:
        assert _answers(store, docs) == before


def test_optimize_reopens_the_shard_and_the_replaced_segments_go(tmp_path: Path) -> None:
    """optimize(reopen=True) closes and loads the shard around the optimisation (memory, see
    its docstring): the replaced segments leave the folder at once, the store keeps answering."""
    import qdrant_edge

    from index.stores import edge as edge_module

    path = tmp_path / "shard"
    layout = edge_module._edge_config(8)
    qdrant_edge.EdgeShard.create(  # a 1 KB indexing threshold: optimize() has work on 300 points
        str(path),
        qdrant_edge.EdgeConfig(
            vectors=layout.vectors,
            sparse_vectors=layout.sparse_vectors,
            optimizers=qdrant_edge.EdgeOptimizersConfig(indexing_threshold=1),
        ),
    ).close()
    docs = _with_sentences(small_docs(300, seed=2))
    with EdgeDocumentStore(path, embedding_dim=8) as store:
        store.write_documents(docs)
        before = _answers(store, docs)
        assert store.optimize(reopen=True)
        assert len(list(path.glob("segments/*/segment.json"))) == store.shard.info().segments_count
        for b, a in zip(before, _answers(store, docs), strict=True):
            assert_same_ranking(b, a)  # sparse scores move in the last digits once indexed
        store.write_documents(docs[:3])
        assert store.count_documents() == 300
        assert not store.optimize(reopen=False) or store.count_documents() == 300
    with EdgeDocumentStore(path, embedding_dim=8) as store:
        assert store.count_documents() == 300


def test_a_shard_refusing_the_new_layout_opens_with_the_previous_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Should an engine refuse the new layout on an old shard, the index still opens, as it was."""
    import qdrant_edge

    from index.stores import edge as edge_module

    path = tmp_path / "shard"
    docs = _with_sentences(small_docs(60, seed=8))
    with EdgeDocumentStore(path, embedding_dim=8) as store:
        store.write_documents(docs)
        before = _answers(store, docs)
    load = qdrant_edge.EdgeShard.load

    def refusing(folder: str, config: Any = None) -> Any:
        if config is not None and config.vectors["text-sentences"].memory == qdrant_edge.Memory.Cold:
            raise Exception("config is incompatible with existing segments")  # noqa: TRY002
        return load(folder, config)

    monkeypatch.setattr(qdrant_edge.EdgeShard, "load", staticmethod(refusing))
    caplog.set_level("WARNING", logger="index.stores.edge")
    with EdgeDocumentStore(path, embedding_dim=8) as store:
        assert _answers(store, docs) == before
    assert any("layout it was created with" in r.getMessage() for r in caplog.records)
    with pytest.raises(DocumentStoreError, match="incompatible"):  # another dimension: still refused
        EdgeDocumentStore(path, embedding_dim=16)
    assert edge_module._edge_config(8, previous=True).vectors["text-sentences"].memory is None


def test_close_is_idempotent_and_final(tmp_path: Path) -> None:
    store = EdgeDocumentStore(tmp_path / "shard", embedding_dim=8)
    store.close()
    store.close()
    with pytest.raises(EdgeStoreClosedError):
        store.count_documents()
    with pytest.raises(EdgeStoreClosedError):
        store.write_documents(small_docs(1))


def test_to_dict_from_dict(tmp_path: Path) -> None:
    store = EdgeDocumentStore(
        tmp_path / "shard", embedding_dim=8, payload_fields_to_index=["meta.kind"], flush_each_batch=False
    )
    store.write_documents(small_docs(4))
    data = store.to_dict()
    store.close()
    assert data == {
        "type": "index.stores.edge.EdgeDocumentStore",
        "init_parameters": {
            "path": str(tmp_path / "shard"),
            "embedding_dim": 8,
            "payload_fields_to_index": ["meta.kind"],
            "flush_each_batch": False,
            "write_batch_size": 256,
        },
    }
    with EdgeDocumentStore.from_dict(data) as again:
        assert again.count_documents() == 4 and again.flush_each_batch is False


# ---- concurrency and durability -----------------------------------------------------------


def test_readers_during_writes_see_no_errors(tmp_path: Path) -> None:
    """4 threads query in a loop while one writer upserts and deletes 5,000 documents."""
    dim = 32
    docs = make_documents(5_000, seed=9, dim=dim)
    store = EdgeDocumentStore(tmp_path / "shard", embedding_dim=dim)
    store.write_documents(docs[:100])
    errors: list[BaseException] = []
    rounds = [0] * 4
    started = [threading.Event() for _ in range(4)]
    stop = threading.Event()

    def reader(k: int) -> None:
        rng = np.random.default_rng(k)
        only = {"field": "meta.doc_id", "operator": "in", "value": [f"d{k}"]}
        while not stop.is_set():
            try:
                dense, sparse = store.search_ids(
                    [DenseQuery(_dense(rng, dim), 20), SparseQuery(_sparse(rng, 6), 20, only)]
                )
                store.retrieve([i for i, _ in dense[:10]])
                store.query_dense(_dense(rng, dim), filters=only, top_k=5)
                store.query_sparse(_sparse(rng, 6), top_k=5)
                store.count_documents_by_filter(only)
                store.filter_documents({"field": "meta.order", "operator": "<", "value": 50})
                rounds[k] += 1
            except BaseException as e:  # noqa: BLE001 - every failure counts
                errors.append(e)
            started[k].set()

    threads = [threading.Thread(target=reader, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for event in started:
        event.wait()
    try:
        for start in range(0, len(docs), 500):
            store.write_documents(docs[start : start + 500])
        store.delete_documents([d.id for d in docs[::2]])
        deleted = store.delete_by_filter({"field": "meta.doc_id", "operator": "==", "value": "d1"})
        store.write_documents(docs[::4])
        store.optimize()
    finally:
        stop.set()
        for t in threads:
            t.join()
    remaining = {d.id for d in docs[1::2] if d.meta["doc_id"] != "d1"} | {d.id for d in docs[::4]}
    assert errors == []
    assert all(rounds)
    assert deleted > 0
    assert store.count_documents() == len(remaining)
    assert {d.id for d in store.filter_documents()} == remaining
    store.close()


CHILD = """
import sys
from index.stores.edge import EdgeDocumentStore
from tests.index.test_stores import small_docs

path, flush = sys.argv[1], sys.argv[2] == "1"
store = EdgeDocumentStore(path, embedding_dim=8, flush_each_batch=flush)
docs = small_docs(600)
store.write_documents(docs)
store.delete_documents([d.id for d in docs[:10]])
print("acknowledged", store.count_documents(), flush=True)
sys.stdin.readline()  # killed here, never closed
"""


@pytest.mark.parametrize("flush", [True, False], ids=["flush_each_batch", "wal_only"])
def test_acknowledged_writes_survive_sigkill(tmp_path: Path, flush: bool) -> None:
    path = tmp_path / "shard"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), "1" if flush else "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env=env,
    )
    try:
        line = child.stdout.readline() if child.stdout else ""
        assert line.split() == ["acknowledged", "590"], line
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    docs = small_docs(600)
    with EdgeDocumentStore(path, embedding_dim=8) as store:
        assert store.count_documents() == 590
        assert sorted(ids_of(store.filter_documents())) == sorted(ids_of(docs[10:]))
        assert store.get_documents_by_id([docs[0].id]) == []
        assert set(store.shard.info().payload_schema) == set(DEFAULT_PAYLOAD_FIELDS)
        assert store.search_ids([DenseQuery(docs[20].embedding, 1)])[0][0][0] == docs[20].id


def test_sparse_rankings_after_deletes_and_reopen_equal_qdrant_haystack(tmp_path: Path) -> None:
    """Edge's IDF goes on counting deleted points until their segment is reloaded; after a reopen
    it is the live statistic, which is what qdrant-haystack's local mode computes."""
    docs = make_documents(120, seed=11, dim=8)
    gone = [d.id for d in docs[::3]]
    reference = qdrant_haystack_store(docs, dim=8)
    reference.delete_documents(gone)
    with EdgeDocumentStore(tmp_path / "shard", embedding_dim=8) as store:
        store.write_documents(docs)
        store.delete_documents(gone)
    rng = np.random.default_rng(12)
    with EdgeDocumentStore(tmp_path / "shard", embedding_dim=8) as store:
        for _ in range(10):
            query = _sparse(rng, 8)
            expected = pairs(reference._query_by_sparse(query, top_k=15))
            assert_same_ranking(expected, store.search_ids([SparseQuery(query, 15)])[0])


def test_sentence_vectors_score_a_passage_by_its_best_sentence(store) -> None:
    """The multivector of sentence embeddings (MaxSim), on both engines; not in the payload."""
    from index.stores.base import SENTENCE_META, SentenceQuery

    def unit(i: int) -> list[float]:
        return [1.0 if k == i else 0.0 for k in range(8)]

    docs = [
        Document(
            id="a", content="two sentences", embedding=unit(0), meta={SENTENCE_META: [unit(1), unit(2)]}
        ),
        Document(id="b", content="one sentence", embedding=unit(0), meta={SENTENCE_META: [unit(3)]}),
        Document(id="c", content="none", embedding=unit(0)),
    ]
    store.write_documents(docs)
    (ranking,) = store.search_ids([SentenceQuery(unit(2), ["a", "b", "c"])])
    assert ranking[0][0] == "a" and abs(ranking[0][1] - 1.0) < 1e-5
    assert {i for i, _ in ranking} <= {"a", "b"}  # no sentence vectors: no sentence score
    (only_b,) = store.search_ids([SentenceQuery(unit(2), ["b"])])
    assert [i for i, _ in only_b] == ["b"]
    assert SENTENCE_META not in store.get_documents_by_id(["a"])[0].meta


def test_sentence_vectors_are_read_back_in_text_order(store) -> None:
    """The answer step reads them instead of encoding the sentences again (issue #16), on both
    engines; passages without any, and ids not stored, are left out."""
    from index.stores.base import SENTENCE_META

    def unit(i: int) -> list[float]:
        return [1.0 if k == i else 0.0 for k in range(8)]

    store.write_documents(
        [
            Document(id="a", content="two", embedding=unit(0), meta={SENTENCE_META: [unit(1), unit(2)]}),
            Document(id="b", content="one", embedding=unit(0), meta={SENTENCE_META: [unit(3)]}),
            Document(id="c", content="none", embedding=unit(0)),
        ]
    )
    vectors = store.sentence_vectors(["b", "a", "c", "gone", "a"])
    assert set(vectors) == {"a", "b"}
    assert [[round(x, 5) for x in v] for v in vectors["a"]] == [unit(1), unit(2)]
    assert [[round(x, 5) for x in v] for v in vectors["b"]] == [unit(3)]
    assert store.sentence_vectors([]) == {}


def test_passages_without_sentence_vectors_are_listed_for_priming(store) -> None:
    """What the answer cache encodes at start-up: only passages written without sentence vectors
    (a shard from before they were stored), found by a filter, on both engines."""
    from index.stores.base import SENTENCE_META

    store.write_documents(
        [
            Document(
                id="with", content="x", embedding=[1.0] + [0.0] * 7, meta={SENTENCE_META: [[1.0] + [0.0] * 7]}
            )
        ]
        + [Document(id=f"old{i}", content=f"old {i}", embedding=[0.0] * 7 + [1.0]) for i in range(3)]
    )
    assert sorted(d.id for d in store.without_sentence_vectors(10)) == ["old0", "old1", "old2"]
    assert len(store.without_sentence_vectors(2)) == 2
    assert store.without_sentence_vectors(0) == []
