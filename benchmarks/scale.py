"""Qdrant Edge at scale: write, optimize(), disk, memory and query latency up to 1,000,000 passages.

THE COLLECTION IS SYNTHETIC beyond the corpus's own passages. Embedding 1M passages on a
2-core CPU would take about a day, so nothing new is embedded; the output lists what is real:

* REAL: the corpus passages (parsed and chunked, ~215 of them), their dense vectors (the
  document embedder, run once on them), their sentence vectors (the indexing pipeline's
  ``SentenceEmbedder``, run once; ``--no-sentences`` leaves them out), every sparse vector (the French BM25 document embedder,
  run on each varied text: 1M real analyses, no numeric shortcut), the payload schema, the
  store (``index.stores.get_document_store``: the Edge shard exactly as the service opens it,
  keyword indexes and a flush every 256 points included), ``optimize()``, and the query
  components of ``index.retrieval.build_query_pipeline`` (retriever + footnote linker);
* SYNTHETIC: each further passage is a varied copy of a base passage: sentences shuffled,
  numbers changed, a "(dossier k)" suffix, its own doc_id ``<doc>~k`` and passage id; its
  dense vector is the base vector plus gaussian noise, renormalised (mean cosine to its base
  about 0.96), and so are its sentence vectors. So the collection holds ~N/215 near-duplicates of each base passage, which is
  harder on HNSW than real text (many equidistant neighbours), and bm25's vocabulary does not
  grow with N as a real corpus's would.

Each size is built fresh in its own data dir under ``--dir`` (the previous one is deleted):
write in batches of ``--chunk`` (memory bounded), ``optimize()`` (what ``policy-qa ingest`` does
after a bulk write), then queries. Latencies are of the retrieval only, the query embedding
EXCLUDED: the questions are embedded once up front (the service's query embedder, ONNX int8 by
default, and the French sparse query embedder with language detection and fund expansion),
then each query times the pipeline's ``retriever`` component (one ``search_ids`` batch +
fusion + ``retrieve`` of the top 10) and its ``footnotes`` linker, as ``run_in_order`` calls
them. Three filter states: none; ``doc``: ``SearchFilters(doc_ids=[one document])`` (~200
points, selective); ``kind``: ``SearchFilters(kinds=["passage"])`` (68 % of the points, broad).
One extra line per size times hybrid with the query embedding INCLUDED, for reference.
RSS is this process's (models loaded before any write: ~2.1 GB, printed as the baseline); peak
is VmHWM, reset before each size (``/proc/self/clear_refs``), so it covers write + optimize +
queries of that size only; anon/file split it into anonymous memory and file-backed pages (the
mmap'd segments), each sampled every 0.5 s by a separate process. Disk is the Edge folder.

    .venv/bin/python benchmarks/scale.py                                 # 1k, 10k, 100k, 1M
    .venv/bin/python benchmarks/scale.py --sizes 1000,10000 --queries 50
    .venv/bin/python benchmarks/scale.py --sizes 1000000 --dir /tmp/bench-scale --json /tmp/scale.json

Measured with qdrant-edge-py 0.9.0, Python 3.11, 2 CPU cores shared with other engineers'
test runs (absolute times are upper bounds), top_k 10, fusion depth 50, 100 queries per cell
(24 dev questions cycled), warm payload pages.

A. With sentence multivectors (the index as ``index.indexing`` builds it since hybrid re-scores
by the best sentence: 2.5 sentence vectors per passage), 1k-100k in one run, load average 5-7:

    passages  write s  write/s  optimize s  disk MB  RSS MB  peak MB (anon/file)  hybrid before opt  hybrid+embed
       1,000      0.9    1,056         0.0       18   2,128   2,128 (1,692/436)          3.78/10.34     32.5/39.1
      10,000     12.2      822        91.5      184   2,512   2,521 (1,938/726)          6.93/11.82     36.3/44.2
     100,000     99.8    1,002       252.9    1,545   4,558   5,093 (2,128/3,000)        8.46/9.14       9.4/11.1

    latency, ms p50/p95, query embedding EXCLUDED (retriever + footnote linker):
    passages  filter  dense       bm25        hybrid
       1,000  none    0.48/3.29   0.37/0.58   1.29/5.46
               doc    0.50/0.62   0.46/0.69   1.36/4.51
               kind   0.47/2.72   0.50/5.18   1.48/9.57
      10,000  none    0.93/6.36   0.68/5.83   7.15/11.51
               doc    0.68/6.38   0.59/5.44   3.90/9.84
               kind   1.27/6.79   0.43/4.08   6.12/10.37
     100,000  none    0.96/1.39   0.90/1.52   2.31/2.95
               doc    0.69/0.85   0.79/1.23   1.98/2.59
               kind   0.83/1.09   0.81/1.17   2.45/3.10

B. Without sentence vectors (``--no-sentences``; the code before the sentence re-scoring, so
hybrid = one search batch + fusion + payloads). 1k-100k: load average 2.5-3.7; 1M: its own
run, load 5-12 while writing, 4-7 during optimize() and the queries:

    passages  write s  write/s  optimize s  disk MB  RSS MB  peak MB (anon/file)     hybrid before opt  hybrid+embed
       1,000      0.5    1,862         0.0       11   2,094   2,097 (1,676/424)         1.05/1.19      14.9/18.3
      10,000      9.1    1,094         4.3      156   2,373   2,380 (1,862/629)         1.80/2.07       8.3/20.0
     100,000     71.2    1,405        44.6    1,087   3,730   4,031                     8.92/9.63       8.8/18.4
   1,000,000  1,897.5      527     1,171.0   10,460   8,666  16,900 (~4,000/~13,800)  72.53/90.95      12.4/29.4

    hybrid p50/p95 ms, no filter / doc / kind: 100k 2.05/2.57, 1.73/5.51, 2.01/2.40;
    1M 4.11/8.00, 1.93/2.68, 5.51/9.41 (dense 1.69, bm25 2.67 p50 unfiltered at 1M).

Targets: hybrid p50 <= 10 ms at 100,000: MET (A 2.31 ms, B 2.05 ms; worst filter 2.45).
Hybrid p50 <= 50 ms at 1,000,000: MET without sentence vectors (B 4.11 ms; 5.51 with the kind
filter; 72.5 ms if optimize() is not called). Peak RSS < 8 GB at 1,000,000: MISSED on VmHWM
(B 16.9 GB, reached during optimize(); 8.7 GB after it), but the anonymous part peaked at
~4.0 GB (2.1 GB of it the models loaded before any write): the rest is file-backed pages of
the mmap'd segments (page cache the kernel can reclaim), sampled every 5 s for that run.
The sentence multivectors add ~45 % disk and ~6x optimize() time at 100k (253 s against 45 s):
see the reading below.

Reading:

* Query latency is not the limit up to 1M: after optimize() hybrid stays under 6 ms p50 with
  or without filters, below the query embedding itself (dense ONNX int8 2.7 ms, plus language
  detection and sparse analysis: 4.7 ms on a quiet machine).
* Bulk writes are: 527 points/s at 1M under load, 1,100-1,900/s quieter. Much of it is the
  store's flush after every 256 points: once a shard holds sparse vectors, a flush waits with
  ~10 ms of CPU for 20-80 ms at load 2 and ~230 ms at load 5-9 (13 ms without sparse vectors;
  measured apart on a bare shard), so the 1M run's ~3,900 flushes are roughly half its write
  time. A bulk ingest that flushed once per group, or at the end, would write faster
  (``--flush-at-end`` measures it).
* optimize() at 1M took 19.5 min on 2 busy cores without sentence vectors, the process frozen
  throughout (it holds the GIL); it is what keeps hybrid at 4 ms instead of 73 ms.
* The sentence multivector gets an HNSW graph of its own (the store's config sets none apart),
  though it is only ever searched by ``SentenceQuery`` restricted to <= 50 candidate ids. On a
  bare shard (10k points, 3 sentence vectors each) ``optimize()`` took 12.5 s with that graph and
  4.4 s with ``hnsw_config=HnswIndexConfig(m=0, ...)`` on it, the 50-id MaxSim query 0.08 vs
  0.05 ms: the graph costs optimize() time and buys nothing for this query.
* Disk: ~10 KB per passage without sentence vectors (the payload carries text, embed_text,
  context and metadata, plus vectors, HNSW and the keyword indexes): 10.5 GB at 1M; ~15 KB
  with them.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import re
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

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
FILTERS = ("none", "doc", "kind")
#: hybrid p50 targets (ms, query embedding excluded) and the peak memory target at 1M
TARGET_HYBRID_MS = {100_000: 10.0, 1_000_000: 50.0}
TARGET_PEAK_MB_1M = 8 * 1024


def questions() -> list[str]:
    if GOLD.exists():
        return [json.loads(line)["question"] for line in GOLD.open(encoding="utf-8") if line.strip()]
    return FALLBACK_QUESTIONS


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def dir_size(path: Path) -> int:
    """Bytes allocated on disk (sparse files such as the preallocated WAL count what they use)."""
    return sum(f.stat().st_blocks * 512 for f in path.rglob("*") if f.is_file())


def _status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rss_mb() -> float:
    return _status_mb("VmRSS")


def peak_mb() -> float:
    """Peak RSS since the last :func:`reset_peak` (VmHWM), else since the process started."""
    hwm = _status_mb("VmHWM")
    return hwm if hwm == hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        return True
    except OSError:
        return False


_SAMPLER = """
import os, sys, time
pid, out = sys.argv[1], sys.argv[2]
peak = {"VmRSS": 0, "RssAnon": 0, "RssFile": 0}
while True:
    try:
        lines = open(f"/proc/{pid}/status").read().splitlines()
    except OSError:
        break
    for line in lines:
        key = line.split(":")[0]
        if key in peak:
            peak[key] = max(peak[key], int(line.split()[1]))
    with open(out + ".tmp", "w") as f:  # replaced whole: a kill mid-write leaves the last one
        f.write(" ".join(f"{k}={v}" for k, v in peak.items()))
    os.replace(out + ".tmp", out)
    time.sleep(0.5)
