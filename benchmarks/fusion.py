"""Measure fusion methods for hybrid retrieval on a gold set (prints a table).

Dense and lexical candidates are retrieved once per question (depth 50), then every fusion
variant is scored offline on the same candidates, so the comparison is exact and fast. The
corpus is indexed into ``POLICYQA_DATA_DIR`` when set, else into a temporary folder (never
the service's own Edge shard, which a running server holds locked).

    .venv/bin/python benchmarks/fusion.py --gold ../shared/gold/dev.jsonl
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from haystack import Document

from core.settings import REPO_ROOT, Settings
from evaluation.gold import load_gold
from evaluation.metrics import RetrievedPassage, relevance
from index.documents import passage_to_document
from index.fusion import fuse
from index.indexing import Indexer
from index.retrieval import Retriever


def _scored(hit) -> Document:  # noqa: ANN001 - index.types.Hit
    return replace(passage_to_document(hit.passage), score=hit.score)


def _scores(rankings: list[list[Document]], relevant: list[set[str]]) -> tuple[float, float, float]:
    h1 = h5 = mrr = 0.0
    for docs, rel in zip(rankings, relevant, strict=True):
        ranks = [i for i, d in enumerate(docs[:10], start=1) if d.id in rel]
        h1 += bool(ranks and ranks[0] == 1)
        h5 += bool(ranks and ranks[0] <= 5)
        mrr += 1 / ranks[0] if ranks else 0.0
    n = len(rankings)
    return h1 / n, h5 / n, mrr / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gold", type=Path, default=REPO_ROOT.parent / "shared" / "gold" / "dev.jsonl")
    parser.add_argument("--depth", type=int, default=50)
    args = parser.parse_args()

    temporary = None
    if "POLICYQA_DATA_DIR" not in os.environ:
        temporary = tempfile.mkdtemp(prefix="policyqa-fusion-")
        os.environ["POLICYQA_DATA_DIR"] = temporary
        os.environ.setdefault("POLICYQA_MODELS_DIR", str(REPO_ROOT / "data" / "models"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        run(args)
    finally:
        from index.stores import close_stores

        close_stores()
        if temporary:
            shutil.rmtree(temporary, ignore_errors=True)


def run(args: argparse.Namespace) -> None:
    settings = Settings()
    Indexer(settings).sync_corpus()
    retriever = Retriever(settings)
    questions = [q for q in load_gold(args.gold) if q.evidence]

    dense_runs, sparse_runs, relevant = [], [], []
    for q in questions:
        dense, sparse = (
            [_scored(h) for h in retriever.search(q.question, mode, args.depth)] for mode in ("dense", "bm25")
        )
        dense_runs.append(dense)
        sparse_runs.append(sparse)
        pool = {d.id: d for d in dense + sparse}
        relevant.append(
            {
                i
                for i, d in pool.items()
                if relevance(q, RetrievedPassage(i, d.meta["doc_id"], d.meta["kind"], d.content or ""))
            }
        )

    rows = [("dense", *_scores(dense_runs, relevant)), ("bm25", *_scores(sparse_runs, relevant))]
    for k in (2, 10, 20, 40, 60):
        for w in (0.5, 0.6, 0.7, 0.8):
            runs = [fuse(d, s, "rrf", w, k, 10) for d, s in zip(dense_runs, sparse_runs, strict=True)]
            rows.append((f"rrf k={k} w={w}", *_scores(runs, relevant)))
    for method, w in itertools.product(("dbsf", "convex"), (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9)):
        runs = [fuse(d, s, method, w, top_k=10) for d, s in zip(dense_runs, sparse_runs, strict=True)]
        rows.append((f"{method} w={w}", *_scores(runs, relevant)))

    print(f"{len(questions)} answerable questions from {args.gold}")
    print(f"{'method':<30} {'hit@1':>6} {'hit@5':>6} {'MRR@10':>7}")
    for name, h1, h5, mrr in rows:
        print(f"{name:<30} {h1:6.3f} {h5:6.3f} {mrr:7.3f}")


if __name__ == "__main__":
    main()
