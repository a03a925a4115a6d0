"""The dense embedders of the indexing and query pipelines, configured from Settings.

Both Haystack components are built with the same model, device and loading options, so the
Sentence Transformers backend cache of sentence-transformers-haystack gives them (and
:func:`load_sentence_transformer`) one shared model per process instead of one each.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from haystack import Document, component, default_from_dict, default_to_dict
from haystack.utils import ComponentDevice
from haystack.utils.hf import deserialize_hf_model_kwargs

from core.settings import Settings, get_settings
from index.cpu import available_cpus, configure_cpu_threads
from index.model.onnx import OnnxTextEncoder, exportable, onnx_runtime_available, shared_encoder
from index.model.resolve import resolve_model
from index.query_batching import BatchingTextEmbedder

if TYPE_CHECKING:
    from haystack_integrations.components.embedders.sentence_transformers import (
        SentenceTransformersDocumentEmbedder,
        SentenceTransformersTextEmbedder,
    )
    from haystack_integrations.components.embedders.sentence_transformers.embedding_backend.backend import (
        _SentenceTransformersEmbeddingBackend,
    )
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

Backend = Literal["auto", "torch", "onnx"]

#: Default batch sizes: small on CPU keeps padding waste and latency spikes low; a GPU wants
#: large batches to be busy.
CPU_BATCH_SIZE = 16
GPU_BATCH_SIZE = 128


def embedding_device(settings: Settings) -> str:
    """``settings.device`` when given, else ``cuda`` when a GPU is visible, else ``cpu``."""
    if settings.device:
        return settings.device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def embedding_batch_size(settings: Settings, device: str) -> int:
    if settings.batch_size:
        return settings.batch_size
    return GPU_BATCH_SIZE if device.startswith("cuda") else CPU_BATCH_SIZE


def _embedder_kwargs(settings: Settings) -> tuple[dict[str, Any], dict[str, str]]:
    model, prompts = resolve_model(settings)
    device = embedding_device(settings)
    if device == "cpu":
        configure_cpu_threads()
    kwargs: dict[str, Any] = {
        "model": model,
        "device": ComponentDevice.from_str(device),
        "batch_size": embedding_batch_size(settings, device),
        "progress_bar": False,
        "normalize_embeddings": True,
        # a folder on disk never needs the Hub; ids follow HF_HUB_OFFLINE as usual
        "local_files_only": Path(model).expanduser().is_dir(),
    }
    return kwargs, prompts


def text_embedder(settings: Settings | None = None) -> SentenceTransformersTextEmbedder:
    """Query embedder: prepends the model's query prompt (``"query: "`` for e5)."""
    from haystack_integrations.components.embedders.sentence_transformers import (
        SentenceTransformersTextEmbedder,
    )

    kwargs, prompts = _embedder_kwargs(settings or get_settings())
    return SentenceTransformersTextEmbedder(prefix=prompts.get("query", ""), **kwargs)


def query_embedder(settings: Settings | None = None) -> BatchingTextEmbedder:
    """The query pipelines' embedder: :func:`text_embedder`'s model and prompt, with the
    queries of concurrent requests encoded in one batch (see :mod:`index.query_batching`)."""
    settings = settings or get_settings()
    kwargs, prompts = _embedder_kwargs(settings)
    return BatchingTextEmbedder(
        embedder_params={"prefix": prompts.get("query", ""), **kwargs},
        max_batch_size=settings.query_batch_size,
        backend=query_backend(settings, kwargs["model"], embedding_device(settings)),
        precision=settings.query_precision,
    )


def query_backend(settings: Settings, model: str, device: str) -> Backend:
    """The query embedder's backend for ``settings.query_backend``: ``torch``; ``onnx`` (asked
    for: errors are raised); ``auto`` when ONNX Runtime on CPU can serve this model folder
    (the embedder falls back to PyTorch if the export fails)."""
    return _backend(settings.query_backend, "POLICYQA_QUERY_BACKEND", model, device)


def passage_backend(settings: Settings, model: str, device: str) -> Backend:
    """The same choice for passages and sentences (``settings.passage_backend``)."""
    return _backend(settings.passage_backend, "POLICYQA_PASSAGE_BACKEND", model, device)


def _backend(wanted: Backend, variable: str, model: str, device: str) -> Backend:
    if wanted == "torch":
        return "torch"
    usable = device == "cpu" and onnx_runtime_available() and exportable(Path(model))
    if wanted == "onnx" and not usable:
        raise ValueError(
            f"{variable}=onnx needs onnxruntime, the CPU and a local sentence-transformers "
            f"folder with mean pooling and normalisation; {model!r} on {device} is not. Use 'auto' or 'torch'."
        )
    if not usable:
        return "torch"
    return wanted


class OnnxEmbeddingBackend:
    """What Haystack's sentence-transformers embedders call (``embed``), run by the fp32 ONNX
    graph of :mod:`index.model.onnx`: the same vectors as PyTorch's (mean pooling and
    normalisation are in the graph), in about half its CPU time on 2 cores (320 passages of
    the BEIR benchmark: 9.1 s -> 4.8 s, lowest cosine 1.000000)."""

    def __init__(self, model_dir: Path) -> None:
        self.encoder = _fp32_encoder(model_dir.resolve())

    def embed(self, data: list[str], normalize_embeddings: bool = True, **kwargs: Any) -> list[list[float]]:
        if not normalize_embeddings or kwargs.get("precision", "float32") != "float32":
            raise ValueError("The ONNX passage encoder gives normalised float32 vectors only.")
        return self.encoder.encode(data).tolist() if data else []


