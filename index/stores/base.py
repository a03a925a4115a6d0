"""What every passage store offers, whichever engine holds the points.

Two engines keep one schema (qdrant-haystack's: point id ``convert_id(Document.id)``, payload
``{"id", "content", "meta": {...}}``, dense vector ``text-dense`` (cosine), sparse vector
``text-sparse`` with the IDF modifier, keyword indexes on the filtered fields):

* :class:`index.stores.edge.EdgeDocumentStore`, the embedded default: a Qdrant Edge shard in
  the data folder (Qdrant's engine in-process);
* :class:`index.stores.server.ServerDocumentStore`: a Qdrant server or cluster (``QDRANT_URL``).

Both are Haystack-style document stores (write, delete by filter, filter, count) plus the two
calls the retrievers need to fuse rankings themselves: ``search_ids`` (several rankings in
one batch, ids and scores only) and ``retrieve`` (payloads of the final top-k only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from haystack import Document
from haystack.dataclasses import SparseEmbedding
from haystack.document_stores.types import DuplicatePolicy

#: Payload fields the filters use (index.retrieval.filters_to_haystack, the indexer): keyword
#: indexes on them make a filtered query over 100k points 0.6 ms instead of 268 ms.
PAYLOAD_FIELDS: tuple[str, ...] = (
    "meta.doc_id",
    "meta.kind",
    "meta.language",
    "meta.funds",
    "meta.doc_fingerprint",
)

Filters = dict[str, Any] | list[dict[str, Any]] | None

#: The multivector of a passage's sentence embeddings (MaxSim): a question matches the one
#: sentence that answers it, not the average of a long passage. Written from
#: ``Document.meta[SENTENCE_META]``, which is not stored in the payload.
SENTENCE_VECTORS_NAME = "text-sentences"
SENTENCE_META = "sentence_embeddings"


@dataclass(frozen=True)
class DenseQuery:
    """One dense (cosine) ranking for :meth:`PassageStore.search_ids`."""

    embedding: Sequence[float]
    top_k: int = 10
    filters: Filters = None
    score_threshold: float | None = None


@dataclass(frozen=True)
class SparseQuery:
    """One sparse (IDF-weighted dot product) ranking for :meth:`PassageStore.search_ids`."""

    sparse_embedding: SparseEmbedding
    top_k: int = 10
    filters: Filters = None
    score_threshold: float | None = None


@dataclass(frozen=True)
class SentenceQuery:
    """MaxSim of one query vector over the sentence vectors of the documents ``ids``."""

    embedding: Sequence[float]
    ids: Sequence[str]


Query = DenseQuery | SparseQuery | SentenceQuery


class PassageStore(Protocol):
    """The document store interface both engines implement (the same tests run on both)."""

    def count_documents(self) -> int: ...

    def count_documents_by_filter(self, filters: Filters) -> int: ...

    def filter_documents(self, filters: Filters = None) -> list[Document]: ...

    def get_documents_by_id(self, ids: list[str]) -> list[Document]: ...

    def write_documents(self, documents: list[Document], policy: DuplicatePolicy = ...) -> int: ...

    def delete_documents(self, ids: list[str]) -> None: ...

    def delete_by_filter(self, filters: dict[str, Any] | list[dict[str, Any]]) -> int: ...

    def search_ids(self, requests: Sequence[Query]) -> list[list[tuple[str, float]]]:
        """Each request's ranking as (Document.id, score), best first, in one round trip."""
        ...

    def retrieve(self, ids: list[str]) -> list[Document]:
        """The documents of these ids, in that order (ids no longer stored are left out)."""
        ...

    def sentence_vectors(self, ids: list[str]) -> dict[str, list[list[float]]]:
        """The stored sentence vectors of these passages, one per sentence in text order
        (passages without any, or no longer stored, are left out)."""
        ...

    def without_sentence_vectors(self, limit: int) -> list[Document]:
        """Up to ``limit`` passages the store holds no sentence vectors for (written before they
        were stored), without reading anybody's vectors: what the answer cache has to encode."""
        ...

    def optimize(self, reopen: bool = False) -> bool:
        """Build the search indexes after a bulk write; ``reopen``: the caller reads nothing
        meanwhile, so the store may let go of its files first (less memory; Edge only)."""
        ...

    def close(self) -> None: ...

    def to_dict(self) -> dict[str, Any]: ...


class Manifest(Protocol):
    """One record per ingested document (fingerprint, title, counts), beside the passages."""

    def get(self, doc_id: str) -> dict[str, Any] | None: ...

    def put(self, record: dict[str, Any]) -> None: ...

    def delete(self, doc_id: str) -> None: ...

    def all(self) -> list[dict[str, Any]]: ...

    def close(self) -> None: ...
