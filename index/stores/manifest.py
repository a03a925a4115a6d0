"""The documents manifest: one record per ingested document (fingerprint, title, counts).

The indexer writes a document's record *after* its passages, so an ingest killed midway is
visible (fingerprints differ) and repaired by the next run.

* Embedded: a SQLite file beside the Edge shard (an Edge shard is one collection; SQLite is
  transactional, in the standard library, and a record write is one small commit).
* Server: a vector-less side collection of the same Qdrant, so every API process sees it and
  the server path needs no other database.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any

from qdrant_client import QdrantClient, models


class SqliteManifest:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS documents (doc_id TEXT PRIMARY KEY, record TEXT NOT NULL)"
        )

    def get(self, doc_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT record FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, record: dict[str, Any]) -> None:
        data = json.dumps(record, ensure_ascii=False)
        with self._lock:
            self._db.execute(
                "INSERT INTO documents (doc_id, record) VALUES (?, ?) "
                "ON CONFLICT(doc_id) DO UPDATE SET record = excluded.record",
                (record["doc_id"], data),
            )

    def delete(self, doc_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT record FROM documents ORDER BY doc_id").fetchall()
        return [json.loads(r[0]) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


class QdrantManifest:
    def __init__(self, client: QdrantClient, collection: str, shards: int = 1, replicas: int = 1) -> None:
        self.client = client
        self.collection = collection
        if not client.collection_exists(collection):
            kwargs: dict[str, Any] = {}
            if shards > 1 or replicas > 1:
                kwargs = dict(shard_number=shards, replication_factor=replicas)
            client.create_collection(collection, vectors_config={}, **kwargs)

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

    def close(self) -> None:
        """The client belongs to the passage store, which closes it."""