def _fp32_encoder(model_dir: Path) -> OnnxTextEncoder:
    """One session per model per process, shared by the passage, sentence and answer encoders
    (and the query encoder when it runs fp32)."""
    return shared_encoder(model_dir, "fp32", available_cpus())


@component
class PassageEmbedder:
    """Haystack's sentence-transformers document embedder, whose model runs in ONNX Runtime when
    ``backend_choice`` is ``onnx`` or ``auto`` (then falling back to PyTorch, with a warning, if
    the export fails). The texts embedded (prompt, fields embedded with the text, separator)
    are Haystack's either way.

    It wraps the Haystack component instead of subclassing it so that importing this module
    does not import sentence-transformers and transformers (~3.5 s of every process start):
    a service whose index is up to date never builds this component."""

    def __init__(
        self,
        *,
        backend_choice: Backend = "torch",
        meta_fields_to_embed: list[str] | None = None,
        embedding_separator: str = "\n",
        **kwargs: Any,
    ) -> None:
        self.backend_choice: Backend = backend_choice
        self.meta_fields_to_embed = list(meta_fields_to_embed or [])
        self.embedding_separator = embedding_separator
        self.model: str = kwargs["model"]
        self._kwargs = kwargs
        self._embedder: SentenceTransformersDocumentEmbedder | None = None

    @property
    def embedding_backend(self) -> _SentenceTransformersEmbeddingBackend | OnnxEmbeddingBackend | None:
        return self._embedder.embedding_backend if self._embedder is not None else None

    def _haystack_embedder(self) -> SentenceTransformersDocumentEmbedder:
        from haystack_integrations.components.embedders.sentence_transformers import (
            SentenceTransformersDocumentEmbedder,
        )

        if self._embedder is None:
            self._embedder = SentenceTransformersDocumentEmbedder(**self._kwargs)
        # the indexing pipeline sets these after construction, as on Haystack's component
        self._embedder.meta_fields_to_embed = self.meta_fields_to_embed
        self._embedder.embedding_separator = self.embedding_separator
        return self._embedder

    def warm_up(self) -> None:
        embedder = self._haystack_embedder()
        if embedder.embedding_backend is not None:
            return
        if self.backend_choice != "torch":
            try:
                embedder.embedding_backend = OnnxEmbeddingBackend(Path(self.model))  # type: ignore[assignment]
                return
            except Exception as exc:  # "auto": a failed export must not stop an ingest
                if self.backend_choice == "onnx":
                    raise
                log.warning(
                    "ONNX passage encoder unavailable (%s: %s); using PyTorch", type(exc).__name__, exc
                )
        embedder.warm_up()

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, list[Document]]:
        self.warm_up()
        result: dict[str, list[Document]] = self._haystack_embedder().run(documents=documents)
        return result

    def to_dict(self) -> dict[str, Any]:
        params = self._haystack_embedder().to_dict()["init_parameters"]
        return default_to_dict(self, backend_choice=self.backend_choice, **params)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PassageEmbedder:
        params = data["init_parameters"]
        if params.get("model_kwargs") is not None:
            deserialize_hf_model_kwargs(params["model_kwargs"])
        return default_from_dict(cls, data)


def document_embedder(settings: Settings | None = None) -> PassageEmbedder:
    """Passage embedder: prepends the model's passage prompt (``"passage: "`` for e5)."""
    settings = settings or get_settings()
    kwargs, prompts = _embedder_kwargs(settings)
    choice = passage_backend(settings, kwargs["model"], embedding_device(settings))
    return PassageEmbedder(prefix=prompts.get("passage", ""), backend_choice=choice, **kwargs)


def passage_encoder(settings: Settings | None = None) -> Callable[[list[str]], np.ndarray]:
    """Normalised vectors of texts given with their prompt, by the passage embedder's model and
    backend (the answer step's sentences and questions): one model per process either way.

    The ONNX encoder is opened directly: the Haystack component around it imports
    sentence-transformers and transformers (~3.5 s of a process start), which a service
    whose index is up to date never needs."""
    settings = settings or get_settings()
    kwargs, _ = _embedder_kwargs(settings)
    if passage_backend(settings, kwargs["model"], embedding_device(settings)) != "torch":
        try:
            return OnnxEmbeddingBackend(Path(kwargs["model"])).encoder.encode
        except Exception as exc:  # "auto": as PassageEmbedder.warm_up, fall back to PyTorch
            if settings.passage_backend == "onnx":
                raise
            log.warning("ONNX passage encoder unavailable (%s: %s); using PyTorch", type(exc).__name__, exc)
    embedder = document_embedder(settings.model_copy(update={"passage_backend": "torch"}))
    embedder.warm_up()
    backend = embedder.embedding_backend
    if backend is None or isinstance(backend, OnnxEmbeddingBackend):  # keeps type checkers honest
        raise RuntimeError(f"Could not load the embedding model {embedder.model!r} in PyTorch.")
    model = backend.model  # the process's one SentenceTransformer (the backend cache)

    def encode(texts: list[str]) -> np.ndarray:
        vectors = model.encode(
            texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)

    return encode


def load_sentence_transformer(settings: Settings | None = None) -> SentenceTransformer:
    """The raw SentenceTransformer, loaded once per process and shared with the components.

    Prompts are not applied here: pass ``prompt=`` (see :func:`index.model.resolve.resolve_model`)
    or ``prompt_name="query"`` / ``"passage"`` to ``encode`` for models that define them.
    """
    embedder = text_embedder(settings)
    embedder.warm_up()
    if embedder.embedding_backend is None:  # warm_up always sets it; keeps type checkers honest
        raise RuntimeError(f"Could not load the embedding model {embedder.model!r}.")
    return embedder.embedding_backend.model
