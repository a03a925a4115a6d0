"""Embedded Qdrant at scale: write time, disk, memory and query latency up to ~100,000 passages.

Embedding 100,000 passages on a 2-core CPU takes over an hour, so the collection is
synthetic, built from the real corpus (every synthetic part is listed in the output):

* REAL: the corpus passages (parsed and chunked), their dense vectors (the document
  embedder, run once on the base passages) and every sparse vector (the French BM25
  embedder, run on each varied text);
* SYNTHETIC: each further passage is a varied copy of a base passage: sentences shuffled,
  numbers changed, a "(dossier k)" suffix, its own doc_id ``<doc>~k`` and passage id; its
  dense vector is the base vector plus gaussian noise, renormalised (cosine ~0.9 to base).

The store is the real one: ``index.store.get_document_store`` (qdrant-haystack, embedded in
path mode, exactly as configured for the service) on a fresh data dir, filled in steps up to
each size; queries go through ``index.retrieval.Retriever`` (dense, bm25, hybrid; the query
embedding included, as a user sees it). The output ends with the passage count at which
embedded mode's median query latency passes the threshold: past it, use the Qdrant server.

    .venv/bin/python benchmarks/scale.py                                 # 1k, 3k, 10k, 30k, 100k
    .venv/bin/python benchmarks/scale.py --sizes 2000,5000 --passages 5000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
GOLD = REPO.parent / "shared" / "gold" / "dev.jsonl"
FALLBACK_QUESTIONS = [
    "Quels fonds européens soutiennent l’intégration des migrants ?",
    "Qu’est-ce que le Forum européen sur la migration ?",
    "Quel est le rôle du réseau européen d’intégration ?",
    "When was the Urban Agenda partnership on the inclusion of migrants launched?",
]
_NUMBER = re.compile(r"\d+")
MODES = ("dense", "bm25", "hybrid")


def questions() -> list[str]:
    if GOLD.exists():
        return [json.loads(line)["question"] for line in GOLD.open(encoding="utf-8") if line.strip()]
    return FALLBACK_QUESTIONS


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB."""
    current = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            current = int(line.split()[1]) / 1024
    return current, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def vary_text(text: str, k: int, rng: random.Random) -> str:
    """Shuffled sentences, changed numbers, a dossier suffix: same vocabulary, other text."""
    from ingest.chunker import split_sentences

    sentences = [text[a:b] for a, b in split_sentences(text)]
    rng.shuffle(sentences)
    varied = _NUMBER.sub(lambda m: str(rng.randint(1, 10 ** len(m.group(0)))), " ".join(sentences))
    return f"{varied} (dossier {k})"


def synthetic_documents(
    base_docs: list, base_vectors: np.ndarray, start: int, stop: int, noise: float, seed: int
):
    """Documents ``start``..``stop`` of the synthetic collection (the first ones are the real base)."""
    from haystack import Document

    n_base = len(base_docs)
    rng = np.random.default_rng(seed + start)
    out = []
    for i in range(start, stop):
        base, k = base_docs[i % n_base], i // n_base
        if k == 0:
            out.append(replace(base, embedding=base_vectors[i].tolist()))
            continue
        text_rng = random.Random(seed * 1_000_003 + i)
        meta = dict(base.meta)
        meta["doc_id"] = f"{meta['doc_id']}~{k}"
        meta["cited_by"] = [f"{c}~{k}" for c in meta.get("cited_by", [])]
        content = vary_text(base.content or "", k, text_rng)
        meta["embed_text"] = f"{meta.get('embed_context', '')}\n\n{content}"
        vector = base_vectors[i % n_base] + rng.normal(0.0, noise, base_vectors.shape[1])
        vector /= np.linalg.norm(vector)
        out.append(Document(id=f"{base.id}~{k}", content=content, meta=meta, embedding=vector.tolist()))
    return out


