"""A Haystack-style document store over one Qdrant Edge shard kept in a folder.

Qdrant Edge (``qdrant-edge-py``) is the Qdrant engine linked into the process: no server, no
gRPC, one folder per shard. :class:`EdgeDocumentStore` stores exactly the points that
qdrant-haystack's ``QdrantDocumentStore(use_sparse_embeddings=True, sparse_idf=True,
similarity="cosine")`` stores, so that a corpus can move between the Edge shard and a Qdrant
server (a server shard snapshot unpacks into an Edge folder) without a schema change:

* point id: ``convert_id(Document.id)`` (uuid5 in qdrant-haystack's namespace);
* payload: ``Document.to_dict(flatten=False)`` without the embeddings, so ``{"id", "content",
  "blob", "meta": {...}, "score": None}``, and filters address ``meta.doc_id`` as a path;
* vectors: dense ``"text-dense"`` (cosine), sparse ``"text-sparse"`` (IDF modifier), and the
  sentence multivector ``"text-sentences"`` (MaxSim; no graph, on disk: see
  :meth:`EdgeDocumentStore._config` for the layout and its measured memory).

The conversion itself is qdrant-haystack's (:func:`convert_haystack_documents_to_qdrant_points`),
imported rather than copied, so the two stores cannot drift apart.

What the engine guarantees, measured with qdrant-edge-py 0.9.0 (see ``benchmarks/edge_optimize.py``
and ``tests/index/test_edge_store.py``):

* Concurrency: every shard call is safe from any thread (4 readers querying while a writer
  upserts and deletes 5,000 points: 0 errors), so the store adds no readers-writer lock. But
  every call holds the GIL for its whole duration (``query``, ``query_batch``, ``count``,
  ``scroll``, ``retrieve``, ``update``, ``flush``; a pure-Python thread makes no progress during
  a 6 s ``query``), so calls from several threads run one after the other, and ``optimize()``
  freezes every Python thread of the process for as long as it runs (84 to 139 s for 100k
  points on 2 busy cores, see ``benchmarks/edge_optimize.py`` for when it pays). Writers of this store take one lock so that a batch and its flush, or
  ``delete_by_filter``'s count and delete, are not interleaved with another writer.
* Durability: ``update`` appends to a write-ahead log (an mmap'd file) and returns without
  ``msync``/``fsync`` (strace). Acknowledged writes therefore survive the process being killed
  (SIGKILL: the WAL is replayed on load) but not an OS crash or power loss until ``flush()``,
  which syncs the WAL and the segments (about 6 ms on this disk). ``flush_each_batch=True`` (the
  default) flushes after every write batch, so an acknowledged write is on disk.
"""

from __future__ import annotations

import itertools
import json
import logging
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from threading import Event, Lock
from typing import Any

import qdrant_edge as edge
from haystack import Document, default_from_dict, default_to_dict
from haystack.dataclasses import SparseEmbedding
from haystack.document_stores.errors import DocumentStoreError
from haystack.document_stores.types import DuplicatePolicy
from haystack.errors import FilterError
from haystack_integrations.document_stores.qdrant.converters import (
    DENSE_VECTORS_NAME,
    SPARSE_VECTORS_NAME,
    convert_haystack_documents_to_qdrant_points,
    convert_id,
)

from index.stores.base import PAYLOAD_FIELDS as DEFAULT_PAYLOAD_FIELDS
from index.stores.base import (
    SENTENCE_META,
    SENTENCE_VECTORS_NAME,
    DenseQuery,
    Query,
    SentenceQuery,
    SparseQuery,
)

_SCROLL_PAGE = 1_000
#: Point id -> Document.id entries kept for payload-free search before the cache starts over.
_ID_CACHE_MAX = 500_000
# searches run again when a point they found was deleted before it was read (a re-ingest)
_READ_ATTEMPTS = 3

log = logging.getLogger(__name__)
#: Shard folders already told that their segments keep the layout before #14 (once per process).
_WARNED_LAYOUT: set[Path] = set()

EdgeFilter = edge.Filter
EdgeCondition = edge.FieldCondition | edge.Filter


class EdgeFilterError(FilterError, ValueError):
    """A Haystack filter that cannot be expressed as an Edge filter.

    Both a :class:`haystack.errors.FilterError` (what qdrant-haystack raises) and a
    :class:`ValueError`, so callers written against either keep working.
    """


class EdgeStoreClosedError(DocumentStoreError):
    """The store was closed; the folder may already be open elsewhere."""


