"""Query pipelines: ``bm25`` (French sparse), ``dense`` (e5) and ``hybrid`` (fused).

One Haystack pipeline per mode, built once; the embedding model is shared between them by
sentence-transformers-haystack's backend cache. A footnote hit comes back with the passages
that cite it, so a user who finds "the footnote with the link" also sees what it supports.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from haystack import Document, Pipeline, component, default_from_dict, default_to_dict
from haystack.dataclasses import SparseEmbedding

from core.languages import detect_language
from core.settings import Settings, get_settings
from index.documents import document_to_passage
from index.embedders import query_embedder
from index.fusion import ScoreFusion, fuse_scores
from index.graph import run_in_order
from index.sparse import FrenchSparseTextEmbedder
from index.stores import (
    DenseQuery,
    PassageStore,
    SentenceQuery,
    SparseQuery,
    get_document_store,
    store_from_dict,
)
from index.types import MODES, Hit, Mode, SearchFilters
from ingest.funds import expand_query


def filters_to_haystack(filters: SearchFilters | None) -> dict[str, Any] | None:
    if filters is None:
        return None
    conditions = [
        {"field": f"meta.{name}", "operator": "in", "value": list(values)}
        for name, values in (
            ("doc_id", filters.doc_ids),
            ("kind", filters.kinds),
            ("funds", filters.funds),
            ("language", filters.languages),
        )
        if values
    ]
    if not conditions:
        return None
    return conditions[0] if len(conditions) == 1 else {"operator": "AND", "conditions": conditions}


T = TypeVar("T")


def _restore(cls: type[T], data: dict[str, Any]) -> T:
    """A component from its ``to_dict``: its store (reused when open), its fusion if any."""
    params = data["init_parameters"]
    params["document_store"] = store_from_dict(params["document_store"])
    if "fusion" in params:
        params["fusion"] = ScoreFusion.from_dict(params["fusion"])
    return default_from_dict(cls, data)


@component
class FootnoteLinker:
    """Attaches to every footnote hit the passages that cite it (``meta['cited_by_documents']``)."""

    def __init__(self, document_store: PassageStore) -> None:
        self.document_store = document_store

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, list[Document]]:
        wanted = sorted(
            {i for d in documents if d.meta.get("kind") == "footnote" for i in d.meta.get("cited_by", [])}
        )
        if wanted:
            by_id = {d.id: d for d in self.document_store.get_documents_by_id(wanted)}
            for doc in documents:
                if doc.meta.get("kind") == "footnote":
                    doc.meta["cited_by_documents"] = [
                        by_id[i] for i in doc.meta.get("cited_by", []) if i in by_id
                    ]
        return {"documents": documents}

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(self, document_store=self.document_store.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FootnoteLinker:
        return _restore(cls, data)


def by_best_sentence(
    store: PassageStore,
    query_embedding: list[float],
    candidates: list[tuple[str, float]],
    weight: float,
) -> list[tuple[str, float]]:
    """Candidates re-scored as ``(1 - weight) * score + weight * best sentence similarity``.

    One more search, ids and scores only: MaxSim of the question over each candidate's
    sentence vectors. The weight (0.9) was chosen on the dev split among 0.3/0.2/0.1/0.0 of
    the fused score (dev hybrid MRR@10 0.677 -> 0.736); passages without sentence vectors
    keep their own score's share only.
    """
    if weight <= 0 or not candidates:
        return candidates
    (best,) = store.search_ids([SentenceQuery(query_embedding, [i for i, _ in candidates])])
    sentence = dict(best)
    rescored = [(i, (1 - weight) * s + weight * sentence.get(i, 0.0)) for i, s in candidates]
    return sorted(rescored, key=lambda x: x[1], reverse=True)


#: Searches run again when a passage they ranked was deleted before its payload was read.
READ_ATTEMPTS = 3


def consistent_read(attempt: Callable[[], tuple[list[Document], int]]) -> list[Document]:
    """The documents of the first ``attempt`` whose payload read found all it ranked.

    Rankings are ids only and payloads are read after (see :class:`HybridRetriever`), so a
    re-ingest that replaces a document's passages between the two leaves the ranking pointing
    at deleted points. Its new passages are written before the old are deleted, so searching
    again finds them; a ranking still short after a few attempts is returned as read.
    """
    documents: list[Document] = []
    for _ in range(READ_ATTEMPTS):
        documents, ranked = attempt()
        if len(documents) == ranked:
            break
    return documents


def _scored(store: PassageStore, ranking: list[tuple[str, float]]) -> list[Document]:
    """The payloads of a ranking (one read for all), with their scores; ids deleted since the
    search are left out (:func:`consistent_read` searches again)."""
    scores = dict(ranking)
    return [replace(doc, score=scores[doc.id]) for doc in store.retrieve([i for i, _ in ranking])]


@component
class DenseRetriever:
    """Cosine search over the passages' e5 vectors, on either store (Edge or server), the
    ``depth`` best re-scored by their best sentence (:func:`by_best_sentence`)."""

    def __init__(self, document_store: PassageStore, sentence_weight: float = 0.0, depth: int = 50) -> None:
        self.document_store = document_store
        self.sentence_weight = sentence_weight
        self.depth = depth

    @component.output_types(documents=list[Document])
    def run(
        self, query_embedding: list[float], filters: dict[str, Any] | None = None, top_k: int = 10
    ) -> dict[str, list[Document]]:
        depth = max(top_k, self.depth) if self.sentence_weight > 0 else top_k

        def attempt() -> tuple[list[Document], int]:
            (ranking,) = self.document_store.search_ids([DenseQuery(query_embedding, depth, filters)])
            ranking = by_best_sentence(self.document_store, query_embedding, ranking, self.sentence_weight)
            return _scored(self.document_store, ranking[:top_k]), len(ranking[:top_k])

        return {"documents": consistent_read(attempt)}

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(
            self,
            document_store=self.document_store.to_dict(),
            sentence_weight=self.sentence_weight,
            depth=self.depth,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DenseRetriever:
        return _restore(cls, data)


@component
class SparseRetriever:
    """French BM25-like search (IDF-weighted sparse vectors), on either store."""

    def __init__(self, document_store: PassageStore) -> None:
        self.document_store = document_store

    @component.output_types(documents=list[Document])
    def run(
        self, query_sparse_embedding: SparseEmbedding, filters: dict[str, Any] | None = None, top_k: int = 10
    ) -> dict[str, list[Document]]:

        def attempt() -> tuple[list[Document], int]:
            (ranking,) = self.document_store.search_ids([SparseQuery(query_sparse_embedding, top_k, filters)])
            return _scored(self.document_store, ranking), len(ranking)

        return {"documents": consistent_read(attempt)}

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(self, document_store=self.document_store.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SparseRetriever:
        return _restore(cls, data)


@component
class HybridRetriever:
    """Dense and sparse search of one store, fused inside one component.

    Both rankings come from one batch request with ids and scores only, and only the fused
    ``top_k`` are then read with their payloads: reading every candidate's payload (2 x depth
    passages with their text and footnotes) cost more than the fusion itself, and with a
    Qdrant server it is 2 x depth payloads on the network per question. Fusion is ours
    (convex by default, measured best: ``benchmarks/fusion.py``), not the engine's RRF.
    """

    def __init__(
        self, document_store: PassageStore, fusion: ScoreFusion, depth: int = 50, sentence_weight: float = 0.0
    ) -> None:
        self.document_store = document_store
        self.fusion = fusion
        self.depth = depth
        self.sentence_weight = sentence_weight

    @component.output_types(documents=list[Document])
    def run(
        self,
        query_embedding: list[float],
        query_sparse_embedding: SparseEmbedding,
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
    ) -> dict[str, list[Document]]:
        return {
            "documents": consistent_read(
                lambda: self._attempt(query_embedding, query_sparse_embedding, filters, top_k)
            )
        }

    def _attempt(
        self,
        query_embedding: list[float],
        query_sparse_embedding: SparseEmbedding,
        filters: dict[str, Any] | None,
        top_k: int,
    ) -> tuple[list[Document], int]:
        depth = max(top_k, self.depth)
        dense, sparse = self.document_store.search_ids(
            [DenseQuery(query_embedding, depth, filters), SparseQuery(query_sparse_embedding, depth, filters)]
        )
        fused = fuse_scores(
            dense,
            sparse,
            self.fusion.method,
            self.fusion.dense_weight,
            self.fusion.rrf_k,
            depth if self.sentence_weight > 0 else top_k,
        )
        ranking = by_best_sentence(
            self.document_store, query_embedding, [(f.id, f.score) for f in fused], self.sentence_weight
        )
        final = dict(ranking[:top_k])
        fused = [f._replace(score=final[f.id]) for f in fused if f.id in final]
        fused.sort(key=lambda f: f.score, reverse=True)
        by_id = {f.id: f for f in fused}
        documents = [
            replace(
                doc,
                score=by_id[doc.id].score,
                meta={
                    **doc.meta,
                    "dense_score": by_id[doc.id].dense_score,
                    "sparse_score": by_id[doc.id].sparse_score,
                },
            )
            for doc in self.document_store.retrieve([f.id for f in fused])
        ]
        return documents, len(fused)

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(
            self,
            document_store=self.document_store.to_dict(),
            fusion=self.fusion.to_dict(),
            depth=self.depth,
            sentence_weight=self.sentence_weight,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HybridRetriever:
        return _restore(cls, data)


def build_query_pipeline(mode: Mode, settings: Settings, store: PassageStore) -> Pipeline:
    """The query graph of one mode, declared once: embedders -> retriever -> footnote linker."""
    pipe = Pipeline()
    if mode in ("dense", "hybrid"):
        pipe.add_component("dense_embedder", query_embedder(settings))
    if mode in ("bm25", "hybrid"):
        pipe.add_component("sparse_embedder", FrenchSparseTextEmbedder())
    if mode == "hybrid":
        fusion = ScoreFusion(settings.fusion_method, settings.fusion_dense_weight, settings.fusion_rrf_k)
        pipe.add_component(
            "retriever",
            HybridRetriever(
                store, fusion, depth=settings.fusion_depth, sentence_weight=settings.sentence_weight
            ),
        )
        pipe.connect("dense_embedder.embedding", "retriever.query_embedding")
        pipe.connect("sparse_embedder.sparse_embedding", "retriever.query_sparse_embedding")
    elif mode == "dense":
        # dense alone is not re-scored by sentences: on validation it gained hit@5 (0.837 -> 0.849)
        # but lost MRR@10 (0.672 -> 0.660), so the change is kept for hybrid only
        pipe.add_component("retriever", DenseRetriever(store))
        pipe.connect("dense_embedder.embedding", "retriever.query_embedding")
    else:
        pipe.add_component("retriever", SparseRetriever(store))
        pipe.connect("sparse_embedder.sparse_embedding", "retriever.query_sparse_embedding")
    pipe.add_component("footnotes", FootnoteLinker(store))
    pipe.connect("retriever.documents", "footnotes.documents")
    return pipe


class Retriever:
    """Search over the index. Thread-safe: pipelines hold no per-query state.

    Each mode is a Haystack :class:`Pipeline`, built once, and run by
    :func:`index.graph.run_in_order` (the same results as ``Pipeline.run`` without its
    per-input deep copies).
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.store = get_document_store(self.settings)
        self._pipelines: dict[str, Pipeline] = {}
        self._lock = threading.Lock()

    def pipeline(self, mode: Mode) -> Pipeline:
        if mode not in MODES:
            raise ValueError(f"Unknown mode {mode!r}: use one of {', '.join(MODES)}.")
        with self._lock:
            if mode not in self._pipelines:
                pipe = build_query_pipeline(mode, self.settings, self.store)
                pipe.warm_up()
                self._pipelines[mode] = pipe
            return self._pipelines[mode]

    def warm_up(self) -> None:
        for mode in MODES:
            self.pipeline(mode)

    def search(
        self,
        query: str,
        mode: Mode | None = None,
        top_k: int = 10,
        filters: SearchFilters | None = None,
        language: str | None = None,
    ) -> list[Hit]:
        return self.search_with_embedding(query, mode, top_k, filters, language)[0]

    def pipeline_inputs(
        self, query: str, mode: Mode, top_k: int, filters: SearchFilters | None, language: str | None
    ) -> dict[str, dict[str, Any]]:
        """The inputs of each entry component of ``mode``'s pipeline, as ``Pipeline.run`` takes them."""

        inputs: dict[str, dict[str, Any]] = {
            "retriever": {"filters": filters_to_haystack(filters), "top_k": top_k}
        }
        if mode in ("dense", "hybrid"):
            inputs["dense_embedder"] = {"text": query}
        if mode in ("bm25", "hybrid"):
            lang = language or detect_language(query)
            inputs["sparse_embedder"] = {"text": query, "language": lang, "expansions": expand_query(query)}
        return inputs

    def search_with_embedding(
        self,
        query: str,
        mode: Mode | None = None,
        top_k: int = 10,
        filters: SearchFilters | None = None,
        language: str | None = None,
    ) -> tuple[list[Hit], list[float] | None]:
        """Hits, and the dense query embedding when the mode made one (the answer step reuses it)."""
        mode = mode or self.settings.default_mode
        outputs = run_in_order(
            self.pipeline(mode), self.pipeline_inputs(query, mode, top_k, filters, language)
        )
        documents = outputs["footnotes"]["documents"]
        embedding = outputs.get("dense_embedder", {}).get("embedding")
        return [self._hit(doc, rank, mode) for rank, doc in enumerate(documents[:top_k], start=1)], embedding

    @staticmethod
    def _hit(doc: Document, rank: int, mode: Mode) -> Hit:
        meta = doc.meta
        dense = meta.pop("dense_score", doc.score if mode == "dense" else None)
        sparse = meta.pop("sparse_score", doc.score if mode == "bm25" else None)
        cited_by = [document_to_passage(d) for d in meta.pop("cited_by_documents", [])]
        return Hit(
            passage=document_to_passage(doc),
            score=float(doc.score or 0.0),
            rank=rank,
            dense_score=dense,
            sparse_score=sparse,
            cited_by=cited_by,
        )

    def get_document_passages(self, doc_id: str) -> list[Hit]:
        docs = self.store.filter_documents({"field": "meta.doc_id", "operator": "==", "value": doc_id})
        docs.sort(key=lambda d: (d.meta.get("kind") != "passage", d.meta.get("order", 0)))
        return [Hit(passage=document_to_passage(d), score=0.0, rank=i) for i, d in enumerate(docs, start=1)]

    def passages_with_fund(self, fund_id: str, limit: int = 200) -> list[Hit]:
        docs = self.store.filter_documents({"field": "meta.funds", "operator": "in", "value": [fund_id]})
        docs.sort(
            key=lambda d: (d.meta.get("doc_id", ""), d.meta.get("kind") != "passage", d.meta.get("order", 0))
        )
        return [
            Hit(passage=document_to_passage(d), score=0.0, rank=i)
            for i, d in enumerate(docs[:limit], start=1)
        ]