def measure_queries(retriever, mode: str, texts: list[str], count: int, budget_s: float) -> list[float]:
    """Latencies (ms) of up to ``count`` searches, fewer when they exceed the time budget."""
    out: list[float] = []
    started = time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        hits = retriever.search(texts[i % len(texts)], mode=mode, top_k=10)
        out.append((time.perf_counter() - t0) * 1000)
        assert hits or mode == "bm25", f"{mode}: no hits"  # bm25 finds nothing for a German question
        if time.perf_counter() - started > budget_s and len(out) >= 5:
            break
    return out


def crossing(sizes: list[int], latencies: list[float], threshold: float) -> str:
    """Where the latency passes the threshold, interpolated linearly between measured sizes."""
    if latencies[0] > threshold:
        return f"already above at {sizes[0]:,} passages (the smallest size measured)"
    points = list(zip(sizes, latencies, strict=True))
    for (n0, l0), (n1, l1) in zip(points, points[1:], strict=False):
        if l1 > threshold:
            at = n0 + (threshold - l0) * (n1 - n0) / (l1 - l0)
            return f"at about {int(round(at, -3)):,} passages (between {n0:,} and {n1:,})"
    return f"not reached up to {sizes[-1]:,} passages"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=100_000, help="Largest collection size.")
    parser.add_argument(
        "--sizes",
        default="1000,3000,10000,30000",
        help="Smaller sizes measured on the way (comma-separated).",
    )
    parser.add_argument("--queries", type=int, default=50, help="Queries per mode and size.")
    parser.add_argument("--budget", type=float, default=25.0, help="Seconds at most per mode and size.")
    parser.add_argument(
        "--threshold-ms", type=float, default=100.0, help="Latency that calls for the server."
    )
    parser.add_argument(
        "--noise", type=float, default=0.015, help="Std dev of the per-dimension vector noise."
    )
    parser.add_argument("--chunk", type=int, default=5000, help="Passages generated and written per step.")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    sizes = sorted(
        {int(s) for s in args.sizes.split(",") if s.strip() and int(s) < args.passages} | {args.passages}
    )

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
    from haystack.document_stores.types import DuplicatePolicy

    from core.settings import Settings
    from index.documents import PassagesToDocuments, fingerprint
    from index.embedders import document_embedder, text_embedder
    from index.retrieval import Retriever
    from index.sparse import FrenchSparseDocumentEmbedder
    from index.store import close_stores, get_document_store
    from ingest.pipeline import iter_corpus, parse_and_chunk

    data_dir = Path(tempfile.mkdtemp(prefix="policyqa-scale-"))
    models = Path(os.environ.get("POLICYQA_MODELS_DIR", REPO / "data" / "models"))
    settings = Settings(data_dir=data_dir, models_path=models, device="cpu", qdrant_url=None)
    try:
        # ---- the real base: corpus passages, dense vectors embedded once
        t0 = time.perf_counter()
        base_docs = []
        for path in iter_corpus(REPO / "corpus"):
            _, passages = parse_and_chunk(path)
            base_docs.extend(PassagesToDocuments().run(passages, fingerprint(passages))["documents"])
        dense = document_embedder(settings)
        dense.meta_fields_to_embed = ["embed_context"]
        dense.embedding_separator = "\n\n"
        dense.warm_up()
        base_vectors = np.array([d.embedding for d in dense.run(base_docs)["documents"]], dtype=np.float32)
        t_base = time.perf_counter() - t0
        sample = synthetic_documents(
            base_docs, base_vectors, len(base_docs), 2 * len(base_docs), args.noise, args.seed
        )
        cosine = float(np.mean([np.dot(d.embedding, base_vectors[i]) for i, d in enumerate(sample)]))

        sparse = FrenchSparseDocumentEmbedder()
        store = get_document_store(settings)  # exactly as the service opens it
        retriever = Retriever(settings)
        retriever.warm_up()
        texts = questions()
        query_embedder = text_embedder(settings)
        query_embedder.warm_up()
        embed_ms = []
        for text in texts:
            t1 = time.perf_counter()
            query_embedder.run(text=text)
            embed_ms.append((time.perf_counter() - t1) * 1000)

        print("Embedded Qdrant at scale (benchmarks/scale.py)")
        print(
            f"REAL: {len(base_docs)} corpus passages and their dense vectors (embedded in {t_base:.1f} s), "
            "every sparse vector (French BM25 embedder on the varied text), the store and the query path."
        )
        print(
            "SYNTHETIC: every passage beyond those: a base passage with shuffled sentences, changed numbers and a "
            f"'(dossier k)' suffix; dense vector = base + N(0, {args.noise}) noise, renormalised "
            f"(mean cosine to base {cosine:.3f})."
        )
        baseline_rss, _ = rss_mb()
        print(
            f"memory before any write: RSS {baseline_rss:.0f} MB (embedding model, language detector, "
            "Python); the store's share is RSS minus this"
        )
        print(
            f"queries: {len(texts)} dev questions cycled, top_k=10; query embedding alone: "
            f"median {statistics.median(embed_ms):.0f} ms (included in the latencies below)"
        )
        print()
        header = (
            f"{'passages':>9} {'write s':>8} {'pass/s':>7} {'disk MB':>8} {'RSS MB':>7} {'peak MB':>8}  "
            + "  ".join(f"{m + ' p50/p95 ms':>18}" for m in MODES)
        )
        print(header)
        print("-" * len(header))

        written = 0
        write_total = sparse_total = 0.0
        rows: list[dict] = []
        for size in sizes:
            write_s = 0.0
            for start in range(written, size, args.chunk):
                stop = min(size, start + args.chunk)
                docs = synthetic_documents(base_docs, base_vectors, start, stop, args.noise, args.seed)
                t1 = time.perf_counter()
                docs = sparse.run(docs)["documents"]
                sparse_total += time.perf_counter() - t1
                t1 = time.perf_counter()
                store.write_documents(docs, policy=DuplicatePolicy.OVERWRITE)
                write_s += time.perf_counter() - t1
            write_total += write_s
            added = size - written
            written = size
            count = store.count_documents()
            assert count == size, (count, size)
            lat = {m: measure_queries(retriever, m, texts, args.queries, args.budget) for m in MODES}
            current, peak = rss_mb()
            row = {
                "passages": size,
                "write_s": write_total,
                "disk_mb": dir_size(data_dir / "qdrant") / 1e6,
                "rss_mb": current,
                "peak_mb": peak,
                **{m: (statistics.median(v), percentile(v, 95), len(v)) for m, v in lat.items()},
            }
            rows.append(row)
            cells = "  ".join(f"{row[m][0]:>8.0f}/{row[m][1]:<6.0f}({row[m][2]:>2})" for m in MODES)
            print(
                f"{size:>9,} {write_total:>8.1f} {added / write_s if write_s else 0:>7.0f} {row['disk_mb']:>8.1f} "
                f"{current:>7.0f} {peak:>8.0f}  {cells}",
                flush=True,
            )
        print()
        print(
            "write s: cumulative time in store.write_documents; pass/s: write rate of the last step; "
            "(n): queries measured (fewer when over the time budget); "
            f"sparse embedding of the varied texts took {sparse_total:.1f} s in all."
        )
        for mode in MODES:
            where = crossing(sizes, [r[mode][0] for r in rows], args.threshold_ms)
            print(f"{mode:>6}: median latency passes {args.threshold_ms:.0f} ms {where}")
        worst = [max(r[m][0] for m in MODES) for r in rows]
        print(
            f"RECOMMENDATION: embedded mode's slowest mode passes {args.threshold_ms:.0f} ms median "
            f"{crossing(sizes, worst, args.threshold_ms)}; beyond that, run the Qdrant server "
            "(QDRANT_URL, docker compose up)."
        )
    finally:
        close_stores()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
