"""Memory of a bare Qdrant Edge shard by configuration: write, optimize(), peak RSS, disk, latency.

Measured with qdrant-edge-py 0.9.0, Python 3.11, on the 2-core development machine shared
with three other engineers' test runs (load average 2 to 14 during the cells, column "load":
every time is an upper bound, and times of different cells are not comparable to better than
~2x). 200 queries per cell, ms p50. MB: peak = the child's VmHWM (the phase where it peaked),
anon/file = RssAnon/RssFile peaks in that phase, after = VmRSS right after optimize() (the
replaced segments are still mapped), serve = VmHWM of a fresh process that loads the shard
and runs the 200 queries (models excluded: a bare shard). hyb-ids = hybrid without reading
payloads; hyb+pl = with the top-10 payloads (cold pages: noisy, config-independent).

        size  config         write  opt s   peak phase  anon   file  after  serve   disk  dense sparse  resc hyb-ids hyb+pl  load
     100,000  a                 62    956  2,997 optim   349  2,648  2,335      -    802   0.64   0.38  0.20       -   2.08  5.2-10.8
     100,000  b                 51    203  2,635 query   339  2,296  2,321      -    791   0.68   0.38  0.24       -   2.45  4.2-9.5
     100,000  cold              24     77  2,480 optim   346  2,244  1,905      -    791   0.65   0.39  0.28       -   2.01  2.6-4.3
     100,000  cold+reopen       45    174  2,050 optim   344  1,794  1,452      -    791   0.73   0.37  0.31       -   2.28  3.7-4.2
     100,000  d                 23    144  2,502 optim   344  2,245  1,903      -    793   0.71   0.38  0.30       -   2.49  2.0-5.0
     100,000  dseg              27    117  2,506 optim   347  2,245  1,906      -    791   0.68   0.38  0.31       -   2.48  3.8-4.9
     100,000  f16               27    148  2,071 optim   348  1,723  1,765      -    608   0.64   0.36  0.17       -   2.23  3.7-5.0
     100,000  a0                40    146  1,489 optim   342  1,147  1,151      -    409   0.64   0.38     -       -   1.92  4.8-5.8
     200,000  a                killed by --limit-mb in optimize() after 25+ min: VmRSS 5,825 (anon 655, file 5,169)
     200,000  b                106    562  5,089 optim   655  4,434  4,473      -  1,518   0.70   0.72  0.26       -   3.68  4.4-8.3
     200,000  cold              82    359  4,847 optim   655  4,366  3,705      -  1,518   0.80   0.74  0.45       -   3.05  3.5-8.5
     200,000  cold+reopen       71    361  3,850 optim   656  3,413  2,754      -  1,518   0.78   0.74  0.47       -   3.31  2.4-5.7
     200,000  cold+reopen      120    506  3,895 optim   655  3,414  2,753  1,013  1,518   0.76   0.76  0.45    1.95   2.79  5.4-10.8
     200,000  cold+chunked     123    675  2,234 write   371  1,952    696  1,049  1,520   0.75   0.41  0.46    2.47   3.49  4.9-9.2
     200,000  cold8+chunked    110    430  1,428 write   285  1,196    687  1,054  1,515   3.68   0.83  0.63    4.05   8.06  5.2-13.8
     200,000  a0                92    574  2,869 optim   639  2,230  2,229    604    786   0.86   0.70     -       -   2.70  5.1-8.3

    (rows of a same config are separate runs; "+chunked" opt s = the 4 optimisations made while
    writing. Disk at 200k: dense vectors 293 MB + graph 23, sentence vectors 735, sparse 76 +
    index 62, payload 234 + keyword indexes 30, WAL 58.)

Reading:

* Where the memory goes: the peak is always in optimize(), and ~85 % of it is file-backed
  pages of the mmap'd segments, 2.2-3x the shard's size on disk: the segments just written stay
  mapped with every page the writes touched, optimize() reads them all (some of the
  appendable segment's files end up mapped twice, their pages counted twice) and writes their
  replacement, and the replaced segments stay mapped (and on disk) until the shard is closed.
  The anonymous part is ~3.3 KB a point (the engine's heap during the build, kept by malloc
  afterwards): a fresh serving process holds 158 MB of it at 200k.
* m=0 on the sentence vector (``b``): the graph is never used (the re-score reads <= 50 given
  ids), and building it dominated optimize(): 956 -> 203 s at 100k (under different loads; on
  a 10k shard at equal load 12.5 -> 4.4 s, ``benchmarks/scale.py``); peak -360 MB at 100k. Its
  re-score latency does not move (0.20-0.26 ms).
* ``memory=Cold`` on the sentence vector (``cold``): its 3.7 KB a point are no longer read into
  RAM when the shard is loaded: a serving process holds ~435 MB less at 100k, ~850 MB less at
  200k (in-process reload figures: 1,355 -> 921 MB and 2,320 -> 1,468 MB; ~3.7 GB at 1M); the
  optimize() peak drops a little (-150 to -240 MB). The re-score reads 50 ids' vectors from the
  page cache: +0.05 to +0.2 ms (0.24 -> 0.28 at 100k, 0.26 -> 0.45 at 200k), a few percent of a
  hybrid query; dense and sparse latencies do not move.
* ``+reopen`` (close and load the shard before optimize(); ``EdgeDocumentStore.optimize(
  reopen=True)``): -430 MB (17 %) at 100k, -1.0 GB (21 %) at 200k, the biggest single cut.
* Not taken: Float16 sentence vectors (``f16``: disk -23 %, peak -21 % against ``b``) move
  MaxSim scores by up to 4.9e-5 (rankings must not change) and are refused on shards created
  in Float32; int8 scalar quantization (``sq``) re-scores with the quantized vectors (score
  error 5e-3); the sparse index and id tracker Cold (``d``): no gain (within 1-3 %);
  ``max_segment_size`` (``dseg``): no effect, the appendable segment is optimised whole.
  Chunked optimisation (``+chunked``, optimize() + reopen after each quarter of the writes)
  bounds the peak by the chunk: 2.2 GB at 200k with merges (total optimize time 1.9x),
  1.4 GB with ``default_segment_number=8`` (no merges, 5 segments) but dense 3.7 ms and
  hybrid 4-8 ms instead of ~0.8 and ~2 ms: an ingest-level choice, not made here.

Extrapolation to 1,000,000 points (bare shard; a linear fit through 100k and 200k, i.e.
peak(1M) = peak(200k) + 8 x (peak(200k) - peak(100k)); the optimiser rewrites the whole
appendable segment in one go at every size, so nothing in it is sub-linear but the anonymous
part): ``a0`` predicts 13.9 GB, against 14.8 GB measured at 1M by ``benchmarks/scale.py`` (figure
B, no sentence vectors: 16.9 GB less the 2.1 GB of models): the fit is within ~6 % there. With
sentence vectors: ``a`` >= 28.4 GB (a lower bound: killed at 5.8 GB at 200k), ``b`` 24.7 GB,
``cold`` 23.8 GB, ``cold+reopen`` 18.3 GB; in the service's process (+6 % if the calibration
holds, +2.1 GB of models): >= 32, ~28, ~27 and ~21.5 GB. The anonymous part alone fits
3.2 GB at 1M, but ``a0``'s fit (3.0 GB) overshoots the measured ~1.9 GB, so ~2.0 GB (+2.1 GB of
models: ~4.1 GB). A serving process (fresh, after the 200 queries; 200k x 5) at 1M: ~5 GB bare
for ``cold``, against ~8.7 GB with the sentence vectors in RAM (+735 MB at 200k). So no
configuration brings the optimize() VmHWM under 8 GB at 1M: it is file-backed page cache
proportional to the shard, reclaimable under memory pressure; the anonymous part and the
serving process do fit.

Measured at 1,000,000 points in an 8 GB memory limit (``--memory-limit-mb 8192``: a cgroup v1
group whose limit counts the page cache too, which the kernel reclaims under it; only the
anonymous part can get a process OOM-killed), ``cold+reopen`` (the service's layout and
``policy-qa ingest``'s optimize), 2026-11-30, niced under other jobs (load 1.3-5.7)::

     1,000,000 cold+reopen  write 722 s  optimize 2,855 s  2 segments  disk 7,339 MB
     cgroup 8,192 MB: completed, no OOM kill; max_usage 8,192 MB (page cache reclaimed
     4,963,126 times); anonymous / page cache MB by phase: write 1,291 / 6,731,
     optimize 3,140 / 6,631, query 2,899 / 5,240, reopen 3,535 / 5,120
     VmHWM 9,636 MB in optimize (RssFile counts mapped pages the group no longer holds alone)
     ms p50/p95 after reopen: dense 1.25 / 1.67, re-score 8.9 / 116, hybrid 8.2 / 9.7;
     before reopen (the written segments' pages competing for the 8 GB): hybrid 94 / 221

So a million points write, optimise and serve inside 8 GB: the engine's own memory peaks at
3.1 GB (in optimize()), the rest is page cache that the limit squeezes. The service adds its
models: measured in the service's own process by ``service_memory.py`` over a shard this
script kept (``--keep``), VmHWM 4,977 MB at 1M (README, Benchmarks).

Each (size, config) cell runs in a child process of its own, so that its peak is its own: N
random points in the store's schema (384-d unit dense vector; a MaxSim multivector of 2 or 3
sentence vectors, the dense vector plus noise, renormalised; a sparse vector of ~60 Zipf terms
from a 50k vocabulary; a payload of ~2 KB: ``id``, ~1.7 KB of ``content``, ``meta`` with the
five keyword-indexed fields, a title and a section path), written with ``update`` in batches
of 256 and a ``flush`` every 8 batches, then ``optimize()``, then queries, then the shard is
closed and loaded again (what a serving process sees) and queried again.

Queries (ids and scores, no payload, as ``EdgeDocumentStore.search_ids``):

* dense: top 50 of one dense vector; sparse: top 50 of a 6-term sparse query;
* rescore: the ``SentenceQuery`` re-score, MaxSim of one query vector over the sentence
  multivectors of 50 candidate ids (``HasIdCondition``); ``max err`` is its largest score
  difference from exact float32 MaxSim computed in numpy (0 unless the storage is lossy);
* hybrid: dense + sparse top 50 in one ``query_batch``, the re-score of the 50 best of their
  union, the payloads of the top 10 (what the hybrid retriever does, fusion left out).

Memory: VmHWM of the child (reset with ``/proc/self/clear_refs`` at the start of each phase),
and the peaks of RssAnon (heap: the engine's in-RAM structures, Python) and RssFile (pages of
the mmap'd segment files mapped in this process; page cache the kernel may reclaim, but they
count in RSS and VmHWM), sampled every 0.1 s by the parent. A child whose VmRSS passes
``--limit-mb`` is killed (the machine is shared). Disk: blocks allocated under the shard folder.

    .venv/bin/python benchmarks/edge_memory.py --sizes 100000,200000 --configs a,b,cold
    .venv/bin/python benchmarks/edge_memory.py --sizes 10000 --configs all --json /tmp/mem.json
    .venv/bin/python benchmarks/edge_memory.py --sizes 1000000 --configs cold+reopen --memory-limit-mb 8192

Configs (the sentence vector is ``text-sentences``; "m=0" is ``HnswIndexConfig(m=0, ...)`` on it,
i.e. no graph: it is only ever scored over <= 50 given ids):

* ``a``:   the store's config before #14 (every vector: default HNSW, Cached storage);
* ``a0``:  ``a`` without the sentence vector, to tie these figures to the 1M run of
           ``benchmarks/scale.py`` (figure B, which had none);
* ``b``:   sentence vector m=0;
* ``cold``: ``b`` + sentence vector storage ``memory=Memory.Cold`` (mmap'd, read on demand);
* ``f16``: ``b`` + sentence vector ``datatype=Float16`` (lossy: scores move ~1e-3);
* ``cold16``: ``cold`` + Float16;
* ``sq``:  ``cold`` + int8 scalar quantization of the sentence vector (quantized copy in RAM);
* ``d``:   ``cold`` + the sparse index ``memory=Memory.Cold`` (default Pinned) and the id
           tracker Cold: the dense vectors and their graph stay in RAM.
* ``dseg``: ``cold`` + ``max_segment_size`` of 64 MB (more, smaller segments optimised one
            after the other).

* ``dcold``: ``cold`` + the dense vectors ``memory=Memory.Cold`` too (their graph stays in RAM).
* ``cold8``: ``cold`` + ``default_segment_number=8`` (for ``+chunked``: fewer merges).

A ``+reopen`` suffix (``cold+reopen``) closes the shard after the writes and loads it again
before ``optimize()``; ``+chunked`` also does so and calls ``optimize()`` (between a close and
a load) after each quarter of the points while writing, so that each optimisation rewrites a
quarter of the shard (the write columns then leave those optimisations out).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

DIM = 384
VOCAB = 50_000
NNZ = 60
BATCH = 256
FLUSH_EVERY = 8
DEPTH = 50
TOP_K = 10
DENSE, SENT, SPARSE = "text-dense", "text-sentences", "text-sparse"
PAYLOAD_FIELDS = ("meta.doc_id", "meta.kind", "meta.language", "meta.funds", "meta.doc_fingerprint")
WORDS = [
    "aide",
    "fonds",
    "social",
    "européen",
    "intégration",
    "migrants",
    "emploi",
    "logement",
    "formation",
    "région",
    "commission",
    "programme",
    "état",
    "membre",
    "politique",
    "cohésion",
    "réseau",
    "partenariat",
    "autorité",
    "gestion",
    "projet",
    "financement",
    "soutien",
    "action",
    "mesure",
    "objectif",
    "priorité",
    "accès",
    "service",
    "public",
    "santé",
    "éducation",
    "langue",
    "citoyen",
    "asile",
    "réfugié",
    "travail",
    "marché",
    "compétence",
    "inclusion",
    "pauvreté",
    "jeunesse",
    "culture",
    "coopération",
    "transnational",
    "urbain",
    "local",
    "territorial",
    "développement",
    "évaluation",
    "rapport",
    "règlement",
    "article",
    "annexe",
    "période",
    "budget",
    "crédit",
    "dépense",
    "éligible",
    "bénéficiaire",
    "organisation",
    "société",
    "civile",
]
CONFIGS = ("a", "a0", "b", "cold", "f16", "cold16", "sq", "d", "dseg", "cold8", "dcold")


# ---- configurations ---------------------------------------------------------------------------


def edge_config(name: str) -> Any:
    import qdrant_edge as e

    m0 = e.HnswIndexConfig(m=0, ef_construct=100, full_scan_threshold=10_000)
    sentence: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    sparse: dict[str, Any] = {}
    if name != "a":
        sentence["hnsw_config"] = m0
    if name in ("cold", "cold16", "sq", "d", "dseg", "cold8", "dcold"):
        sentence["memory"] = e.Memory.Cold
    if name in ("f16", "cold16"):
        sentence["datatype"] = e.VectorStorageDatatype.Float16
    if name == "sq":
        sentence["quantization_config"] = e.ScalarQuantizationConfig(
            e.ScalarType.Int8, memory=e.Memory.Cached
        )
    if name == "d":
        sparse["memory"] = e.Memory.Cold
        extra["id_tracker_memory"] = e.Memory.Cold
    if name == "dseg":
        extra["optimizers"] = e.EdgeOptimizersConfig(max_segment_size=64 * 1024)
    if name == "cold8":
        extra["optimizers"] = e.EdgeOptimizersConfig(default_segment_number=8)
    dense: dict[str, Any] = {"memory": e.Memory.Cold} if name == "dcold" else {}
    vectors = {DENSE: e.EdgeVectorParams(size=DIM, distance=e.Distance.Cosine, **dense)}
    if name != "a0":
        vectors[SENT] = e.EdgeVectorParams(
            size=DIM,
            distance=e.Distance.Cosine,
            multivector_config=e.MultiVectorConfig(e.MultiVectorComparator.MaxSim),
            **sentence,
        )
    return e.EdgeConfig(
        vectors=vectors,
        sparse_vectors={SPARSE: e.EdgeSparseVectorParams(modifier=e.Modifier.Idf, **sparse)},
        **extra,
    )


# ---- data -------------------------------------------------------------------------------------


def point_id(i: int) -> str:
    return str(uuid.UUID(int=i + 1))


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def batch_vectors(seed: int, b: int, n: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Dense vectors and sentence multivectors of batch ``b``: regenerated identically on demand."""
    rng = np.random.default_rng([seed, b])
    dense = unit(rng.standard_normal((n, DIM)).astype(np.float32))
    counts = rng.integers(2, 4, n)  # 2 or 3 sentences: 2.5 on average
    sentences = [
        unit(dense[i] + 0.6 * unit(rng.standard_normal((c, DIM)).astype(np.float32))).astype(np.float32)
        for i, c in enumerate(counts)
    ]
    return dense, sentences