"""


class MemorySampler:
    """Peak RSS, anonymous and file-backed (mmap'd segments, reclaimable page cache), sampled
    every 0.5 s by a separate process: a thread here would stop while Edge holds the GIL."""

    def __init__(self, folder: Path) -> None:
        import subprocess
        import sys

        self.path = folder / f"memory-{os.getpid()}.txt"
        self._proc = subprocess.Popen([sys.executable, "-c", _SAMPLER, str(os.getpid()), str(self.path)])
        self._peaks: dict[str, float] | None = None

    def stop(self) -> dict[str, float]:
        """Peaks in MB: VmRSS, RssAnon, RssFile (each its own maximum); idempotent."""
        if self._peaks is None:
            time.sleep(0.6)  # one more sample
            self._proc.terminate()
            self._proc.wait(timeout=10)
            try:
                pairs = [item.split("=") for item in self.path.read_text().split()]
                self._peaks = {k: int(v) / 1024 for k, v in pairs}
            except (OSError, ValueError):
                self._peaks = {}
            self.path.unlink(missing_ok=True)
            Path(f"{self.path}.tmp").unlink(missing_ok=True)
        return self._peaks


def vary_text(text: str, k: int, rng: random.Random) -> str:
    """Shuffled sentences, changed numbers, a dossier suffix: same vocabulary, other text."""
    from ingest.chunker import split_sentences

    sentences = [text[a:b] for a, b in split_sentences(text)]
    rng.shuffle(sentences)
    varied = _NUMBER.sub(lambda m: str(rng.randint(1, 10 ** len(m.group(0)))), " ".join(sentences))
    return f"{varied} (dossier {k})"


def synthetic_documents(
    base_docs: list, base_vectors: np.ndarray, start: int, stop: int, noise: float, seed: int
) -> list:
    """Documents ``start``..``stop`` of the synthetic collection (the first ones are the real base),
    without sparse vectors (the caller runs the real sparse embedder on them). Sentence vectors
    (``meta[SENTENCE_META]``, float32 arrays) are the base's plus noise."""
    from haystack import Document

    from index.stores.base import SENTENCE_META

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
        sentences = meta.get(SENTENCE_META)
        if sentences:  # the base's real sentence vectors + the same noise, renormalised
            matrix = np.stack(sentences) + rng.normal(0.0, noise, (len(sentences), base_vectors.shape[1]))
            matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
            meta[SENTENCE_META] = list(matrix.astype(np.float32))
        meta["doc_id"] = f"{meta['doc_id']}~{k}"
        meta["cited_by"] = [f"{c}~{k}" for c in meta.get("cited_by", [])]
        content = vary_text(base.content or "", k, text_rng)
        meta["embed_text"] = f"{meta.get('embed_context', '')}\n\n{content}"
        vector = base_vectors[i % n_base] + rng.normal(0.0, noise, base_vectors.shape[1])
        vector /= np.linalg.norm(vector)
        out.append(Document(id=f"{base.id}~{k}", content=content, meta=meta, embedding=vector.tolist()))
    return out


def _generate(
    base_docs: list, base_vectors: np.ndarray, size: int, chunk: int, noise: float, seed: int, out: Any
) -> None:
    """Producer: chunks of synthetic documents with their real sparse vectors, then None."""
    os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
    from index.sparse import FrenchSparseDocumentEmbedder

    sparse = FrenchSparseDocumentEmbedder()
    for start in range(0, size, chunk):
        stop = min(size, start + chunk)
        t0 = time.perf_counter()
        docs = sparse.run(synthetic_documents(base_docs, base_vectors, start, stop, noise, seed))["documents"]
        out.put((stop, docs, time.perf_counter() - t0))
    out.put(None)


def chunks(base_docs: list, base_vectors: np.ndarray, size: int, args: argparse.Namespace) -> Any:
    """``(stop, documents, seconds to make them)`` per chunk, made in a separate process when
    ``args.producer`` (the writer mostly waits on Edge's flush, which uses no CPU: the two overlap;
    at most 2 chunks wait in the queue, so memory stays bounded), else inline."""
    if not args.producer:
        from index.sparse import FrenchSparseDocumentEmbedder

        sparse = FrenchSparseDocumentEmbedder()
        for start in range(0, size, args.chunk):
            stop = min(size, start + args.chunk)
            t0 = time.perf_counter()
            docs = synthetic_documents(base_docs, base_vectors, start, stop, args.noise, args.seed)
            docs = sparse.run(docs)["documents"]
            yield stop, docs, time.perf_counter() - t0
        return
    import multiprocessing as mp
    import queue as queue_module

    ctx = mp.get_context("spawn")  # no fork of a process holding Edge's and ONNX's threads
    out = ctx.Queue(maxsize=2)
    worker = ctx.Process(
        target=_generate,
        args=(base_docs, base_vectors, size, args.chunk, args.noise, args.seed, out),
        daemon=True,
    )
    worker.start()
    try:
        while True:
            try:
                item = out.get(timeout=5)
            except queue_module.Empty:
                if not worker.is_alive():
                    raise RuntimeError(f"document generator died (exit code {worker.exitcode})") from None
                continue
            if item is None:
                return
            yield item
    finally:
        worker.join(timeout=30)
        if worker.is_alive():
            worker.terminate()


def timed(fn: Callable[[int], Any], count: int, budget_s: float) -> list[float]:
    """Latencies (ms) of ``fn(0..count-1)`` after one warm-up pass over ``min(count, 24)`` calls;
    fewer than ``count`` when the time budget runs out (at least 5)."""
    for i in range(min(count, 24)):  # warm-up: payload pages are cold right after optimize()
        fn(i)
    out: list[float] = []
    started = time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t0) * 1000)
        if time.perf_counter() - started > budget_s and len(out) >= 5:
            break
    return out


