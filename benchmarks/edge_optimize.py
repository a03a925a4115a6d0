"""When is ``optimize()`` worth calling after a bulk write into the Qdrant Edge shard? (prints a table)

For each size N: N random documents (384-d unit dense vectors, Zipf sparse vectors of ~40
terms from a 30k vocabulary, a small payload: doc_id, kind, language, funds, 200 characters of
content) are written through ``index.stores.edge.EdgeDocumentStore`` (batches of 256, a flush
after each), queried, optimised, queried again. Queries are the service's shapes, ids and
scores only at the fusion depth (50), then the payloads of the top 10:

* dense: one dense ranking; dense+filter: the same restricted to 3 of the N/50 doc_ids;
* sparse: one IDF-weighted sparse ranking of a 6-term query;
* hybrid: both rankings in one ``query_batch``, convex fusion in Python, payloads of the top 10
  (what ``HybridRetriever`` does);
* recall@10: dense top 10 against exact numpy top 10 (HNSW is approximate).

``optimize()`` holds the GIL: "stall" is the longest time a Python thread sleeping 10 ms in a
loop waited during it, i.e. how long a serving process would freeze.

    .venv/bin/python benchmarks/edge_optimize.py                       # 1k, 10k, 100k
    .venv/bin/python benchmarks/edge_optimize.py --points 5000 50000 --queries 200

Measured with qdrant-edge-py 0.9.0, Python 3.11, 2 CPU cores shared with other jobs (load
average 4-5, so absolute times are upper bounds; a quieter 10k run: write 4.4 s, optimize 4.4 s),
100 queries, latency p50 in ms before -> after ``optimize()``; write includes qdrant-haystack's
point conversion and a flush every 256 documents:

      points  write s  optimize s  stall s  segments  dense           dense+filter    sparse          hybrid          recall@10
       1,000      1.3        0.00     0.00    1 -> 1  0.18 -> 0.18    0.17 -> 0.17    0.16 -> 0.16    0.55 -> 0.55    1.00 -> 1.00
      10,000     12.1        7.02     7.01    1 -> 2  0.63 -> 0.38    0.23 -> 0.29    0.24 -> 0.22    1.27 -> 1.05    1.00 -> 1.00
     100,000     58.7      139.24   139.23    1 -> 2  6.87 -> 0.78    0.25 -> 0.23    0.49 -> 0.47    8.31 -> 1.61    1.00 -> 1.00

Reading:

* Up to a few thousand points ``optimize()`` does nothing (returns False): the whole shard is
  one small segment, searched by brute force in well under a millisecond.
* At 10k it takes seconds and saves a fraction of a millisecond per query: not worth a call
  of its own, but cheap at the end of an ingest.
* At 100k a dense query scans every vector until the shard is optimised (6.9 ms, hybrid 8.3 ms),
  against 0.8 ms (hybrid 1.6 ms) after: worth it, with recall@10 still 1.00 on this data. On
  uniform random vectors, HNSW's worst case, recall@10 after optimize was 0.58 at 10k with the
  default ``hnsw_ef`` (exact search 1.00, ``hnsw_ef=256`` 0.89).
* Filtered and sparse queries use their own indexes (the keyword index: 0.25 ms at 100k, 268 ms
  without it) and gain nothing.
* ``optimize()`` holds the GIL from start to end ("stall" equals its duration): the whole
  process freezes, 2 minutes at 100k. Call it from the ingest command after a bulk write of
  more than ~10k points, never from a serving process. Right after it, the rewritten payload
  storage is cold: the first reads of each page cost page faults (retrieve of 10 payloads 0.66
  ms instead of 0.15 ms until warm); latencies above are warm.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from haystack import Document
from haystack.dataclasses import SparseEmbedding

from index.stores import DenseQuery, EdgeDocumentStore, SparseQuery

DIM = 384
VOCAB = 30_000
NNZ = 40
DEPTH = 50
TOP_K = 10
CHUNK = 5_000  # documents built and written per step (memory: Python lists of 384 floats)
WORDS = [
    "aide",
    "fonds",
    "social",
    "européen",
    "intégration",
    "migrants",
    "emploi",
    "formation",
    "région",
    "programme",
]


def zipf_cdf(vocab: int, s: float = 1.0) -> np.ndarray:
    weights = 1.0 / np.arange(1, vocab + 1) ** s
    return np.cumsum(weights) / weights.sum()


def sparse_vector(rng: np.random.Generator, cdf: np.ndarray, nnz: int) -> SparseEmbedding:
    """About ``nnz`` distinct Zipf-distributed terms with term-frequency-like weights."""
    terms = np.unique(np.searchsorted(cdf, rng.random(nnz * 2)))[:nnz]
    rng.shuffle(terms)
    terms = np.sort(terms[:nnz])
    return SparseEmbedding(indices=terms.tolist(), values=(1.0 + rng.poisson(0.7, len(terms))).tolist())


def unit(v: np.ndarray) -> np.ndarray:
    v = v.astype(np.float32)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def passage_vectors(rng: np.random.Generator, centres: np.ndarray, first: int, n: int) -> np.ndarray:
    """Unit vectors around their document's random centre (cosine ~0.75 to it, ~0.56 between
    passages of a document, ~0 across documents): structure like real embeddings have. Uniform
    random vectors are HNSW's worst case (every neighbour equally far) and say nothing of it."""
    owners = (first + np.arange(n)) % len(centres)
    return unit(centres[owners] + rng.normal(0, 0.045, (n, DIM)))


