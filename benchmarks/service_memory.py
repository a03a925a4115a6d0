"""The service's own process over a large shard: peak memory and /ask latency with the real models.

``edge_memory.py --keep`` writes a bare shard of synthetic points in the service's layout (the
same named vectors, the multivector without a graph and on disk, the payload fields and their
indexes); this script opens it the way the API does (``PolicyQAService.load``: the ONNX query
and passage encoders, the language detector, the Edge store) and answers the gold questions
through ``PolicyQAService.ask`` (hybrid retrieval, sentence re-score, extractive answer),
then prints the process's VmHWM, RssAnon and RssFile and the latencies.

The start-up sync is not run (``ensure_index`` would reconcile the shard with an empty
manifest, i.e. delete it). The synthetic payloads lack the offsets and the embedder's text of
a real passage, which the read fills in (``start``/``end`` 0, ``embed_text`` = the text);
their random words are one "sentence" each, whose vector the answer step encodes (the stored
multivector has 2-3), so the answers cost more than real ones and mean nothing.

    .venv/bin/python benchmarks/edge_memory.py --sizes 1000000 --configs cold+reopen \\
        --dir /work/bench1m --keep --limit-mb 22000
    .venv/bin/python benchmarks/service_memory.py --shard /work/bench1m/cold+reopen-1000000

Measured 2026-12-01 on the 2-core machine (24 GB, no memory limit): see the README, Benchmarks.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge_memory import status_kb  # noqa: E402  (this folder: the script that wrote the shard)


def show(phase: str) -> dict[str, float]:
    s = {k: v / 1024 for k, v in status_kb().items()}
    print(f"{phase:<28} " + "  ".join(f"{k} {v:,.0f} MB" for k, v in s.items()), flush=True)
    return s


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shard", required=True, help="a shard folder written by edge_memory.py --keep")
    parser.add_argument(
        "--gold", default=str(Path(__file__).resolve().parents[1] / "evaluation/gold/dev.jsonl")
    )
    parser.add_argument("--rounds", type=int, default=2, help="passes over the gold questions")
    args = parser.parse_args()

    shard = Path(args.shard).resolve()
    data = Path(tempfile.mkdtemp(prefix="service-memory-"))
    (data / "edge").mkdir()
    (data / "edge" / "policy_passages").symlink_to(shard, target_is_directory=True)

    import index.documents as documents
    import index.retrieval as retrieval
    from core.settings import Settings
    from ingest.models import Passage
    from qa.results import AskQuery
    from qa.service import PolicyQAService

    def synthetic_passage(document):  # type: ignore[no-untyped-def]
        text = document.content or ""
        meta = {"start": 0, "end": len(text), "embed_text": text, **document.meta}
        return Passage.from_dict({**meta, "id": document.id, "text": text})

    documents.document_to_passage = synthetic_passage
    retrieval.document_to_passage = synthetic_passage

    show("start")
    t0 = time.perf_counter()
    service = PolicyQAService(Settings(data_dir=data, ingest_on_startup=False, prime_answer_cache=False))
    service.load()
    count = service.retriever.store.count_documents()
    print(f"loaded in {time.perf_counter() - t0:.1f} s: {count:,} points", flush=True)
    show("models and shard loaded")

    lines = Path(args.gold).read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    latencies: list[float] = []
    for r in range(args.rounds):
        for q in questions:
            t = time.perf_counter()
            service.ask(AskQuery(question=q, top_k=5, mode="hybrid", generate=False))
            latencies.append((time.perf_counter() - t) * 1000)
        show(f"after round {r + 1} ({len(questions)} asks)")
    tail = latencies[len(questions) :] or latencies  # the first round reads cold pages
    q = statistics.quantiles(tail, n=20)
    print(
        f"/ask hybrid over {count:,} points, {len(tail)} asks after the first round: "
        f"p50 {statistics.median(tail):.1f} ms, p95 {q[18]:.1f} ms; first round p50 "
        f"{statistics.median(latencies[: len(questions)]):.1f} ms"
    )
    s = show("end")
    print(f"peak RSS (VmHWM) of the service's process: {s['VmHWM']:,.0f} MB (target 8,192 MB)")


if __name__ == "__main__":
    main()