def sparse_vector(rng: np.random.Generator, nnz: int) -> tuple[list[int], list[float]]:
    terms = np.unique(np.minimum(rng.zipf(1.2, nnz * 2), VOCAB) - 1)[:nnz]
    if len(terms) < nnz:  # Zipf repeats its frequent terms: top up with uniform ones
        terms = np.unique(np.concatenate([terms, rng.integers(0, VOCAB, nnz - len(terms))]))
    return terms.tolist(), rng.uniform(0.1, 3.0, len(terms)).tolist()


def make_points(seed: int, b: int, start: int, n: int, with_sentences: bool) -> list[Any]:
    import qdrant_edge as e

    dense, sentences = batch_vectors(seed, b, n)
    rng = np.random.default_rng([seed, b, 1])
    text = random.Random(seed * 1_000_003 + b)
    points = []
    for k in range(n):
        i = start + k
        indices, values = sparse_vector(rng, NNZ)
        vectors: dict[str, Any] = {DENSE: dense[k].tolist(), SPARSE: e.SparseVector(indices, values)}
        if with_sentences:
            vectors[SENT] = sentences[k].tolist()
        doc = i // 200
        payload = {
            "id": f"{i:064x}",
            "content": " ".join(text.choices(WORDS, k=190)),
            "blob": None,
            "meta": {
                "doc_id": f"doc-{doc}",
                "kind": "passage" if i % 100 < 68 else "footnote",
                "language": "fr" if i % 10 else "en",
                "funds": [f"F{(i + j) % 9}" for j in range(i % 3)],
                "doc_fingerprint": f"{doc * 2654435761 % 2**64:016x}",
                "title": f"Document {doc} sur l'intégration des migrants",
                "section_path": ["Chapitre 2", f"Section {i % 17}", "Mesures"],
                "page_start": i % 300,
                "order": i % 200,
            },
            "score": None,
        }
        points.append(e.Point(point_id(i), vectors, payload))
    return points