def documents(
    start: int, vectors: np.ndarray, rng: np.random.Generator, cdf: np.ndarray, n_docs: int
) -> list[Document]:
    out = []
    for k, vector in enumerate(vectors):
        i = start + k
        out.append(
            Document(
                id=f"doc-{i}",
                content=" ".join(rng.choice(WORDS, 25)),
                meta={
                    "doc_id": f"d{i % n_docs}",
                    "kind": "footnote" if i % 10 == 0 else "passage",
                    "language": ("fr", "en", "de")[i % 3],
                    "funds": [f"fund{(i + j) % 12}" for j in range(i % 3)],
                    "order": i,
                },
                embedding=vector.tolist(),
                sparse_embedding=sparse_vector(rng, cdf, NNZ),
            )
        )
    return out


def convex(dense: list[tuple[str, float]], sparse: list[tuple[str, float]], alpha: float = 0.8) -> list[str]:
    """Min-max normalised scores, alpha * dense + (1 - alpha) * sparse (the service's default)."""

    def scaled(ranking: list[tuple[str, float]]) -> dict[str, float]:
        if not ranking:
            return {}
        lo, hi = min(s for _, s in ranking), max(s for _, s in ranking)
        return {i: (s - lo) / (hi - lo) if hi > lo else 1.0 for i, s in ranking}

    d, s = scaled(dense), scaled(sparse)
    fused = {i: alpha * d.get(i, 0.0) + (1 - alpha) * s.get(i, 0.0) for i in d.keys() | s.keys()}
    return sorted(fused, key=fused.__getitem__, reverse=True)[:TOP_K]


def p50(fn: Callable[[int], object], n: int) -> float:
    for i in range(n):  # warm-up: optimize() rewrites the payload storage, cold until read once
        fn(i)
    times = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def measure(
    store: EdgeDocumentStore,
    queries: np.ndarray,
    sparse: list[SparseEmbedding],
    filters: list[dict],
    exact: list[set[str]],
) -> dict[str, float]:
    n = len(queries)
    dense_q = [q.tolist() for q in queries]

    def hybrid(i: int) -> None:
        d, s = store.search_ids([DenseQuery(dense_q[i], DEPTH), SparseQuery(sparse[i], DEPTH)])
        store.retrieve(convex(d, s))

    recall = statistics.fmean(
        len({i for i, _ in store.search_ids([DenseQuery(dense_q[k], TOP_K)])[0]} & exact[k]) / TOP_K
        for k in range(n)
    )
    return {
        "dense": p50(lambda i: store.search_ids([DenseQuery(dense_q[i], DEPTH)]), n),
        "dense+filter": p50(lambda i: store.search_ids([DenseQuery(dense_q[i], DEPTH, filters[i])]), n),
        "sparse": p50(lambda i: store.search_ids([SparseQuery(sparse[i], DEPTH)]), n),
        "hybrid": p50(hybrid, n),
        "recall@10": recall,
    }


