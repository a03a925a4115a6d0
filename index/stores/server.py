"""The passage store on a Qdrant server or cluster (``QDRANT_URL``), through qdrant-client.

Same schema as the embedded Edge shard (see ``index/stores/base.py``), written with
qdrant-haystack's converters, so a collection moves between the two without a change. The
store owns its ``QdrantClient`` (qdrant-haystack's ``QdrantDocumentStore`` keeps its client
private, and the batch search without payloads needs it). With a server, several API
processes share the collection (``policy-qa serve --workers N``).

Where no server can run (here, CI), the same class is tested against qdrant-client's local
mode (``QdrantClient(location=":memory:")`` or ``path=``), which speaks the same client API:
``tests/index/test_stores.py`` runs one suite on both engines.
"""

from __future__ import annotations

import itertools
import logging
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from haystack import Document, default_from_dict, default_to_dict
from haystack.document_stores.types import DuplicatePolicy
from haystack_integrations.document_stores.qdrant.converters import (
    DENSE_VECTORS_NAME,
    SPARSE_VECTORS_NAME,
    convert_haystack_documents_to_qdrant_points,
    convert_id,
    convert_qdrant_point_to_haystack_document,
)
from haystack_integrations.document_stores.qdrant.filters import convert_filters_to_qdrant
from qdrant_client import QdrantClient, models

from index.stores.base import (
    PAYLOAD_FIELDS,
    SENTENCE_META,
    SENTENCE_VECTORS_NAME,
    DenseQuery,
    Filters,
    Query,
    SentenceQuery,
    SparseQuery,
)

_SCROLL_PAGE = 256

log = logging.getLogger(__name__)