# ---- measurement in the child ----------------------------------------------------------------


def status_kb() -> dict[str, int]:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key = line.split(":")[0]
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
            out[key] = int(line.split()[1])
    return out


class Phases:
    """Marks the phase for the parent's sampler and keeps this process's VmHWM per phase."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.hwm: dict[str, float] = {}
        self.current: str | None = None

    def start(self, name: str) -> None:
        self.end()
        Path("/proc/self/clear_refs").write_text("5")
        self.path.write_text(name)
        self.current = name

    def end(self) -> None:
        if self.current is not None:
            self.hwm[self.current] = status_kb()["VmHWM"] / 1024
            self.current = None


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def timed(fn: Any, n: int) -> tuple[float, float]:
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), pct(times, 95)


def dir_mb(path: Path, part: str = "") -> float:
    return sum(f.stat().st_blocks * 512 for f in path.rglob("*") if f.is_file() and part in str(f)) / 2**20


def queries(
    shard: Any, size: int, seed: int, n: int, with_sentences: bool, query_seed: int = 999
) -> dict[str, Any]:
    import qdrant_edge as e

    rng = np.random.default_rng([seed, query_seed])
    n_batches = (size + BATCH - 1) // BATCH
    qs = []
    for _ in range(n):  # near an existing point, as a question is near its passage
        b = int(rng.integers(0, n_batches))
        dense, _ = batch_vectors(seed, b, min(BATCH, size - b * BATCH))
        q = unit(dense[int(rng.integers(0, len(dense)))] + 0.8 * unit(rng.standard_normal(DIM)))
        qs.append(q.astype(np.float32).tolist())
    sparse_qs = [sparse_vector(rng, 6) for _ in range(n)]

    def dense_req(i: int, limit: int = DEPTH) -> Any:
        return e.QueryRequest(
            limit=limit, query=e.Query.Nearest(qs[i], using=DENSE), with_payload=False, with_vector=False
        )

    def sparse_req(i: int) -> Any:
        ind, val = sparse_qs[i]
        return e.QueryRequest(
            limit=DEPTH,
            query=e.Query.Nearest(e.SparseVector(ind, val), using=SPARSE),
            with_payload=False,
            with_vector=False,
        )

    def rescore_req(i: int, ids: list[Any]) -> Any:
        return e.QueryRequest(
            limit=len(ids),
            query=e.Query.Nearest([qs[i]], using=SENT),
            filter=e.Filter(must=[e.HasIdCondition(set(ids))]),
            with_payload=False,
            with_vector=False,
        )

    candidates = [[p.id for p in shard.query(dense_req(i))] for i in range(n)]
    out: dict[str, Any] = {}
    out["dense"] = timed(lambda i: shard.query(dense_req(i)), n)
    out["sparse"] = timed(lambda i: shard.query(sparse_req(i)), n)
    if not with_sentences:
        out["rescore"] = (float("nan"), float("nan"))

        def hybrid(i: int) -> None:
            ranks = shard.query_batch(e.QueryBatchRequest([dense_req(i), sparse_req(i)]))
            top = list(dict.fromkeys(p.id for r in ranks for p in r))[:TOP_K]
            shard.retrieve(top, True, False)
    else:
        out["rescore"] = timed(lambda i: shard.query(rescore_req(i, candidates[i])), n)

        def hybrid(i: int) -> None:
            ranks = shard.query_batch(e.QueryBatchRequest([dense_req(i), sparse_req(i)]))
            union = list(dict.fromkeys(p.id for r in ranks for p in r))[:DEPTH]
            scored = shard.query(rescore_req(i, union))
            shard.retrieve([p.id for p in scored[:TOP_K]], True, False)

    out["hybrid"] = timed(hybrid, n)
    if with_sentences:  # the same without reading the payloads (cold payload pages fault in)

        def hybrid_ids(i: int) -> None:
            ranks = shard.query_batch(e.QueryBatchRequest([dense_req(i), sparse_req(i)]))
            shard.query(rescore_req(i, list(dict.fromkeys(p.id for r in ranks for p in r))[:DEPTH]))

        out["hybrid_ids"] = timed(hybrid_ids, n)
    if with_sentences:  # exactness of the re-score against float32 numpy, on ids of batch 0
        _, sentences = batch_vectors(seed, 0, min(BATCH, size))
        ids = [uuid.UUID(point_id(k)) for k in range(min(DEPTH, len(sentences)))]
        err = 0.0
        for i in range(20):
            q = np.asarray(qs[i], dtype=np.float32)
            exact = {ids[k]: float(np.max(sentences[k] @ q)) for k in range(len(ids))}
            for p in shard.query(rescore_req(i, ids)):
                err = max(err, abs(p.score - exact[p.id]))
        out["rescore_max_err"] = err
    return out


def child(args: argparse.Namespace) -> None:
    import qdrant_edge as e

    folder = Path(args.dir) / f"{args.config}-{args.size}"
    shutil.rmtree(folder, ignore_errors=True)
    phases = Phases(Path(args.phase_file))
    config, _, variant = args.config.partition("+")
    with_sentences = config != "a0"
    result: dict[str, Any] = {
        "config": args.config,
        "size": args.size,
        "baseline_mb": status_kb()["VmRSS"] / 1024,
    }

    phases.start("write")
    t0 = time.perf_counter()
    shard = e.EdgeShard.create(str(folder), edge_config(config))
    for field in PAYLOAD_FIELDS:
        shard.update(e.UpdateOperation.create_field_index(field, e.PayloadSchemaType.Keyword))
    chunk_opt_s = 0.0
    every = max(BATCH, args.size // 4 // BATCH * BATCH)  # "+chunked": optimize() 4 times while writing
    for b, start in enumerate(range(0, args.size, BATCH)):
        n = min(BATCH, args.size - start)
        shard.update(e.UpdateOperation.upsert_points(make_points(args.seed, b, start, n, with_sentences)))
        if (b + 1) % FLUSH_EVERY == 0:
            shard.flush()
        if variant == "chunked" and (start + n) % every == 0 and start + n < args.size:
            t1 = time.perf_counter()
            shard.flush()
            shard.close()
            shard = e.EdgeShard.load(str(folder), edge_config(config))
            shard.optimize()
            shard.close()  # the replaced segments are deleted, the pages optimize() touched let go
            shard = e.EdgeShard.load(str(folder), edge_config(config))
            chunk_opt_s += time.perf_counter() - t1
    shard.flush()
    result["write_s"] = time.perf_counter() - t0 - chunk_opt_s
    result["chunk_optimize_s"] = chunk_opt_s
    result["rss_after_write_mb"] = status_kb()["VmRSS"] / 1024

    if variant in ("reopen", "chunked"):  # close and load again: the pages the writes left mapped are let go
        shard.close()
        del shard
        shard = e.EdgeShard.load(str(folder), edge_config(config))
        result["rss_after_write_reopen_mb"] = status_kb()["VmRSS"] / 1024
    phases.start("optimize")
    t0 = time.perf_counter()
    shard.optimize()
    result["optimize_s"] = time.perf_counter() - t0
    result["segments"] = shard.info().segments_count
    result["rss_after_optimize_mb"] = status_kb()["VmRSS"] / 1024

    phases.start("query")
    result["query"] = queries(shard, args.size, args.seed, args.queries, with_sentences)
    result["rss_after_query_mb"] = status_kb()["VmRSS"] / 1024
    shard.close()
    del shard

    phases.start("reopen")
    t0 = time.perf_counter()
    shard = e.EdgeShard.load(str(folder), edge_config(config))
    result["load_s"] = time.perf_counter() - t0
    result["rss_after_load_mb"] = status_kb()["VmRSS"] / 1024
    result["query_reopen"] = queries(
        shard, args.size, args.seed, args.queries, with_sentences, query_seed=1000
    )
    result["rss_serving"] = {k: v / 1024 for k, v in status_kb().items()}
    shard.close()
    phases.end()
    result["hwm_mb"] = phases.hwm
    result["disk_mb"] = dir_mb(folder)
    result["disk_parts_mb"] = {
        part: dir_mb(folder, part)
        for part in (
            f"vector_storage-{DENSE}/",
            f"vector_index-{DENSE}/",
            f"vector_storage-{SENT}/",
            f"vector_index-{SENT}/",
            f"vector_storage-{SPARSE}/",
            f"vector_index-{SPARSE}/",
            "payload_storage/",
            "payload_index/",
            "/wal/",
        )
    }
    # a serving process: a fresh one loads the shard and queries it (this one's heap still
    # holds what optimize() freed, which malloc keeps)
    serve = subprocess.run(
        [
            sys.executable,
            __file__,
            "--serve",
            str(folder),
            "--config",
            config,
            "--size",
            str(args.size),
            "--queries",
            str(args.queries),
            "--seed",
            str(args.seed),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in serve.stdout.splitlines():
        if line.startswith("SERVE "):
            result["serve_fresh"] = json.loads(line[6:])
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    print("RESULT " + json.dumps(result), flush=True)


def serve(args: argparse.Namespace) -> None:
    """Load the shard in ``args.serve`` in this fresh process and query it: a serving process's memory."""
    import qdrant_edge as e

    out: dict[str, Any] = {"start": status_kb()}
    t0 = time.perf_counter()
    shard = e.EdgeShard.load(args.serve, edge_config(args.config.partition("+")[0]))
    out["load_s"] = time.perf_counter() - t0
    out["loaded"] = status_kb()
    out["query"] = queries(shard, args.size, args.seed, args.queries, args.config != "a0", query_seed=1001)
    out["queried"] = status_kb()
    shard.close()
    print("SERVE " + json.dumps(out), flush=True)