# --------------------------------------------------------------------------------------------
# Haystack filters -> Edge filters
# --------------------------------------------------------------------------------------------


def convert_filters(
    filters: dict[str, Any] | list[dict[str, Any]] | edge.Filter | None,
) -> edge.Filter | None:
    """Haystack 2.x filters as one Edge :class:`qdrant_edge.Filter` (``None``: no restriction).

    The translation is qdrant-haystack's (``convert_filters_to_qdrant``) condition for condition,
    so that a filter selects the same points on the Edge shard as on a Qdrant server:

    * ``!=`` is ``must_not(match)``: a document *without* the field matches ``!=``; on a list
      field (``meta.funds``), ``!=`` means "none of the values is it", ``==`` "one of them is it";
    * ``not in`` is ``must_not`` of every value, so a missing field matches too;
    * ``NOT`` is ``must_not`` of all its conditions, i.e. *none* of them holds (qdrant-haystack's
      meaning; Haystack's in-memory store reads it as "not all of them");
    * ``in []`` and ``not in []`` restrict nothing (qdrant-haystack sends an empty ``should``,
      which Qdrant ignores);
    * a top-level list of conditions is their ``AND``.

    ``in``/``not in`` use one ``MatchAny`` instead of a ``should`` of ``MatchValue`` when the values
    are all strings or all integers: the same points, but one keyword-index lookup, where a long
    ``should`` on an unindexed field is evaluated condition by condition (200 of them over 100k
    points: 4.5 s).

    Raises :class:`EdgeFilterError` (a ``ValueError``) for what Edge cannot express faithfully:
    an unknown operator, a missing field/value/operator, a boolean value (qdrant-edge-py 0.9.0
    turns ``MatchValue(True)`` into the integer 1, so it would silently match integers and never
    booleans), ``==`` on a float, a range on a non-number non-ISO-date value.
    """
    if filters is None:
        return None
    if isinstance(filters, edge.Filter):
        return filters
    if isinstance(filters, dict):
        if not filters:
            return None
        items: list[Any] = [filters]
    elif isinstance(filters, list):
        items = filters
    else:
        raise EdgeFilterError(
            f"Filters must be a dict, a list of dicts or a qdrant_edge.Filter, not {type(filters).__name__}."
        )
    conditions = [c for c in (_condition(item) for item in items) if c is not None]
    if not conditions:
        return None
    if len(conditions) == 1 and isinstance(conditions[0], edge.Filter):
        return conditions[0]
    return edge.Filter(must=conditions)


def _condition(item: Any) -> EdgeCondition | None:
    if not isinstance(item, dict):
        raise EdgeFilterError(f"A filter condition must be a dict, not {item!r}.")
    operator = item.get("operator")
    if operator is None:
        raise EdgeFilterError(
            f"Filter {item!r} has no 'operator'; see https://docs.haystack.deepset.ai/docs/metadata-filtering."
        )
    if operator in ("AND", "OR", "NOT"):
        conditions = item.get("conditions")
        if not conditions or not isinstance(conditions, list):
            raise EdgeFilterError(f"Logical operator {operator!r} needs a non-empty list of 'conditions'.")
        nested = [c for c in (_condition(sub) for sub in conditions) if c is not None]
        if not nested:
            return None
        if operator == "AND":
            return edge.Filter(must=nested)
        if operator == "OR":
            return edge.Filter(should=nested)
        return edge.Filter(must_not=nested)

    field, value = item.get("field"), item.get("value")
    if not isinstance(field, str) or not field:
        raise EdgeFilterError(f"Filter {item!r} needs a 'field' (e.g. 'meta.doc_id').")
    if value is None:
        raise EdgeFilterError(f"Filter {item!r} needs a 'value' (None cannot be compared in Qdrant).")
    if operator == "==":
        return edge.FieldCondition(field, match=_match_value(field, value))
    if operator == "!=":
        return edge.Filter(must_not=[edge.FieldCondition(field, match=_match_value(field, value))])
    if operator in ("in", "not in"):
        if not isinstance(value, list):
            raise EdgeFilterError(f"Operator {operator!r} on {field!r} needs a list value, not {value!r}.")
        if not value:
            return edge.Filter(should=[]) if operator == "in" else edge.Filter(must_not=[])
        any_of = _match_any(field, value)
        return any_of if operator == "in" else edge.Filter(must_not=[any_of])
    if operator in (">", ">=", "<", "<="):
        return _range(field, operator, value)
    raise EdgeFilterError(f"Unknown filter operator {operator!r}.")


