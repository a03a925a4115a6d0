"""Haystack's sentence-transformers document embedder, with its model run in ONNX Runtime.

A module of its own so that importing :mod:`index.embedders` does not import
sentence-transformers and transformers (~3.5 s): only building this component does.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from haystack import component
from haystack_integrations.components.embedders.sentence_transformers import (
    SentenceTransformersDocumentEmbedder,
)

from index.embedders import Backend, OnnxEmbeddingBackend

log = logging.getLogger(__name__)


@component
class PassageEmbedder(SentenceTransformersDocumentEmbedder):
    """Haystack's document embedder, whose model runs in ONNX Runtime when ``backend_choice`` is
    ``onnx`` or ``auto`` (then falling back to PyTorch, with a warning, if the export fails).
    Everything else (prompt, fields embedded with the text, batching of the caller) is the
    parent's, so the texts embedded are the same either way."""

    def __init__(self, *, backend_choice: Backend = "torch", **kwargs: Any) -> None:
        # explicit parent: @component rebuilds the class, which breaks zero-argument super()
        SentenceTransformersDocumentEmbedder.__init__(self, **kwargs)
        self.backend_choice = backend_choice

    def warm_up(self) -> None:
        if self.embedding_backend is None and self.backend_choice != "torch":
            try:
                self.embedding_backend = OnnxEmbeddingBackend(Path(self.model))  # type: ignore[assignment]
                return
            except Exception as exc:  # "auto": a failed export must not stop an ingest
                if self.backend_choice == "onnx":
                    raise
                log.warning(
                    "ONNX passage encoder unavailable (%s: %s); using PyTorch", type(exc).__name__, exc
                )
        SentenceTransformersDocumentEmbedder.warm_up(self)

    def to_dict(self) -> dict[str, Any]:
        data = SentenceTransformersDocumentEmbedder.to_dict(self)
        data["init_parameters"]["backend_choice"] = self.backend_choice
        return data