# ---- the parent: one child per cell, sampled --------------------------------------------------


def cgroup_create(name: str, limit_mb: float) -> Path:
    """A fresh cgroup v1 memory group under this process's own, limited to ``limit_mb``."""
    own = next(
        (
            line.split(":", 2)[2]
            for line in Path("/proc/self/cgroup").read_text().splitlines()
            if "memory" in line.split(":", 2)[1].split(",")
        ),
        None,
    )
    if own is None:
        raise SystemExit("--memory-limit-mb: no cgroup v1 memory controller in /proc/self/cgroup")
    group = Path("/sys/fs/cgroup/memory") / own.lstrip("/") / name
    try:
        group.mkdir()
        (group / "memory.limit_in_bytes").write_text(str(int(limit_mb * 2**20)))
    except OSError as err:
        raise SystemExit(
            f"--memory-limit-mb: cannot create the cgroup {group} (root and cgroup v1 needed): {err}"
        ) from err
    return group


def cgroup_read(group: Path) -> dict[str, int]:
    """Usage, failcnt, OOM kills and the memory.stat counters (bytes) of ``group``."""
    out = {
        "usage": int((group / "memory.usage_in_bytes").read_text()),
        "max_usage": int((group / "memory.max_usage_in_bytes").read_text()),
        "failcnt": int((group / "memory.failcnt").read_text()),
    }
    for line in (group / "memory.oom_control").read_text().splitlines():
        key, value = line.split()
        out[key] = int(value)
    for line in (group / "memory.stat").read_text().splitlines():
        key, value = line.split()
        if key in ("total_rss", "total_cache", "total_mapped_file"):
            out[key[6:]] = int(value)
    return out