def summary(values: list[float]) -> tuple[float, float, int]:
    return statistics.median(values), percentile(values, 95), len(values)


class Queries:
    """The dev questions embedded once (dense and sparse), as the pipelines' embedders make them."""

    def __init__(self, settings: Any, texts: list[str]) -> None:
        from core.languages import detect_language
        from index.embedders import query_embedder
        from index.sparse import FrenchSparseTextEmbedder
        from ingest.funds import expand_query

        self.texts = texts
        self.dense_embedder = query_embedder(settings)  # the service's (ONNX int8 by default)
        self.dense_embedder.warm_up()
        self.sparse_embedder = FrenchSparseTextEmbedder()
        self._detect, self._expand = detect_language, expand_query
        for text in texts:  # warm-up (ONNX session, language detector)
            self.embed(text)
        self.embed_ms: list[float] = []
        self.dense_ms: list[float] = []
        self.dense: list[list[float]] = []
        self.sparse: list[Any] = []
        for text in texts:
            t0 = time.perf_counter()
            dense, sparse = self.embed(text)
            self.embed_ms.append((time.perf_counter() - t0) * 1000)
            self.dense.append(dense)
            self.sparse.append(sparse)
        for text in texts:
            t0 = time.perf_counter()
            self.dense_embedder.run(text=text)
            self.dense_ms.append((time.perf_counter() - t0) * 1000)

    def embed(self, text: str) -> tuple[list[float], Any]:
        """What ``Retriever.pipeline_inputs`` + the two embedder components compute for a question."""
        dense = self.dense_embedder.run(text=text)["embedding"]
        sparse = self.sparse_embedder.run(
            text=text, language=self._detect(text), expansions=self._expand(text)
        )["sparse_embedding"]
        return dense, sparse


