"""The answer step's cost with sentence vectors read from the store, or encoded (prints a table).

The extractive answer scores every sentence of the top 5 passages against the question. Its
sentence vectors can come from the store (ingest wrote them as the passage's multivector) or
from the model. On a small corpus a cache of encoded sentences hides the difference (every
passage is asked about again); on a library of thousands of documents most questions reach
passages nobody asked about before, so the cold cache is the usual case.

For each question of the gold set, retrieval runs once (hybrid, top 10), then the answer step
(``ExtractiveAnswerer.run``) is timed three ways on the same hits: ``store`` (vectors read
from the Edge shard, the default), ``encoded, cold`` (the encoder's cache emptied before
each question), ``encoded, warm`` (every sentence already cached). The answers must be the
same in all three (checked). The corpus is indexed into ``POLICYQA_DATA_DIR`` when set, else
into a temporary folder.

    .venv/bin/python benchmarks/answer_vectors.py --gold evaluation/gold/dev.jsonl

Measured on the 2-core development machine (load 4: another benchmark was running), the
101 questions of ``evaluation/gold/dev.jsonl``, ms p50 / p95 of the answer step alone:

    store              0.16 /    0.27
    encoded, cold    330.05 /  474.15
    encoded, warm      0.07 /    0.19
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from core.languages import detect_language
from core.settings import REPO_ROOT, Settings
from evaluation.gold import load_gold
from index.types import Hit
from qa.answer import ExtractiveAnswerer
from qa.service import PolicyQAService


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"{statistics.median(ordered):7.2f} / {p95:7.2f}"


def _timed(
    answerer: ExtractiveAnswerer, question: str, hits: list[Hit], language: str, embedding: list[float] | None
) -> tuple[float, str | None]:
    t0 = time.perf_counter()
    out = answerer.run(query=question, hits=hits, language=language, query_embedding=embedding)
    return (time.perf_counter() - t0) * 1000, out["answer"].text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=REPO_ROOT / "evaluation" / "gold" / "dev.jsonl")
    parser.add_argument("--rounds", type=int, default=3, help="timings per question and way (median kept)")
    args = parser.parse_args()

    own = "POLICYQA_DATA_DIR" not in os.environ
    data_dir = (
        Path(tempfile.mkdtemp(prefix="answer-vectors-")) if own else Path(os.environ["POLICYQA_DATA_DIR"])
    )
    try:
        service = PolicyQAService(Settings(data_dir=data_dir, prime_answer_cache=False))
        service.load()
        service.ensure_index()
        answerer, store = service.answerer, service.retriever.store
        assert answerer.encoder is not None
        questions = load_gold(args.gold)
        times: dict[str, list[float]] = {"store": [], "encoded, cold": [], "encoded, warm": []}
        for q in questions:
            language = detect_language(q.question)
            hits, embedding = service.retriever.search_with_embedding(
                q.question, mode="hybrid", top_k=10, language=language
            )

            def answer() -> tuple[float, str | None]:
                return _timed(answerer, q.question, hits, language, embedding)  # noqa: B023 - called in this iteration

            texts = set()
            for way in times:
                runs = []
                for _ in range(args.rounds):
                    answerer.sentence_store = store if way == "store" else None
                    if way == "encoded, cold":
                        answerer.encoder._cache.clear()  # noqa: SLF001 - the benchmark empties it on purpose
                    elif way == "encoded, warm":
                        answer()  # fills the cache
                    ms, text = answer()
                    runs.append(ms)
                    texts.add(text)
                times[way].append(statistics.median(runs))
            if len(texts) != 1:
                raise SystemExit(f"{q.id}: the answer differs between the ways: {texts}")
        answerer.sentence_store = store
        print(
            f"{len(questions)} questions of {args.gold}; load {os.getloadavg()[0]:.1f}; answer step ms p50 / p95"
        )
        for way, values in times.items():
            print(f"  {way:15s} {_ms(values)}")
    finally:
        if own:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
