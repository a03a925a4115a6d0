"""Sentence vectors of each passage, stored as a multivector (MaxSim) beside the passage vector.

A question often matches one sentence of a long passage ("why...", "for what purpose..."),
whose vector is dominated by the other sentences. Retrieval therefore re-scores its
candidates by their best-matching sentence (``index.retrieval``): on the validation split,
hybrid hit@5 0.837 -> 0.919 and MRR@10 0.716 -> 0.776 (README, Quality). Sentences are split
as the answer step splits them (``ingest.sentences``), with the passage prompt.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Any

from haystack import Document, component, default_from_dict, default_to_dict

from index.embedders import PassageEmbedder
from index.stores.base import SENTENCE_META
from ingest.sentences import split_sentences


def passage_sentences(text: str) -> list[str]:
    """The sentences a passage is scored by (the whole text when it has no full sentence)."""
    return [s.text for s in split_sentences(text)] or ([text.strip()] if text.strip() else [])


@component
class SentenceEmbedder:
    """Adds ``meta[SENTENCE_META]``, one vector per sentence, with the passage embedder's model."""

    def __init__(self, embedder: PassageEmbedder) -> None:
        self.embedder = embedder

    def warm_up(self) -> None:
        self.embedder.warm_up()

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, list[Document]]:
        pieces = [(i, s) for i, doc in enumerate(documents) for s in passage_sentences(doc.content or "")]
        embedded = self.embedder.run(documents=[Document(content=s) for _, s in pieces])["documents"]
        vectors: dict[int, list[list[float]]] = defaultdict(list)
        for (i, _), doc in zip(pieces, embedded, strict=True):
            if doc.embedding is not None:
                vectors[i].append(list(doc.embedding))
        return {
            "documents": [
                replace(doc, meta={**doc.meta, SENTENCE_META: vectors[i]}) if vectors.get(i) else doc
                for i, doc in enumerate(documents)
            ]
        }

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(self, embedder=self.embedder.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SentenceEmbedder:
        params = data["init_parameters"]
        embedder = PassageEmbedder.from_dict(params["embedder"])
        return default_from_dict(cls, {**data, "init_parameters": {**params, "embedder": embedder}})
