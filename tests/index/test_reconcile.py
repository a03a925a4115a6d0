"""Indexer.reconcile: the start-up repair of what a crash leaves between the passages and the
manifest (issue "Nothing lost, nothing blocked", item 3). No model: points are written straight
into the embedded store with made-up vectors, as an interrupted ingest would have left them.
"""

from __future__ import annotations

from pathlib import Path

from haystack import Document

from index.indexing import Indexer
from tests.isolated import isolated_settings, own_store


def point(doc_id: str, n: int, fp: str) -> Document:
    vector = [0.0] * 384
    vector[n % 384] = 1.0
    return Document(
        id=f"{doc_id}-{fp}-{n}",
        content=f"{doc_id} passage {n} ({fp})",
        meta={"doc_id": doc_id, "doc_fingerprint": fp, "kind": "passage", "language": "fr", "funds": []},
        embedding=vector,
    )


def record(doc_id: str, fp: str, passages: int, source: str = "") -> dict:
    return {"doc_id": doc_id, "fingerprint": fp, "passages": passages, "footnotes": 0, "source_path": source}


def contents(indexer: Indexer) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for doc in indexer.store.filter_documents():
        out.setdefault(doc.meta["doc_id"], set()).add(doc.meta["doc_fingerprint"])
    return out


def test_unacknowledged_points_are_removed_and_acknowledged_ones_kept(tmp_path: Path):
    settings = isolated_settings(tmp_path / "data")
    with own_store(settings):
        indexer = Indexer(settings)
        # a: acknowledged. b: acknowledged, plus the new version of an update killed before
        # its clean-up and record. c: a new upload killed before its record.
        indexer.store.write_documents([point("a", i, "fa") for i in range(3)])
        indexer.store.write_documents([point("b", i, "fb1") for i in range(2)])
        indexer.store.write_documents([point("b", i, "fb2") for i in range(4)])
        indexer.store.write_documents([point("c", i, "fc") for i in range(5)])
        indexer.manifest.put(record("a", "fa", 3))
        indexer.manifest.put(record("b", "fb1", 2))

        report = indexer.reconcile()

        assert (report.orphan_points, report.stale_points) == (5, 4)
        assert contents(indexer) == {"a": {"fa"}, "b": {"fb1"}}
        assert indexer.store.count_documents() == 5
        assert not report.repaired and not report.rolled_back
        # a second start finds nothing to do
        again = indexer.reconcile()
        assert not again.changed and indexer.store.count_documents() == 5


def test_with_no_manifest_record_no_point_is_citable(tmp_path: Path):
    settings = isolated_settings(tmp_path / "data")
    with own_store(settings):
        indexer = Indexer(settings)
        indexer.store.write_documents([point("x", i, "fx") for i in range(3)])
        assert indexer.reconcile().orphan_points == 3
        assert indexer.store.count_documents() == 0


def test_an_interrupted_deletion_whose_file_is_gone_is_finished(tmp_path: Path):
    """Points deleted, record not yet: the document is not whole, and cannot be read again."""
    settings = isolated_settings(tmp_path / "data")
    with own_store(settings):
        indexer = Indexer(settings)
        indexer.store.write_documents([point("a", i, "fa") for i in range(3)])
        indexer.store.write_documents([point("gone", 0, "fg")])
        indexer.manifest.put(record("a", "fa", 3))
        indexer.manifest.put(record("gone", "fg", 4, source="uploads/upload-gone.txt"))

        report = indexer.reconcile()

        assert report.rolled_back == ["gone"] and not report.repaired
        assert indexer.manifest.get("gone") is None
        assert contents(indexer) == {"a": {"fa"}}
