"""Passage <-> Haystack Document, the shape the Qdrant store keeps."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from haystack import Document, component

from ingest.models import Passage


def embed_context(passage: Passage) -> str:
    """The context the chunker put before the text in ``embed_text`` (title, section path)."""
    if passage.embed_text.endswith(passage.text):
        return passage.embed_text[: len(passage.embed_text) - len(passage.text)].strip()
    return passage.embed_text


def passage_to_document(passage: Passage, fingerprint: str = "") -> Document:
    meta: dict[str, Any] = passage.to_dict()
    meta.pop("id")
    meta.pop("text")
    meta["embed_context"] = embed_context(passage)
    meta["doc_fingerprint"] = fingerprint
    return Document(id=passage.id, content=passage.text, meta=meta)


def document_to_passage(document: Document) -> Passage:
    return Passage.from_dict({**document.meta, "id": document.id, "text": document.content or ""})


def fingerprint(passages: list[Passage]) -> str:
    """Changes whenever anything stored for the document would change."""
    payload = json.dumps([p.to_dict() for p in passages], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


@component
class PassagesToDocuments:
    """Head of the indexing pipeline: chunker output in, Haystack documents out."""

    @component.output_types(documents=list[Document])
    def run(
        self, passages: list[Passage], fingerprint: str = "", fingerprints: dict[str, str] | None = None
    ) -> dict[str, list[Document]]:
        """``fingerprints`` by doc_id when passages of several documents come together."""
        by_doc = fingerprints or {}
        return {"documents": [passage_to_document(p, by_doc.get(p.doc_id, fingerprint)) for p in passages]}
