"""Query batching (issue 9): concurrent questions share one encoder call, with the real model
giving the same vectors as one question at a time."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from core.settings import Settings
from index.query_batching import BatchingTextEmbedder, QueryBatcher

pytestmark = pytest.mark.model


def test_lone_query_is_encoded_at_once_and_waiting_ones_go_together() -> None:
    release = threading.Event()
    started = threading.Event()
    seen: list[list[str]] = []

    def encode(texts: list[str]) -> list[list[float]]:
        seen.append(list(texts))
        started.set()
        release.wait(10)
        return [[float(len(t))] for t in texts]

    batcher = QueryBatcher(encode, max_batch_size=4)
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(batcher.embed, "a")
        assert started.wait(10)  # the first query did not wait for company
        rest = [pool.submit(batcher.embed, "b" * n) for n in range(2, 8)]
        while batcher._queue.qsize() < 6:  # all six are queued behind the running batch
            threading.Event().wait(0.01)
        release.set()
        assert first.result(10) == [1.0]
        assert [f.result(10) for f in rest] == [[float(n)] for n in range(2, 8)]
    assert [len(b) for b in seen] == [1, 4, 2]  # capped at max_batch_size, in arrival order
    assert seen[1] == ["bb", "bbb", "bbbb", "bbbbb"]


def test_an_encoder_error_reaches_every_waiting_caller_and_the_batcher_goes_on() -> None:
    calls = 0

    def encode(texts: list[str]) -> list[list[float]]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("out of memory")
        return [[1.0] for _ in texts]

    batcher = QueryBatcher(encode)
    with pytest.raises(RuntimeError, match="out of memory"):
        batcher.embed("x", timeout=10)
    assert batcher.embed("y", timeout=10) == [1.0]


def test_batched_vectors_equal_single_ones_with_the_real_model(settings: Settings) -> None:
    from index.embedders import query_embedder, text_embedder

    questions = [
        "Quels fonds soutiennent l’intégration des migrants ?",
        "Which fund supports language courses?",
        "Welche Rolle spielen die Kommunen?",
        "¿Qué prevé la Comisión para la vivienda asequible?",
        "Jak plan wspiera udział sektora prywatnego w integracji migrantów na rynku pracy?",
    ] * 4
    single = text_embedder(settings)
    single.warm_up()
    expected = np.asarray([single.run(q)["embedding"] for q in questions])

    # fp32: padding a question into a batch must not change its vector (int8 is tested below)
    batching = query_embedder(settings.model_copy(update={"query_precision": "fp32"}))
    batching.warm_up()
    with ThreadPoolExecutor(len(questions)) as pool:
        got = np.asarray(list(pool.map(lambda q: batching.run(q)["embedding"], questions)))
    cosines = np.sum(got * expected, axis=1)
    assert cosines.min() > 0.9999
    assert max(batching.batcher.batch_sizes) > 1  # concurrent questions were batched


def test_serialises_like_a_haystack_component(settings: Settings) -> None:
    from index.embedders import query_embedder

    embedder = query_embedder(settings)
    data = embedder.to_dict()
    assert data["init_parameters"]["embedder_params"]["prefix"] == "query: "
    restored = BatchingTextEmbedder.from_dict(data)
    assert restored.to_dict() == data
    assert restored.max_batch_size == settings.query_batch_size


def test_onnx_query_encoder_gives_the_sentence_transformers_embedding(settings: Settings) -> None:
    """The exported graph (pooling and normalisation inside) against sentence-transformers,
    on every dev question, corpus sentences, and a text past the 512-token limit."""
    from pathlib import Path

    from index.embedders import embedding_device, load_sentence_transformer, query_backend
    from index.model.onnx import OnnxTextEncoder
    from index.model.resolve import resolve_model
    from tests.index.test_embeddings import corpus_sentences, gold_questions

    model_dir, prompts = resolve_model(settings)
    assert query_backend(settings, model_dir, embedding_device(settings)) == "auto"
    texts = [prompts["query"] + q for q in gold_questions()] + list(corpus_sentences()[:40])
    texts.append("query: " + "Fonds social européen plus (FSE+) et intégration. " * 120)  # > 512 tokens
    expected = load_sentence_transformer(settings).encode(texts, normalize_embeddings=True)
    got = OnnxTextEncoder(Path(model_dir), precision="fp32").encode(texts)
    cosines = np.sum(got * expected, axis=1)
    assert cosines.min() > 0.99999, cosines.min()
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)

    # the 8-bit graph the service uses by default: close, not equal (measured min 0.994, mean 0.997);
    # its retrieval quality is held by the gold-set floor in tests/test_evaluation.py
    int8 = OnnxTextEncoder(Path(model_dir)).encode(texts)
    cosines = np.sum(int8 * expected, axis=1)
    assert cosines.min() > 0.99 and cosines.mean() > 0.995, (cosines.min(), cosines.mean())
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-4)


def test_int8_encoder_that_drifts_from_fp32_serves_fp32(settings: Settings, caplog) -> None:
    """On a CPU where the 8-bit kernels saturate, the check at load switches to fp32."""
    import json
    import logging
    from pathlib import Path

    from index.model.onnx import ONNX_DIR, ONNX_REFERENCE, OnnxTextEncoder
    from index.model.resolve import resolve_model

    model_dir, _ = resolve_model(settings)
    encoder = OnnxTextEncoder(Path(model_dir))
    assert encoder.precision == "int8"  # this machine: the stored reference holds
    reference = json.loads((Path(model_dir) / ONNX_DIR / ONNX_REFERENCE).read_text())
    drifted = {"texts": reference["texts"], "fp32": [list(reversed(v)) for v in reference["fp32"]]}
    with caplog.at_level(logging.WARNING, logger="index.model.onnx"):
        assert encoder.verify_int8(drifted) < 0.99
    assert encoder.precision == "fp32" and "serving the fp32 graph" in caplog.text
    assert encoder.verify_int8(reference) > 0.99999  # now the fp32 graph itself


def test_unknown_precision_is_refused(settings: Settings) -> None:
    with pytest.raises(ValueError, match="'int8' or 'fp32'"):
        BatchingTextEmbedder(embedder_params={}, precision="fp16")


def test_auto_backend_falls_back_to_torch_when_the_export_fails(
    settings: Settings, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    """A model folder where the export cannot be written still serves queries, by PyTorch."""
    import logging
    import shutil

    from index.embedders import query_embedder
    from index.model.resolve import resolve_model

    model_dir, _ = resolve_model(settings)
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy, ignore=shutil.ignore_patterns("onnx"))
    (copy / "onnx").write_text("a file where the export folder should go")
    embedder = query_embedder(settings)
    embedder.embedder_params["model"] = str(copy)
    assert embedder.backend == "auto"
    with caplog.at_level(logging.WARNING, logger="index.query_batching"):
        embedder.warm_up()
    assert "ONNX query encoder unavailable" in caplog.text
    vector = embedder.run("Quels fonds soutiennent l’intégration ?")["embedding"]
    assert len(vector) == 384 and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-4


def test_backend_choice(settings: Settings) -> None:
    from index.embedders import query_backend
    from index.model.resolve import resolve_model

    model_dir, _ = resolve_model(settings)
    torch_only = settings.model_copy(update={"query_backend": "torch"})
    assert query_backend(torch_only, model_dir, "cpu") == "torch"
    assert query_backend(settings, model_dir, "cuda") == "torch"  # auto: ONNX serves the CPU path only
    assert query_backend(settings, "intfloat/multilingual-e5-base", "cpu") == "torch"  # a Hub id
    strict = settings.model_copy(update={"query_backend": "onnx"})
    assert query_backend(strict, model_dir, "cpu") == "onnx"
    with pytest.raises(ValueError, match="POLICYQA_QUERY_BACKEND=onnx"):
        query_backend(strict, model_dir, "cuda")


def test_passage_embedder_in_onnx_runtime_embeds_like_pytorch(settings: Settings) -> None:
    """Ingest and the answer step embed passages with the fp32 graph (``passage_backend``):
    the same texts (prompt, context field, separator: Haystack's) and the same vectors."""
    from haystack import Document

    from index.embedders import OnnxEmbeddingBackend, PassageEmbedder, document_embedder, passage_encoder
    from index.sentence_vectors import SentenceEmbedder
    from tests.index.test_embeddings import corpus_sentences

    onnx = document_embedder(settings)
    assert onnx.backend_choice == "auto"
    onnx.meta_fields_to_embed, onnx.embedding_separator = ["embed_context"], "\n\n"
    data = onnx.to_dict()
    torch = PassageEmbedder.from_dict(
        {**data, "init_parameters": {**data["init_parameters"], "backend_choice": "torch"}}
    )
    assert PassageEmbedder.from_dict(data).to_dict() == data
    sentences = SentenceEmbedder(onnx).to_dict()  # the pipeline's other component around it
    assert SentenceEmbedder.from_dict(sentences).to_dict() == sentences
    docs = [Document(content=s, meta={"embed_context": "Plan d’action"}) for s in corpus_sentences()[:24]]
    docs.append(Document(content="", meta={}))  # an empty text still gets a vector, as in PyTorch
    onnx.warm_up()
    torch.warm_up()
    assert isinstance(onnx.embedding_backend, OnnxEmbeddingBackend)
    assert not isinstance(torch.embedding_backend, OnnxEmbeddingBackend)
    got = np.array([d.embedding for d in onnx.run(docs)["documents"]])
    expected = np.array([d.embedding for d in torch.run(docs)["documents"]])
    assert np.sum(got * expected, axis=1).min() > 0.99999

    encode = passage_encoder(settings)  # the answer step's: the same graph
    same_text = "passage: Plan d’action\n\n" + corpus_sentences()[0]
    assert np.sum(encode([same_text]) * expected[:1], axis=1).min() > 0.99999


def test_passage_backend_choice(settings: Settings) -> None:
    from index.embedders import document_embedder, passage_backend
    from index.model.resolve import resolve_model

    model_dir, _ = resolve_model(settings)
    assert passage_backend(settings, model_dir, "cuda") == "torch"  # a GPU keeps PyTorch
    torch_only = settings.model_copy(update={"passage_backend": "torch"})
    assert document_embedder(torch_only).backend_choice == "torch"
    strict = settings.model_copy(update={"passage_backend": "onnx"})
    with pytest.raises(ValueError, match="POLICYQA_PASSAGE_BACKEND=onnx"):
        passage_backend(strict, "intfloat/multilingual-e5-base", "cpu")


def test_passage_encoder_falls_back_to_torch_when_onnx_fails(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The answer step's encoder opens ONNX Runtime directly (not through the Haystack
    component); "auto" still falls back to PyTorch, with the same vectors."""
    import logging

    import index.embedders as embedders

    text = ["passage: Le Fonds social européen plus soutient l’intégration."]
    onnx = embedders.passage_encoder(settings)(text)

    def broken(model_dir: Path) -> None:
        raise RuntimeError("no ONNX here")

    monkeypatch.setattr(embedders, "_fp32_encoder", broken)
    with caplog.at_level(logging.WARNING, logger="index.embedders"):
        torch = embedders.passage_encoder(settings)(text)
    assert "ONNX passage encoder unavailable" in caplog.text
    assert float(np.dot(onnx[0], torch[0])) > 0.9999


def test_serving_imports_no_sentence_transformers() -> None:
    """sentence-transformers and transformers take ~3.5 s to import; a service on the ONNX
    path (the default) never needs them, so neither the modules nor the query and answer
    encoders import them (every server and CLI start pays what they import)."""
    import subprocess
    import sys

    code = (
        "import sys, index.embedders, index.indexing, qa.service\n"
        "assert 'sentence_transformers' not in sys.modules, 'imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