class Stall:
    """The longest wait of a thread that sleeps 10 ms in a loop: how long the GIL was held."""

    def __enter__(self) -> Stall:
        self.longest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            t = time.perf_counter()
            time.sleep(0.01)
            self.longest = max(self.longest, time.perf_counter() - t - 0.01)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run(n: int, n_queries: int, root: Path, seed: int) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    cdf = zipf_cdf(VOCAB)
    n_docs = max(1, n // 50)
    centres = unit(rng.standard_normal((n_docs, DIM)))
    store = EdgeDocumentStore(root / f"shard-{n}", embedding_dim=DIM)
    all_vectors = np.empty((n, DIM), dtype=np.float32)
    write_s = 0.0
    for start in range(0, n, CHUNK):
        vectors = passage_vectors(rng, centres, start, min(CHUNK, n - start))
        all_vectors[start : start + len(vectors)] = vectors
        docs = documents(start, vectors, rng, cdf, n_docs)
        t = time.perf_counter()
        store.write_documents(docs)
        write_s += time.perf_counter() - t

    # a question is near one passage (cosine ~0.85), as a real one is near its answer
    queries = unit(all_vectors[rng.integers(n, size=n_queries)] + rng.normal(0, 0.032, (n_queries, DIM)))
    sparse = [sparse_vector(rng, cdf, 6) for _ in range(n_queries)]
    filters = [
        {"field": "meta.doc_id", "operator": "in", "value": [f"d{rng.integers(n_docs)}" for _ in range(3)]}
        for _ in range(n_queries)
    ]
    exact = [{f"doc-{j}" for j in np.argsort(-(all_vectors @ q))[:TOP_K]} for q in queries]
    info = store.shard.info()
    before = measure(store, queries, sparse, filters, exact)
    with Stall() as stall:
        t = time.perf_counter()
        changed = store.optimize()
        optimize_s = time.perf_counter() - t
    after_info = store.shard.info()
    after = measure(store, queries, sparse, filters, exact)
    store.close()
    shutil.rmtree(root / f"shard-{n}", ignore_errors=True)
    return {
        "points": n,
        "write_s": write_s,
        "optimize_s": optimize_s,
        "stall_s": stall.longest,
        "changed": changed,
        "segments": f"{info.segments_count} -> {after_info.segments_count}",
        "before": before,
        "after": after,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--points", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--queries", type=int, default=100, help="queries per measurement")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--dir", type=Path, default=None, help="where shards are written (default: a temp dir)"
    )
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="edge-optimize-", dir=args.dir))
    columns = ["dense", "dense+filter", "sparse", "hybrid", "recall@10"]
    print(
        f"{'points':>8}  {'write s':>7}  {'optimize s':>10}  {'stall s':>7}  {'segments':>8}  "
        + "  ".join(f"{c:<14}" for c in columns),
        flush=True,
    )
    try:
        for n in args.points:
            r = run(n, args.queries, root, args.seed)
            cells = []
            for c in columns:
                b, a = r["before"][c], r["after"][c]  # type: ignore[index]
                cells.append(f"{b:.2f} -> {a:.2f}".ljust(14))
            print(
                f"{n:>8,}  {r['write_s']:>7.1f}  {r['optimize_s']:>10.2f}  {r['stall_s']:>7.2f}  {r['segments']:>8}  "
                + "  ".join(cells),
                flush=True,
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
