"""The record of one evaluation run: per-question scores and their means, written by the report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from evaluation.metrics import QuestionScore, depth_metrics

DEFAULT_DEPTH = 100  # recall@100, MAP@100: the ranking a reranker or a reader could still use
WARMUP_QUESTIONS = 3  # per mode, untimed: model sessions, caches and pipelines warm before timing


@dataclass
class EvalResult:
    gold: str
    modes: list[str]
    question_ids: list[str]
    answerable: int
    scores: dict[str, list[QuestionScore]]
    overall: dict[str, dict[str, float | None]]
    by_language: dict[str, dict[str, dict[str, float | None]]]
    by_kind: dict[str, dict[str, dict[str, float | None]]]
    unreachable: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    depth: int = DEFAULT_DEPTH
    answers: bool = False  # whether the answer step was run and scored
    warmup: int = WARMUP_QUESTIONS  # untimed questions per mode before the timed run
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of the run's phases
    ingest: dict[str, Any] = field(default_factory=dict)  # what indexing before the run found and wrote

    @property
    def questions(self) -> int:
        return len(self.question_ids)

    @property
    def metric_names(self) -> list[str]:
        """The ranking metrics of this run, top-10 ones first, then those to ``depth``."""
        return list(depth_metrics(self.depth))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["questions"] = self.questions
        return data
