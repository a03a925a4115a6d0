"""The dense embedders of the indexing and query pipelines, configured from Settings.

Both Haystack components are built with the same model, device and loading options, so the
Sentence Transformers backend cache of sentence-transformers-haystack gives them (and
:func:`load_sentence_transformer`) one shared model per process instead of one each.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from haystack.utils import ComponentDevice
from haystack_integrations.components.embedders.sentence_transformers import (
    SentenceTransformersDocumentEmbedder,
    SentenceTransformersTextEmbedder,
)

from core.settings import Settings, get_settings
from index.cpu import configure_cpu_threads
from index.model.onnx import exportable, onnx_runtime_available
from index.model.resolve import resolve_model
from index.query_batching import BatchingTextEmbedder

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

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


def query_backend(settings: Settings, model: str, device: str) -> str:
    """The query embedder's backend for ``settings.query_backend``: ``torch``; ``onnx`` (asked
    for: errors are raised); ``auto`` when ONNX Runtime on CPU can serve this model folder
    (the embedder falls back to PyTorch if the export fails)."""

    wanted = settings.query_backend
    if wanted == "torch":
        return "torch"
    usable = device == "cpu" and onnx_runtime_available() and exportable(Path(model))
    if wanted == "onnx" and not usable:
        raise ValueError(
            f"POLICYQA_QUERY_BACKEND=onnx needs onnxruntime, the CPU and a local sentence-transformers "
            f"folder with mean pooling and normalisation; {model!r} on {device} is not. Use 'auto' or 'torch'."
        )
    if not usable:
        return "torch"
    return "onnx" if wanted == "onnx" else "auto"


def document_embedder(settings: Settings | None = None) -> SentenceTransformersDocumentEmbedder:
    """Passage embedder: prepends the model's passage prompt (``"passage: "`` for e5)."""
    kwargs, prompts = _embedder_kwargs(settings or get_settings())
    return SentenceTransformersDocumentEmbedder(prefix=prompts.get("passage", ""), **kwargs)


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