def measure_size(
    size: int,
    root: Path,
    models: Path,
    base_docs: list,
    base_vectors: np.ndarray,
    queries: Queries,
    args: argparse.Namespace,
) -> dict[str, Any]:
    from core.settings import Settings
    from index.retrieval import build_query_pipeline, filters_to_haystack
    from index.stores import close_store, get_document_store
    from index.types import SearchFilters

    data_dir = root / f"n{size}"
    settings = Settings(
        data_dir=data_dir,
        models_path=models,
        device="cpu",
        qdrant_url=None,
        prime_answer_cache=False,
        ingest_on_startup=False,
    )
    gc.collect()
    reset_peak()
    rss_before = rss_mb()
    sampler = MemorySampler(root)
    store = get_document_store(settings)  # exactly as the service opens it
    if args.flush_at_end:  # NOT the service's path: one flush after the bulk write
        store.flush_each_batch = False
    row: dict[str, Any] = {"passages": size, "rss_before_mb": rss_before, "flush_at_end": args.flush_at_end}
    try:
        gen_s = write_s = 0.0
        t_build = time.perf_counter()
        for stop, docs, seconds in chunks(base_docs, base_vectors, size, args):
            gen_s += seconds
            t1 = time.perf_counter()
            store.write_documents(docs)
            write_s += time.perf_counter() - t1
            del docs
            if args.progress and size >= 100_000 and stop % 100_000 == 0:
                print(
                    f"  ... {stop:,} written ({write_s:.0f} s writing, {gen_s:.0f} s generating)", flush=True
                )
        row["build_s"] = time.perf_counter() - t_build
        if args.flush_at_end:
            t1 = time.perf_counter()
            store.shard.flush()
            write_s += time.perf_counter() - t1
        count = store.count_documents()
        assert count == size, (count, size)
        row.update(gen_s=gen_s, write_s=write_s)

        pipes = {mode: build_query_pipeline(mode, settings, store) for mode in MODES}  # not warmed up:
        # only their retriever and footnote linker run here, the embedders ran up front
        n_base = len(base_docs)
        copies = max(1, size // n_base)
        rng = random.Random(args.seed)
        doc_filters = []
        for i in range(len(queries.texts)):
            base_doc = base_docs[(i * 37) % n_base].meta["doc_id"]
            k = rng.randrange(copies)
            doc_filters.append(SearchFilters(doc_ids=[base_doc if k == 0 else f"{base_doc}~{k}"]))
        filters = {
            "none": [None] * len(queries.texts),
            "doc": [filters_to_haystack(f) for f in doc_filters],
            "kind": [filters_to_haystack(SearchFilters(kinds=["passage"]))] * len(queries.texts),
        }

        def search(mode: str, flt: str) -> Callable[[int], Any]:
            retriever = pipes[mode].get_component("retriever")
            linker = pipes[mode].get_component("footnotes")

            def run(i: int) -> Any:
                j = i % len(queries.texts)
                inputs: dict[str, Any] = {"filters": filters[flt][j], "top_k": 10}
                if mode in ("dense", "hybrid"):
                    inputs["query_embedding"] = queries.dense[j]
                if mode in ("bm25", "hybrid"):
                    inputs["query_sparse_embedding"] = queries.sparse[j]
                docs = retriever.run(**inputs)["documents"]
                return linker.run(documents=docs)["documents"]

            return run

        if args.before:
            row["hybrid_before"] = summary(timed(search("hybrid", "none"), args.queries, args.budget))
        t0 = time.perf_counter()
        changed = store.optimize()
        row["optimize_s"] = time.perf_counter() - t0
        row["optimized"] = changed
        info = getattr(store, "shard", None)
        row["segments"] = info.info().segments_count if info is not None else None
        row["disk_mb"] = dir_size(settings.edge_path) / 1e6
        for flt in FILTERS:
            for mode in MODES:
                row[f"{mode}/{flt}"] = summary(timed(search(mode, flt), args.queries, args.budget))
        hits = search("hybrid", "none")(0)
        assert hits, "hybrid: no hits"
        hybrid = search("hybrid", "none")

        def end_to_end(i: int) -> Any:
            queries.embed(queries.texts[i % len(queries.texts)])
            return hybrid(i)

        row["hybrid+embed"] = summary(timed(end_to_end, args.queries, args.budget))
        row["rss_mb"] = rss_mb()
        row["anon_mb"] = _status_mb("RssAnon")
        row["peak_mb"] = peak_mb()
        sampled = sampler.stop()
        row["peak_anon_mb"] = sampled.get("RssAnon", float("nan"))
        row["peak_file_mb"] = sampled.get("RssFile", float("nan"))
    finally:
        sampler.stop()
        close_store(settings)
        shutil.rmtree(data_dir, ignore_errors=True)
    return row


def fmt(cell: tuple[float, float, int] | None) -> str:
    if cell is None:
        return "-"
    p50, p95, _ = cell
    return f"{p50:.2f}/{p95:.2f}"


def size_table(rows: list[dict[str, Any]]) -> list[str]:
    header = (
        f"{'passages':>9} {'build s':>7} {'write s':>8} {'write/s':>8} {'optimize s':>10} {'disk MB':>8} "
        f"{'RSS MB':>7} {'peak MB':>8} {'anon/file':>11} {'hybrid before opt':>18} {'hybrid+embed':>13}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['passages']:>9,} {r['build_s']:>7.1f} {r['write_s']:>8.1f} {r['passages'] / r['write_s']:>8.0f} "
            f"{r['optimize_s']:>10.1f} {r['disk_mb']:>8.0f} {r['rss_mb']:>7.0f} {r['peak_mb']:>8.0f} "
            f"{r.get('peak_anon_mb', float('nan')):>5.0f}/{r.get('peak_file_mb', float('nan')):<5.0f} "
            f"{fmt(r.get('hybrid_before')):>18} {fmt(r['hybrid+embed']):>13}"
        )
    return lines


def latency_table(rows: list[dict[str, Any]]) -> list[str]:
    header = f"{'passages':>9} {'filter':>6} " + " ".join(f"{m + ' p50/p95':>16}" for m in MODES)
    lines = [header, "-" * len(header)]
    for r in rows:
        for flt in FILTERS:
            lines.append(
                f"{r['passages']:>9,} {flt:>6} " + " ".join(f"{fmt(r[f'{m}/{flt}']):>16}" for m in MODES)
            )
    return lines


def targets(rows: list[dict[str, Any]]) -> list[str]:
    by_size = {r["passages"]: r for r in rows}
    lines = []
    for size, limit in TARGET_HYBRID_MS.items():
        r = by_size.get(size)
        if r is None:
            lines.append(f"hybrid p50 <= {limit:.0f} ms at {size:,}: not measured")
            continue
        p50 = r["hybrid/none"][0]
        verdict = "MET" if p50 <= limit else "MISSED"
        worst = max(r[f"hybrid/{f}"][0] for f in FILTERS)
        lines.append(
            f"hybrid p50 <= {limit:.0f} ms at {size:,} (embedding excluded): {verdict} "
            f"({p50:.2f} ms unfiltered, {worst:.2f} ms worst filter state)"
        )
    r = by_size.get(1_000_000)
    if r is None:
        lines.append("peak RSS < 8 GB at 1,000,000: not measured")
    else:
        verdict = "MET" if r["peak_mb"] < TARGET_PEAK_MB_1M else "MISSED"
        lines.append(
            f"peak RSS < 8 GB at 1,000,000: {verdict} ({r['peak_mb'] / 1024:.2f} GB; peak anonymous "
            f"{r.get('peak_anon_mb', float('nan')) / 1024:.2f} GB, peak file-backed (mmap'd segments) "
            f"{r.get('peak_file_mb', float('nan')) / 1024:.2f} GB)"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], epilog="The collection is synthetic: see the module docstring."
    )
    parser.add_argument(
        "--sizes", default="1000,10000,100000,1000000", help="Collection sizes (comma-separated)."
    )
    parser.add_argument("--queries", type=int, default=100, help="Queries per mode, filter and size.")
    parser.add_argument("--budget", type=float, default=20.0, help="Seconds at most per cell.")
    parser.add_argument(
        "--noise", type=float, default=0.015, help="Std dev of the per-dimension vector noise."
    )
    parser.add_argument("--chunk", type=int, default=5000, help="Passages generated and written per step.")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--dir", type=Path, default=None, help="Where the data dirs go (default: a temp dir)."
    )
    parser.add_argument("--json", type=Path, default=None, help="Also write the rows as JSON here.")
    parser.add_argument(
        "--no-before",
        dest="before",
        action="store_false",
        help="Skip the hybrid latency before optimize() (brute force; slow at 1M).",
    )
    parser.add_argument("--quiet", dest="progress", action="store_false", help="No progress lines.")
    parser.add_argument(
        "--inline",
        dest="producer",
        action="store_false",
        help="Generate the synthetic documents in this process, between writes (default: in a "
        "separate process, overlapping the writes).",
    )
    parser.add_argument(
        "--no-sentences",
        dest="sentences",
        action="store_false",
        help="Store no sentence multivectors (the index before they were added; hybrid then re-scores "
        "by nothing).",
    )
    parser.add_argument(
        "--flush-at-end",
        action="store_true",
        help="Write without the store's flush after every 256 points, one flush at the end (NOT the "
        "service's configuration: shows what the per-batch flush costs a bulk write).",
    )
    args = parser.parse_args()
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
    from core.settings import Settings
    from index.documents import PassagesToDocuments, fingerprint
    from index.embedders import document_embedder
    from ingest.pipeline import iter_corpus, parse_and_chunk

    if args.dir:
        args.dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="policyqa-scale-", dir=args.dir))
    models = Path(os.environ.get("POLICYQA_MODELS_DIR", REPO / "data" / "models"))
    settings = Settings(data_dir=root / "base", models_path=models, device="cpu", qdrant_url=None)
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
        if args.sentences:  # what the indexing pipeline's "sentences" component stores
            from index.sentence_vectors import SentenceEmbedder
            from index.stores.base import SENTENCE_META

            sentence_embedder = SentenceEmbedder(document_embedder(settings))
            sentence_embedder.warm_up()
            base_docs = [
                replace(
                    d,
                    meta={
                        **d.meta,
                        SENTENCE_META: [
                            np.asarray(v, dtype=np.float32) for v in d.meta.get(SENTENCE_META, [])
                        ],
                    },
                )
                for d in sentence_embedder.run(base_docs)["documents"]
            ]
            per_passage = statistics.fmean(len(d.meta[SENTENCE_META]) for d in base_docs)
        t_base = time.perf_counter() - t0
        sample = synthetic_documents(
            base_docs, base_vectors, len(base_docs), 2 * len(base_docs), args.noise, args.seed
        )
        cosine = float(np.mean([np.dot(d.embedding, base_vectors[i]) for i, d in enumerate(sample)]))
        queries = Queries(settings, questions())

        print("Qdrant Edge at scale (benchmarks/scale.py) -- SYNTHETIC collection, see below", flush=True)
        print(
            f"sentence multivectors: {f'{per_passage:.1f} sentence vectors per passage (real for the base, base + the same noise for copies)' if args.sentences else 'NONE (--no-sentences)'}"
        )
        print(
            f"REAL: {len(base_docs)} corpus passages and their dense vectors (embedded in {t_base:.1f} s), "
            "every sparse vector (French BM25 document embedder on each varied text), the Edge store, "
            "optimize() and the query components."
        )
        print(
            "SYNTHETIC: every passage beyond those: a base passage with shuffled sentences, changed numbers "
            f"and a '(dossier k)' suffix, doc_id '<doc>~k'; dense vector = base + N(0, {args.noise}) noise, "
            f"renormalised (mean cosine to base {cosine:.3f}); nothing new is embedded."
        )
        print(
            f"memory before any write: RSS {rss_mb():.0f} MB (document and query embedders, language "
            "detector, Python); the store's share is RSS minus this"
        )
        print(
            f"queries: {len(queries.texts)} dev questions cycled, top_k=10, up to {args.queries} per cell; "
            f"query embedding (dense + language detection + sparse) median "
            f"{statistics.median(queries.embed_ms):.1f} ms, of which dense ({queries.dense_embedder.backend}) "
            f"{statistics.median(queries.dense_ms):.1f} ms; EXCLUDED from the latencies except in 'hybrid+embed'"
        )
        print(
            "writes: "
            + (
                "ONE flush at the end (--flush-at-end, not the service's configuration)"
                if args.flush_at_end
                else "the store's configuration (a flush after every 256 points)"
            )
        )
        print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        print()

        rows: list[dict[str, Any]] = []
        for size in sizes:
            row = measure_size(size, root, models, base_docs, base_vectors, queries, args)
            row["load"] = os.getloadavg()
            rows.append(row)
            print("\n".join(size_table([row])[2:]), flush=True)
            print("\n".join(latency_table([row])[2:]), flush=True)
            print(f"  (load average after: {' '.join(f'{x:.2f}' for x in row['load'])})", flush=True)
            if args.json:
                args.json.write_text(json.dumps(rows, indent=1))

        print()
        print("\n".join(size_table(rows)))
        print()
        print("Latency in ms, p50/p95, query embedding excluded (retriever + footnote linker):")
        print("\n".join(latency_table(rows)))
        print()
        print(
            "build s: wall time to generate and write the collection (synthetic documents and their "
            "real sparse vectors made in a separate process while the writes run); write s: the part in "
            "store.write_documents (point conversion, upserts, a flush every 256); optimize s: "
            "store.optimize() (HNSW build; the process is frozen meanwhile); hybrid before opt: "
            "unfiltered hybrid latency before optimize(); anon/file: peak anonymous and peak file-backed "
            "(mmap'd segment pages, reclaimable) RSS, sampled every 0.5 s; hybrid+embed: with the query embedding "
            "(dense ONNX + language detection + sparse) included."
        )
        print("\n".join(targets(rows)))
    finally:
        from index.stores import close_stores

        close_stores()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
