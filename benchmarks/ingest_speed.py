"""Ingest throughput, split by stage: parsing, embedding (dense and sparse), indexing.

The stages are the components of the indexing pipeline (index/indexing.py), run one after
the other on the whole corpus in a fresh data dir so each can be timed on its own:

* parse: read and chunk every corpus file (``parse_and_chunk``);
* dense: the document embedder on the passages' ``embed_text`` (model load timed apart);
* sparse: the French BM25 sparse embedder;
* index: the Qdrant writer, embedded Qdrant on disk as configured by index/store.py.

    .venv/bin/python benchmarks/ingest_speed.py                 # CPU
    .venv/bin/python benchmarks/ingest_speed.py --device cuda   # GPU
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda.")
    parser.add_argument("--corpus", type=Path, default=REPO / "corpus", help="Folder to ingest.")
    parser.add_argument(
        "--batch-size", type=int, default=None, help="Embedding batch size (default by device)."
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="Embed the passages this many times (steadier figures)."
    )
    args = parser.parse_args()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
    from haystack.components.writers import DocumentWriter
    from haystack.document_stores.types import DuplicatePolicy

    from core.settings import Settings
    from index.documents import PassagesToDocuments, fingerprint
    from index.embedders import document_embedder
    from index.sparse import FrenchSparseDocumentEmbedder
    from index.store import close_stores, get_document_store
    from ingest.pipeline import iter_corpus, parse_and_chunk

    data_dir = Path(tempfile.mkdtemp(prefix="policyqa-ingest-bench-"))
    models = Path(os.environ.get("POLICYQA_MODELS_DIR", REPO / "data" / "models"))
    settings = Settings(
        data_dir=data_dir,
        models_path=models,
        device=args.device,
        batch_size=args.batch_size,
        qdrant_url=None,
    )
    try:
        # the first parse also loads the language detector's models (once per process)
        t0 = time.perf_counter()
        parsed = [parse_and_chunk(path) for path in iter_corpus(args.corpus)]
        t_first_parse = time.perf_counter() - t0
        t0 = time.perf_counter()
        parsed = [parse_and_chunk(path) for path in iter_corpus(args.corpus)]
        t_parse = time.perf_counter() - t0
        passages = [p for _, ps in parsed for p in ps]
        if not passages:
            raise SystemExit(f"No passages in {args.corpus}: nothing to measure.")
        chars = sum(len(p.embed_text) for p in passages)
        documents = []
        for _, doc_passages in parsed:
            fp = fingerprint(doc_passages)
            documents.extend(PassagesToDocuments().run(doc_passages, fp)["documents"])

        # the same dense component as the indexing pipeline
        dense = document_embedder(settings)
        dense.meta_fields_to_embed = ["embed_context"]
        dense.embedding_separator = "\n\n"
        t0 = time.perf_counter()
        dense.warm_up()
        t_load = time.perf_counter() - t0
        dense.run(documents[:8])  # first call pays one-off allocations
        t0 = time.perf_counter()
        for _ in range(args.repeat):
            embedded = dense.run(documents)["documents"]
        if args.device.startswith("cuda"):
            import torch

            torch.cuda.synchronize()
        t_dense = (time.perf_counter() - t0) / args.repeat

        sparse = FrenchSparseDocumentEmbedder()
        t0 = time.perf_counter()
        for _ in range(args.repeat):
            embedded_sparse = sparse.run(embedded)["documents"]
        t_sparse = (time.perf_counter() - t0) / args.repeat

        store = get_document_store(settings)  # opening the store is not indexing: done first
        writer = DocumentWriter(document_store=store, policy=DuplicatePolicy.OVERWRITE)
        t0 = time.perf_counter()
        written = writer.run(embedded_sparse)["documents_written"]
        t_index = time.perf_counter() - t0
        assert written == len(passages) == store.count_documents(), (written, store.count_documents())

        import torch

        n = len(passages)
        total = t_parse + t_dense + t_sparse + t_index
        print(
            f"corpus: {args.corpus}  ({len(parsed)} documents, {n} passages, {chars:,} characters embedded)"
        )
        print(
            f"device: {args.device}  batch size: {dense.batch_size}  torch threads: {torch.get_num_threads()}  "
            "store: embedded Qdrant (path)"
        )
        print(
            f"one-off loads per process, not counted: embedding model {t_load:.2f} s, "
            f"language detector {max(0.0, t_first_parse - t_parse):.2f} s"
        )
        print(f"{'stage':<24}{'seconds':>10}{'share':>9}{'passages/s':>13}")
        for name, seconds in (
            ("parse (read + chunk)", t_parse),
            ("dense embedding", t_dense),
            ("sparse embedding", t_sparse),
            ("index (Qdrant write)", t_index),
            ("total", total),
        ):
            print(f"{name:<24}{seconds:>10.2f}{seconds / total:>9.0%}{n / seconds:>13.1f}")
    finally:
        close_stores()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