class ServerDocumentStore:
    """Passages in one Qdrant collection; created with shards and replicas when missing."""

    def __init__(
        self,
        collection: str,
        embedding_dim: int = 384,
        url: str | None = None,
        api_key: str | None = None,
        prefer_grpc: bool = False,
        location: str | None = None,
        path: str | None = None,
        shards: int = 1,
        replicas: int = 1,
        payload_fields_to_index: Sequence[str] = PAYLOAD_FIELDS,
        write_batch_size: int = 256,
        timeout: int = 60,
    ) -> None:
        """``url`` for a server; ``location=":memory:"`` or ``path`` for qdrant-client's local mode."""
        self.collection = collection
        self.embedding_dim = embedding_dim
        self.url, self.location, self.path = url, location, path
        self.prefer_grpc, self.shards, self.replicas = prefer_grpc, shards, replicas
        self.payload_fields_to_index = list(payload_fields_to_index)
        self.write_batch_size = write_batch_size
        if url:
            self.client = QdrantClient(url=url, api_key=api_key, prefer_grpc=prefer_grpc, timeout=timeout)
        elif path:
            self.client = QdrantClient(path=path)
        else:
            self.client = QdrantClient(location=location or ":memory:")
        self._write_lock = threading.Lock()
        self._ensure_collection()

    # ---- lifecycle ---------------------------------------------------------------------------

    def _ensure_collection(self) -> None:
        if not self.client.collection_exists(self.collection):
            self.client.create_collection(
                self.collection,
                vectors_config={
                    DENSE_VECTORS_NAME: models.VectorParams(
                        size=self.embedding_dim, distance=models.Distance.COSINE
                    ),
                    # as on the Edge shard (EdgeDocumentStore._config, issue #14): only ever
                    # scored over <= 50 given ids, so no HNSW graph (m=0) and stored on disk
                    SENTENCE_VECTORS_NAME: models.VectorParams(
                        size=self.embedding_dim,
                        distance=models.Distance.COSINE,
                        multivector_config=models.MultiVectorConfig(
                            comparator=models.MultiVectorComparator.MAX_SIM
                        ),
                        hnsw_config=models.HnswConfigDiff(m=0),
                        on_disk=True,
                    ),
                },
                sparse_vectors_config={
                    SPARSE_VECTORS_NAME: models.SparseVectorParams(modifier=models.Modifier.IDF)
                },
                shard_number=self.shards,
                replication_factor=self.replicas,
            )
        if self.url:  # local mode scans payloads and warns that indexes do nothing there
            info = self.client.get_collection(self.collection)
            existing = set(info.payload_schema or {})
            for field in self.payload_fields_to_index:
                if field not in existing:
                    self.client.create_payload_index(
                        self.collection, field, models.PayloadSchemaType.KEYWORD, wait=True
                    )
            self._warn_previous_layout(info)

    def _warn_previous_layout(self, info: models.CollectionInfo) -> None:
        """A collection created before #14 keeps its sentence-vector graph and RAM storage; it
        answers the same. Changing it is left to its operator (the server then rebuilds its
        segments in the background), so this only says how."""
        vectors = info.config.params.vectors
        params = vectors.get(SENTENCE_VECTORS_NAME) if isinstance(vectors, dict) else None
        if params is None:
            return
        m = params.hnsw_config.m if params.hnsw_config is not None else None
        if m == 0 and params.on_disk:
            return
        log.warning(
            "Collection %r keeps the sentence-vector layout before #14 (an HNSW graph, in RAM): it "
            "answers the same; to save the memory and indexing time, update it with "
            "client.update_collection(%r, vectors_config={%r: models.VectorParamsDiff("
            "hnsw_config=models.HnswConfigDiff(m=0), on_disk=True)}).",
            self.collection,
            self.collection,
            SENTENCE_VECTORS_NAME,
        )

    def optimize(self, reopen: bool = False) -> bool:
        """The server builds its HNSW graphs in the background by itself: nothing to do
        (``reopen`` is the Edge store's; ignored)."""
        return False

    def close(self) -> None:
        self.client.close()

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(
            self,
            collection=self.collection,
            embedding_dim=self.embedding_dim,
            url=self.url,
            prefer_grpc=self.prefer_grpc,
            location=self.location,
            path=self.path,
            shards=self.shards,
            replicas=self.replicas,
            payload_fields_to_index=self.payload_fields_to_index,
            write_batch_size=self.write_batch_size,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServerDocumentStore:
        return default_from_dict(cls, data)

    # ---- reads -------------------------------------------------------------------------------

    def count_documents(self) -> int:
        return self.client.count(self.collection, exact=True).count

    def count_documents_by_filter(self, filters: Filters) -> int:
        return self.client.count(
            self.collection, count_filter=convert_filters_to_qdrant(filters), exact=True
        ).count

    def filter_documents(self, filters: Filters = None, return_embedding: bool = False) -> list[Document]:
        return list(self._scroll(convert_filters_to_qdrant(filters), return_embedding))

    def _scroll(self, query_filter: models.Filter | None, return_embedding: bool) -> Iterator[Document]:
        offset = None
        while True:
            points, offset = self.client.scroll(
                self.collection,
                scroll_filter=query_filter,
                limit=_SCROLL_PAGE,
                offset=offset,
                with_payload=True,
                with_vectors=return_embedding,
            )
            yield from _documents(points)
            if offset is None:
                return

    def get_documents_by_id(self, ids: list[str], return_embedding: bool = False) -> list[Document]:
        """In the order asked; missing ids left out."""
        if not ids:
            return []
        records = self.client.retrieve(
            self.collection, [convert_id(i) for i in ids], with_payload=True, with_vectors=return_embedding
        )
        by_id = {doc.id: doc for doc in _documents(records)}
        return [by_id[i] for i in dict.fromkeys(ids) if i in by_id]  # asked order, each once

    def retrieve(self, ids: list[str]) -> list[Document]:
        return self.get_documents_by_id(ids)

    def sentence_vectors(self, ids: list[str]) -> dict[str, list[list[float]]]:
        """As :meth:`EdgeDocumentStore.sentence_vectors`, in one round trip."""
        points = {str(uuid.UUID(convert_id(i))): i for i in dict.fromkeys(ids)}  # the form records carry
        if not points:
            return {}
        records = self.client.retrieve(
            self.collection, list(points), with_payload=False, with_vectors=[SENTENCE_VECTORS_NAME]
        )
        found: dict[str, list[list[float]]] = {}
        for record in records:
            vectors = record.vector.get(SENTENCE_VECTORS_NAME) if isinstance(record.vector, dict) else None
            if vectors and str(record.id) in points:
                found[points[str(record.id)]] = [list(v) for v in vectors]  # type: ignore[arg-type]
        return found

    def without_sentence_vectors(self, limit: int) -> list[Document]:
        lacking = models.Filter(must_not=[models.HasVectorCondition(has_vector=SENTENCE_VECTORS_NAME)])
        return list(itertools.islice(self._scroll(lacking, False), max(limit, 0)))

    def search_ids(self, requests: Sequence[Query]) -> list[list[tuple[str, float]]]:
        if not requests:
            return []
        responses = self.client.query_batch_points(self.collection, [self._request(r) for r in requests])
        return [[(str((p.payload or {})["id"]), p.score) for p in response.points] for response in responses]

    def _check_dim(self, embedding: Sequence[float], what: str) -> None:
        if len(embedding) != self.embedding_dim:
            raise ValueError(
                f"The {what} has {len(embedding)} dimensions; the store has {self.embedding_dim}."
            )

    def _request(self, query: Query) -> models.QueryRequest:
        if isinstance(query, SentenceQuery):
            self._check_dim(query.embedding, "query embedding")
            ids = [convert_id(i) for i in query.ids]
            return models.QueryRequest(
                query=[list(query.embedding)],
                using=SENTENCE_VECTORS_NAME,
                filter=models.Filter(must=[models.HasIdCondition(has_id=ids)]),
                limit=max(1, len(ids)),
                with_payload=["id"],
            )
        if isinstance(query, DenseQuery):
            self._check_dim(query.embedding, "query embedding")
            vector: Any = list(query.embedding)
            using = DENSE_VECTORS_NAME
        elif isinstance(query, SparseQuery):
            vector = models.SparseVector(
                indices=list(query.sparse_embedding.indices), values=list(query.sparse_embedding.values)
            )
            using = SPARSE_VECTORS_NAME
        else:
            raise TypeError(f"search_ids() takes DenseQuery and SparseQuery, not {type(query).__name__}.")
        return models.QueryRequest(
            query=vector,
            using=using,
            filter=convert_filters_to_qdrant(query.filters),
            limit=query.top_k,
            score_threshold=query.score_threshold,
            with_payload=["id"],  # the Document id only: payloads of the final top-k come from retrieve()
        )

    # ---- writes ------------------------------------------------------------------------------

    def write_documents(
        self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.OVERWRITE
    ) -> int:
        if policy not in (DuplicatePolicy.OVERWRITE, DuplicatePolicy.NONE):
            raise ValueError(
                f"ServerDocumentStore supports DuplicatePolicy.OVERWRITE and NONE only, not {policy.name}."
            )
        for doc in documents:
            if not isinstance(doc, Document):
                raise ValueError(f"write_documents() expects Documents, got {type(doc).__name__}.")
            if doc.embedding is not None:
                self._check_dim(doc.embedding, f"embedding of document {doc.id}")
        with self._write_lock:
            for start in range(0, len(documents), self.write_batch_size):
                batch = documents[start : start + self.write_batch_size]
                bare = [
                    replace(d, meta={k: v for k, v in d.meta.items() if k != SENTENCE_META}) for d in batch
                ]
                points = convert_haystack_documents_to_qdrant_points(bare, use_sparse_embeddings=True)
                for doc, point in zip(batch, points, strict=True):
                    sentences = doc.meta.get(SENTENCE_META)
                    if sentences and isinstance(point.vector, dict):
                        point.vector[SENTENCE_VECTORS_NAME] = [[float(x) for x in v] for v in sentences]
                self.client.upsert(self.collection, points, wait=True)
        return len(documents)

    def delete_documents(self, ids: list[str]) -> None:
        if ids:
            with self._write_lock:
                self.client.delete(
                    self.collection, models.PointIdsList(points=[convert_id(i) for i in ids]), wait=True
                )

    def delete_by_filter(self, filters: dict[str, Any] | list[dict[str, Any]]) -> int:
        query_filter = convert_filters_to_qdrant(filters)
        if query_filter is None:  # no filter deletes nothing (not everything)
            return 0
        with self._write_lock:
            count = self.client.count(self.collection, count_filter=query_filter, exact=True).count
            if count:
                self.client.delete(self.collection, models.FilterSelector(filter=query_filter), wait=True)
        return count


def _documents(points: Sequence[Any]) -> list[Document]:
    return [convert_qdrant_point_to_haystack_document(p, use_sparse_embeddings=True) for p in points]