def _match_value(field: str, value: Any) -> edge.MatchValue:
    if isinstance(value, bool):
        raise EdgeFilterError(
            f"Boolean filter on {field!r} is not supported: qdrant-edge-py 0.9.0 sends True/False "
            "as the integers 1/0, which never match a stored boolean."
        )
    if isinstance(value, (str, int)):
        return edge.MatchValue(value)
    raise EdgeFilterError(
        f"Cannot match {field!r} against {value!r}: '==', '!=', 'in' and 'not in' take strings or integers "
        "(use '>=' and '<=' for floats)."
    )


def _match_any(field: str, values: list[Any]) -> EdgeCondition:
    for v in values:
        _match_value(field, v)  # the same validation as '=='
    if all(isinstance(v, str) for v in values) or all(isinstance(v, int) for v in values):
        return edge.FieldCondition(field, match=edge.MatchAny(values))
    return edge.Filter(should=[edge.FieldCondition(field, match=edge.MatchValue(v)) for v in values])


_RANGE_KEYS = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}


def _range(field: str, operator: str, value: Any) -> edge.FieldCondition:
    key = _RANGE_KEYS[operator]
    if isinstance(value, bool):
        raise EdgeFilterError(f"Operator {operator!r} on {field!r} does not take a boolean.")
    if isinstance(value, (int, float)):
        return edge.FieldCondition(field, range=edge.RangeFloat(**{key: float(value)}))
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return edge.FieldCondition(field, range=edge.RangeDateTime(**{key: moment.isoformat()}))
    raise EdgeFilterError(
        f"Operator {operator!r} on {field!r} needs a number or an ISO 8601 date string, not {value!r}."
    )


# --------------------------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=65_536)
def _point_uuid(doc_id: str) -> uuid.UUID:
    """The point id of a Document id (a uuid5), cached: every hybrid question names its 50
    candidates by Document id for the sentence re-score (building its request took 1.2 ms
    a question under cProfile, 0.4 ms cached)."""
    return uuid.UUID(convert_id(doc_id))


