"""Qdrant, embedded on disk by default or a server when ``QDRANT_URL`` is set: one code path.

Embedded Qdrant locks its folder, so a process holds exactly one client per path; every
component (document store, retrievers, the documents manifest) shares it through
:func:`get_document_store`.
"""

from __future__ import annotations

import atexit
import threading
import uuid
from typing import Any

from haystack.utils import Secret
from haystack_integrations.document_stores.qdrant import QdrantDocumentStore
from qdrant_client import QdrantClient, models

from core.settings import Settings

#: Payload fields the filters use; Haystack stores a Document's meta under "meta".
PAYLOAD_INDEXES: list[dict[str, Any]] = [
    {"field_name": f"meta.{name}", "field_schema": models.PayloadSchemaType.KEYWORD}
    for name in ("doc_id", "kind", "language", "funds", "doc_fingerprint")
]

_stores: dict[str, QdrantDocumentStore] = {}
_lock = threading.Lock()


def _key(settings: Settings) -> str:
    return f"{settings.qdrant_url or settings.qdrant_path}#{settings.qdrant_collection}"


def get_document_store(settings: Settings, embedding_dim: int = 384) -> QdrantDocumentStore:
    """The process-wide store for these settings (created on first use)."""
    key = _key(settings)
    with _lock:
        store = _stores.get(key)
        if store is None:
            common: dict[str, Any] = dict(
                index=settings.qdrant_collection,
                embedding_dim=embedding_dim,
                similarity="cosine",
                use_sparse_embeddings=True,
                sparse_idf=True,
                return_embedding=False,
                progress_bar=False,
                # embedded Qdrant filters by scanning and warns that indexes do nothing there
                payload_fields_to_index=PAYLOAD_INDEXES if settings.qdrant_url else None,
                write_batch_size=256,
            )
            if settings.qdrant_url:
                api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
                store = QdrantDocumentStore(
                    url=settings.qdrant_url,
                    api_key=Secret.from_token(api_key) if api_key else None,
                    prefer_grpc=settings.qdrant_prefer_grpc,
                    shard_number=settings.qdrant_shards,
                    replication_factor=settings.qdrant_replicas,
                    timeout=60,
                    **common,
                )
            else:
                settings.qdrant_path.mkdir(parents=True, exist_ok=True)
                store = QdrantDocumentStore(path=str(settings.qdrant_path), **common)
            store.count_documents()  # connect and create the collection now, not on the first query
            if not _stores:
                atexit.register(close_stores)  # close before interpreter teardown, not in __del__
            _stores[key] = store
        return store


def store_client(store: QdrantDocumentStore) -> QdrantClient:
    """The qdrant-client of a store, for the calls qdrant-haystack does not offer (payload-free
    candidate search, the manifest collection). qdrant-haystack keeps it private."""
    store._initialize_client()
    assert store._client is not None
    return store._client


def qdrant_client(settings: Settings) -> QdrantClient:
    return store_client(get_document_store(settings))


def close_stores() -> None:
    """Release embedded locks (tests, restarts within one process)."""
    with _lock:
        for store in _stores.values():
            store.close()
        _stores.clear()


class DocumentManifest:
    """One record per ingested document: fingerprint, title, counts.

    Kept in a vector-less side collection of the same Qdrant, so the server path needs no
    other database. The fingerprint is written *after* the passages, which makes an ingest
    killed midway visible (fingerprints differ) and repaired by the next run.
    """

    def __init__(self, settings: Settings) -> None:
        self.client = qdrant_client(settings)
        self.collection = f"{settings.qdrant_collection}_documents"
        if not self.client.collection_exists(self.collection):
            kwargs: dict[str, Any] = {}
            if settings.qdrant_url:
                kwargs = dict(
                    shard_number=settings.qdrant_shards, replication_factor=settings.qdrant_replicas
                )
            self.client.create_collection(self.collection, vectors_config={}, **kwargs)

    @staticmethod
    def _point_id(doc_id: str) -> str:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"policy-qa:{doc_id}").hex

    def get(self, doc_id: str) -> dict[str, Any] | None:
        found = self.client.retrieve(self.collection, [self._point_id(doc_id)], with_payload=True)
        return dict(found[0].payload or {}) if found else None

    def put(self, record: dict[str, Any]) -> None:
        point = models.PointStruct(id=self._point_id(record["doc_id"]), vector={}, payload=record)
        self.client.upsert(self.collection, [point], wait=True)

    def delete(self, doc_id: str) -> None:
        self.client.delete(self.collection, models.PointIdsList(points=[self._point_id(doc_id)]), wait=True)

    def all(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        offset = None
        while True:
            batch, offset = self.client.scroll(self.collection, limit=256, offset=offset, with_payload=True)
            records.extend(dict(p.payload or {}) for p in batch)
            if offset is None:
                break
        return sorted(records, key=lambda r: r["doc_id"])
