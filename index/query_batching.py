"""Query embedding that encodes concurrent questions together.

One e5-small query costs about 0.8 GFLOP in a dozen small matrix products; encoded alone,
most of a CPU's time goes to per-call overhead. Measured here on 2 cores
(sentence-transformers, dev questions): 18.7 ms for one query alone, 8.6 ms per query in a
batch of 8, 7.7 ms in a batch of 24. So under load the server should encode the questions
that arrive together in one batch.

There is no waiting window: a question arriving at an idle encoder is encoded at once (one
user sees no added latency); questions arriving while a batch is being encoded wait for it
and go together into the next one. One thread owns the model, so concurrent requests no
longer fight over the CPU cores with one torch call each.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

from haystack import component, default_from_dict, default_to_dict

from index.cpu import available_cpus
from index.model.onnx import Precision, check_precision, shared_encoder

log = logging.getLogger(__name__)

EncodeBatch = Callable[[list[str]], Sequence[Sequence[float]]]


class QueryBatcher:
    """Runs ``encode`` on the texts submitted from any thread, in batches of at most ``max_batch_size``."""

    def __init__(self, encode: EncodeBatch, max_batch_size: int = 32, name: str = "query-batcher") -> None:
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be at least 1")
        self._encode = encode
        self.max_batch_size = max_batch_size
        self._queue: queue.SimpleQueue[tuple[str, Future[list[float]]]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()
        #: sizes of the batches encoded so far (for benchmarks and tests; bounded)
        self.batch_sizes: list[int] = []

    def embed(self, text: str, timeout: float | None = None) -> list[float]:
        future: Future[list[float]] = Future()
        self._queue.put((text, future))
        return future.result(timeout=timeout)

    def _loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch_size:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if len(self.batch_sizes) < 100_000:
                self.batch_sizes.append(len(batch))
            try:
                vectors = self._encode([text for text, _ in batch])
            except BaseException as exc:  # every waiting request gets the error, the loop goes on
                for _, future in batch:
                    future.set_exception(exc)
                continue
            for (_, future), vector in zip(batch, vectors, strict=True):
                future.set_result(
                    vector.tolist() if hasattr(vector, "tolist") else [float(x) for x in vector]
                )


@component
class BatchingTextEmbedder:
    """A drop-in for SentenceTransformersTextEmbedder (same ``embedding`` output) that batches
    the queries of concurrent pipeline runs. ``embedder_params`` are the wrapped embedder's;
    ``backend``: ``torch``, ``onnx`` (ONNX Runtime, see index.model.onnx), or ``auto``
    (ONNX, and PyTorch if the export or the session cannot be made, e.g. a read-only folder);
    ``precision``: the ONNX graph's weights, ``int8`` or ``fp32`` (see index.model.onnx)."""

    def __init__(
        self,
        embedder_params: dict[str, Any],
        max_batch_size: int = 32,
        backend: str = "torch",
        precision: str = "int8",
    ) -> None:
        if backend not in ("torch", "onnx", "auto"):
            raise ValueError(f"Unknown query embedding backend {backend!r}: use 'torch', 'onnx' or 'auto'.")
        self.embedder_params = dict(embedder_params)
        self.max_batch_size = max_batch_size
        self.backend = backend
        self.precision = check_precision(precision)
        self._batcher: QueryBatcher | None = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        with self._lock:
            if self._batcher is not None:
                return
            if self.backend in ("onnx", "auto"):
                try:
                    self._batcher = QueryBatcher(
                        self._onnx_encode(self.embedder_params, self.precision), self.max_batch_size
                    )
                    return
                except Exception as exc:  # "auto": a failed export must not stop the service
                    if self.backend == "onnx":
                        raise
                    log.warning(
                        "ONNX query encoder unavailable (%s: %s); using PyTorch", type(exc).__name__, exc
                    )
            # imported here: sentence-transformers and transformers take ~3.5 s to import,
            # which the ONNX path does without
            from haystack_integrations.components.embedders.sentence_transformers import (
                SentenceTransformersTextEmbedder,
            )

            inner = SentenceTransformersTextEmbedder(**self.embedder_params)
            inner.warm_up()
            backend = inner.embedding_backend
            if backend is None:
                raise RuntimeError(f"Could not load the embedding model {inner.model!r}.")
            model, prefix, suffix = backend.model, inner.prefix, inner.suffix
            normalize = inner.normalize_embeddings

            def encode(texts: list[str]) -> Sequence[Sequence[float]]:
                return model.encode(
                    [prefix + t + suffix for t in texts],
                    batch_size=len(texts),
                    normalize_embeddings=normalize,
                    show_progress_bar=False,
                    convert_to_numpy=True,
                )

            self._batcher = QueryBatcher(encode, self.max_batch_size)

    @staticmethod
    def _onnx_encode(params: dict[str, Any], precision: Precision) -> EncodeBatch:
        """The ONNX Runtime path (index.model.onnx) with the wrapped embedder's prompt
        (``params``: the Haystack text embedder's, of which it reads the model and prompt)."""
        from pathlib import Path

        encoder = shared_encoder(Path(params["model"]).resolve(), precision, available_cpus())
        prefix, suffix = params.get("prefix", ""), params.get("suffix", "")

        def encode(texts: list[str]) -> Sequence[Sequence[float]]:
            return encoder.encode([prefix + t + suffix for t in texts])

        return encode

    @property
    def batcher(self) -> QueryBatcher:
        if self._batcher is None:
            self.warm_up()
        assert self._batcher is not None
        return self._batcher

    @component.output_types(embedding=list[float])
    def run(self, text: str) -> dict[str, list[float]]:
        if not isinstance(text, str):
            raise TypeError("BatchingTextEmbedder expects a string; use a document embedder for documents.")
        return {"embedding": self.batcher.embed(text)}

    def to_dict(self) -> dict[str, Any]:
        params = dict(self.embedder_params)
        device = params.get("device")
        if device is not None and hasattr(device, "to_dict"):
            params["device"] = device.to_dict()
        return default_to_dict(
            self,
            embedder_params=params,
            max_batch_size=self.max_batch_size,
            backend=self.backend,
            precision=self.precision,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BatchingTextEmbedder:
        import copy

        from haystack.utils import ComponentDevice

        data = copy.deepcopy(data)
        params = data.get("init_parameters", {}).get("embedder_params", {})
        if isinstance(params.get("device"), dict):
            params["device"] = ComponentDevice.from_dict(params["device"])
        return default_from_dict(cls, data)
