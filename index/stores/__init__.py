"""The passage store and the documents manifest for a Settings: embedded or server, one code path.

No ``QDRANT_URL``: a Qdrant Edge shard under ``<data_dir>/edge/`` (Qdrant's engine in
process) and a SQLite manifest beside it. With ``QDRANT_URL``: a collection on that server
and a side collection for the manifest. An Edge folder is locked by the process that opens
it, so a process holds exactly one store per folder, shared by every component through
:func:`get_document_store`.
"""

from __future__ import annotations

import atexit
import logging
import threading
from pathlib import Path
from typing import Any

from core.settings import Settings
from index.stores.base import (
    PAYLOAD_FIELDS,
    DenseQuery,
    Manifest,
    PassageStore,
    SentenceQuery,
    SparseQuery,
)
from index.stores.edge import EdgeDocumentStore
from index.stores.manifest import QdrantManifest, SqliteManifest
from index.stores.server import ServerDocumentStore

__all__ = [
    "PAYLOAD_FIELDS",
    "DenseQuery",
    "EdgeDocumentStore",
    "Manifest",
    "PassageStore",
    "SentenceQuery",
    "ServerDocumentStore",
    "SparseQuery",
    "close_store",
    "close_stores",
    "get_document_store",
    "get_manifest",
    "legacy_local_index",
    "store_from_dict",
]

log = logging.getLogger(__name__)

_stores: dict[str, PassageStore] = {}
_manifests: dict[str, Manifest] = {}
_lock = threading.Lock()


def _key(settings: Settings) -> str:
    return f"{settings.qdrant_url or settings.edge_path}#{settings.qdrant_collection}"


def get_document_store(settings: Settings, embedding_dim: int = 384) -> PassageStore:
    """The process-wide passage store for these settings (opened on first use)."""
    key = _key(settings)
    with _lock:
        store = _stores.get(key)
        if store is None:
            if settings.qdrant_url:
                api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
                store = ServerDocumentStore(
                    settings.qdrant_collection,
                    embedding_dim=embedding_dim,
                    url=settings.qdrant_url,
                    api_key=api_key,
                    prefer_grpc=settings.qdrant_prefer_grpc,
                    shards=settings.qdrant_shards,
                    replicas=settings.qdrant_replicas,
                )
            else:
                store = EdgeDocumentStore(settings.edge_path, embedding_dim=embedding_dim)
            if not _stores:
                atexit.register(close_stores)  # close before interpreter teardown, not in __del__
            _stores[key] = store
        return store


def get_manifest(settings: Settings) -> Manifest:
    """The process-wide documents manifest beside the passage store."""
    store = get_document_store(settings)
    key = _key(settings)
    with _lock:
        manifest = _manifests.get(key)
        if manifest is None:
            if isinstance(store, ServerDocumentStore):
                manifest = QdrantManifest(
                    store.client,
                    f"{settings.qdrant_collection}_documents",
                    shards=settings.qdrant_shards,
                    replicas=settings.qdrant_replicas,
                )
            else:
                manifest = SqliteManifest(settings.manifest_path)
            _manifests[key] = manifest
        return manifest


def store_from_dict(data: dict[str, Any]) -> PassageStore:
    """A store from its ``to_dict`` (pipelines serialise their components' stores)."""
    classes: dict[str, type[EdgeDocumentStore] | type[ServerDocumentStore]] = {
        f"{cls.__module__}.{cls.__name__}": cls for cls in (EdgeDocumentStore, ServerDocumentStore)
    }
    if data.get("type") not in classes:
        raise ValueError(
            f"Unknown passage store type {data.get('type')!r}: expected one of {sorted(classes)}."
        )
    with _lock:  # an Edge folder opens once per process: reuse the store that holds it
        for store in _stores.values():
            if store.to_dict() == data:
                return store
    return classes[data["type"]].from_dict(data)


def close_store(settings: Settings) -> None:
    """Close the store and manifest of these settings only (others stay open)."""
    key = _key(settings)
    with _lock:
        manifest, store = _manifests.pop(key, None), _stores.pop(key, None)
    if manifest is not None:
        manifest.close()
    if store is not None:
        store.close()


def close_stores() -> None:
    """Release the Edge folder locks and connections (tests, restarts within one process)."""
    with _lock:
        for manifest in _manifests.values():
            manifest.close()
        for store in _stores.values():
            store.close()
        _manifests.clear()
        _stores.clear()


def legacy_local_index(settings: Settings) -> Path | None:
    """The folder of an index written by qdrant-client's local mode (the embedded engine
    before Qdrant Edge), when there is one and no Edge shard was built yet."""
    folder = settings.legacy_qdrant_path
    if settings.qdrant_url or not (folder / "meta.json").exists():
        return None
    return folder
