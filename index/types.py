"""Typed inputs and outputs of retrieval, shared by the API and the evaluation runner."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ingest.models import Passage, PassageKind

Mode = Literal["bm25", "dense", "hybrid"]
MODES: tuple[Mode, ...] = ("bm25", "dense", "hybrid")


@dataclass
class SearchFilters:
    """Restrict a search. Empty or None means no restriction on that field."""

    doc_ids: list[str] | None = None
    kinds: list[PassageKind] | None = None
    funds: list[str] | None = None  # canonical fund ids of ingest/data/funds.json
    languages: list[str] | None = None


@dataclass
class Hit:
    """One ranked result. A footnote hit carries the passages that cite it."""

    passage: Passage
    score: float
    rank: int
    dense_score: float | None = None
    sparse_score: float | None = None
    cited_by: list[Passage] = field(default_factory=list)