def cgroup_remove(group: Path) -> None:
    for _ in range(50):  # the child's pages are uncharged lazily after it exits
        try:
            (group / "memory.force_empty").write_text("0")
            group.rmdir()
            return
        except OSError:
            time.sleep(0.1)
    print(f"warning: could not remove the cgroup {group}", file=sys.stderr)


def run_cell(args: argparse.Namespace, size: int, config: str) -> dict[str, Any]:
    phase_file = Path(args.dir) / f"phase-{config}-{size}"
    phase_file.write_text("start")
    cmd = [
        sys.executable,
        __file__,
        "--child",
        "--size",
        str(size),
        "--config",
        config,
        "--dir",
        args.dir,
        "--phase-file",
        str(phase_file),
        "--queries",
        str(args.queries),
        "--seed",
        str(args.seed),
    ] + (["--keep"] if args.keep else [])
    group = None
    if args.memory_limit_mb:  # the child (and its serving grandchild) start inside the group
        group = cgroup_create(
            f"edge-memory-{config.replace('+', '-')}-{size}-{os.getpid()}", args.memory_limit_mb
        )
        procs = group / "cgroup.procs"
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, text=True, preexec_fn=lambda: procs.write_text(str(os.getpid()))
        )
    else:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    peaks: dict[str, dict[str, int]] = {}
    killed = False
    loads = []
    last_load = 0.0
    phase = "start"
    while proc.poll() is None:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text().splitlines()
            phase = phase_file.read_text() or "?"
        except OSError:
            break
        cell = peaks.setdefault(phase, {"VmRSS": 0, "RssAnon": 0, "RssFile": 0})
        for line in status:
            key = line.split(":")[0]
            if key in cell:
                cell[key] = max(cell[key], int(line.split()[1]))
        if group is not None:  # the group's anonymous (rss) and page cache, KB as the rest
            cg = cgroup_read(group)
            for key in ("usage", "rss", "cache", "mapped_file"):
                cell["cg_" + key] = max(cell.get("cg_" + key, 0), cg[key] // 1024)
        elif cell["VmRSS"] > args.limit_mb * 1024 and not killed:
            proc.kill()
            killed = True
        if time.monotonic() - last_load > 10:
            loads.append(os.getloadavg()[0])
            last_load = time.monotonic()
        time.sleep(0.1)
    out_text = proc.communicate()[0]
    phase_file.unlink(missing_ok=True)
    result: dict[str, Any] = {"config": config, "size": size}
    for line in out_text.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
    result["killed_at_limit"] = killed
    result["returncode"] = proc.returncode
    if group is not None:
        cg = cgroup_read(group)
        result["cgroup"] = {
            "limit_mb": args.memory_limit_mb,
            "max_usage_mb": cg["max_usage"] / 2**20,
            "failcnt": cg["failcnt"],
            "oom_kill": cg.get("oom_kill", 0),
            "last_phase": phase,
        }
        cgroup_remove(group)
    result["sampled_mb"] = {ph: {k: v / 1024 for k, v in c.items()} for ph, c in peaks.items()}
    result["load_avg"] = (min(loads), max(loads)) if loads else None
    return result


def cgroup_line(r: dict[str, Any]) -> str:
    """The cgroup's verdict and peaks: max_usage, and per phase the peaks of its rss (anon) and cache."""
    cg = r.get("cgroup")
    if cg is None:
        return ""
    if r["returncode"] == 0:
        verdict = "completed"
    elif cg["oom_kill"]:
        verdict = f"OOM-killed in {cg['last_phase']}"
    else:
        verdict = f"failed (rc {r['returncode']}) in {cg['last_phase']}"
    phases = ", ".join(
        f"{ph} {c['cg_rss']:,.0f}/{c['cg_cache']:,.0f}" for ph, c in r["sampled_mb"].items() if "cg_rss" in c
    )
    return (
        f"    cgroup {cg['limit_mb']:,.0f} MB: {verdict}; max_usage {cg['max_usage_mb']:,.0f} MB, "
        f"failcnt {cg['failcnt']:,}, oom_kill {cg['oom_kill']}; peak rss/cache MB by phase: {phases}"
    )


def print_cell(r: dict[str, Any]) -> None:
    if "write_s" not in r:
        print(
            f"{r['size']:>9,} {r['config']:>6}  FAILED (killed at limit: {r['killed_at_limit']}) {r['sampled_mb']}"
        )
        if "cgroup" in r:
            print(cgroup_line(r), flush=True)
        return
    s = r["sampled_mb"]
    peak_phase = max(r["hwm_mb"], key=lambda p: r["hwm_mb"][p])
    opt = s.get("optimize", {})
    q, qr = r["query"], r["query_reopen"]
    serving = r["rss_serving"]
    print(
        f"{r['size']:>9,} {r['config']:>6} {r['write_s']:8.1f} {r['optimize_s']:8.1f} "
        f"{max(r['hwm_mb'].values()):8,.0f} ({peak_phase[:3]}) "
        f"{opt.get('RssAnon', 0):6,.0f}/{opt.get('RssFile', 0):6,.0f} "
        f"{serving['VmRSS']:7,.0f} ({serving['RssAnon']:,.0f}/{serving['RssFile']:,.0f}) "
        f"{r['disk_mb']:7,.0f} {r['segments']:3d}  "
        f"{q['dense'][0]:5.2f} {q['sparse'][0]:5.2f} {q['rescore'][0]:5.2f} {q['hybrid'][0]:5.2f} | "
        f"{qr['dense'][0]:5.2f} {qr['rescore'][0]:5.2f} {qr['hybrid'][0]:5.2f}/{qr['hybrid'][1]:5.2f}  "
        f"{q.get('rescore_max_err', float('nan')):.1e}  load {r['load_avg'][0]:.1f}-{r['load_avg'][1]:.1f}",
        flush=True,
    )
    if "cgroup" in r:
        print(cgroup_line(r), flush=True)


HEADER = (
    "     size config  write s   opt s  peak MB (phase)  opt anon/file  serving MB (anon/file)  disk MB seg  "
    "dense sparse resc hybrid | reopened: dense resc hybrid p50/p95  max err  load"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,200000")
    parser.add_argument("--configs", default="a,b,cold,cold+reopen", help="comma-separated, or 'all'")
    parser.add_argument("--dir", default=None, help="folder for the shards (default: a temp dir)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--limit-mb", type=float, default=5800, help="kill a child whose VmRSS passes this")
    parser.add_argument(
        "--memory-limit-mb",
        type=float,
        default=None,
        help="run each child in a fresh cgroup v1 memory group of this limit (root; replaces --limit-mb): "
        "page cache is reclaimed under it, only anonymous memory can get the child OOM-killed",
    )
    parser.add_argument("--json", default=None, help="append each cell's result as a JSON line")
    parser.add_argument("--keep", action="store_true", help="keep the shard folders")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--phase-file", help=argparse.SUPPRESS)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args)
        return
    if args.child:
        child(args)
        return
    own_dir = args.dir is None
    args.dir = args.dir or tempfile.mkdtemp(prefix="edge-memory-")
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    configs = CONFIGS if args.configs == "all" else tuple(args.configs.split(","))
    print(f"shards in {args.dir}; {os.cpu_count()} CPUs; latencies ms p50 (hybrid p50/p95 after reopen)")
    print(HEADER, flush=True)
    for size in (int(s) for s in args.sizes.split(",")):
        for config in configs:
            r = run_cell(args, size, config)
            print_cell(r)
            if args.json:
                with open(args.json, "a", encoding="utf-8") as f:
                    f.write(json.dumps(r) + "\n")
    if own_dir and not args.keep:
        shutil.rmtree(args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