class EdgeDocumentStore:
    """Documents in one Qdrant Edge shard at ``path``, in qdrant-haystack's point schema.

    Thread-safe: the engine serialises its own calls (they hold the GIL, see the module
    docstring); writers of this store additionally take one lock. Open one store per folder and
    process: Edge locks the folder's WAL, and a second open fails.
    """

    def __init__(
        self,
        path: str | Path,
        embedding_dim: int = 384,
        payload_fields_to_index: Sequence[str] = DEFAULT_PAYLOAD_FIELDS,
        flush_each_batch: bool = True,
        write_batch_size: int = 256,
    ) -> None:
        """Open the shard in ``path`` if the folder holds one, else create it there.

        :param embedding_dim: size of the dense vectors; an existing shard of another size is
            refused (Edge checks the stored config against this one).
        :param payload_fields_to_index: payload paths given a keyword index (created when missing).
            Without one, a filtered query scans every payload (100k points: 268 ms instead of 0.6 ms).
        :param flush_each_batch: ``flush()`` after every write batch so that an acknowledged write
            also survives an OS crash; without it, writes survive a killed process only (WAL).
        :param write_batch_size: documents per ``update`` call (and per flush).
        """
        self.path = Path(path)
        self.embedding_dim = embedding_dim
        self.payload_fields_to_index = list(payload_fields_to_index)
        self.flush_each_batch = flush_each_batch
        self.write_batch_size = write_batch_size
        self._write_lock = Lock()
        # point id -> Document.id: uuid5 cannot be inverted, and reading the "id" payload of every
        # candidate costs as much as reading the whole payload. The map never goes stale: a point
        # id is a function of the Document id.
        self._doc_ids: dict[uuid.UUID, str] = {}
        self._ready = Event()  # cleared while optimize() closes and loads the shard again
        self._ready.set()
        self._shard: edge.EdgeShard | None = self._open()
        self._ensure_payload_indexes()

    # ---- lifecycle -------------------------------------------------------------------------

    def _config(self) -> edge.EdgeConfig:
        """The shard's layout (issue #14: peak RSS at 1M passages).

        * ``text-dense``: Float32 in RAM (``Memory.Cached``, the default) with its HNSW graph, so
          dense and hybrid latencies are those of before;
        * ``text-sentences`` (MaxSim multivector, ~2.5 vectors a passage, ~3.8 GB of float32 at
          1M): no HNSW graph (``m=0``) and kept on disk (``Memory.Cold``: mmap'd, pages read on
          demand). It is only ever scored by :class:`SentenceQuery` over <= 50 given ids, which
          reads those ids' vectors: a graph is never used and RAM residence buys nothing.
          Float32 is kept: Float16 moves MaxSim scores by up to ~5e-5, and rankings must not move;
        * ``text-sparse``: IDF, its inverted index in RAM (the default); payload on disk (the
          default, ``Memory.Cold``).

        Measured on bare shards of random points in this schema (``benchmarks/edge_memory.py``,
        2 cores shared with other runs, so times are upper bounds), against the layout before
        #14 (every vector with a graph and in RAM):

        * optimize() at 100k points: 956 s -> 77-203 s (m=0; the sentence graph was most of it);
        * a serving process: -435 MB at 100k, -850 MB at 200k (the sentence vectors are no
          longer read into RAM on load; ~3.7 GB at 1M);
        * peak RSS of optimize(): 3.0 -> 2.5 GB at 100k, over 5.8 (killed; 5.1 with m=0 only) ->
          4.8 GB at 200k, and 2.05 / 3.85 GB with ``optimize(reopen=True)``; it stays ~85 %
          file-backed pages of the mmap'd segments (page cache), ~2.2-3x the shard's size on disk;
        * latency: dense and sparse unchanged (0.6-0.8 ms), the 50-id re-score 0.20-0.26 ->
          0.28-0.47 ms (its vectors come from the page cache);
        * rankings: unchanged (the same float32 vectors; ``tests/index/test_engine_parity.py``).

        A shard created with the previous layout opens with this one (qdrant-edge-py 0.9.0 checks
        sizes, distances, datatypes and modifiers, not graphs or memory placement), answers the
        same, and takes the new layout when optimize() next rewrites its segments: see
        :meth:`_open`.
        """
        return _edge_config(self.embedding_dim, previous=False)

    def _holds_shard(self) -> bool:
        """A shard created here writes ``edge_config.json``; a server snapshot unpacked with
        ``EdgeShard.unpack_snapshot`` brings ``segments/`` without it. Either is loaded."""
        segments = self.path / "segments"
        return (self.path / "edge_config.json").exists() or (segments.is_dir() and any(segments.iterdir()))

    def _open(self) -> edge.EdgeShard:
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            if not self._holds_shard():
                return edge.EdgeShard.create(str(self.path), self._config())
            # with a config, load checks it against the stored segments (dimension, modifier) and
            # records it; a shard created with the layout before #14 is accepted (qdrant-edge-py
            # 0.9.0: the HNSW and memory settings are not part of the check) and its segments
            # take the new layout when optimize() next rewrites them
            try:
                shard = edge.EdgeShard.load(str(self.path), self._config())
            except Exception as new_layout_error:
                # should a later engine refuse the new layout on an old shard, open it as it
                # was created rather than refuse the index; a wrong dimension fails here too
                try:
                    shard = edge.EdgeShard.load(
                        str(self.path), _edge_config(self.embedding_dim, previous=True)
                    )
                except Exception:
                    raise new_layout_error from None
                log.warning(
                    "The Edge shard in %s was opened with the layout it was created with (%s): it "
                    "answers as before; the lighter layout of #14 (sentence vectors on disk, no "
                    "graph) applies to shards created from now on, or once this index is rebuilt.",
                    self.path,
                    new_layout_error,
                )
                _WARNED_LAYOUT.add(self.path.resolve())
                return shard
            self._warn_previous_layout()
            return shard
        except Exception as e:  # the bindings raise a bare Exception with the engine's message
            raise DocumentStoreError(f"Cannot open the Edge shard in {self.path}: {e}") from e

    def previous_layout_segments(self) -> int:
        """Segments whose sentence vectors still have the layout before #14 (an HNSW graph of
        their own, or storage in RAM); ``optimize()`` rewrites them. Reads each ``segment.json``;
        0 if that format is not understood."""
        count = 0
        for meta in (self.path / "segments").glob("*/segment.json"):
            try:
                vector = json.loads(meta.read_text())["config"]["vector_data"].get(SENTENCE_VECTORS_NAME)
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                continue
            if not isinstance(vector, dict):
                continue
            index = vector.get("index") or {}
            graph = index.get("type") == "hnsw" and (index.get("options") or {}).get("m", 0) != 0
            in_ram = str(vector.get("storage_type", "")).startswith(("InRam", "Memory"))
            count += graph or in_ram
        return count

    def _warn_previous_layout(self) -> None:
        key = self.path.resolve()
        if key in _WARNED_LAYOUT:
            return
        outdated = self.previous_layout_segments()
        if outdated:
            _WARNED_LAYOUT.add(key)
            log.warning(
                "The Edge shard in %s answers as before, but %d of its segments keep the layout "
                "before #14 (sentence vectors in RAM with an HNSW graph of their own: several "
                "times the optimize() time, more memory). The next optimize() rewrites them: `policy-qa "
                "ingest` runs it after writing enough points (settings.optimize_after_points); "
                'to apply it now, with the service stopped: python -c "from index.stores import '
                "EdgeDocumentStore; EdgeDocumentStore('%s').optimize(reopen=True)\" (minutes at "
                "1M points).",
                self.path,
                outdated,
                self.path,
            )

    def _ensure_payload_indexes(self) -> None:
        existing = set(self.shard.info().payload_schema)
        missing = [field for field in self.payload_fields_to_index if field not in existing]
        if missing:
            with self._write_lock:
                for field in missing:
                    self.shard.update(
                        edge.UpdateOperation.create_field_index(field, edge.PayloadSchemaType.Keyword)
                    )
                self.shard.flush()

    @property
    def shard(self) -> edge.EdgeShard:
        """The open Edge shard, for calls the store does not wrap (facets, native fusion)."""
        shard = self._shard
        if shard is None and not self._ready.is_set():
            self._ready.wait()
            shard = self._shard
        if shard is None:
            raise EdgeStoreClosedError(f"The Edge store at {self.path} is closed.")
        return shard

    def close(self) -> None:
        """Flush and release the folder (its WAL lock), so another store or process can open it.

        Idempotent. Calls after ``close`` raise :class:`EdgeStoreClosedError`.
        """
        with self._write_lock:
            shard, self._shard = self._shard, None
            if shard is not None:
                shard.close()

    def __enter__(self) -> EdgeDocumentStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def optimize(self, reopen: bool = False) -> bool:
        """Merge segments and build the HNSW and sparse indexes; blocks until done.

        Returns whether anything was optimised. Edge has no background optimiser: without this
        call, points written stay in plain (brute-force) segments. Writers wait meanwhile, and
        since the engine holds the GIL throughout, so does every other Python thread (84 to 139 s
        for 100k points on 2 cores): call it after a bulk ingest of more than ~10k points, not
        from a serving process (``benchmarks/edge_optimize.py``: at 100k it takes a dense query
        from 6.9 ms to 0.8 ms; below ~5k points it has nothing to do).

        ``reopen=True`` closes the shard and loads it again before and after (a load takes
        0.3-0.6 s at 100-200k points), for a process that reads nothing meanwhile (``policy-qa
        ingest``): a shard in use by another thread is left open (no swap), but a reader that took
        the shard just before it is closed fails. Before: the
        segments just written stay mapped with every page the writes touched, and optimize()
        reads them and writes their replacement on top; letting them go first lowered the peak
        RSS of optimize() by 430 MB (17 %) at 100k points and 1.0 GB (21 %) at 200k
        (``benchmarks/edge_memory.py``, ``cold+reopen``). After: the replaced segments stay
        mapped, and on disk, until the shard is closed (1.9 GB of RSS right after optimize() at
        100k, 0.6 GB once loaded again).
        """
        with self._write_lock:
            if reopen:
                self._reload()
            changed = bool(self.shard.optimize())
            if reopen and changed:
                self._reload()
            return changed

    def _reload(self) -> None:
        """Close the shard and load it again (the caller holds the write lock). Readers that ask
        for :attr:`shard` meanwhile wait for the new one. A shard in use by another thread is
        left open (the bindings refuse to close it: "Already borrowed")."""
        shard = self.shard
        self._ready.clear()
        try:
            try:
                shard.close()
            except RuntimeError as e:
                log.info("The Edge shard in %s is in use, not reloaded: %s", self.path, e)
                return
            self._shard = None
            self._shard = self._open()
        finally:
            self._ready.set()

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(
            self,
            path=str(self.path),
            embedding_dim=self.embedding_dim,
            payload_fields_to_index=list(self.payload_fields_to_index),
            flush_each_batch=self.flush_each_batch,
            write_batch_size=self.write_batch_size,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EdgeDocumentStore:
        return default_from_dict(cls, data)

    # ---- reads -----------------------------------------------------------------------------

    def count_documents(self) -> int:
        return self.shard.count(edge.CountRequest(exact=True))

    def count_documents_by_filter(self, filters: dict[str, Any] | list[dict[str, Any]] | None) -> int:
        return self.shard.count(edge.CountRequest(exact=True, filter=convert_filters(filters)))

    def filter_documents(
        self,
        filters: dict[str, Any] | list[dict[str, Any]] | None = None,
        return_embedding: bool = False,
    ) -> list[Document]:
        """Every document matching ``filters``, in point-id order, without embeddings by default
        (they are 384 floats a document and the callers list passages)."""
        return list(self._scroll(convert_filters(filters), return_embedding))

    def _scroll(self, query_filter: edge.Filter | None, return_embedding: bool) -> Iterator[Document]:
        offset: Any = None
        while True:
            records, offset = self.shard.scroll(
                edge.ScrollRequest(
                    offset=offset,
                    limit=_SCROLL_PAGE,
                    filter=query_filter,
                    with_payload=True,
                    with_vector=return_embedding,
                )
            )
            for record in records:
                yield self._to_document(record, None, return_embedding)
            if offset is None:
                return

    def get_documents_by_id(self, ids: list[str], return_embedding: bool = False) -> list[Document]:
        """The documents with these ids, in the order asked (each once); missing ids are left out."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        points: list[edge.PointId] = [_point_uuid(i) for i in wanted]
        records = self.shard.retrieve(points, True, return_embedding)
        found = {record.id: record for record in records}
        documents: list[Document] = []
        for point in points:
            record = found.get(point)
            if record is not None:
                documents.append(self._to_document(record, None, return_embedding))
        return documents

    def retrieve(self, ids: list[str]) -> list[Document]:
        """Payloads of the final top-k after a :meth:`search_ids` fusion, in the order of ``ids``."""
        return self.get_documents_by_id(ids)

    def sentence_vectors(self, ids: list[str]) -> dict[str, list[list[float]]]:
        """The answer step's sentence vectors, read instead of encoded again (a few pages of the
        mmap'd multivector per passage, against ~25 sentences through the model per question)."""
        points = {_point_uuid(i): i for i in dict.fromkeys(ids)}
        if not points:
            return {}
        records = self.shard.retrieve(list(points), False, [SENTENCE_VECTORS_NAME])
        found: dict[str, list[list[float]]] = {}
        for record in records:
            vectors = record.vector.get(SENTENCE_VECTORS_NAME) if isinstance(record.vector, dict) else None
            if vectors and record.id in points:
                found[points[record.id]] = [list(v) for v in vectors]
        return found

    def without_sentence_vectors(self, limit: int) -> list[Document]:
        lacking = edge.Filter(must_not=[edge.HasVectorCondition(SENTENCE_VECTORS_NAME)])
        return list(itertools.islice(self._scroll(lacking, False), max(limit, 0)))

    @staticmethod
    def _to_document(record: Any, score: float | None, return_embedding: bool) -> Document:
        """A Document from an Edge Record/ScoredPoint, as qdrant-haystack's
        ``convert_qdrant_point_to_haystack_document`` makes one from a server point."""
        data = dict(record.payload or {})
        data["score"] = score
        if return_embedding and isinstance(record.vector, dict):
            data["embedding"] = record.vector.get(DENSE_VECTORS_NAME)
            sparse = record.vector.get(SPARSE_VECTORS_NAME)
            if sparse is not None:
                data["sparse_embedding"] = {"indices": list(sparse.indices), "values": list(sparse.values)}
        return Document.from_dict(data)

    # ---- search ----------------------------------------------------------------------------

    def _request(self, query: Query, with_payload: bool) -> edge.QueryRequest:
        if isinstance(query, SentenceQuery):
            self._check_dim(query.embedding, "query embedding")
            nearest = edge.Query.Nearest([[float(x) for x in query.embedding]], using=SENTENCE_VECTORS_NAME)
            ids = {_point_uuid(i) for i in query.ids}
            return edge.QueryRequest(
                limit=max(1, len(ids)),
                query=nearest,
                filter=edge.Filter(must=[edge.HasIdCondition(ids)]),
                with_payload=with_payload,
                with_vector=False,
            )
        if isinstance(query, DenseQuery):
            self._check_dim(query.embedding, "query embedding")
            nearest = edge.Query.Nearest([float(x) for x in query.embedding], using=DENSE_VECTORS_NAME)
        elif isinstance(query, SparseQuery):
            sparse = query.sparse_embedding
            nearest = edge.Query.Nearest(
                edge.SparseVector(list(sparse.indices), [float(v) for v in sparse.values]),
                using=SPARSE_VECTORS_NAME,
            )
        else:
            raise TypeError(f"Expected a DenseQuery or a SparseQuery, not {type(query).__name__}.")
        return edge.QueryRequest(
            limit=query.top_k,
            query=nearest,
            filter=convert_filters(query.filters),
            score_threshold=query.score_threshold,
            with_payload=with_payload,
            with_vector=False,
        )

    def search_ids(self, requests: Sequence[Query]) -> list[list[tuple[str, float]]]:
        """Several rankings in one ``query_batch`` call, as ``(Document.id, score)`` lists.

        No payload is read: fusion needs ids and scores only, and reading 2 x depth payloads to
        keep 10 cost more than the searches (the same reason as ``HybridRetriever``). Point ids
        map back to Document ids through a cache filled on first sight from the ``id`` payload
        field alone. A point deleted between the search and that read (a re-ingest replacing a
        document's passages) makes the batch run again, so the ranking holds the new points
        rather than losing the old ones; after a few attempts it is left out.
        """
        if not requests:
            return []
        batch = edge.QueryBatchRequest([self._request(q, with_payload=False) for q in requests])
        for _ in range(_READ_ATTEMPTS):
            # each ``.id`` read builds a new uuid.UUID in Python: read it once per point
            results = [[(p.id, p.score) for p in ranking] for ranking in self.shard.query_batch(batch)]
            known = self._doc_ids
            unknown = {point for ranking in results for point, _ in ranking if point not in known}
            learned = self._learn_doc_ids(unknown)
            if len(learned) == len(unknown):
                break  # else a point was deleted between the search and the read: search again
        rankings: list[list[tuple[str, float]]] = []
        for ranking in results:
            pairs = []
            for point, score in ranking:
                doc_id = learned.get(point) or known.get(point)
                if doc_id is not None:
                    pairs.append((doc_id, score))
            rankings.append(pairs)
        return rankings

    def _learn_doc_ids(self, points: set[Any]) -> dict[Any, str]:
        """Document ids of these points from their ``id`` payload field, also kept in the cache."""
        if not points:
            return {}
        records = self.shard.retrieve(list(points), edge.PayloadSelector.Include(["id"]), False)
        learned = {r.id: r.payload["id"] for r in records if isinstance((r.payload or {}).get("id"), str)}
        if len(self._doc_ids) + len(learned) > _ID_CACHE_MAX:
            self._doc_ids.clear()  # bounded memory; refilled from the payload on demand
        self._doc_ids.update(learned)
        return learned

    def query_dense(
        self,
        embedding: Sequence[float],
        filters: dict[str, Any] | list[dict[str, Any]] | None = None,
        top_k: int = 10,
    ) -> list[Document]:
        """Documents nearest to ``embedding`` (cosine) with ``.score``, like qdrant-haystack's
        ``_query_by_embedding``."""
        return self._query(DenseQuery(embedding, top_k, filters))

    def query_sparse(
        self,
        sparse_embedding: SparseEmbedding,
        filters: dict[str, Any] | list[dict[str, Any]] | None = None,
        top_k: int = 10,
    ) -> list[Document]:
        """Documents by IDF-weighted sparse dot product with ``.score``, like qdrant-haystack's
        ``_query_by_sparse``. Only documents sharing a term with the query are returned."""
        return self._query(SparseQuery(sparse_embedding, top_k, filters))

    def _query(self, query: DenseQuery | SparseQuery) -> list[Document]:
        points = self.shard.query(self._request(query, with_payload=True))
        return [self._to_document(p, p.score, False) for p in points]

    # ---- writes ----------------------------------------------------------------------------

    def _check_dim(self, embedding: Sequence[float], what: str) -> None:
        if len(embedding) != self.embedding_dim:
            raise ValueError(f"The {what} has {len(embedding)} dimensions, the store {self.embedding_dim}.")

    def write_documents(
        self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.OVERWRITE
    ) -> int:
        """Upsert ``documents`` (dense vector from ``.embedding``, sparse from ``.sparse_embedding``,
        either may be missing) in batches of ``write_batch_size``; returns how many were written.

        Only ``OVERWRITE`` (and ``NONE``, read as ``OVERWRITE``) is supported: ``SKIP`` and ``FAIL``
        need a read before the write, which is not atomic against another process or store.
        """
        if policy not in (DuplicatePolicy.OVERWRITE, DuplicatePolicy.NONE):
            raise ValueError(
                f"EdgeDocumentStore supports DuplicatePolicy.OVERWRITE and NONE only, not {policy.name}: "
                "check for existing ids with get_documents_by_id() first if needed."
            )
        for doc in documents:
            if not isinstance(doc, Document):
                raise ValueError(f"write_documents() expects Documents, got {type(doc).__name__}.")
            if doc.embedding is not None:
                self._check_dim(doc.embedding, f"embedding of document {doc.id}")
        if not documents:
            return 0
        with self._write_lock:
            shard = self.shard
            for start in range(0, len(documents), self.write_batch_size):
                batch = documents[start : start + self.write_batch_size]
                shard.update(edge.UpdateOperation.upsert_points(_edge_points(batch)))
                if self.flush_each_batch:
                    shard.flush()
        return len(documents)

    def delete_documents(self, ids: list[str]) -> None:
        """Delete these documents; unknown ids are ignored."""
        if not ids:
            return
        with self._write_lock:
            self.shard.update(edge.UpdateOperation.delete_points([_point_uuid(i) for i in ids]))
            if self.flush_each_batch:
                self.shard.flush()

    def delete_by_filter(self, filters: dict[str, Any] | list[dict[str, Any]]) -> int:
        """Delete the documents matching ``filters``; returns how many. No filter deletes nothing
        (as in qdrant-haystack), so an empty filter cannot wipe the store by mistake."""
        query_filter = convert_filters(filters)
        if query_filter is None:
            return 0
        with self._write_lock:
            shard = self.shard
            deleted = shard.count(edge.CountRequest(exact=True, filter=query_filter))
            if deleted:
                shard.update(edge.UpdateOperation.delete_points_by_filter(query_filter))
                if self.flush_each_batch:
                    shard.flush()
            return deleted


def _edge_points(documents: list[Document]) -> list[edge.Point]:
    """qdrant-haystack's points for ``documents``, as Edge points: same id, payload, named vectors.

    The id and payload come from qdrant-haystack's own converter, fed the documents without their
    vectors: ``Document.to_dict`` deep-copies every float of an embedding one by one (90 % of the
    write time with the vectors in: 0.7 ms a 384-d document), and the vectors are not payload.
    """
    bare = [
        replace(doc, embedding=None, sparse_embedding=None, meta=_without(doc.meta, SENTENCE_META))
        for doc in documents
    ]
    points = convert_haystack_documents_to_qdrant_points(bare, use_sparse_embeddings=True)
    out = []
    for doc, point in zip(documents, points, strict=True):
        vectors: dict[str, Any] = {}
        if doc.embedding is not None:
            vectors[DENSE_VECTORS_NAME] = [float(x) for x in doc.embedding]
        sentences = doc.meta.get(SENTENCE_META)
        if sentences:
            vectors[SENTENCE_VECTORS_NAME] = [[float(x) for x in v] for v in sentences]
        if doc.sparse_embedding is not None:
            sparse = doc.sparse_embedding
            vectors[SPARSE_VECTORS_NAME] = edge.SparseVector(
                list(sparse.indices), [float(v) for v in sparse.values]
            )
        out.append(edge.Point(str(point.id), vectors, point.payload))
    return out


def _without(meta: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if k != key} if key in meta else meta


def _edge_config(embedding_dim: int, previous: bool = False) -> edge.EdgeConfig:
    """The shard config (see :meth:`EdgeDocumentStore._config`); ``previous``: the one before #14
    (every vector with default HNSW and in RAM), kept to open shards created with it."""
    sentence: dict[str, Any] = {}
    if not previous:
        sentence = {
            # m=0: no graph (ef_construct and full_scan_threshold are Qdrant's defaults, unused)
            "hnsw_config": edge.HnswIndexConfig(m=0, ef_construct=100, full_scan_threshold=10_000),
            "memory": edge.Memory.Cold,
        }
    return edge.EdgeConfig(
        vectors={
            DENSE_VECTORS_NAME: edge.EdgeVectorParams(size=embedding_dim, distance=edge.Distance.Cosine),
            SENTENCE_VECTORS_NAME: edge.EdgeVectorParams(
                size=embedding_dim,
                distance=edge.Distance.Cosine,
                multivector_config=edge.MultiVectorConfig(edge.MultiVectorComparator.MaxSim),
                **sentence,
            ),
        },
        sparse_vectors={SPARSE_VECTORS_NAME: edge.EdgeSparseVectorParams(modifier=edge.Modifier.Idf)},
    )
